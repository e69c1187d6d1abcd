"""Progress of a range of dates (a daily's or a backfill's Workflow job) and `run --spark-progress`.

All but the last test are pure Python; the last runs the sample backfill for three dates.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from helpers import audit_rows, execute, rows_by_date

from sparkplate.cli import main as cli
from sparkplate.jobs.sub_workflow import run_workflow_job
from sparkplate.progress import (
    DateProgress,
    Tally,
    about,
    aligned,
    duration,
    estimate_left,
)


def audits(*severities: str) -> list:
    return [SimpleNamespace(severity=s) for s in severities]


# --- the parts ----------------------------------------------------------------------------------


def test_no_estimate_before_a_date_is_done():
    assert estimate_left([], 7) is None


def test_one_date_done_is_the_estimate_for_each_left():
    assert estimate_left([4.0], 6) == 24.0


def test_the_first_date_no_longer_counts_once_others_are_done():
    # The first also started Spark: 30 s, then 2 s and 4 s a date.
    assert estimate_left([30.0, 2.0, 4.0], 4) == 12.0


@pytest.mark.parametrize(
    "seconds, words",
    [(0.2, "about 1 s left"), (40.4, "about 40 s left"), (150, "about 2 min left"),
     (3 * 3600 + 20 * 60, "about 3 h 20 min left")],
)  # fmt: skip
def test_the_time_left_in_words(seconds, words):
    assert about(seconds) == words


@pytest.mark.parametrize(
    "seconds, text", [(4.14, "4.1 s"), (125, "2 min 5 s"), (3 * 3600 + 61, "3 h 1 min")]
)
def test_durations(seconds, text):
    assert duration(seconds) == text


def test_aligned_columns_with_a_note_after_the_last():
    lines = aligned([["date", "rows"], ["2024-01-01", "7"], ["2024-01-02", "1234", "failed"]], [1])
    assert lines == [
        "date        rows",
        "2024-01-01     7",
        "2024-01-02  1234  failed",
    ]


def test_a_tally_difference_is_what_happened_between():
    tally = Tally()
    tally.published(rows=5)
    tally.audited(audits("ok", "warning"))
    before = tally.copy()
    tally.published(rows=3)
    tally.audited(audits("ok", "ok", "error"))

    did = tally - before

    assert (did.publishes, did.rows) == (1, 3)
    assert did.audits == Counter(ok=2, error=1)


class Clock:
    """Seconds that pass only when a test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_each_date_says_where_it_is_and_the_time_left_then_the_summary():
    lines, tally, clock = [], Tally(), Clock()
    progress = DateProgress(["2024-01-01", "2024-01-02", "2024-01-03"], tally, lines.append, clock)
    progress.begin("a run of main.sch.yaml")
    for day, seconds, rows, severities in [
        ("2024-01-01", 20.0, 10, ("ok",) * 6),
        ("2024-01-02", 4.0, 1, ("ok",) * 5 + ("warning",)),
        ("2024-01-03", 6.0, 0, ("ok",) * 6),
    ]:
        with progress.date(day):
            clock.now += seconds
            tally.published(rows=rows)
            tally.audited(audits(*severities))
    progress.end()

    assert lines == [
        "3 dates, 2024-01-01..2024-01-03, each a run of main.sch.yaml",
        "[1/3] 2024-01-01 ...",
        "[2/3] 2024-01-02 ... about 40 s left",  # 20 s for each of the two left
        "[3/3] 2024-01-03 ... about 4 s left",  # the first date no longer counts
        "date        rows written  audits passed  audits warned    time",
        "2024-01-01            10              6              0  20.0 s",
        "2024-01-02             1              5              1   4.0 s",
        "2024-01-03             0              6              0   6.0 s",
        "total                 11             17              1  30.0 s",
    ]


def fake_job(dates: tuple[str, str], fail_on: str | None = None):
    """A Workflow job over `dates`, as its runner sees it, whose child run publishes one row and
    passes one audit a date; on `fail_on` it fails a blocking audit instead."""
    lines: list[str] = []
    tally = Tally()

    def run_child(path: Path, params: dict[str, str]) -> None:
        if params["date"] == fail_on:
            tally.audited(audits("ok", "error"))
            raise RuntimeError("blocking audit(s) failed")
        tally.audited(audits("ok"))
        tally.published(rows=1)

    run = SimpleNamespace(
        workflow=SimpleNamespace(path=Path("backfill.sch.yaml")), tally=tally, run_child=run_child
    )
    job = SimpleNamespace(
        spec={"workflow": "main.sch.yaml", "for_each_date": {"start": dates[0], "end": dates[1]}},
        job=SimpleNamespace(key="jobs[0].job"),
        run=run,
        file=lambda key: Path("main.sch.yaml"),
        log=lines.append,
    )
    return job, lines


