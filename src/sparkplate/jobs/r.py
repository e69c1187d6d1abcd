"""The R job: an R script's `main(args, spark)`, run with sparklyr as its own Spark application.

Like a SparkSubmit job, it gets the runner's Spark settings (catalog, warehouse, Iceberg jar and,
inside a `wap` template, the branch to write to), so the runner audits and publishes its commits.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from sparkplate.errors import SparkplateError
from sparkplate.jobs.base import SCRIPT_JOB, JobRun, job_type
from sparkplate.jobs.spark_submit import first_error, inherited_conf, spark_submit, stream

LAUNCHER = Path(__file__).with_name("run_r_job.R")
NO_SPARKLYR = 3  # the launcher's exit status when sparklyr is missing


def run_r_script(spark, script: Path, params: dict, log, where: dict) -> None:
    if shutil.which("Rscript") is None:
        raise SparkplateError(
            "`Rscript` is not on PATH; it runs the R job",
            fix="install R with dplyr, dbplyr and sparklyr (Debian/Ubuntu: apt install "
            "r-base-core r-cran-dplyr r-cran-dbplyr; then install.packages('sparklyr'))",
            **where,
        )
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as settings:
        settings.writelines(f"{k}={v}\n" for k, v in sorted(inherited_conf(spark).items()))
    try:
        spark_home = Path(spark_submit()).parents[1]
        command = [
            "Rscript", str(LAUNCHER), str(script.resolve()), str(spark_home),
            spark.sparkContext.master, settings.name,
            *(f"{key}={value}" for key, value in params.items()),
        ]  # fmt: skip
        code, lines = stream(command, Path.cwd(), log)
    finally:
        Path(settings.name).unlink()
    if code == NO_SPARKLYR:
        raise SparkplateError(
            "sparklyr is not installed, so the R job cannot run",
            fix="install it in R: install.packages('sparklyr') (1.8.4 or later; it needs a "
            "package repository such as CRAN)",
            **where,
        )
    if code != 0:
        raise SparkplateError(
            f"the R job {script.name} exited with {code}"
            + (f": {first_error(lines)}" if lines else ""),
            fix="see its output above",
            **where,
        )


@job_type(
    "R",
    **SCRIPT_JOB,
)
def run_r(jr: JobRun) -> None:
    run_r_script(jr.spark, jr.file("script"), jr.spec.get("params") or {}, jr.log, jr.where)
