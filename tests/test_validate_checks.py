"""What `validate` finds in a workflow's values before any Spark work (issue 13): the HWM's
datetime and timezone, dates given as parameters, for_each_date ranges, and misspelt names with
a suggestion. `run` checks the same, on the values of the run, before Spark starts.

No Spark and no rendering: each test writes the small workflows it needs, and `no_jvm` makes
starting a session fail the test, so a run that gets past validation fails it too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import edit

from sparkplate import iceberg
from sparkplate.cli import main as cli
from sparkplate.engine import run_workflow, validate
from sparkplate.errors import SparkplateError
from sparkplate.jobs.hwm import check_hwm
from sparkplate.workflow import Job, Workflow

# A main workflow like the template's: an audit, then the high-water mark of the date.
MAIN = """\
workflow:
  id: t.main
  params:
    date: null
    target_table: db.results
    timezone: America/Los_Angeles
  jobs:
    - job:
        id: audit
        type: Audit
        table: ${target_table}
        partition: {date: "${date}"}
        audits:
          - function: table_should_not_be_empty
            blocking: true
          - function: columns_should_be_unique
            columns: [date]
    - job:
        id: hwm
        type: HWM
        table: ${target_table}
        hwm_datetime: ${date}T23:59:59
        hwm_timezone: ${timezone}
"""
# The scheduled workflow: the last `lookback_days` days with main, then its own HWM.
DAILY = """\
workflow:
  id: t.daily
  params:
    date: null
    lookback_days: 3
    target_table: db.results
    timezone: America/Los_Angeles
  jobs:
    - job:
        id: main
        type: Workflow
        workflow: main.sch.yaml
        for_each_date: {end: "${date}", days: "${lookback_days}"}
    - job:
        id: hwm
        type: HWM
        table: ${target_table}
        hwm_datetime: ${date}T23:59:59
        hwm_timezone: ${timezone}
"""
# A range of dates with main.
BACKFILL = """\
workflow:
  id: t.backfill
  params:
    start_date: null
    end_date: null
    target_table: db.results
    timezone: America/Los_Angeles
  jobs:
    - job:
        id: main
        type: Workflow
        workflow: main.sch.yaml
        for_each_date: {start: "${start_date}", end: "${end_date}"}
"""
HWM = "workflow.jobs[1].job"  # the HWM job of main


@pytest.fixture
def pipeline(tmp_path) -> Path:
    for name, text in {"main": MAIN, "daily": DAILY, "backfill": BACKFILL}.items():
        (tmp_path / f"{name}.sch.yaml").write_text(text)
    return tmp_path


def refused(call, *args) -> SparkplateError:
    with pytest.raises(SparkplateError) as err:
        call(*args)
    return err.value


def test_the_workflows_as_written_are_valid(pipeline):
    for name in ("main", "daily", "backfill"):
        validate(pipeline / f"{name}.sch.yaml")


# --- the high-water mark ------------------------------------------------------------------------


def test_a_misspelt_default_timezone_is_refused_at_validate(pipeline):
    wf = edit(pipeline / "main.sch.yaml", "America/Los_Angeles", "America/Los_Angles")

    err = refused(validate, wf)

    assert str(err).startswith(
        f"{wf} [{HWM}.hwm_timezone]: unknown timezone 'America/Los_Angles' (${{timezone}})"
    )
    assert err.fix.startswith("did you mean 'America/Los_Angeles'? use an IANA name")


def test_a_timezone_given_at_run_is_refused_before_spark(pipeline):
    wf = pipeline / "main.sch.yaml"
    validate(wf)  # the default is fine

    err = refused(run_workflow, wf, {"date": "2024-01-31", "timezone": "Mars/Olympus"})

    assert str(err).startswith(f"{wf} [{HWM}.hwm_timezone]: unknown timezone 'Mars/Olympus'")


def test_cli_run_with_a_bad_timezone_publishes_nothing(pipeline):
    """The issue's case: the value reaches the HWM of the workflow daily calls, not only its own."""
    args = ["run", str(pipeline / "daily.sch.yaml"), "-p", "date=2024-01-31"]

    result = CliRunner().invoke(cli, [*args, "-p", "timezone=utc"])

    assert result.exit_code == 2, result.output
    main = pipeline / "main.sch.yaml"
    assert f"error: {main} [{HWM}.hwm_timezone]: unknown timezone 'utc'" in result.stderr
    assert "did you mean 'UTC'?" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "written, value",
    [
        ("2024-01-31T25:00:00", "2024-01-31T25:00:00"),
        ("${date}T23:59", None),  # only known at run: not checked here
        ('"2024-01-31 at midnight"', "2024-01-31 at midnight"),
        ("20240131", 20240131),  # a number, which set_hwm cannot read
    ],
    ids=["hour-25", "unknown", "words", "number"],
)
def test_a_malformed_datetime_is_refused_at_validate(pipeline, written, value):
    wf = edit(pipeline / "main.sch.yaml", "${date}T23:59:59", written)

    if value is None:
        validate(wf)
        return
    err = refused(validate, wf)

    assert str(err).startswith(
        f"{wf} [{HWM}.hwm_datetime]: hwm_datetime {value!r} is not an ISO datetime"
    )
    assert "YYYY-MM-DDTHH:MM:SS" in err.fix


