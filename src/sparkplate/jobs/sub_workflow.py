"""The Workflow job: run another workflow in this run, once or for each date of a range.

    - job: {id: days, type: Workflow, workflow: main.sch.yaml,
            for_each_date: {end: "${date}", days: "${lookback_days}"}}

The called workflow is validated with its caller, and runs in the caller's Spark session. A
range of dates reports its progress and ends with what each date did (see `progress`).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sparkplate.errors import SparkplateError
from sparkplate.jobs.base import JobRun, job_type
from sparkplate.params import BUILTIN_PARAMS, did_you_mean, parse_date
from sparkplate.progress import DateProgress
from sparkplate.workflow import Job, Workflow

RANGE_KEYS = ("start", "end", "days")


def check_for_each_date(wf: Workflow, job: Job) -> None:
    """Its shape, and its dates as far as they are known before the run (defaults, `-p`)."""
    each = job.spec.get("for_each_date") or {}
    where = f"{job.key}.for_each_date"
    for key in each:
        if key not in RANGE_KEYS:
            raise wf.error(
                f"unknown key '{key}'",
                key=f"{where}.{key}",
                fix=did_you_mean(key, RANGE_KEYS) + "allowed keys: " + ", ".join(RANGE_KEYS),
            )
    if each and ("end" not in each or ("start" in each) == ("days" in each)):
        raise wf.error("for_each_date needs 'end' and exactly one of 'start' or 'days'", key=where)
    known = {k: wf.known_value(v) for k, v in each.items()}
    _first_and_last({k: v for k, v in known.items() if v is not None}, wf.path, where)


def dates_for(spec: dict[str, Any], file: object = None, where: str | None = None) -> list[str]:
    """Dates (oldest first) from {end, days} or {start, end}, both ends inclusive."""
    start, end = _first_and_last(spec, file, where)
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def _first_and_last(spec: dict[str, Any], file: object, where: str | None):
    """The range's first and last date, from those of its keys `spec` has (None for a date that
    they do not give): each checked, and start not after end."""
    try:
        end = parse_date(spec["end"]) if "end" in spec else None
        start = parse_date(spec["start"]) if "start" in spec else None
        if "days" in spec:
            days = spec["days"]
            # A whole number: int(2.5) or int(True) would quietly be another number of days.
            if isinstance(days, bool) or not re.fullmatch(r"-?\d+", str(days).strip()):
                raise ValueError(f"days {days!r} is not a whole number")
            if int(days) < 1:
                raise ValueError("days must be at least 1")
            start = end - timedelta(days=int(days) - 1) if end else None
    except (ValueError, OverflowError) as err:  # OverflowError: days beyond year 1
        raise SparkplateError(
            f"bad for_each_date {spec}: {err}",
            file=file,
            key=where,
            fix="dates are YYYY-MM-DD; days is a whole number >= 1",
        ) from None
    if start and end and start > end:
        raise SparkplateError(
            f"start {start} is after end {end}",
            file=file,
            key=where,
            fix="give the earlier date as start",
        )
    return start, end


def passed_params(wf: Workflow, job: Job, child: Workflow) -> dict[str, str | None]:
    """What the Workflow job `job` of `wf` gives the workflow it calls, as a run will (see
    `engine.run_workflow` and `run_workflow_job`): each parameter both declare, the job's
    `params`, and `date` from `for_each_date` (its last date stands for all). None: a value
    known only at run time. Refuses what the called workflow would refuse when the run is under
    way: a parameter it does not declare, or a required one that nothing gives."""
    declared = set(child.params) | set(BUILTIN_PARAMS)
    job_params = dict(job.spec.get("params") or {})
    given = dict(job_params)
    if job.spec.get("for_each_date"):  # checked by check_for_each_date
        given["date"] = job.spec["for_each_date"].get("end")
    for name in given:
        if name not in declared:
            by_range = name not in job_params  # for_each_date gives each date as `date`
            raise wf.error(
                f"{child.path.name} has no parameter '{name}'"
                + (", which for_each_date gives it" if by_range else ""),
                key=f"{job.key}.for_each_date" if by_range else f"{job.key}.params.{name}",
                fix=did_you_mean(name, child.params)
                + f"its parameters: {', '.join(child.params) or 'none'}",
            )
    inherited = (*wf.params, *BUILTIN_PARAMS)
    passed = {name: wf.values.get(name) for name in inherited if name in child.params}
    for name, value in given.items():
        passed[name] = wf.known_value(value)
        if passed[name] is not None and name in job_params:
            _check_given_date(wf, job, child, name, str(passed[name]))
    for name, default in child.params.items():
        if default is None and name not in passed:
            raise wf.error(
                f"{child.path.name} needs parameter '{name}', which this job does not give",
                key=f"{job.key}.params",
                fix=f"add {name}: ... to the job's params, or declare {name} in "
                f"{wf.path.name} too (a parameter both declare is passed down)",
            )
    return {name: None if value is None else str(value) for name, value in passed.items()}


def _check_given_date(wf: Workflow, job: Job, child: Workflow, name: str, value: str) -> None:
    if not child.wants_date(name, value):
        return
    try:
        parse_date(value)
    except ValueError:
        raise wf.error(
            f"{name}={value!r}, given to {child.path.name}, is not a date",
            key=f"{job.key}.params.{name}",
            fix="write it as YYYY-MM-DD (a real date)",
        ) from None


@job_type(
    "Workflow",
    required=("workflow",),
    optional=("for_each_date", "params"),
    files=("workflow",),
    mappings=("params", "for_each_date"),
    calls="workflow",
    check=check_for_each_date,
)
def run_workflow_job(jr: JobRun) -> None:
    child_path = jr.file("workflow")
    params = {k: str(v) for k, v in (jr.spec.get("params") or {}).items()}
    each = jr.spec.get("for_each_date")
    if not each:
        jr.run.run_child(child_path, params)
        return
    dates = dates_for(each, jr.run.workflow.path, f"{jr.job.key}.for_each_date")
    # A range may take hours: say what is coming, how far it got, and what each date did.
    progress = DateProgress(dates, jr.run.tally, jr.log)
    progress.begin(f"a run of {child_path.name}")
    try:
        for day in dates:
            with progress.date(day):
                jr.run.run_child(child_path, {**params, "date": day})
    finally:
        progress.end()
