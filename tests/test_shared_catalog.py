"""The same workflows on a shared Iceberg catalog (JDBC, on a real PostgreSQL) and on a cluster
with executor JVMs, chosen by a profile alone, run as a user runs them: the `sparkplate` command.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from helpers import cli_env, render
from servers import (
    free_port,
    moto_s3,
    postgres,
    postgres_bin,
    rest_catalog,
    spark_standalone,
)

from sparkplate.jobs.sparklyr_check import sparklyr_installed
from sparkplate.versions import ICEBERG_VERSION

pytestmark = [
    pytest.mark.spark,
    pytest.mark.render,
    pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL is not installed"),
]

TABLE = "sample_db.sparkplate_sample_results"
COUNT_BY_DATE = """
import json, sys
from sparkplate.session import local_session
spark = local_session("count")
rows = spark.sql(
    "SELECT CAST(date AS STRING) AS d, count(*) AS n, count(DISTINCT country_code, title_id) AS k"
    f" FROM {sys.argv[1]} GROUP BY 1"
)
print(json.dumps({r.d: [r.n, r.k] for r in rows.collect()}))
"""


@pytest.fixture(scope="module")
def catalog_db():
    with postgres() as server:
        yield server


POSTGRES_DRIVER = "org.postgresql:postgresql:42.7.8"


def create_database(db, name: str) -> str:
    """A database of its own on `db` (a schema would not do: the JDBC catalog looks for its
    tables in every schema it can see); its JDBC URL."""
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(db.port), "-U", db.user, "-d", db.database,
         "-q", "-c", f"CREATE DATABASE {name}"], check=True,
    )  # fmt: skip
    return f"jdbc:postgresql://127.0.0.1:{db.port}/{name}"


def jdbc_catalog(db, database: str, warehouse: str) -> dict[str, str]:
    return {"type": "jdbc", "uri": create_database(db, database), "jdbc.user": db.user,
            "jdbc.schema-version": "V1", "warehouse": warehouse}  # fmt: skip


def write_profile(project: Path, master: str, catalog: dict, packages=()) -> Path:
    """`project` with a profile `shared`."""
    profile = {"master": master, "catalog": catalog, "packages": list(packages)}
    (project / "sparkplate.yaml").write_text(yaml.safe_dump({"profiles": {"shared": profile}}))
    return project


def with_profile(project: Path, db, master: str, database: str) -> Path:
    """`project` with a profile `shared`: `master` and a JDBC catalog in its own database."""
    catalog = jdbc_catalog(db, database, "shared-warehouse")
    return write_profile(project, master, catalog, [POSTGRES_DRIVER])


def sparkplate(project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "sparkplate.cli", "--profile", "shared", *args]
    return subprocess.run(command, cwd=project, capture_output=True, text=True,
                          env=cli_env(env))  # fmt: skip


def ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


MAIN = ("run", "main.sch.yaml", "-p", "top_n=3", "-p")  # then date=...; top 3, as the mock


def load_run_main_and_check(project: Path, *then: str) -> str:
    """Mocks loaded, main run on the profile's master for the expected mock's date, the table
    checked against it, then the steps `then`: one `sparkplate do`, so one driver JVM (a process
    per run is what the killed and concurrent runs below test). Its output."""
    main = " ".join(MAIN) + " date=2024-01-01"
    return ok(sparkplate(project, "do", "mock load", main, f"mock check {TABLE}", *then))


def counts(project: Path) -> dict[str, list[int]]:
    """{date: [rows, distinct (country, title) keys]} as the profile's catalog has them."""
    done = subprocess.run(
        [sys.executable, "-c", COUNT_BY_DATE, TABLE],
        cwd=project, capture_output=True, text=True,
        env=cli_env({"SPARKPLATE_PROFILE": "shared"}),
    )  # fmt: skip
    return json.loads(ok(done).strip().splitlines()[-1])


