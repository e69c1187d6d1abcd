"""Every recipe computes the same rows from the shared fixture: one business logic, many languages.

Each recipe's transform runs the way its own unit test runs it, on the same source table, and the
outputs are compared row for row with each other and with the expected mock.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess

import pytest
from conftest import RECIPES, render

from sparkplate import submit
from sparkplate.mocks import MockSet, differences, write_table
from sparkplate.sqlscript import run_sql_file

pytestmark = pytest.mark.spark

ANSWERS = {"source_table": "agree_db.source_table", "target_database": "agree_db"}
EXPECTED = "agree_db.sparkplate_sample_results"


def run_pyspark(spark, project, params, target):
    spec = importlib.util.spec_from_file_location("agree_pyspark", project / "src/pyspark_write.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.transform(spark.table(params["source_table"]), params["date"], params["top_n"])
    rows.writeTo(target).overwritePartitions()


def run_sparksql(spark, project, params, target):
    run_sql_file(spark, project / "src/sparksql_write.sql", {**params, "target_table": target})


def run_scala(spark, project, params, target):
    """Build the jar as `nox` does (its scalatest suite included), then spark-submit it."""
    if shutil.which("mvn") is None:
        pytest.fail("Maven (mvn) is needed to build the Scala recipe; .ci/run installs it")
    subprocess.run(["mvn", "-B", "-q", "package"], cwd=project, check=True)
    jar = project / "target/sparkplate_sample.jar"
    main_class = "com.example.sparkplatesample.ExampleApp"
    args = {**params, "target_table": target}
    submit.run_application(spark, jar, main_class, args, "agree-scala", print, {})


RUNNERS = {"pyspark": run_pyspark, "sparksql": run_sparksql, "scala": run_scala}


def test_every_recipe_has_a_runner_here():
    assert set(RUNNERS) == set(RECIPES)


@pytest.fixture(scope="module")
def outputs(spark, tmp_path_factory):
    """{recipe: its output table}, each made by the recipe's own DDL and transform."""
    tables = {}
    for recipe in RECIPES:
        project = render(tmp_path_factory.mktemp(recipe) / "p", recipe=recipe, **ANSWERS)
        mocks = MockSet.find(project, spark)
        write_table(spark, mocks.get(ANSWERS["source_table"]))
        expected = mocks.get(EXPECTED)
        target = f"agree_db.{recipe}_output"
        spark.sql(f"DROP TABLE IF EXISTS {target}")
        ddl = next((project / "ddl").glob("*.sql"))
        run_sql_file(spark, ddl, {"target_db": "agree_db", "target_table": target})
        params = {"source_table": ANSWERS["source_table"], "date": expected.params["date"],
                  "top_n": int(expected.params["top_n"])}  # fmt: skip
        RUNNERS[recipe](spark, project, params, target)
        tables[recipe] = target
    return tables, expected


@pytest.mark.parametrize("recipe", RECIPES)
def test_each_recipe_gives_the_expected_mock(spark, outputs, recipe):
    tables, expected = outputs
    assert differences(spark, expected, tables[recipe]) == ([], [])


def test_the_recipes_give_the_same_rows(spark, outputs):
    tables, expected = outputs
    first, *others = [spark.table(tables[r]).select(*expected.columns) for r in RECIPES]
    assert first.count() == len(expected.rows)
    for other in others:
        assert first.exceptAll(other).count() == 0
        assert other.exceptAll(first).count() == 0