def test_a_failed_date_ends_the_summary_and_its_error_goes_on():
    job, lines = fake_job(("2024-01-01", "2024-01-03"), fail_on="2024-01-02")

    with pytest.raises(RuntimeError, match="blocking audit"):
        run_workflow_job(job)

    assert lines[0] == "3 dates, 2024-01-01..2024-01-03, each a run of main.sch.yaml"
    assert [line.split(" ...")[0] for line in lines[1:3]] == [
        "[1/3] 2024-01-01",
        "[2/3] 2024-01-02",
    ]
    table = [line.split() for line in lines[3:]]
    assert table[0][0] == "date"
    assert table[1][:4] == ["2024-01-01", "1", "1", "0"]
    assert table[2][:4] == ["2024-01-02", "-", "1", "0"]  # nothing published
    assert lines[5].endswith("  failed: 1 blocking audit")
    assert table[3][:4] == ["total", "1", "2", "0"]
    assert len(lines) == 7  # the third date never started


def test_one_date_is_said_as_one():
    job, lines = fake_job(("2024-01-05", "2024-01-05"))
    run_workflow_job(job)
    assert lines[:2] == ["1 date, 2024-01-05, each a run of main.sch.yaml", "[1/1] 2024-01-05 ..."]


# --- run --spark-progress -----------------------------------------------------------------------

WORKFLOW = """workflow:
  id: t.progress
  owner: me
  jobs:
    - job: {id: ddl, type: Spark, script: ddl.sql}
"""


class Started(Exception):
    """Stands in for a session: the test has seen what it was asked for."""


@pytest.mark.parametrize("flag, wanted", [([], False), (["--spark-progress"], True)])
def test_spark_progress_reaches_the_session(tmp_path, monkeypatch, flag, wanted):
    (tmp_path / "ddl.sql").write_text("SELECT 1")
    (tmp_path / "w.sch.yaml").write_text(WORKFLOW)
    asked = {}

    def session(*args, **kwargs):
        asked.update(kwargs)
        raise Started()

    monkeypatch.setattr("sparkplate.jobs.base.local_session", session)
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "w.sch.yaml"), *flag])

    assert isinstance(result.exception, Started), result.output
    assert asked["spark_progress"] is wanted


# --- a real backfill ----------------------------------------------------------------------------

DAYS = ("2023-12-31", "2024-01-01", "2024-01-02")
STOCK_AUDITS = 6  # the sample main workflow's audits, blocking or not


@pytest.mark.spark
def test_backfill_prints_each_date_and_a_summary_of_what_each_did(
    spark, source, project, warehouse, capsys
):
    table = "sample_db.t_progress"
    execute(project, warehouse, table, "backfill.sch.yaml", start_date=DAYS[0], end_date=DAYS[-1])
    out = capsys.readouterr().out
    print(out)  # shown when the test fails

    lines = [line.strip() for line in out.splitlines()]
    assert f"3 dates, {DAYS[0]}..{DAYS[-1]}, each a run of main.sch.yaml" in lines
    starts = [line for line in lines if re.match(r"\[\d+/3\] ", line)]
    assert [line.split(" ...")[0] for line in starts] == [
        f"[{i}/3] {d}" for i, d in enumerate(DAYS, 1)
    ]
    assert re.search(r" \.\.\. about \d+ (s|min) left$", starts[1])
    header = next(i for i, line in enumerate(lines) if line.startswith("date  "))
    assert lines[header].split() == ["date", "rows", "written", "audits", "passed", "audits",
                                     "warned", "time"]  # fmt: skip
    summary = {row.split()[0]: row.split() for row in lines[header + 1 : header + 5]}
    # Rows written are the rows each date's partition now has.
    written = rows_by_date(spark, table)
    assert {day: int(summary[day][1]) for day in DAYS} == written
    assert int(summary["total"][1]) == sum(written.values())
    # Passed and warned are what the audit-results table recorded, date by date.
    recorded = audit_rows(spark, table)
    for day in DAYS:
        ref = "wap_" + day.replace("-", "") + "_"
        severities = Counter(r.severity for r in recorded if r.ref.startswith(ref))
        passed, warned = int(summary[day][2]), int(summary[day][3])
        assert (passed, warned) == (severities["ok"], severities["warning"])
        assert passed + warned == STOCK_AUDITS