def test_a_datetime_made_bad_by_a_run_parameter_is_refused_before_spark(pipeline):
    wf = edit(pipeline / "main.sch.yaml", "${date}T23:59:59", "${date}T${end_of_day}")
    edit(wf, "    date: null\n", "    date: null\n    end_of_day: '23:59:59'\n")
    validate(wf)

    err = refused(run_workflow, wf, {"date": "2024-01-31", "end_of_day": "24:00"})

    assert str(err).startswith(
        f"{wf} [{HWM}.hwm_datetime]: hwm_datetime '2024-01-31T24:00' (${{date}}T${{end_of_day}})"
    )


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-31T23:59:59",
        "2024-01-31",  # a date alone: its midnight
        "2024-01-31T23:59:59+02:00",
        "2024-01-31T23:59:59Z",
        "2024-01-31 23:59",
        "20240131",
        "2024-01-31T24:00:00",
        "2024-02-30T00:00:00",
        "31/01/2024",
        "",
    ],
)
def test_the_check_accepts_what_set_hwm_accepts(tmp_path, value):
    wf = Workflow(tmp_path / "w.sch.yaml", "w", {}, [])
    job = Job("hwm", "HWM", {"table": "db.t", "hwm_datetime": value}, "workflow.jobs[0].job")
    try:
        iceberg._aware(value, "UTC", "the mark")
        accepted = True
    except SparkplateError:
        accepted = False

    if accepted:
        check_hwm(wf, job)
    else:
        with pytest.raises(SparkplateError, match=r"is not an ISO datetime"):
            check_hwm(wf, job)


# --- parameters that are dates ------------------------------------------------------------------


@pytest.mark.parametrize(
    "old, new, name, value",
    [
        ("    date: null\n", "    date: 2024-13-45\n", "date", "2024-13-45"),
        ("    date: null\n", "    date: 20240131\n", "date", "20240131"),  # not YYYY-MM-DD
        ("    date: null\n", "    date: null\n    first_date: today\n", "first_date", "today"),
        ("    date: null\n", "    date: null\n    cutoff: 2024-02-30\n", "cutoff", "2024-02-30"),
    ],
    ids=["date", "compact", "named-date", "looks-like-a-date"],
)
def test_a_default_that_is_not_a_date_is_refused_at_validate(pipeline, old, new, name, value):
    wf = edit(pipeline / "main.sch.yaml", old, new)

    err = refused(validate, wf)

    assert str(err).startswith(
        f"{wf} [workflow.params.{name}]: parameter {name}={value!r} is not a date"
    )
    assert err.fix.startswith("write the default as YYYY-MM-DD")
    # A run validates first: the same error, whatever -p gives.
    assert str(refused(run_workflow, wf, {"date": "2024-01-31"})) == str(err)


