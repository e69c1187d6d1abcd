"""The R job: an R script's `main(args, spark)`, run with sparklyr as its own Spark application.

Like a SparkSubmit job, it gets the runner's Spark settings (catalog, warehouse, Iceberg jar and,
inside a `wap` template, the branch to write to), so the runner audits and publishes its commits.
The R jobs of one workflow run share one R process and one sparklyr connection (`RSession`):
connecting starts a Spark driver JVM, so a daily or backfill run starts one, not one per date.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from sparkplate.errors import SparkplateError
from sparkplate.jobs.base import SCRIPT_JOB, JobRun, job_type
from sparkplate.jobs.spark_submit import (
    ANSI_ESCAPE,
    STACK_FRAME,
    WAP_BRANCH,
    first_error,
    inherited_conf,
    spark_submit,
)

LAUNCHER = Path(__file__).with_name("run_r_job.R")
NO_SPARKLYR = 3  # the launcher's exit status when sparklyr is missing
DONE = "sparkplate-r-job: "  # the launcher's line after each job: "ok" or "failed"


def free_port() -> int:
    """A port nothing listens on now, for sparklyr's gateway (its default, 8880, may be taken)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RSession:
    """An R process connected to Spark with sparklyr, running R jobs one after another."""

    def __init__(self, spark, app_name: str, where: dict) -> None:
        if shutil.which("Rscript") is None:
            raise SparkplateError(
                "`Rscript` is not on PATH; it runs the R job",
                fix="install R with dplyr, dbplyr and sparklyr (Debian/Ubuntu: apt install "
                "r-base-core r-cran-dplyr r-cran-dbplyr; then install.packages('sparklyr'))",
                **where,
            )
        self.spark = spark
        # The branch is set per job, not for the whole connection.
        conf = {k: v for k, v in inherited_conf(spark).items() if k != WAP_BRANCH}
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as settings:
            settings.writelines(f"{k}={v}\n" for k, v in sorted(conf.items()))
        self.settings = Path(settings.name)
        spark_home = Path(spark_submit()).parents[1]
        command = [
            "Rscript", str(LAUNCHER), str(spark_home), spark.sparkContext.master,
            str(self.settings), app_name, str(free_port()),
        ]  # fmt: skip
        # With the version given, sparklyr does not start a JVM to ask spark-submit for it.
        env = {**os.environ, "SPARK_HOME_VERSION": spark.version}
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env=env,
        )

    def run(self, script: Path, params: dict, log) -> tuple[str, list[str]]:
        """Run one job: ("ok" | "failed" | "exited", its output lines)."""
        job = {
            "script": str(script.resolve()),
            "args": {str(k): str(v) for k, v in params.items()},
            "branch": self.spark.conf.get(WAP_BRANCH, None) or "",
        }
        lines: list[str] = []
        try:
            self.process.stdin.write(json.dumps(job) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:  # it exited before this job; its output says why
            pass
        for line in self.process.stdout:
            line = ANSI_ESCAPE.sub("", line).rstrip()
            if line.startswith(DONE):
                return line[len(DONE) :], lines
            if line:
                lines.append(line)
                if not STACK_FRAME.match(line):
                    log(line)
        self.process.wait()
        return "exited", lines

    def close(self) -> None:
        """End of stdin: the launcher disconnects (stopping its JVM) and exits."""
        try:
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.settings.unlink(missing_ok=True)


def run_r_job(jr: JobRun, script: Path, params: dict) -> None:
    name = f"sparkplate-{jr.run.workflow.id}-r"
    session = jr.run.resources.get("sparklyr", lambda: RSession(jr.spark, name, jr.where))
    status, lines = session.run(script, params, jr.log)
    if status == "ok":
        return
    if status == "exited":
        jr.run.resources.discard("sparklyr")  # a later run starts a new one
        code = session.process.returncode
        if code == NO_SPARKLYR:
            raise SparkplateError(
                "sparklyr is not installed, so the R job cannot run",
                fix="install it in R: install.packages('sparklyr') (1.8.4 or later; it needs a "
                "package repository such as CRAN)",
                **jr.where,
            )
        raise SparkplateError(
            f"the R process running {script.name} exited with {code}"
            + (f": {first_error(lines)}" if lines else ""),
            fix="see its output above",
            **jr.where,
        )
    raise SparkplateError(
        f"the R job {script.name} failed" + (f": {first_error(lines)}" if lines else ""),
        fix="see its output above",
        **jr.where,
    )


@job_type(
    "R",
    **SCRIPT_JOB,
)
def run_r(jr: JobRun) -> None:
    run_r_job(jr, jr.file("script"), jr.spec.get("params") or {})
