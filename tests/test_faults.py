"""Fault injection: runs killed at every step of write-audit-publish, runs racing on one table,
a warehouse the user cannot write, a full disk, a copied project. Nothing may be lost, published
twice or half, and the high-water mark may never go back.

Each run is a real `sparkplate run` process. A run is killed with SIGKILL at a fault point
(`SPARKPLATE_FAULT`, see sparkplate.faults), as an OOM kill or a lost node would.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from helpers import attach_warehouse, branches, cli_env, hwm, main_snapshot, run_cli

from sparkplate.faults import POINTS

pytestmark = pytest.mark.spark

TABLE = "sample_db.sparkplate_sample_results"
KEY = "date, country_code, title_id"
# Where each fault point leaves main: untouched, or with the date fully published.
PUBLISHED_AT = {
    "before_branch_write": False,
    "after_branch_write": False,
    "while_recording_audits": False,
    "after_publish": True,
    "in_hwm": True,
}


def _catalog_of(request) -> str:
    """A catalog name of the test's own: a session's catalog keeps the warehouse it began with."""
    return "f_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[-40:]


@pytest.fixture
def cli_warehouse(spark, source, tmp_path, request):
    """A warehouse for CLI runs, readable here as catalog `f_<test>`: (catalog, warehouse)."""
    catalog, warehouse = _catalog_of(request), tmp_path / "warehouse"
    attach_warehouse(spark, catalog, warehouse, source)
    return catalog, warehouse


def date_rows(spark, table: str, date: str) -> int:
    return spark.sql(f"SELECT count(*) AS n FROM {table} WHERE date = DATE'{date}'").first().n


def assert_no_duplicates(spark, table: str) -> None:
    total = spark.table(table).count()
    assert total == spark.sql(f"SELECT DISTINCT {KEY} FROM {table}").count()


# The order the killed runs go in, one after another on one table and date: the first two never
# reach main, the next two publish the date, the last leaves its branch for the recovery to drop.
KILL_ORDER = (
    "before_branch_write",
    "while_recording_audits",
    "after_publish",
    "in_hwm",
    "after_branch_write",
)


def test_every_fault_point_has_a_case():
    assert set(PUBLISHED_AT) == set(POINTS)
    assert sorted(KILL_ORDER) == sorted(POINTS)


def test_runs_killed_at_each_step_lose_nothing_and_any_later_run_recovers(
    spark, project, cli_warehouse
):
    """One run of 2024-01-01 killed at each fault point in turn, each starting on what the one
    before it left; then `table show` lists the last one's branch, and a backfill whose first date
    is another one drops it and runs every date again."""
    catalog, warehouse = cli_warehouse
    table = f"{catalog}.{TABLE}"
    before = None  # main's snapshot before each killed run: none yet
    left: list[str] = []  # the branches the killed run before left
    for point in KILL_ORDER:
        killed = run_cli(
            project, warehouse, "main.sch.yaml", date="2024-01-01",
            env={"SPARKPLATE_FAULT": point},
        )  # fmt: skip

        said = f"killed at {point}: " + killed.stdout + killed.stderr
        assert killed.returncode == -signal.SIGKILL, said
        for branch in left:  # this run began by dropping them
            assert f"dropping branch {branch} left by an interrupted run" in killed.stdout, said
        published = main_snapshot(spark, table) != before
        assert published == PUBLISHED_AT[point], said
        on_main = published or before is not None
        assert date_rows(spark, table, "2024-01-01") == (10 if on_main else 0), said  # all or none
        assert_no_duplicates(spark, table)
        assert hwm(spark, table) is None, said  # a killed run never moved it
        before = main_snapshot(spark, table)
        left = [branch for branch in branches(spark, table) if branch != "main"]
    (stray,) = left  # after_branch_write's

    shown = subprocess.run(
        [Path(sys.executable).with_name("sparkplate"), "table", "show", TABLE,
         "--warehouse", warehouse],
        cwd=project, capture_output=True, text=True, timeout=300, env=cli_env(),
    )  # fmt: skip
    again = run_cli(
        project, warehouse, "backfill.sch.yaml", start_date="2023-12-31", end_date="2024-01-02"
    )

    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "WAP branches not published (a run in progress, or one that was killed" in shown.stdout
    assert stray in shown.stdout
    assert again.returncode == 0, again.stdout + again.stderr
    other_date = again.stdout.split("[2/3] 2024-01-01")[0]  # the first date's run: 2023-12-31
    assert f"dropping branch {stray} left by an interrupted run" in other_date, again.stdout
    assert branches(spark, table) == ["main"]
    assert date_rows(spark, table, "2024-01-01") == 10
    assert date_rows(spark, table, "2024-01-02") == 1
    assert_no_duplicates(spark, table)
    assert hwm(spark, table) == "2024-01-02T23:59:59"


def _start(project: Path, warehouse: Path, date: str, env: dict | None = None) -> subprocess.Popen:
    args = ["-p", f"date={date}", "-p", "top_n=3", "--warehouse", str(warehouse)]
    return subprocess.Popen(
        [Path(sys.executable).with_name("sparkplate"), "run", "main.sch.yaml", *args],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=cli_env(env),
    )  # fmt: skip


def _wait_for_line(process: subprocess.Popen, text: str, timeout: float = 300) -> str:
    """Read the process's output until a line contains `text`; everything read so far."""
    seen, deadline = [], time.monotonic() + timeout
    for line in process.stdout:
        seen.append(line)
        if text in line or time.monotonic() > deadline:
            break
    return "".join(seen)


