"""The Workflow job: run another workflow in this run, once or for each date of a range.

    - job: {id: days, type: Workflow, workflow: main.sch.yaml,
            for_each_date: {end: "${date}", days: "${lookback_days}"}}

The called workflow is validated with its caller, and runs in the caller's Spark session.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sparkplate.errors import SparkplateError
from sparkplate.jobs.base import JobRun, job_type
from sparkplate.workflow import Job, Workflow


def check_for_each_date(wf: Workflow, job: Job) -> None:
    each = job.spec.get("for_each_date") or {}
    if each and ("end" not in each or ("start" in each) == ("days" in each)):
        raise wf.error(
            "for_each_date needs 'end' and exactly one of 'start' or 'days'",
            key=f"{job.key}.for_each_date",
        )


def dates_for(spec: dict[str, Any], file: object = None, where: str | None = None) -> list[str]:
    """Dates (oldest first) from {end, days} or {start, end}, both ends inclusive."""
    try:
        end = date.fromisoformat(str(spec["end"]))
        if "days" in spec:
            days = int(spec["days"])
            if days < 1:
                raise ValueError("days must be at least 1")
            start = end - timedelta(days=days - 1)
        else:
            start = date.fromisoformat(str(spec["start"]))
    except (ValueError, TypeError) as err:
        raise SparkplateError(
            f"bad for_each_date {spec}: {err}",
            file=file,
            key=where,
            fix="dates are YYYY-MM-DD; days is a whole number >= 1",
        ) from None
    if start > end:
        raise SparkplateError(
            f"start {start} is after end {end}",
            file=file,
            key=where,
            fix="give the earlier date as start",
        )
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


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
    each = jr.spec.get("for_each_date")
    dates = dates_for(each, jr.run.workflow.path, f"{jr.job.key}.for_each_date") if each else [None]
    for day in dates:
        params = {k: str(v) for k, v in (jr.spec.get("params") or {}).items()}
        if day:
            params["date"] = day
        jr.run.run_child(child_path, params)
