"""Runs of the generated project's workflows on a real Iceberg warehouse.

Each test writes its own target table, so they share the session's warehouse (and the source
table, loaded once) without seeing each other's data, branches or high-water marks.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import (
    AUDITS,
    add_to_wap,
    attach_warehouse,
    audit_rows,
    branches,
    execute,
    hwm,
    main_snapshot,
    render,
    rows_by_date,
)
from helpers import run_cli as cli

from sparkplate import iceberg
from sparkplate.errors import AuditFailed, SparkplateError
from sparkplate.mocks import differences
from sparkplate.params import new_run_id

pytestmark = pytest.mark.spark

KEY = ("date", "country_code", "title_id")
# The stock workflow's audits: five blocking ones and one non-blocking.
STOCK_AUDITS = 6


def test_run_publishes_the_expected_rows(spark, source, project, warehouse):
    table = "sample_db.t_happy"
    run = execute(project, warehouse, table, date="2024-01-01")
    run_id = run.params["run_id"]

    # The expected mock is filed under the default table name; compare it with ours.
    expected = source.get("sample_db.sparkplate_sample_results")
    assert differences(spark, expected, table) == ([], [])
    assert hwm(spark, table) == "2024-01-01T23:59:59"
    assert branches(spark, table) == ["main"]
    results = audit_rows(spark, table, run_id)
    assert len(results) == STOCK_AUDITS
    assert {(r.success, r.severity) for r in results} == {(True, "ok")}
    # The audits looked at the branch snapshot that then became main.
    assert {r.snapshot_id for r in results} == {main_snapshot(spark, table)}
    assert all(r.ref.startswith("wap_20240101_") for r in results)


def test_running_a_date_again_replaces_its_partition(spark, source, project, warehouse):
    table = "sample_db.t_rerun"
    execute(project, warehouse, table, date="2024-01-01")
    first = spark.table(table).collect()
    first_main = main_snapshot(spark, table)

    execute(project, warehouse, table, date="2024-01-01")

    assert main_snapshot(spark, table) != first_main  # a new publish, not a no-op
    assert spark.table(table).count() == len(first) == 10
    assert sorted(spark.table(table).collect()) == sorted(first)
    dupes = spark.sql(
        f"SELECT {', '.join(KEY)} FROM {table} GROUP BY {', '.join(KEY)} HAVING count(*) > 1"
    ).collect()
    assert dupes == []
    assert branches(spark, table) == ["main"]


def test_failing_blocking_audit_publishes_nothing(spark, source, project, warehouse):
    table = "sample_db.t_blocked"
    execute(project, warehouse, table, date="2024-01-01")
    before, rows_before = main_snapshot(spark, table), spark.table(table).count()
    add_to_wap(project, audit="{function: row_count_should_be_between, blocking: true, max: 1}")
    run_id = new_run_id()

    with pytest.raises(AuditFailed) as failed:
        execute(project, warehouse, table, date="2024-01-01", run_id=run_id)

    assert "row_count_should_be_between" in str(failed.value)
    assert str(before) in str(failed.value)
    assert main_snapshot(spark, table) == before
    assert spark.table(table).count() == rows_before
    assert branches(spark, table) == ["main"]
    assert spark.conf.get("spark.wap.branch", None) is None
    results = {r.audit: r for r in audit_rows(spark, table, run_id)}
    assert len(results) == STOCK_AUDITS + 1  # every audit ran, not just up to the failure
    bad = results["row_count_should_be_between"]
    assert (bad.success, bad.severity, bad.blocking) == (False, "error", True)
    assert bad.actual == "10 rows"
    assert bad.ref.startswith("wap_20240101_")
    assert hwm(spark, table) == "2024-01-01T23:59:59"  # set by the first run only


def test_failing_non_blocking_audit_publishes_with_a_warning(spark, source, project, warehouse):
    table = "sample_db.t_warned"
    execute(project, warehouse, table, date="2024-01-01")
    before = main_snapshot(spark, table)

    # 2024-01-02 has 1 row against 10 the day before: beyond the stock 50% change limit.
    run = execute(project, warehouse, table, date="2024-01-02")

    assert main_snapshot(spark, table) != before
    assert rows_by_date(spark, table) == {"2024-01-01": 10, "2024-01-02": 1}
    assert branches(spark, table) == ["main"]
    results = {r.audit: r for r in audit_rows(spark, table, run.params["run_id"])}
    change = results["row_count_change_should_be_within"]
    assert (change.success, change.severity, change.blocking) == (False, "warning", False)
    assert change.snapshot_id == main_snapshot(spark, table)
    assert [a for a, r in results.items() if not r.success] == ["row_count_change_should_be_within"]


def test_high_water_mark_only_moves_forward(spark, source, project, warehouse):
    table = "sample_db.t_hwm"
    first = execute(project, warehouse, table, date="2024-01-02")
    execute(project, warehouse, table, date="2024-01-01")

    assert rows_by_date(spark, table) == {"2024-01-01": 10, "2024-01-02": 1}
    assert hwm(spark, table) == "2024-01-02T23:59:59"
    props = {r.key: r.value for r in spark.sql(f"SHOW TBLPROPERTIES {table}").collect()}
    assert props["sparkplate.hwm.run_id"] == first.params["run_id"]


def test_daily_runs_the_lookback_window_oldest_first(spark, source, project, warehouse):
    table = "sample_db.t_daily"
    execute(project, warehouse, table, "daily.sch.yaml", date="2024-01-02", lookback_days="3")

    assert rows_by_date(spark, table) == {"2023-12-31": 1, "2024-01-01": 10, "2024-01-02": 1}
    assert hwm(spark, table) == "2024-01-02T23:59:59"
    assert branches(spark, table) == ["main"]
    # One child run per date; their audits were recorded in the order they ran.
    order = spark.sql(
        f"SELECT run_id, substr(ref, 1, 12) AS day, min(audited_at) AS at FROM {AUDITS} "
        f"WHERE table_name = '{table}' GROUP BY run_id, ref ORDER BY at"
    ).collect()
    assert [r.day for r in order] == ["wap_20231231", "wap_20240101", "wap_20240102"]
    assert len({r.run_id for r in order}) == 3
    # Each run's once-per-run table checks are forgotten when it ends: none is kept.
    assert not [entry for entry in iceberg._CHECKED if entry[1] in {r.run_id for r in order}]


def test_backfill_covers_start_and_end(spark, source, project, warehouse):
    table = "sample_db.t_backfill"
    execute(
        project,
        warehouse,
        table,
        "backfill.sch.yaml",
        start_date="2023-12-31",
        end_date="2024-01-01",
    )

    assert rows_by_date(spark, table) == {"2023-12-31": 1, "2024-01-01": 10}
    assert branches(spark, table) == ["main"]


# --- a run killed mid-write, in its own process ------------------------------------------------

CRASH = """import os
import signal


