"""The R job (the sparklyr recipe's write) through the workflow runner.

sparklyr installs only from CRAN, which this project's CI cannot reach: where it is missing, the
runner must say so and stop, and the end-to-end run is reported as skipped, never as passed.
"""

from __future__ import annotations

import shutil

import pytest
from conftest import render
from test_wap_runs import branches, execute, main_snapshot

from sparkplate import rjob
from sparkplate.errors import SparkplateError
from sparkplate.mocks import MockSet, differences, write_table

pytestmark = pytest.mark.spark

HAS_SPARKLYR = rjob.sparklyr_installed()
NOT_RUN = "SKIPPED: sparklyr is not installed; the sparklyr job was not run"


@pytest.fixture(scope="module")
def sparklyr_project(tmp_path_factory):
    return render(tmp_path_factory.mktemp("sparklyr") / "pipeline", recipe="sparklyr")


@pytest.fixture(scope="module")
def warehouse(spark, sparklyr_project) -> str:
    for mock in MockSet.find(sparklyr_project).sources():
        write_table(spark, mock)
    return spark.conf.get("spark.sql.catalog.local.warehouse")


@pytest.mark.skipif(HAS_SPARKLYR, reason="sparklyr is installed here: the job runs instead")
@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_without_sparklyr_the_run_stops_saying_so_and_publishes_nothing(
    spark, sparklyr_project, warehouse
):
    table = "sample_db.t_r_missing"
    with pytest.raises(SparkplateError) as error:
        execute(sparklyr_project, warehouse, table, date="2024-01-01")
    assert "sparklyr is not installed, so the R job cannot run" in str(error.value)
    assert "install.packages('sparklyr')" in error.value.fix
    assert main_snapshot(spark, table) is None
    assert branches(spark, table) == []


def test_without_r_the_run_says_what_to_install(spark, sparklyr_project, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    script = sparklyr_project / "src" / "sparklyr_write.R"
    with pytest.raises(SparkplateError) as error:
        rjob.run_r_script(spark, script, {}, print, {"key": "write"})
    assert "`Rscript` is not on PATH" in str(error.value)
    assert "apt install r-base-core" in error.value.fix


@pytest.mark.skipif(not HAS_SPARKLYR, reason=NOT_RUN)
def test_the_sparklyr_job_writes_the_branch_and_the_runner_publishes_it(
    spark, sparklyr_project, warehouse
):
    table = "sample_db.t_r"
    execute(sparklyr_project, warehouse, table, date="2024-01-01")
    expected = MockSet.find(sparklyr_project, spark).get("sample_db.sparkplate_sample_results")
    assert differences(spark, expected, table) == ([], [])
    assert branches(spark, table) == ["main"]
