"""The R job (the sparklyr recipe's write) through the workflow runner.

sparklyr installs only from CRAN, which this project's CI cannot reach: where it is missing, the
runner must say so and stop, and the end-to-end run is reported as skipped, never as passed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import branches, execute, main_snapshot, render

from sparkplate.errors import SparkplateError
from sparkplate.jobs import r as rjob
from sparkplate.jobs.sparklyr_check import sparklyr_installed
from sparkplate.mocks import MockSet, differences

pytestmark = [pytest.mark.spark, pytest.mark.render, pytest.mark.r]

HAS_SPARKLYR = sparklyr_installed()
NOT_RUN = "SKIPPED: sparklyr is not installed; the sparklyr job was not run"


@pytest.fixture(scope="module")
def sparklyr_project(tmp_path_factory):
    return render(tmp_path_factory.mktemp("sparklyr") / "pipeline", recipe="sparklyr")


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


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
@pytest.mark.parametrize(
    "old, new, message",
    [
        ("{title_id: 7, country_code: US", "{title_id: 7.5, country_code: US",
         "rows[1].title_id: 7.5 is not a valid INT"),
        ("playback_date: 2024-01-01}", "playback_date: 2024-02-30}", "is not a valid DATE"),
        ("{title_id: 7, country_code: US", "{title_idd: 7, country_code: US",
         "rows[1] has title_idd, which is not a column"),
    ],
)  # fmt: skip
def test_the_r_mock_reader_names_the_file_and_row_of_a_bad_value(
    sparklyr_project, tmp_path, old, new, message
):
    project = Path(shutil.copytree(sparklyr_project, tmp_path / "p"))
    mock = project / "src/mocks/some_db.source_table.yaml"
    mock.write_text(mock.read_text().replace(old, new, 1))
    read = "source('helper-mocks.R'); read_mock('some_db.source_table')"
    done = subprocess.run(["Rscript", "-e", read], cwd=project / "tests/testthat",
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode != 0
    assert f"{mock}: " in done.stderr and message in done.stderr
