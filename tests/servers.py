"""Real servers for the tests, started on 127.0.0.1 with free ports and stopped by PID.

PostgreSQL comes from Debian's packages (`.ci/run` installs them); it refuses to run as root, so
as root it runs as the `postgres` user, in a folder that user owns. The Iceberg REST catalog is
Iceberg's own REST servlet from Maven Central (`rest_catalog/`); S3 is moto's server, from PyPI.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
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
            _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_for(process: subprocess.Popen, ready, what: str, log: Path, seconds: int = 120) -> None:
    """Until `ready()`; a server that stops or takes too long fails with its log's tail."""
    for _ in range(seconds * 10):
        if ready():
            return
        if process.poll() is not None:
            break
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
    _stop(process)
    raise RuntimeError(f"{what} did not start (see {log}):\n{tail}")


REST_CATALOG = Path(__file__).with_name("rest_catalog")


def rest_catalog_classpath() -> str:
    """The REST server's classpath, as Maven resolves it from rest_catalog/pom.xml."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "classpath"
        done = subprocess.run(
            ["mvn", "-q", "-B", "-f", REST_CATALOG / "pom.xml", "dependency:build-classpath",
             f"-Dmdep.outputFile={out}"], capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            pom = REST_CATALOG / "pom.xml"
            raise RuntimeError(f"Maven could not resolve {pom}:\n{done.stdout}")
        return out.read_text().strip()


@contextmanager
def rest_catalog(catalog: dict[str, str]) -> Iterator[str]:
    """An Iceberg REST catalog server in front of the catalog `catalog` describes (its Iceberg
    properties); yields its URI."""
    folder = Path(tempfile.mkdtemp(prefix="sparkplate-rest-"))
    port, log = free_port(), folder / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            ["java", "-cp", rest_catalog_classpath(), REST_CATALOG / "RestCatalogServer.java",
             str(port), *(f"{key}={value}" for key, value in catalog.items())],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_for(server, lambda: "serving the Iceberg" in log.read_text(), "REST catalog", log)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(server)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class S3:
    endpoint: str
    bucket: str
    access_key: str = "sparkplate-test"
    secret_key: str = "sparkplate-test"
    region: str = "us-east-1"

    def client(self):
        import boto3  # moto[server] brings it

        return boto3.client("s3", endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key)  # fmt: skip

    def keys(self, prefix: str = "") -> list[str]:
        listed = self.client().list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for item in listed.get("Contents", [])]


@contextmanager
def moto_s3(bucket: str = "lake") -> Iterator[S3]:
    """moto's S3 server (moto[server], from the test extra) with one empty bucket."""
    folder = Path(tempfile.mkdtemp(prefix="sparkplate-s3-"))
    port, log = free_port(), folder / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [Path(sys.executable).with_name("moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def answers() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    try:
        _wait_for(server, answers, "moto's S3 server", log)
        s3 = S3(f"http://127.0.0.1:{port}", bucket)
        s3.client().create_bucket(Bucket=bucket)
        yield s3
    finally:
        _stop(server)
        shutil.rmtree(folder, ignore_errors=True)
