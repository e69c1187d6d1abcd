"""What test modules share besides fixtures: rendering, the recipe facts, WAP run helpers.

Test modules import from here, never from conftest.py (pytest loads that itself; importing it
by name may give a second copy) nor from each other (a test module is no library).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import copier

from sparkplate.sample import recipe_facts

REPO = Path(__file__).resolve().parents[1]

# copier.yml's `recipes` is the one list of recipes and their facts; the tests read it.
RECIPE_FACTS = recipe_facts(REPO / "copier.yml")
RECIPES = tuple(RECIPE_FACTS)
TRANSFORM = {recipe: facts["transform"] for recipe, facts in RECIPE_FACTS.items()}
WRITE_JOB_TYPE = {recipe: facts["write_job_type"] for recipe, facts in RECIPE_FACTS.items()}

SCALA_JAR = "target/sparkplate_sample.jar"  # the default Scala project's jar and main class
SCALA_CLASS = "com.example.sparkplatesample.TopTitles"


def render(dest: Path, **answers) -> Path:
    """Render the template at the working tree (uncommitted edits included) into `dest`, for
    the Spark line installed here where the recipe offers it (as `sample workflow` does)."""
    from sparkplate.sample import Source, spark_here

    recipe = answers.get("recipe", "pyspark")
    here = spark_here(Source(str(REPO), "HEAD", True), recipe)
    copier.run_copy(
        str(REPO),
        dest,
        data={"recipe": recipe, **here, **answers},
        defaults=True,
        unsafe=True,
        quiet=True,
        vcs_ref="HEAD",
    )
    return dest


# --- runs of a rendered project on the test warehouse --------------------------------------------

AUDITS = "sparkplate.audit_results"


def execute(project, warehouse, table, workflow="main.sch.yaml", **params):
    """Run a workflow in this process, writing `table`; top 3, as in the expected mock."""
    from sparkplate.engine import run_workflow  # pulls in pyspark: not for every conftest load

    given = {"target_table": table, "target_db": table.split(".")[0], "top_n": "3", **params}
    return run_workflow(project / workflow, given, warehouse=warehouse)


def main_snapshot(spark, table):
    rows = spark.sql(f"SELECT snapshot_id FROM {table}.refs WHERE name = 'main'").collect()
    return rows[0].snapshot_id if rows else None


def branches(spark, table):
    return sorted(r.name for r in spark.sql(f"SELECT name FROM {table}.refs").collect())


def hwm(spark, table):
    props = {r.key: r.value for r in spark.sql(f"SHOW TBLPROPERTIES {table}").collect()}
    return props.get("sparkplate.hwm.datetime")


def audit_rows(spark, table, run_id=None):
    where = f"table_name = '{table}'" + (f" AND run_id = '{run_id}'" if run_id else "")
    return spark.sql(f"SELECT * FROM {AUDITS} WHERE {where} ORDER BY audit").collect()


def rows_by_date(spark, table):
    return {
        str(r.date): r.n
        for r in spark.sql(f"SELECT date, count(*) AS n FROM {table} GROUP BY date").collect()
    }


def run_cli(
    project: Path, warehouse: Path, workflow: str, *, env: dict | None = None, **params
) -> subprocess.CompletedProcess:
    """`sparkplate run` in its own process, as a scheduler would start it; top 3 by default."""
    args = [arg for k, v in {"top_n": 3, **params}.items() for arg in ("-p", f"{k}={v}")]
    return subprocess.run(
        [Path(sys.executable).with_name("sparkplate"), "run", workflow, *args,
         "--warehouse", warehouse],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env=cli_env(env),
    )  # fmt: skip


# C1 only: these JVMs live for seconds, and start about 40% faster without C2.
CLI_ENV = {"PYTHONUNBUFFERED": "1", "JAVA_TOOL_OPTIONS": "-XX:TieredStopAtLevel=1"}


def cli_env(extra: dict | None = None) -> dict[str, str]:
    """The environment of a `sparkplate` process started by a test: this one's, CLI_ENV, `extra`."""
    return {**os.environ, **CLI_ENV, **(extra or {})}


def attach_warehouse(spark, catalog: str, warehouse: Path, source) -> None:
    """Let the tests' session read (as `catalog`) the warehouse CLI runs write, with the source
    tables loaded there. Its table cache off, it sees every commit the other processes make."""
    from sparkplate.mocks import write_table

    spark.conf.set(f"spark.sql.catalog.{catalog}", "org.apache.iceberg.spark.SparkCatalog")
    spark.conf.set(f"spark.sql.catalog.{catalog}.type", "hadoop")
    spark.conf.set(f"spark.sql.catalog.{catalog}.warehouse", str(warehouse))
    spark.conf.set(f"spark.sql.catalog.{catalog}.cache-enabled", "false")
    for mock in source.sources():
        write_table(spark, dataclasses.replace(mock, table=f"{catalog}.{mock.table}"))


def edit(path: Path, old: str, new: str) -> Path:
    """Replace `old`, which must be in the file exactly once, by `new`."""
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
    path.write_text(text.replace(old, new))
    return path


def add_to_wap(project: Path, *, audit: str = "", job: str = "") -> None:
    """Edit main.sch.yaml's wap template: an audit goes first in `audits`, a job last in `jobs`."""
    path = project / "main.sch.yaml"
    text = path.read_text()
    assert text.count("        audits:\n") == 1
    if audit:
        text = text.replace("        audits:\n", f"        audits:\n          - {audit}\n")
    if job:
        text = text.replace("        audits:\n", f"          - job: {job}\n        audits:\n")
    path.write_text(text)


# --- git repositories of pipelines (`sparkplate project`) ----------------------------------------


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout.strip()


def commit(repo: Path, message: str = "change") -> str:
    """Commit everything; the new commit's first 8 hex digits, as asset ids name it."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")[:8]
