"""The R job: an R script's `main(args, spark)`, run with sparklyr as its own Spark application.

Like a SparkSubmit job, it gets the runner's Spark settings (catalog, warehouse, Iceberg jar and,
inside a `wap` template, the branch to write to), so the runner audits and publishes its commits.
The R jobs of one workflow run share one R process and one sparklyr connection (`RSession`):
connecting starts a Spark driver JVM, so a daily or backfill run starts one, not one per date.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from sparkplate.errors import SparkplateError
from sparkplate.jobs.base import SCRIPT_JOB, JobRun, job_type
from sparkplate.jobs.spark_submit import (
    ANSI_ESCAPE,
    STACK_FRAME,
    WAP_BRANCH,
    first_error,
    inherited_conf,
    write_properties,
)
from sparkplate.versions import spark_build, spark_home

LAUNCHER = Path(__file__).with_name("run_r_job.R")
NO_SPARKLYR = 3  # the launcher's exit status when sparklyr is missing
DONE = "sparkplate-r-job: "  # the launcher's status lines: "connected", then "ok" or "failed"
# R's errors when the gateway resets the connection it is writing to or reading from
CONNECT_ATTEMPTS = 3
GATEWAY_RACE = re.compile(r"ignoring SIGPIPE|problem writing to connection|Connection reset")


# The backends an installed sparklyr ships: java/sparklyr-<spark>-<scala>.jar
SPARKLYR_BACKEND = re.compile(r"^sparklyr-[\w.]+-(\d+\.\d+)\.jar$")
LIST_BACKENDS = "cat(list.files(system.file('java', package = 'sparklyr')), sep = '\\n')"


def sparklyr_scala_builds() -> set[str] | None:
    """The Scala versions the installed sparklyr has a backend for; None if R cannot say (no
    sparklyr: the launcher reports that itself)."""
    done = subprocess.run(["Rscript", "-e", LIST_BACKENDS], capture_output=True, text=True)
    found = {m[1] for line in done.stdout.split() if (m := SPARKLYR_BACKEND.match(line))}
    return found if done.returncode == 0 and found else None


def check_sparklyr_backend(spark_version: str, scala: str | None, where: dict) -> None:
    """Refuse at once a Spark that sparklyr has no backend for: sparklyr would load its newest
    jar, built for another Scala, and the driver would die while R waits minutes for it."""
    if scala is None or scala == "2.12":  # every sparklyr has 2.12 backends
        return
    builds = sparklyr_scala_builds()
    if builds is not None and scala not in builds:
        raise SparkplateError(
            f"Spark {spark_version} runs on Scala {scala}, and the installed sparklyr has no "
            f"backend built for it (only for Scala {', '.join(sorted(builds))}): sparklyr "
            "1.8.4 and older stop at Spark 3",
            fix="run the sparklyr recipe on Spark 3.5 (its pyproject.toml: "
            "pyspark>=3.5,<3.6), or install a sparklyr with a Scala "
            f"{scala} backend",
            **where,
        )


def free_port() -> int:
    """A port nothing listens on now, for sparklyr's gateway (its default, 8880, may be taken)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RSession:
    """An R process connected to Spark with sparklyr, running R jobs one after another.

    The R process and the driver JVM sparklyr starts share one process group of their own, so
    closing the session, or giving up on it, stops both.
    """

    def __init__(self, spark, app_name: str, where: dict) -> None:
        if shutil.which("Rscript") is None:
            raise SparkplateError(
                "`Rscript` is not on PATH; it runs the R job",
                fix="install R with dplyr, dbplyr and sparklyr (Debian/Ubuntu: apt install "
                "r-base-core r-cran-dplyr r-cran-dbplyr; then install.packages('sparklyr'))",
                **where,
            )
        check_sparklyr_backend(spark.version, spark_build()[1], where)
        self.spark = spark
        self.app_name = app_name
        # The branch is set per job, not for the whole connection.
        conf = {k: v for k, v in inherited_conf(spark).items() if k != WAP_BRANCH}
        self.folder = Path(tempfile.mkdtemp(prefix="sparkplate-r-"))
        self.settings = write_properties(conf, self.folder / "spark.properties")
        self.connected = False
        self.output: list[str] = []  # what R printed while connecting
        self.process = self._start()

    def _start(self) -> subprocess.Popen:
        command = [
            "Rscript", str(LAUNCHER), str(spark_home()), self.spark.sparkContext.master,
            str(self.settings), self.app_name, str(free_port()),
        ]  # fmt: skip
        # With the version given, sparklyr does not start a JVM to ask spark-submit for it.
        env = {**os.environ, "SPARK_HOME_VERSION": self.spark.version}
        return subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env=env,
            start_new_session=True,  # its own process group: R and the JVM it starts
        )

    def _read_until_done(self, log) -> tuple[str, list[str]]:
        """The launcher's output up to its next status line: (status | "exited", lines)."""
        lines: list[str] = []
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

    def connect(self, log) -> bool:
        """Wait for sparklyr's connection; False if the R process ended without one."""
        if self.connected:
            return True
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            status, self.output = self._read_until_done(log)
            if status != "exited" or not GATEWAY_RACE.search("\n".join(self.output)):
                break
            if attempt < CONNECT_ATTEMPTS:
                # sparklyr's JVM probes its gateway port by opening and closing it; a connection
                # attempt landing in that instant is reset. A new start on a new port is clean.
                log("sparklyr's gateway reset the connection while starting; starting it again")
                self._stop_group()
                self.process = self._start()
        self.connected = status == "connected"
        return self.connected

    def run(self, script: Path, params: dict, log) -> tuple[str, list[str]]:
        """Run one job: ("ok" | "failed" | "exited", its output lines)."""
        if not self.connect(log):
            return "exited", self.output
        job = {
            "script": str(script.resolve()),
            "args": {str(k): str(v) for k, v in params.items()},
            "branch": self.spark.conf.get(WAP_BRANCH, None) or "",
        }
        try:
            self.process.stdin.write(json.dumps(job) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:  # it exited before this job; its output says why
            pass
        return self._read_until_done(log)

    def _stop_group(self, grace: float = 0) -> None:
        """Stop R and the JVM it started, which may outlive R: after `grace` seconds to end on
        their own, with SIGTERM (the JVM's shutdown hooks run), then SIGKILL."""
        deadline = time.monotonic() + grace
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                deadline = time.monotonic() + (5 if sig == signal.SIGTERM else 0)
            try:
                if sig is not None:
                    os.killpg(self.process.pid, sig)
                while time.monotonic() < deadline:
                    os.killpg(self.process.pid, 0)  # raises once the group is empty
                    time.sleep(0.1)
            except ProcessLookupError:
                break
        self.process.wait()
        self.process.stdout.close()

    def close(self) -> None:
        """End of stdin: the launcher disconnects, its JVM stops, and it exits."""
        try:
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        self._stop_group(grace=30)
        shutil.rmtree(self.folder, ignore_errors=True)


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