def test_main_and_backfill_on_a_standalone_cluster_with_the_jdbc_catalog_and_s3_storage(
    rendered_pyspark, tmp_path, catalog_db
):
    """A cluster profile as a team writes one: a standalone master and worker whose executor JVMs
    write the data files (so they need the profile's packages too), the JDBC catalog, and the
    tables on object storage every host reaches (Iceberg's S3FileIO against moto's S3 server).
    local-cluster masters run in the scala and sparklyr tests below."""
    project = Path(shutil.copytree(rendered_pyspark, tmp_path / "p"))
    with moto_s3() as s3, spark_standalone() as cluster:
        catalog = {
            **jdbc_catalog(catalog_db, "cluster_run", f"s3://{s3.bucket}/warehouse"),
            "io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
            "s3.endpoint": s3.endpoint,
            "s3.path-style-access": "true",
            "s3.access-key-id": s3.access_key,
            "s3.secret-access-key": s3.secret_key,
            "client.region": s3.region,
        }
        packages = [POSTGRES_DRIVER, f"org.apache.iceberg:iceberg-aws-bundle:{ICEBERG_VERSION}"]
        write_profile(project, cluster.master, catalog, packages)
        said = load_run_main_and_check(  # main gives the rows the local run gives
            project,
            "run backfill.sch.yaml -p start_date=2023-12-31 -p end_date=2024-01-02 -p top_n=3",
            f"mock check {TABLE}",  # the backfill ran its main's date again: the same rows
        )
        backfill = said.split("[4/5] ")[1].split("[5/5] ")[0]
        assert backfill.count("published sample_db.sparkplate_sample_results") == 3
        data = s3.keys("warehouse/sample_db/sparkplate_sample_results/data/")
    dates = {key.split("/date=")[1].split("/")[0] for key in data if key.endswith(".parquet")}
    assert dates == {"2023-12-31", "2024-01-01", "2024-01-02"}, data
    assert not (project / "warehouse").exists()  # nothing on the driver's disk


# Spark SQL runs in the runner's session as PySpark does; these two start JVMs of their own.
@pytest.mark.maven  # Maven resolves the REST server's classpath
@pytest.mark.skipif(shutil.which("mvn") is None, reason="Maven is not installed")
def test_main_on_an_iceberg_rest_catalog_server(rendered_pyspark, tmp_path, catalog_db):
    """type: rest, as teams run it: the server owns the catalog (here JDBC on PostgreSQL) and
    its warehouse; the profile says only where the server is."""
    project = Path(shutil.copytree(rendered_pyspark, tmp_path / "p"))
    warehouse = tmp_path / "server-warehouse"
    behind = {"catalog-impl": "org.apache.iceberg.jdbc.JdbcCatalog",
              **jdbc_catalog(catalog_db, "rest_backend", str(warehouse))}  # fmt: skip
    del behind["type"]
    with rest_catalog(behind) as uri:
        write_profile(project, "local[2]", {"type": "rest", "uri": uri})
        load_run_main_and_check(project)
    assert (warehouse / "sample_db" / "sparkplate_sample_results" / "data").is_dir()
    assert not (project / "warehouse").exists()  # no local table, no folder of Spark's


@pytest.mark.parametrize("recipe", ["scala", "sparklyr"])
def test_the_recipes_with_their_own_jvm_run_main_on_the_cluster_and_catalog(
    recipe, built_scala, tmp_path, catalog_db
):
    """The jar's spark-submit and sparklyr's connection get the profile's master, catalog and
    packages from the runner: each recipe's own JVMs reach the same catalog."""
    if recipe == "sparklyr" and not sparklyr_installed():
        pytest.skip("SKIPPED: sparklyr is not installed; the sparklyr job was not run")
    if recipe == "scala":  # the jar built once for the test run
        project = Path(shutil.copytree(built_scala, tmp_path / "p"))
    else:
        project = render(tmp_path / "p", recipe=recipe)
    with_profile(project, catalog_db, "local-cluster[2,1,1024]", f"{recipe}_run")
    load_run_main_and_check(project)


