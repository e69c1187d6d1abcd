"""Deployed pipelines run by a real Apache Airflow (`nox -s airflow`: Airflow is heavy, so only
that session installs it, next to sparkplate; sparkplate itself does not depend on it).

A git repository holds three rendered pipelines (Spark SQL, PySpark, Scala). It is listed,
tested and deployed with `sparkplate project`; Airflow imports every DAG and runs them with
`airflow dags test` on SQLite, with no server.

The session runs the tests in two groups at once (`--dist loadgroup`), each on a repository and
Airflow of its own: production's deploy, run and rollback; and the repository's tests, then a
branch's sandbox deploy. In one process they run in file order, on one repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import REPO, attach_warehouse, commit, git

pytestmark = [pytest.mark.airflow, pytest.mark.render, pytest.mark.maven, pytest.mark.spark]

AIRFLOW = Path(sys.executable).with_name("airflow")
if not AIRFLOW.is_file():
    pytest.skip(
        "SKIPPED: Apache Airflow is not installed here; `nox -s airflow` runs these tests",
        allow_module_level=True,
    )

RECIPES = ("sparksql", "pyspark", "scala")
PYSPARK = "pyspark_pipeline"
TABLE = "sample_db.top_pyspark_results"  # what the PySpark pipeline writes
DAGBAG = """\
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({"dags": sorted(bag.dag_ids), "errors": dict(bag.import_errors)}))
"""


def call(*command, cwd: Path, env: dict | None = None, ok: bool = True) -> str:
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True,
                          text=True)  # fmt: skip
    output = done.stdout + done.stderr
    if ok and done.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, command))} exited {done.returncode}:\n{output}")
    return output


# The Spark JVMs started here (runs, and Airflow's tasks) compile with the fast JIT tier only,
# as a generated project's e2e runs them: on a few mock rows C2 never pays back its compile work.
# Spark's launcher alone reads this; Maven's compiler keeps its full JIT.
USER_SUBMIT_OPTS = os.environ.get("SPARK_SUBMIT_OPTS", "")  # kept: the option is added to them
FAST_SPARK_JVMS = {"SPARK_SUBMIT_OPTS": f"{USER_SUBMIT_OPTS} -XX:TieredStopAtLevel=1".strip()}


def sparkplate(*args, cwd: Path, ok: bool = True) -> str:
    return call(sys.executable, "-m", "sparkplate.cli", *args, cwd=cwd, ok=ok,
                env={**os.environ, **FAST_SPARK_JVMS})  # fmt: skip


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    """Where deployed things live: registry, bundles, DAGs, Airflow's home, the warehouses."""
    return tmp_path_factory.mktemp("lake")


@pytest.fixture(scope="module")
def repo(tmp_path_factory, lake) -> Path:
    """Three pipelines in one repository, whose deployed runs use the `deployed` profile (or
    `sandbox` from any other branch), each with a warehouse of its own under `lake`."""
    root = tmp_path_factory.mktemp("repo") / "pipelines"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    for recipe in RECIPES:  # as a user adds a pipeline to the repository
        sparkplate("sample", "workflow", recipe, f"{recipe}_pipeline", "--source-path", REPO,
                   "--workflow-shortname", f"top_{recipe}", "--skip-info", cwd=root)  # fmt: skip
        with open(root / f"{recipe}_pipeline/sparkplate.yaml", "a") as profiles:
            for name in ("deployed", "sandbox"):
                profiles.write(f"  {name}:\n    catalog: {{type: hadoop, warehouse: "
                               f"{lake / name}}}\n")  # fmt: skip
    deploy = {
        "registry": str(lake / "registry"),
        "bundles": str(lake / "bundles"),
        "airflow": {"dags_folder": str(lake / "dags")},
        "branches": {"default": "main", "profiles": {"main": "deployed", "*": "sandbox"}},
    }
    (root / "sparkplate.yaml").write_text(yaml.safe_dump({"deploy": deploy}))
    commit(root, "three pipelines")
    return root


