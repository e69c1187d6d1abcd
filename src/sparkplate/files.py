"""Files written whole: a reader, or a run at the same time, sees the old file or the new one."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, text: str) -> Path:
    """Write `text` to a name of this process's own, then rename it over `path`."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text)
    partial.replace(path)
    return path