def test_an_older_date_cannot_move_the_mark_back_while_a_newer_run_races_it(
    spark, project, cli_warehouse, tmp_path
):
    """Run 1 (2024-01-01) reads the HWM, then stalls before writing it until run 2 (2024-01-02)
    waits for the table. Unlocked, run 2 moved the mark to 01-02 and run 1 then wrote 01-01."""
    catalog, warehouse = cli_warehouse
    table = f"{catalog}.{TABLE}"
    go = tmp_path / "go"
    older = _start(project, warehouse, "2024-01-01", env={"SPARKPLATE_FAULT": f"in_hwm:wait={go}"})
    said = _wait_for_line(older, "hwm (HWM) ...")
    newer = _start(project, warehouse, "2024-01-02")
    newer_said = _wait_for_line(newer, "waiting for the lock of table")
    go.touch()

    older_out = said + older.communicate(timeout=300)[0]
    newer_out = newer_said + newer.communicate(timeout=300)[0]

    assert older.returncode == 0, older_out
    assert newer.returncode == 0, newer_out
    assert f"waiting for the lock of table local.{TABLE}" in newer_out
    assert hwm(spark, table) == "2024-01-02T23:59:59"
    props = {r.key: r.value for r in spark.sql(f"SHOW TBLPROPERTIES {table}").collect()}
    assert props["sparkplate.hwm.snapshot_id"] == str(main_snapshot(spark, table))
    assert date_rows(spark, table, "2024-01-01") == 10
    assert date_rows(spark, table, "2024-01-02") == 1


def test_two_runs_of_the_same_date_at_once_publish_it_once(spark, project, cli_warehouse):
    catalog, warehouse = cli_warehouse
    table = f"{catalog}.{TABLE}"
    runs = [_start(project, warehouse, "2024-01-01") for _ in range(2)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]

    assert [run.returncode for run in runs] == [0, 0], outputs
    assert branches(spark, table) == ["main"]
    assert date_rows(spark, table, "2024-01-01") == 10
    assert_no_duplicates(spark, table)
    assert hwm(spark, table) == "2024-01-01T23:59:59"


# --- the disk and the folders ---------------------------------------------------------------------


