"""Real servers for the tests, started on 127.0.0.1 with free ports and stopped by PID.

PostgreSQL comes from Debian's packages (`.ci/run` installs them); it refuses to run as root, so
as root it runs as the `postgres` user, in a folder that user owns.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sparkplate.jobs.r import free_port


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian keeps it off PATH)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


@dataclass(frozen=True)
class Postgres:
    port: int
    user: str
    database: str = "postgres"

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:postgresql://127.0.0.1:{self.port}/{self.database}"


@contextmanager
def postgres(user: str = "iceberg") -> Iterator[Postgres]:
    """A throwaway PostgreSQL server trusting local connections of `user`."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (Debian: apt install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="sparkplate-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()
    quiet = {"stdout": subprocess.DEVNULL, "check": True}
    subprocess.run([*as_owner, bin_dir / "initdb", "-D", data, "-A", "trust", "-U", user], **quiet)
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    subprocess.run(
        [*as_owner, bin_dir / "pg_ctl", "-D", data, "-o", options, "-l", folder / "log", "-w",
         "start"], **quiet,
    )  # fmt: skip
    pid = int((data / "postmaster.pid").read_text().split()[0])
    try:
        yield Postgres(port, user)
    finally:
        os.kill(pid, signal.SIGINT)  # PostgreSQL's fast shutdown
        for _ in range(300):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class Standalone:
    master: str  # spark://127.0.0.1:PORT


@contextmanager
def spark_standalone(cores: int = 1, memory: str = "1536m") -> Iterator[Standalone]:
    """A Spark standalone master with one worker, from the pip pyspark package's spark-class."""
    from sparkplate.session import spark_submit

    spark_class = str(Path(spark_submit()).with_name("spark-class"))
    folder = Path(tempfile.mkdtemp(prefix="sparkplate-standalone-"))
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(folder)}
    port = free_port()
    master_log = folder / "master.log"
    started: list[subprocess.Popen] = []

    def start(log: Path, *args: str) -> None:
        with open(log, "w") as out:
            started.append(subprocess.Popen([spark_class, *args], stdout=out,
                                            stderr=subprocess.STDOUT, env=env))  # fmt: skip

    try:
        start(master_log, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
              "--port", str(port), "--webui-port", str(free_port()))  # fmt: skip
        start(folder / "worker.log", "org.apache.spark.deploy.worker.Worker", "--host",
              "127.0.0.1", "--cores", str(cores), "--memory", memory, "--webui-port",
              str(free_port()), "--work-dir", str(folder / "work"),
              f"spark://127.0.0.1:{port}")  # fmt: skip
        for _ in range(1200):  # the worker registered: the cluster can run an application
            if "Registering worker" in master_log.read_text(errors="replace"):
                break
            if any(process.poll() is not None for process in started):
                raise RuntimeError(f"the standalone cluster stopped; see {folder}")
            time.sleep(0.1)
        else:
            raise RuntimeError(f"no worker registered within 120 s; see {folder}")
        yield Standalone(f"spark://127.0.0.1:{port}")
    finally:
        for process in reversed(started):  # the worker first, then the master
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(folder, ignore_errors=True)