def test_runs_at_once_and_a_killed_run_on_the_jdbc_catalog_lose_no_commit(
    rendered_pyspark, tmp_path, catalog_db
):
    """Three runs at once (two dates, one of them twice) commit to one JDBC catalog; then a run of
    a third date killed after its first audit leaves main as it was, and its rerun publishes it."""
    project = Path(shutil.copytree(rendered_pyspark, tmp_path / "p"))
    with_profile(project, catalog_db, "local[1]", "concurrent_runs")
    ok(sparkplate(project, "mock", "load"))
    dates = ["2024-01-01", "2024-01-02", "2024-01-02"]  # two dates, one of them twice
    with ThreadPoolExecutor(len(dates)) as pool:
        runs = pool.map(lambda date: sparkplate(project, *MAIN, f"date={date}"), dates)
        for done in runs:
            ok(done)
    before = counts(project)
    assert set(before) == {"2024-01-01", "2024-01-02"}
    # The date run twice at once has its rows once: as many rows as keys.
    assert all(rows == keys for rows, keys in before.values()), before
    ok(sparkplate(project, "mock", "check", TABLE))  # 2024-01-01 still exactly the mock's rows

    command = [sys.executable, "-m", "sparkplate.cli", "--profile", "shared", *MAIN]
    run = subprocess.Popen([*command, "date=2023-12-31"], cwd=project, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True,
                           env=cli_env())  # fmt: skip
    seen = []
    for line in run.stdout:  # the first audit's result: the branch is written, main is not yet
        seen.append(line)
        if line.strip().startswith(("[pass]", "[WARN]", "[FAIL]")):
            run.send_signal(signal.SIGKILL)
            break
    run.wait()
    run.stdout.close()
    assert run.returncode == -signal.SIGKILL, "".join(seen)
    assert not any("published" in line for line in seen)
    assert counts(project) == before  # main never saw a part of the killed run's write
    rerun = ok(sparkplate(project, *MAIN, "date=2023-12-31"))
    assert "left by an interrupted run" in rerun  # its branch is dropped, not in the way
    after = counts(project)
    assert set(after) == {"2023-12-31", "2024-01-01", "2024-01-02"}
    assert all(rows == keys for rows, keys in after.values()), after


def profile_run(project: Path, profile: str, env: dict | None = None):
    (project / "sparkplate.yaml").write_text(profile)
    command = [sys.executable, "-m", "sparkplate.cli", "--profile", "shared",
               "run", "main.sch.yaml", "-p", "date=2024-01-01"]  # fmt: skip
    return subprocess.run(command, cwd=project, capture_output=True, text=True,
                          env=cli_env(env))  # fmt: skip


def test_an_unreachable_catalog_is_named_with_its_profile_key_and_cause(rendered_pyspark, tmp_path):
    project = Path(shutil.copytree(rendered_pyspark, tmp_path / "p"))
    uri = f"jdbc:postgresql://127.0.0.1:{free_port()}/nowhere"  # nothing listens there
    done = profile_run(project,
        "profiles:\n  shared:\n    master: local[1]\n"
        f"    catalog: {{type: jdbc, uri: '{uri}', warehouse: wh}}\n"
        "    packages: [org.postgresql:postgresql:42.7.8]\n"
    )  # fmt: skip
    assert done.returncode != 0
    assert "sparkplate.yaml [profiles.shared.catalog.uri]" in done.stderr
    assert f"the catalog's database at {uri} cannot be reached" in done.stderr
    assert "Connection refused" in done.stderr  # the root cause, not py4j's "calling o67.sql"


def test_a_jdbc_catalog_without_its_driver_says_to_add_it(rendered_pyspark, tmp_path):
    project = Path(shutil.copytree(rendered_pyspark, tmp_path / "p"))
    uri = "jdbc:postgresql://127.0.0.1:5432/db"
    done = profile_run(project,
        "profiles:\n  shared:\n    master: local[1]\n"
        f"    catalog: {{type: jdbc, uri: '{uri}', warehouse: wh}}\n"
    )  # fmt: skip
    assert done.returncode != 0
    assert "[profiles.shared.packages]" in done.stderr
    assert f"no JDBC driver for the catalog's uri {uri}" in done.stderr
    assert "org.postgresql:postgresql" in done.stderr


def test_a_master_that_does_not_answer_is_named_within_its_timeout(rendered_pyspark, tmp_path):
    project = Path(shutil.copytree(rendered_pyspark, tmp_path / "p"))
    master = f"spark://127.0.0.1:{free_port()}"  # nothing listens there
    done = profile_run(project, f"profiles:\n  shared:\n    master: {master}\n",
                       env={"SPARKPLATE_MASTER_TIMEOUT": "2"})  # fmt: skip
    assert done.returncode != 0
    assert "[profiles.shared.master]" in done.stderr
    assert f"the Spark master {master} does not answer" in done.stderr
    assert "Connection refused" in done.stderr


def test_an_unreachable_rest_catalog_is_named_before_spark_starts(rendered_pyspark, tmp_path):
    project = Path(shutil.copytree(rendered_pyspark, tmp_path / "p"))
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    done = profile_run(
        project, f"profiles:\n  shared:\n    catalog: {{type: rest, uri: '{uri}'}}\n"
    )
    assert done.returncode != 0
    assert "sparkplate.yaml [profiles.shared.catalog.uri]" in done.stderr
    assert f"the REST catalog at {uri} cannot be reached (Connection refused" in done.stderr