def test_a_parameter_with_a_date_default_takes_only_dates_at_run(pipeline):
    since = "    date: null\n    since: 2024-01-01\n"
    wf = edit(pipeline / "main.sch.yaml", "    date: null\n", since)
    validate(wf)

    err = refused(run_workflow, wf, {"date": "2024-01-31", "since": "yesterday"})

    assert str(err).startswith(f"{wf} [workflow.params.since]: parameter since='yesterday'")
    assert err.fix == "-p since=YYYY-MM-DD"


def test_a_bad_date_given_to_a_called_workflow_names_the_caller(pipeline):
    wf = edit(
        pipeline / "backfill.sch.yaml",
        '        for_each_date: {start: "${start_date}", end: "${end_date}"}\n',
        "        params: {date: 2024-02-30}\n",
    )

    err = refused(validate, wf)

    assert str(err).startswith(
        f"{wf} [workflow.jobs[0].job.params.date]: date='2024-02-30', given to main.sch.yaml,"
    )


# --- for_each_date ------------------------------------------------------------------------------


RANGE = 'for_each_date: {end: "${date}", days: "${lookback_days}"}'
DAILY_MAIN = "workflow.jobs[0].job.for_each_date"


@pytest.mark.parametrize(
    "old, new, problem",
    [
        (RANGE, "for_each_date: {start: 2024-01-05, end: 2024-01-01}", "start 2024-01-05 is after"),
        ("lookback_days: 3", "lookback_days: 0", "days must be at least 1"),
        ("lookback_days: 3", "lookback_days: 2.5", "days 2.5 is not a whole number"),
        ("lookback_days: 3", "lookback_days: three", "days 'three' is not a whole number"),
        (RANGE, "for_each_date: {end: 2024-02-30, days: 1}", "'2024-02-30' is not a date"),
        (RANGE, "for_each_date: {end: 20240131, days: 1}", "is not written YYYY-MM-DD"),
    ],
    ids=["start-after-end", "days-0", "days-fraction", "days-text", "bad-end", "compact-end"],
)
def test_a_bad_range_is_refused_at_validate(pipeline, old, new, problem):
    wf = edit(pipeline / "daily.sch.yaml", old, new)

    err = refused(validate, wf)

    assert str(err).startswith(f"{wf} [{DAILY_MAIN}]: "), str(err)
    assert problem in str(err)


def test_a_range_given_backwards_at_run_is_refused_before_spark(pipeline):
    wf = pipeline / "backfill.sch.yaml"
    validate(wf)  # no dates yet

    err = refused(run_workflow, wf, {"start_date": "2024-01-07", "end_date": "2024-01-01"})

    assert str(err).startswith(f"{wf} [{DAILY_MAIN}]: start 2024-01-07 is after end 2024-01-01")


def test_days_given_at_run_must_be_positive(pipeline):
    wf = pipeline / "daily.sch.yaml"

    err = refused(run_workflow, wf, {"date": "2024-01-31", "lookback_days": "-2"})

    assert str(err).startswith(f"{wf} [{DAILY_MAIN}]: bad for_each_date ")
    assert "days must be at least 1" in str(err)


