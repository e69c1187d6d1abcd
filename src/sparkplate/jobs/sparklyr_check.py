"""Whether sparklyr can run here: R's `Rscript` is on PATH and the sparklyr package loads.

Standard library only, importing nothing from sparkplate: the repository's root noxfile loads
this file by its path, without installing sparkplate.
"""

from __future__ import annotations

import shutil
import subprocess


def sparklyr_installed() -> bool:
    if shutil.which("Rscript") is None:
        return False
    check = ["Rscript", "-e", "quit(status = !requireNamespace('sparklyr', quietly = TRUE))"]
    return subprocess.run(check, capture_output=True).returncode == 0