@pytest.fixture(scope="module")
def airflow_env(lake) -> dict[str, str]:
    env = {
        **os.environ,
        **FAST_SPARK_JVMS,
        "AIRFLOW_HOME": str(lake / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(lake / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONWARNINGS": "ignore",
    }
    call(AIRFLOW, "db", "migrate", cwd=lake, env=env)  # `dags test` records its runs there
    return env


def dags_test(dag_id: str, day: str, env: dict, lake: Path) -> str:
    return call(AIRFLOW, "dags", "test", dag_id, day, cwd=lake, env=env)


def current_project(lake: Path, dag_id: str) -> Path:
    return (lake / "bundles" / dag_id / "current" / "project").resolve()


def load_mocks(spark, project: Path, warehouse: Path) -> None:
    """The deployed project's source mocks in `warehouse`, as its `sparkplate mock load` puts them
    there, but written from this test's own session: no JVM started for it."""
    from sparkplate.mocks import MockSet

    attach_warehouse(spark, f"mocks_{warehouse.name}", warehouse, MockSet.find(project))


def rows(spark, warehouse: Path, day: str) -> list:
    """The PySpark pipeline's rows for `day` in `warehouse` (a Hadoop table, read by its path)."""
    table = spark.read.format("iceberg").load(str(warehouse / TABLE.replace(".", "/")))
    return sorted(tuple(r) for r in table.where(f"date = '{day}'").collect())


@pytest.mark.xdist_group("repo_as_rendered")
def test_a_repository_of_pipelines_is_listed_and_tested(repo):
    listed = sparkplate("project", "list", cwd=repo)
    assert "Maven Assets:\n-> ./scala_pipeline/pom.xml\nSummary: 1 found." in listed
    assert "SQL Script Assets:\n-> ./pyspark_pipeline" in listed
    assert listed.endswith("Summary: 9 found.\n")

    tested = sparkplate("project", "test", cwd=repo)
    for recipe in RECIPES:
        assert f"-> ./{recipe}_pipeline... PASSED" in tested
    assert "Testing Scheduler Workflows:" in tested and "Summary: 9 successful, 0 failed." in tested


@pytest.mark.xdist_group("deployed_from_main")
def test_deploy_to_airflow_run_and_roll_back(repo, lake, airflow_env, spark, warehouse):
    deployed = sparkplate("project", "deploy", cwd=repo)
    assert "DEPLOYED AS sparkplate.jar.top_scala.local.pipelines.main." in deployed
    bag = json.loads(call(sys.executable, "-c", DAGBAG, lake / "dags", cwd=lake, env=airflow_env
                          ).splitlines()[-1])  # fmt: skip
    assert bag["errors"] == {}
    assert len(bag["dags"]) == 9 and "top_pyspark_pyspark.daily" in bag["dags"]

    # The daily DAG for one date, against what a local run of the source computes.
    daily = current_project(lake, "top_pyspark_pyspark.daily")
    load_mocks(spark, daily, lake / "deployed")
    dags_test("top_pyspark_pyspark.daily", "2024-01-02", airflow_env, lake)
    from sparkplate.engine import run_workflow

    run_workflow(repo / PYSPARK / "daily.sch.yaml", {"date": "2024-01-02"}, warehouse=warehouse)
    for day in ("2023-12-31", "2024-01-01", "2024-01-02"):
        assert rows(spark, lake / "deployed", day) == rows(spark, Path(warehouse), day)
    first = rows(spark, lake / "deployed", "2024-01-01")
    assert first, "the mocks have rows on 2024-01-01"

    # A change to the transform, deployed: the main DAG's bundle runs the new version...
    transform = repo / PYSPARK / "src/pyspark_write.py"
    doubled = transform.read_text().replace('F.sum("view_hours").alias',
                                            '(F.sum("view_hours") * 2).alias')  # fmt: skip
    assert doubled != transform.read_text()
    transform.write_text(doubled)
    commit(repo, "double the hours")
    sparkplate("project", "deploy", cwd=repo)
    main = current_project(lake, "top_pyspark_pyspark.main")
    assert "* 2" in (main / "src/pyspark_write.py").read_text()
    sparkplate("--profile", "deployed", "run", main / "main.sch.yaml", "-p", "date=2024-01-01",
               cwd=lake)  # fmt: skip
    assert rows(spark, lake / "deployed", "2024-01-01") != first

    # ... and rolled back, Airflow's next run is the first version's, assets and all.
    rolled = sparkplate("project", "rollback", "top_pyspark_pyspark.main", cwd=repo)
    assert rolled.startswith("top_pyspark_pyspark.main: current bundle 2 -> 1")
    dags_test("top_pyspark_pyspark.main", "2024-01-01", airflow_env, lake)
    assert rows(spark, lake / "deployed", "2024-01-01") == first


@pytest.mark.xdist_group("repo_as_rendered")
def test_a_branch_deploys_a_sandbox_that_writes_its_own_warehouse(repo, lake, airflow_env, spark):
    production = lake / "deployed" / TABLE.replace(".", "/") / "metadata"
    before = sorted(p.name for p in production.iterdir()) if production.is_dir() else []
    git(repo, "switch", "-q", "-c", "feature/tuning")
    deployed = sparkplate("project", "deploy", cwd=repo)
    dag_id = "sandbox.feature-tuning.top_pyspark_pyspark.main"
    assert f"-> {dag_id}... DEPLOYED AS bundle 1" in deployed
    bundle = current_project(lake, dag_id)
    load_mocks(spark, bundle, lake / "sandbox")
    dags_test(dag_id, "2024-01-01", airflow_env, lake)
    assert rows(spark, lake / "sandbox", "2024-01-01")
    # A date without data fails the blocking audit in the daily DAG's first task: the DAG run
    # fails, and the failure is recorded for whom the workflow names.
    daily = "sandbox.feature-tuning.top_pyspark_pyspark.daily"
    failed = call(AIRFLOW, "dags", "test", daily, "2024-02-09", cwd=lake, env=airflow_env,
                  ok=False)  # fmt: skip
    assert "blocking audit(s) failed" in failed
    notified = (lake / "bundles" / daily / "notifications.jsonl").read_text().splitlines()
    assert [json.loads(line)["task_id"] for line in notified] == ["main.d-2"]
    assert json.loads(notified[0])["notify"] == ["data-engineering"]
    after = sorted(p.name for p in production.iterdir()) if production.is_dir() else []
    assert after == before  # not one commit on production's table
    shutil.rmtree(lake / "sandbox")
