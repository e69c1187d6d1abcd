"""The engine: check a workflow against the job types, then run its jobs in order.

A run has one Spark session, shared with the workflows it calls, started by the first job that
needs it; what its jobs start to share (an R process) ends with the top-level run.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from sparkplate import iceberg
from sparkplate.jobs import LazySpark, Resources, Run, check_job
from sparkplate.jobs.sub_workflow import dates_for, passed_params
from sparkplate.params import did_you_mean, substitute
from sparkplate.profiles import Profile
from sparkplate.progress import Tally
from sparkplate.workflow import Job, Workflow, parse_workflow, walk


def validate(
    path: Path,
    params: dict[str, str] | None = None,
    *,
    _seen: frozenset[Path] = frozenset(),
    _caller: tuple[Workflow, Job] | None = None,
) -> Workflow:
    """Parse `path` and every workflow it calls, and check each job against its type, on the
    parameter values known before the run: the defaults, or with `params` (a run's `-p`) the
    values that run will use, which become `wf.values`. Nothing here starts Spark."""
    wf = parse_workflow(path)
    if params is not None:
        wf.values = wf.resolve_params(params)
    elif _caller is not None:  # what the calling job passes, as a run passes it
        wf.values = wf.known_params(passed_params(*_caller, wf))
    seen = _seen | {wf.path.resolve()}
    for job in walk(wf.jobs):
        called = check_job(wf, job)
        if called is not None:
            if called.resolve() in seen:
                raise wf.error(f"workflow {called.name} calls itself", key=f"{job.key}.workflow")
            validate(called, _seen=seen, _caller=(wf, job))
    return wf


def run_workflow(
    path: Path,
    params: dict[str, str] | None = None,
    *,
    parent: Run | None = None,
    warehouse: str | os.PathLike | None = None,
    profile: Profile | None = None,
    out=None,
    job_id: str | None = None,
    for_date: str | None = None,
    spark_progress: bool = False,
) -> Run:
    """Validate (top level only: it checks called workflows too) and run `path`; with `job_id`,
    only that top-level job (a scheduler's task), and with `for_date`, only that date of its
    `for_each_date`. `spark_progress` turns Spark's console progress bar and UI on, for runs
    that take minutes (a session made elsewhere is used as it is)."""
    path = Path(path)
    given = dict(params or {})
    shown = " ".join(f"{k}={v}" for k, v in given.items())
    if parent is None:  # checked on the values of this run, called workflows too, before Spark
        wf = validate(path, given)
        values = wf.values
    else:  # parameters the child declares flow down from the parent
        wf = parse_workflow(path)
        values = wf.resolve_params(
            {**{k: v for k, v in parent.params.items() if k in wf.params}, **given}
        )
    run = Run(
        wf,
        dict(values),
        parent.lazy_spark if parent else LazySpark(warehouse, profile, spark_progress),
        parent.resources if parent else Resources(),
        depth=(parent.depth + parent.indent + 1) if parent else 0,
        out=out or (parent.out if parent else sys.stdout),
        tally=parent.tally if parent else Tally(),  # a caller sees what its callees did
    )
    run.run_child = lambda child, child_params: run_workflow(child, child_params, parent=run)
    jobs = wf.jobs if job_id is None else [_one_job(run, job_id, for_date)]
    run.log(f"workflow {wf.id} ({path.name}) run {run.params['run_id']} {shown}".rstrip())
    started = time.perf_counter()
    try:
        for job in jobs:
            run.run_job(job)
    finally:
        iceberg.forget_checks(run.params["run_id"])  # each run checks its tables afresh
        if parent is None:  # the workflows it called are done too
            run.resources.close()
    run.log(f"workflow {wf.id} succeeded in {time.perf_counter() - started:.1f} s")
    return run


def _one_job(run: Run, job_id: str | None, for_date: str | None) -> Job:
    """The top-level job `job_id`; with `for_date`, narrowed to that one of its dates."""
    wf = run.workflow
    ids = [job.id for job in wf.jobs]
    if job_id not in ids:
        raise wf.error(
            f"no top-level job '{job_id}'",
            key="workflow.jobs",
            fix=did_you_mean(job_id, ids) + "use one of: " + ", ".join(ids),
        )
    job = wf.jobs[ids.index(job_id)]
    if for_date is None:
        return job
    each = job.spec.get("for_each_date")
    if job.type != "Workflow" or not each:
        raise wf.error(f"job '{job_id}' has no for_each_date", key=job.key,
                       fix="drop --for-date")  # fmt: skip
    where = f"{job.key}.for_each_date"
    dates = dates_for(substitute(each, run.params, wf.path, where), wf.path, where)
    if for_date not in dates:
        raise wf.error(
            f"--for-date {for_date} is not one of the job's dates ({dates[0]}..{dates[-1]})",
            key=where,
        )
    return replace(job, spec={**job.spec, "for_each_date": {"start": for_date, "end": for_date}})