def test_a_warehouse_the_user_cannot_write_is_a_clear_error(spark, source, project, request):
    """A user who may read everything (the venv, Java, the project) but write none of root's
    files, running on root's warehouse."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("SKIPPED LOUDLY: needs root and setpriv to run as another user")
    # Under a folder others may enter: pytest's own tmp folders are root's alone, and Click
    # checks paths with access(), which ignores the reader's capability.
    shared = Path(tempfile.mkdtemp(prefix="sparkplate-readonly-"))
    shared.chmod(0o755)
    home = shared / "home"
    home.mkdir()
    os.chown(home, 65534, 65534)
    catalog, warehouse = _catalog_of(request), shared / "warehouse"
    table = f"{catalog}.{TABLE}"
    pipeline = Path(shutil.copytree(project, shared / "pipeline", symlinks=True))
    try:
        attach_warehouse(spark, catalog, warehouse, source)
        first = run_cli(pipeline, warehouse, "main.sch.yaml", date="2024-01-01")
        assert first.returncode == 0, first.stdout + first.stderr
        before = main_snapshot(spark, table)
        reader = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                  "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]  # fmt: skip
        denied = subprocess.run(
            [*reader, Path(sys.executable).with_name("sparkplate"), "run", "main.sch.yaml",
             "-p", "date=2024-01-02", "-p", "top_n=3", "--warehouse", str(warehouse)],
            cwd=pipeline, capture_output=True, text=True, timeout=300,
            env=cli_env({"HOME": str(home), "TMPDIR": str(home)}),
        )  # fmt: skip

        assert denied.returncode == 2, denied.stdout + denied.stderr
        assert "Traceback" not in denied.stderr
        assert "Permission denied" in denied.stderr
        assert str(warehouse) in denied.stderr  # the path
        assert "fix: make it writable" in denied.stderr
        assert main_snapshot(spark, table) == before
        assert date_rows(spark, table, "2024-01-01") == 10
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_a_full_disk_fails_the_run_and_corrupts_nothing(spark, source, project, tmp_path, request):
    catalog = _catalog_of(request)
    table = f"{catalog}.{TABLE}"
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(small)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"SKIPPED LOUDLY: cannot mount a small tmpfs here: {mounted.stderr!r}")
    try:
        attach_warehouse(spark, catalog, small / "warehouse", source)
        first = run_cli(project, small / "warehouse", "main.sch.yaml", date="2024-01-01")
        assert first.returncode == 0, first.stdout + first.stderr
        before = main_snapshot(spark, table)
        filler = small / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M"], capture_output=True)

        full = run_cli(project, small / "warehouse", "main.sch.yaml", date="2024-01-02")

        assert full.returncode != 0, full.stdout + full.stderr
        assert "Traceback" not in full.stderr
        assert "No space left on device" in full.stderr
        assert "fix: free some disk space" in full.stderr
        assert main_snapshot(spark, table) == before
        assert date_rows(spark, table, "2024-01-01") == 10  # still readable, unchanged

        filler.unlink()
        again = run_cli(project, small / "warehouse", "main.sch.yaml", date="2024-01-02")

        assert again.returncode == 0, again.stdout + again.stderr
        assert branches(spark, table) == ["main"]
        assert date_rows(spark, table, "2024-01-02") == 1
        assert_no_duplicates(spark, table)
    finally:
        subprocess.run(["umount", "-l", str(small)], capture_output=True)


def test_a_copied_project_does_not_write_into_the_originals_warehouse(
    spark, project, cli_warehouse, tmp_path
):
    catalog, warehouse = cli_warehouse
    table = f"{catalog}.{TABLE}"
    first = run_cli(project, warehouse, "main.sch.yaml", date="2024-01-01")
    assert first.returncode == 0, first.stdout + first.stderr
    before = main_snapshot(spark, table)
    copy = tmp_path / "copy"
    shutil.copytree(project, copy / "pipeline", symlinks=True)
    shutil.copytree(warehouse, copy / "warehouse", symlinks=True)  # as `cp -a` copies it

    refused = run_cli(copy / "pipeline", copy / "warehouse", "main.sch.yaml", date="2024-01-02")

    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "outside that warehouse" in refused.stderr
    assert f"keeps its files in {warehouse}" in refused.stderr
    assert "fix: delete this warehouse" in refused.stderr
    assert main_snapshot(spark, table) == before  # the original is untouched
    assert date_rows(spark, table, "2024-01-02") == 0
