"""The PySpark job: a Python file's `main(args, spark)`, run in the runner's own session.

An error in the file points at its line there, not at the runner.
"""

from __future__ import annotations

import importlib.util
import traceback
from collections.abc import Callable
from pathlib import Path

from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException

from sparkplate.errors import SparkplateError
from sparkplate.jobs.base import SCRIPT_JOB, JobRun, job_type


def load_python_main(path: Path) -> Callable:
    spec = importlib.util.spec_from_file_location(f"sparkplate_job_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as err:
        raise SparkplateError(f"syntax error: {err.msg}", file=f"{path}:{err.lineno}") from None
    except Exception as err:
        raise SparkplateError(
            f"importing it failed: {type(err).__name__}: {err}",
            file=f"{path}{_line_in(err, path)}",
        ) from err
    if not callable(getattr(module, "main", None)):
        raise SparkplateError(
            "no `main(args, spark)` function",
            file=path,
            fix="define main(args, spark); the workflow passes its params",
        )
    return module.main


@job_type(
    "PySpark",
    **SCRIPT_JOB,
)
def run_pyspark(jr: JobRun) -> None:
    path = jr.file("script")
    main = load_python_main(path)
    try:
        main({k: str(v) for k, v in (jr.spec.get("params") or {}).items()}, jr.spark)
    except (PySparkException, Py4JJavaError, SparkplateError):
        raise
    except Exception as err:  # a bug in the transform: point at its line, not at the runner
        raise SparkplateError(
            f"{type(err).__name__}: {err}", file=f"{path}{_line_in(err, path)}", key=jr.job.key
        ) from err


def _line_in(err: BaseException, path: Path) -> str:
    """`:<line>` of the deepest frame of `err` in the file `path`, or ''."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if Path(f.filename) == path]
    return f":{frames[-1].lineno}" if frames else ""
