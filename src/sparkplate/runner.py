"""Run a workflow: one Spark session for the whole run, sub-workflows included."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sparkplate.jobs import run_job
from sparkplate.workflow import Workflow, parse_workflow, validate


@dataclass
class Session:
    """Creates the Spark session on first use, so a workflow that fails validation starts no JVM."""

    warehouse: str | os.PathLike | None = None
    _spark: object = None

    def get(self):
        if self._spark is None:
            from sparkplate.session import local_session

            self._spark = local_session("sparkplate", warehouse=self.warehouse)
        return self._spark


@dataclass
class Run:
    workflow: Workflow
    params: dict[str, str]
    session: Session
    depth: int = 0
    indent: int = 0
    out: object = field(default_factory=lambda: sys.stdout)

    def spark(self):
        return self.session.get()

    def log(self, text: str) -> None:
        print("  " * (self.depth + self.indent) + text, file=self.out, flush=True)


def run_workflow(
    path: Path,
    params: dict[str, str] | None = None,
    *,
    parent: Run | None = None,
    warehouse: str | os.PathLike | None = None,
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
        parent.session if parent else Session(warehouse),
        depth=(parent.depth + parent.indent + 1) if parent else 0,
        out=out or (parent.out if parent else sys.stdout),
    )
    run.log(f"workflow {wf.id} ({path.name}) run {run.params['run_id']} {shown}".rstrip())
    started = time.perf_counter()
    for job in wf.jobs:
        run_job(run, job)
    run.log(f"workflow {wf.id} succeeded in {time.perf_counter() - started:.1f} s")
    return run