@pytest.mark.parametrize(
    "file, old, new, key, problem",
    [
        (
            "daily",
            RANGE,
            'for_each_date: {end: "${date}", dayz: 3}',
            f"{DAILY_MAIN}.dayz",
            "unknown key 'dayz'",
        ),
        (
            "daily",
            "workflow: main.sch.yaml\n",
            "workflow: main.sch.yaml\n        params: {top_n: 3}\n",
            "workflow.jobs[0].job.params.top_n",
            "main.sch.yaml has no parameter 'top_n'",
        ),
        (
            "main",
            "    target_table: db.results\n",
            "    target_table: db.results\n    source_table: null\n",
            "workflow.jobs[0].job.params",
            "main.sch.yaml needs parameter 'source_table', which this job does not give",
        ),
    ],
    ids=["range-key", "undeclared-param", "required-param"],
)
def test_what_a_called_workflow_would_refuse_is_refused_at_validate(
    pipeline, file, old, new, key, problem
):
    edit(pipeline / f"{file}.sch.yaml", old, new)
    daily = pipeline / "daily.sch.yaml"

    err = refused(validate, daily)

    assert str(err).startswith(f"{daily} [{key}]: {problem}"), str(err)


def test_a_range_needs_a_called_workflow_with_a_date_parameter(pipeline):
    (pipeline / "other.sch.yaml").write_text(
        "workflow:\n  id: t.other\n  params: {day: 2024-01-01}\n"
        "  jobs:\n    - job: {id: hwm, type: HWM, table: db.t, hwm_datetime: '${day}'}\n"
    )
    daily = edit(pipeline / "daily.sch.yaml", "workflow: main.sch.yaml", "workflow: other.sch.yaml")

    err = refused(validate, daily)

    assert str(err).startswith(
        f"{daily} [{DAILY_MAIN}]: other.sch.yaml has no parameter 'date', which for_each_date "
        "gives it"
    )
    assert err.fix.startswith("its parameters: day")


# --- suggestions for misspelt names -------------------------------------------------------------


@pytest.mark.parametrize(
    "old, new, key, suggestion, allowed",
    [
        ("type: HWM", "type: hwm", f"{HWM}.type", "HWM", "use one of: "),
        ("        hwm_timezone:", "        hwm_timezon:", f"{HWM}.hwm_timezon", "hwm_timezone",
         "allowed keys: "),
        ("table: ${target_table}\n        partition", "tabel: ${target_table}\n        partition",
         "workflow.jobs[0].job.tabel", "table", "allowed keys: "),
        ("table_should_not_be_empty", "table_should_not_be_emtpy",
         "workflow.jobs[0].job.audits[0].function", "table_should_not_be_empty", "use one of: "),
        ("columns: [date]", "colums: [date]", "workflow.jobs[0].job.audits[1]", "columns",
         "allowed: columns"),
        ("hwm_timezone: ${timezone}", "hwm_timezone: ${timezon}", f"{HWM}.hwm_timezone",
         "timezone", "declare it under workflow.params"),
        ("  params:\n", "  parms:\n", "workflow.parms", "params", "allowed keys: "),
        ("    - job:\n        id: hwm", "    - jobs:\n        id: hwm", "workflow.jobs[1]", "job",
         "write `- job: {...}`"),
    ],
    ids=["job-type", "job-key", "tabel", "audit-function", "audit-argument", "param-reference",
         "top-level-key", "entry"],
)  # fmt: skip
def test_a_misspelt_name_gets_a_suggestion(pipeline, old, new, key, suggestion, allowed):
    wf = edit(pipeline / "main.sch.yaml", old, new)

    err = refused(validate, wf)

    assert str(err).startswith(f"{wf} [{key}]: "), str(err)
    assert f"did you mean '{suggestion}'? " in str(err)
    assert allowed in str(err)  # the choices are still listed


def test_a_misspelt_run_parameter_gets_a_suggestion(pipeline):
    err = refused(run_workflow, pipeline / "main.sch.yaml", {"dat": "2024-01-31"})

    assert err.message == "unknown parameter(s) dat"
    assert err.fix.startswith("did you mean 'date'? declared parameters: date, ")


def test_a_name_close_to_nothing_gets_no_suggestion(pipeline):
    wf = edit(pipeline / "main.sch.yaml", "type: HWM", "type: Zzzzzz")

    err = refused(validate, wf)

    assert err.fix.startswith("use one of: ")
