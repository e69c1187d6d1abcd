"""The engine: check a workflow against the job types, then run its jobs in order.

A run has one Spark session, shared with the workflows it calls, started by the first job that
needs it; what its jobs start to share (an R process) ends with the top-level run.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from sparkplate.jobs import LazySpark, Resources, Run, check_job
from sparkplate.profiles import Profile
from sparkplate.workflow import Workflow, parse_workflow, walk


def validate(path: Path, _seen: set[Path] | None = None) -> Workflow:
    """Parse `path` and every workflow it calls, and check each job against its type."""
    wf = parse_workflow(path)
    seen = (_seen or set()) | {wf.path.resolve()}
    for job in walk(wf.jobs):
        called = check_job(wf, job)
        if called is not None:
            if called.resolve() in seen:
                raise wf.error(f"workflow {called.name} calls itself", key=f"{job.key}.workflow")
            validate(called, seen)
    return wf


def run_workflow(
    path: Path,
    params: dict[str, str] | None = None,
    *,
    parent: Run | None = None,
    warehouse: str | os.PathLike | None = None,
    profile: Profile | None = None,
    out=None,
) -> Run:
    """Validate (top level only: it checks called workflows too) and run `path`."""
    path = Path(path)
    wf = validate(path) if parent is None else parse_workflow(path)
    given = dict(params or {})
    shown = " ".join(f"{k}={v}" for k, v in given.items())
    if parent is not None:  # parameters the child declares flow down from the parent
        given = {**{k: v for k, v in parent.params.items() if k in wf.params}, **given}
    run = Run(
        wf,
        wf.resolve_params(given),
        parent.lazy_spark if parent else LazySpark(warehouse, profile),
        parent.resources if parent else Resources(),
        depth=(parent.depth + parent.indent + 1) if parent else 0,
        out=out or (parent.out if parent else sys.stdout),
    )
    run.run_child = lambda child, child_params: run_workflow(child, child_params, parent=run)
    run.log(f"workflow {wf.id} ({path.name}) run {run.params['run_id']} {shown}".rstrip())
    started = time.perf_counter()
    try:
        for job in wf.jobs:
            run.run_job(job)
    finally:
        if parent is None:  # the workflows it called are done too
            run.resources.close()
    run.log(f"workflow {wf.id} succeeded in {time.perf_counter() - started:.1f} s")
    return run
