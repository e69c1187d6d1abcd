"""The R job (the sparklyr recipe's write) through the workflow runner, with sparklyr for real.

sparklyr installs only from CRAN; `.ci/run` installs it from the vendored sources. Where it is
missing, the runner must say so and stop, and its runs are reported as skipped, never as passed.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import threading
from pathlib import Path

import pytest
from helpers import branches, execute, main_snapshot, render, rows_by_date

from sparkplate.errors import SparkplateError
from sparkplate.jobs import r as rjob
from sparkplate.jobs.sparklyr_check import sparklyr_installed
from sparkplate.mocks import MockSet, differences

pytestmark = [pytest.mark.spark, pytest.mark.render, pytest.mark.r]

HAS_SPARKLYR = sparklyr_installed()
NOT_RUN = "SKIPPED: sparklyr is not installed; the sparklyr job was not run"
needs_sparklyr = pytest.mark.skipif(not HAS_SPARKLYR, reason=NOT_RUN)
needs_r = pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")


@pytest.fixture(scope="module")
def sparklyr_project(tmp_path_factory):
    return render(tmp_path_factory.mktemp("sparklyr") / "pipeline", recipe="sparklyr")


@pytest.fixture
def r_sessions(monkeypatch):
    """The R processes the runner starts in a test (each one a sparklyr connection)."""
    started = []

    class CountedSession(rjob.RSession):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr(rjob, "RSession", CountedSession)
    return started


@needs_r
def test_without_sparklyr_the_run_stops_saying_so_and_publishes_nothing(
    spark, sparklyr_project, warehouse, monkeypatch, tmp_path, r_sessions
):
    monkeypatch.setenv("R_LIBS_USER", str(tmp_path))  # where .ci/run installs it: empty here
    if sparklyr_installed():
        pytest.skip("sparklyr is in R's system library here: it cannot be hidden")
    table = "sample_db.t_r_missing"
    with pytest.raises(SparkplateError) as error:
        execute(sparklyr_project, warehouse, table, date="2024-01-01")
    assert "sparklyr is not installed, so the R job cannot run" in str(error.value)
    assert "install.packages('sparklyr')" in error.value.fix
    assert main_snapshot(spark, table) is None
    assert branches(spark, table) == []
    assert [s.process.returncode for s in r_sessions] == [rjob.NO_SPARKLYR]


def test_without_r_the_run_says_what_to_install(spark, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SparkplateError) as error:
        rjob.RSession(spark, "no-r", {"key": "write"})
    assert "`Rscript` is not on PATH" in str(error.value)
    assert "apt install r-base-core" in error.value.fix


@needs_sparklyr
def test_the_sparklyr_job_writes_the_branch_and_the_runner_publishes_it(
    spark, sparklyr_project, warehouse, r_sessions
):
    table = "sample_db.t_r"
    execute(sparklyr_project, warehouse, table, date="2024-01-01")
    expected = MockSet.find(sparklyr_project, spark).get("sample_db.sparkplate_sample_results")
    assert differences(spark, expected, table) == ([], [])
    assert branches(spark, table) == ["main"]
    assert [s.process.returncode for s in r_sessions] == [0]  # disconnected and ended


@needs_sparklyr
def test_a_backfill_runs_every_date_in_one_sparklyr_connection(
    spark, sparklyr_project, warehouse, r_sessions
):
    table = "sample_db.t_r_backfill"
    execute(
        sparklyr_project, warehouse, table, "backfill.sch.yaml",
        start_date="2023-12-31", end_date="2024-01-02",
    )  # fmt: skip
    # Each date wrote its own branch (set per job in the one connection) and was published.
    assert set(rows_by_date(spark, table)) == {"2023-12-31", "2024-01-01", "2024-01-02"}
    assert branches(spark, table) == ["main"]
    assert len(r_sessions) == 1 and r_sessions[0].process.returncode == 0
    with pytest.raises(ProcessLookupError):  # nothing of R's process group is left: no JVM
        os.killpg(r_sessions[0].process.pid, 0)


@needs_sparklyr
def test_a_gateway_that_resets_the_connection_is_left_for_a_new_port(
    spark, sparklyr_project, warehouse, monkeypatch
):
    # A peer that resets every connection, as the JVM's probe of its gateway port does once,
    # holds the first port given to sparklyr.
    peer = socket.create_server(("127.0.0.1", 0))
    ports = iter([peer.getsockname()[1]])
    free_port = rjob.free_port
    monkeypatch.setattr(rjob, "free_port", lambda: next(ports, None) or free_port())

    def reset_every_connection():
        while True:
            try:
                connection, _ = peer.accept()
            except OSError:
                return
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()

    threading.Thread(target=reset_every_connection, daemon=True).start()
    logged: list[str] = []
    session = rjob.RSession(spark, "gateway-reset", {})
    try:
        assert session.connect(logged.append), "\n".join(session.output)
    finally:
        peer.close()
        session.close()
    assert "sparklyr's gateway reset the connection while starting; starting it again" in logged


def test_the_gateway_reset_sparklyr_hits_while_starting_is_recognised():
    # What R printed in CI when its connection landed in the JVM's probe of the gateway port.
    output = """Error in writeBin(as.integer(value), con, endian = "big") :
  ignoring SIGPIPE signal
Calls: serve ... withCallingHandlers -> query_gateway_for_port -> writeInt -> writeBin
In addition: Warning message:
In writeBin(as.integer(value), con, endian = "big") :
  problem writing to connection
Execution halted"""
    assert rjob.GATEWAY_RACE.search(output)
    assert not rjob.GATEWAY_RACE.search("Error: no such source\nExecution halted")


@needs_sparklyr
def test_a_failing_r_job_names_its_error_and_main_stays(
    spark, sparklyr_project, warehouse, tmp_path, r_sessions
):
    project = Path(shutil.copytree(sparklyr_project, tmp_path / "p"))
    table = "sample_db.t_r_fails"
    execute(project, warehouse, table, date="2024-01-01")
    published = main_snapshot(spark, table)
    script = project / "src/sparklyr_write.R"
    failing = 'main <- function(args, spark) stop("no such source")\n'
    script.write_text(script.read_text() + failing)
    with pytest.raises(SparkplateError) as error:
        execute(project, warehouse, table, date="2024-01-01")
    assert "the R job sparklyr_write.R failed: Error: no such source" in str(error.value)
    assert main_snapshot(spark, table) == published
    assert [s.process.returncode for s in r_sessions] == [0, 0]


@needs_r
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


@pytest.mark.skipif(not sparklyr_installed(), reason="SKIPPED: sparklyr is not installed here")
def test_a_spark_sparklyr_has_no_backend_for_is_refused_at_once():
    """Spark 4 runs on Scala 2.13; sparklyr 1.8.4's backends are built for 2.12 and older, so
    its driver would fail to load while R waits minutes for the gateway."""
    rjob.check_sparklyr_backend("3.5.9", "2.12", {})  # every sparklyr serves Spark 3.5
    with pytest.raises(SparkplateError) as raised:
        rjob.check_sparklyr_backend("4.1.4", "2.13", {"file": "main.sch.yaml"})
    message = str(raised.value)
    assert "Spark 4.1.4 runs on Scala 2.13" in message and "main.sch.yaml" in message
    assert "only for Scala 2.10, 2.11, 2.12" in message
    assert "pyspark>=3.5,<3.6" in message