def main(args, spark):
    if args["date"] == "2024-01-02":
        os.kill(os.getpid(), signal.SIGKILL)  # like an OOM kill or a lost node
"""


def test_killed_run_leaves_main_alone(spark, source, project, tmp_path):
    # A second catalog on the shared session reads the CLI's warehouse; with its table cache off
    # it sees every commit the other processes make.
    warehouse, catalog = tmp_path / "cli_warehouse", "cli"
    attach_warehouse(spark, catalog, warehouse, source)
    table = f"{catalog}.sample_db.sparkplate_sample_results"
    (project / "src" / "crash.py").write_text(CRASH)
    original = (project / "main.sch.yaml").read_text()
    add_to_wap(
        project, job='{id: crash, type: PySpark, script: src/crash.py, params: {date: "${date}"}}'
    )

    # A backfill publishes 2024-01-01, writes 2024-01-02 to its branch, then dies.
    killed = cli(
        project, warehouse, "backfill.sch.yaml", start_date="2024-01-01", end_date="2024-01-02"
    )

    assert killed.returncode == -9, killed.stdout + killed.stderr
    published = spark.sql(
        f"SELECT DISTINCT snapshot_id FROM {catalog}.{AUDITS} WHERE ref LIKE 'wap_20240101_%'"
    ).collect()
    assert len(published) == 1
    assert main_snapshot(spark, table) == published[0].snapshot_id
    assert rows_by_date(spark, table) == {"2024-01-01": 10}
    stale = [b for b in branches(spark, table) if b != "main"]
    assert len(stale) == 1 and stale[0].startswith("wap_20240102_")
    on_branch = spark.sql(f"SELECT * FROM {table} VERSION AS OF '{stale[0]}'")
    assert on_branch.where("date = '2024-01-02'").count() == 1  # its write, kept off main

    (project / "main.sch.yaml").write_text(original)
    again = cli(project, warehouse, "main.sch.yaml", date="2024-01-02")

    assert again.returncode == 0, again.stdout + again.stderr
    assert f"dropping branch {stale[0]}" in again.stdout
    assert branches(spark, table) == ["main"]
    assert rows_by_date(spark, table) == {"2024-01-01": 10, "2024-01-02": 1}
    assert hwm(spark, table) == "2024-01-02T23:59:59"


# --- main moves while a run audits its branch ------------------------------------------------

CONCURRENT = """import pathlib


def main(args, spark):
    # Another writer: it commits straight to main while this run's branch waits to be published.
    branch = spark.conf.get("spark.wap.branch")
    spark.conf.unset("spark.wap.branch")
    try:
        spark.sql(
            f"INSERT INTO {args['table']} VALUES (999, 'ZZ', 1, 9.5, DATE '{args['date']}')"
        )
        main = spark.sql(f"SELECT snapshot_id FROM {args['table']}.refs WHERE name = 'main'")
        pathlib.Path(args["out"]).write_text(str(main.collect()[0].snapshot_id))
    finally:
        spark.conf.set("spark.wap.branch", branch)
