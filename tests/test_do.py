"""`sparkplate do`: several commands in one process, on one JVM, each step on a session of its
own; the chain stops at the first step that fails. The generated projects' e2e sessions run their
steps with it (`nox -s e2e-all`)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from sparkplate.cli import _fresh_session, activate, main


def do(*steps: str, cwd) -> tuple[int, str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        result = CliRunner().invoke(main, ["do", *steps])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "step, said",
    [("mock load --warehouse /elsewhere", "--warehouse is set once for the whole chain"),
     ("mock check t --project-dir=../other", "--project-dir is set once for the whole chain"),
     ("do 'mock load'", "a step is one sparkplate command, other than do"),
     ("", "a step is one sparkplate command, other than do")],
)  # fmt: skip
def test_a_step_that_would_change_the_chains_session_is_refused_before_any_runs(
    tmp_path, step, said
):
    code, output = do("validate nothere.sch.yaml", step, cwd=tmp_path)

    assert code == 2, output
    assert said in output
    assert "[1/2]" not in output  # refused before the first step ran


def test_a_workflow_of_another_project_is_refused_before_any_runs(tmp_path):
    """Its sparkplate.yaml may name another catalog: the chain's session would not be on it."""
    here, other = tmp_path / "here", tmp_path / "other"
    for project in (here, other):
        (project / "jobs").mkdir(parents=True)
        (project / "sparkplate.yaml").write_text("profiles:\n  local: {}\n")
        (project / "jobs" / "main.sch.yaml").write_text("workflow: {}\n")

    code, output = do("validate jobs/main.sch.yaml", "run -p date=2024-01-01 jobs/main.sch.yaml",
                      "run ../other/jobs/main.sch.yaml", cwd=here)  # fmt: skip

    assert code == 2, output
    assert "step 'run ../other/jobs/main.sch.yaml': ../other/jobs/main.sch.yaml" in output
    assert "belongs to another project (another sparkplate.yaml)" in output
    assert "[1/3]" not in output  # refused before the first step ran


def test_the_chain_stops_at_the_first_step_that_fails_with_its_exit_code(tmp_path):
    code, output = do("frobnicate", "schema", cwd=tmp_path)  # schema alone would succeed

    assert code == 2, output
    assert "[1/2] sparkplate frobnicate" in output
    assert "No such command 'frobnicate'" in output
    assert "error: step 1 (sparkplate frobnicate) failed; the steps after it did not run" in output
    assert "[2/2]" not in output


@pytest.mark.spark
def test_each_step_runs_on_a_session_of_its_own_on_the_same_spark_context(spark):
    from pyspark.sql import SparkSession

    spark.range(3).createOrReplaceTempView("left_by_a_step")
    spark.conf.set("spark.sql.shuffle.partitions", "7")
    try:
        _fresh_session()
        step = SparkSession.getActiveSession()

        assert step.sparkContext is spark.sparkContext  # one JVM, one context
        assert not step.catalog.tableExists("left_by_a_step")  # temp views are the step's own
        assert step.conf.get("spark.sql.shuffle.partitions") != "7"  # SQL settings too
        assert step.conf.get("spark.sql.defaultCatalog") == spark.conf.get(
            "spark.sql.defaultCatalog"
        )  # the catalog the session started with stays
    finally:
        spark.catalog.dropTempView("left_by_a_step")
        spark.conf.unset("spark.sql.shuffle.partitions")
        activate(spark)