"""


def test_main_moving_during_the_run_fails_the_publish(spark, source, project, warehouse):
    table = "sample_db.t_conflict"
    execute(project, warehouse, table, date="2024-01-01")
    before = main_snapshot(spark, table)
    rows_before = sorted(spark.table(table).collect())
    (project / "src" / "concurrent.py").write_text(CONCURRENT)
    out = project / "concurrent_snapshot.txt"
    add_to_wap(
        project,
        job="{id: concurrent, type: PySpark, script: src/concurrent.py, "
        f'params: {{table: "${{target_table}}", date: "${{date}}", out: "{out}"}}}}',
    )
    run_id = new_run_id()

    with pytest.raises(SparkplateError) as failed:
        execute(project, warehouse, table, date="2024-01-02", run_id=run_id)

    assert not isinstance(failed.value, AuditFailed)  # the audits passed; publishing failed
    assert "could not publish branch wap_20240102_" in failed.value.message
    assert "main changed" in failed.value.fix
    concurrent = int(out.read_text())
    assert concurrent != before
    # Main holds the other writer's commit, and nothing of this run's branch.
    assert main_snapshot(spark, table) == concurrent
    parent = spark.sql(
        f"SELECT parent_id FROM {table}.snapshots WHERE snapshot_id = {concurrent}"
    ).collect()
    assert [r.parent_id for r in parent] == [before]
    other = spark.table(table).where("country_code = 'ZZ'").collect()
    assert [(r.title_id, str(r.date)) for r in other] == [(999, "2024-01-02")]
    assert sorted(spark.table(table).where("country_code != 'ZZ'").collect()) == rows_before
    assert branches(spark, table) == ["main"]
    assert spark.conf.get("spark.wap.branch", None) is None
    # The branch was audited (all passed) before the publish was refused; the HWM did not move.
    results = audit_rows(spark, table, run_id)
    assert len(results) == STOCK_AUDITS
    assert all(r.success or not r.blocking for r in results)
    assert all(r.ref.startswith("wap_20240102_") for r in results)
    assert {r.snapshot_id for r in results}.isdisjoint({before, concurrent})
    assert hwm(spark, table) == "2024-01-01T23:59:59"


# --- use_wap=false: the write lands on main, then an Audit job checks it ------------------------


@pytest.fixture(scope="module")
def rendered_no_wap(tmp_path_factory) -> Path:
    return render(tmp_path_factory.mktemp("rendered_no_wap") / "pipeline", use_wap=False)


@pytest.fixture
def no_wap_project(rendered_no_wap, tmp_path) -> Path:
    return Path(shutil.copytree(rendered_no_wap, tmp_path / "pipeline"))


def test_without_wap_main_is_written_and_audited(spark, source, no_wap_project, warehouse):
    table = "sample_db.t_nowap"
    assert "type: wap" not in (no_wap_project / "main.sch.yaml").read_text()

    run = execute(no_wap_project, warehouse, table, date="2024-01-01")

    expected = source.get("sample_db.sparkplate_sample_results")
    assert differences(spark, expected, table) == ([], [])
    assert branches(spark, table) == ["main"]
    assert hwm(spark, table) == "2024-01-01T23:59:59"
    results = audit_rows(spark, table, run.params["run_id"])
    assert len(results) == STOCK_AUDITS
    assert {(r.success, r.severity) for r in results} == {(True, "ok")}
    assert {r.ref for r in results} == {"main"}
    assert {r.job_id for r in results} == {"audit"}
    assert {r.snapshot_id for r in results} == {main_snapshot(spark, table)}


def test_without_wap_a_failing_blocking_audit_says_it_is_published(
    spark, source, no_wap_project, warehouse
):
    table = "sample_db.t_nowap_blocked"
    # The Audit job has the only `audits:` key; add_to_wap puts the audit first there.
    add_to_wap(no_wap_project, audit="{function: row_count_should_be_between, max: 1}")
    run_id = new_run_id()

    with pytest.raises(AuditFailed) as failed:
        execute(no_wap_project, warehouse, table, date="2024-01-01", run_id=run_id)

    assert "row_count_should_be_between" in str(failed.value)
    assert "the data is already published" in str(failed.value)
    assert rows_by_date(spark, table) == {"2024-01-01": 10}  # on main, audited or not
    assert hwm(spark, table) is None  # the HWM job after the audit did not run
    bad = {r.audit: r for r in audit_rows(spark, table, run_id)}["row_count_should_be_between"]
    assert (bad.success, bad.severity, bad.ref) == (False, "error", "main")
    assert bad.snapshot_id == main_snapshot(spark, table)
