"""What a job type is, the registry of them, and the run context a job runs in.

Each job type is a module of this package that registers its runner with `@job_type(...)`,
declaring its keys, its files, whether it may write inside a `wap` template and its own checks,
so a workflow is checked before Spark starts. `sparkplate.jobs` imports every such module.

The run context is `Run` (one workflow being run) and `JobRun` (one of its jobs, as its runner
sees it). The engine makes the Run; the jobs reach the engine only through it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.sql import SparkSession

from sparkplate import iceberg
from sparkplate.errors import SparkplateError, java_fix, os_error, spark_message
from sparkplate.params import did_you_mean, substitute
from sparkplate.profiles import Profile
from sparkplate.progress import Tally
from sparkplate.session import local_session
from sparkplate.workflow import Job, Workflow

Runner = Callable[["JobRun"], None]
Check = Callable[[Workflow, Job], None]


@dataclass(frozen=True)
class JobType:
    name: str
    runner: Runner
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    files: tuple[str, ...] = ()  # keys naming files relative to the project
    built: tuple[str, ...] = ()  # keys naming project files a build makes (not checked to exist)
    mappings: tuple[str, ...] = ()  # keys whose value must be a mapping
    template: bool = False  # declared as `- template:`, wrapping jobs of its own
    writes_on_branch: bool = False  # may run inside a `wap` template
    calls: str | None = None  # the key naming a workflow this job runs (checked with this one)
    check: Check | None = None  # what the keys alone do not say, e.g. a script's parameters


# In registration order, which is the order error messages list them in.
JOB_TYPES: dict[str, JobType] = {}
COMMON_KEYS = ("id", "type")
# What every script job declares (Spark, PySpark, R): a project file, its params, and a write
# that may run on a `wap` branch. `table`, the table it writes, makes it run under that table's
# lock (a `wap` template already holds it for the jobs inside).
SCRIPT_JOB: dict[str, Any] = {
    "required": ("script",),
    "optional": ("params", "table"),
    "files": ("script",),
    "mappings": ("params",),
    "writes_on_branch": True,
}


def job_type(name: str, **declared: Any) -> Callable[[Runner], Runner]:
    """Register the decorated runner as the job type `name`, with what `JobType` declares."""

    def register(runner: Runner) -> Runner:
        JOB_TYPES[name] = JobType(name, runner, **declared)
        return runner

    return register


def check_job(wf: Workflow, job: Job) -> Path | None:
    """Raise a SparkplateError for what is wrong with `job`; return the workflow it calls."""
    kind = JOB_TYPES.get(job.type)
    if kind is None:
        raise wf.error(
            f"unknown job type '{job.type}'",
            key=f"{job.key}.type",
            fix=did_you_mean(job.type, JOB_TYPES) + "use one of: " + ", ".join(JOB_TYPES),
        )
    if kind.template != job.key.endswith(".template"):
        entry = "template" if kind.template else "job"
        raise wf.error(f"type '{job.type}' must be declared as `- {entry}:`", key=job.key)
    # Unknown keys first: `tabel` is reported as itself (did you mean 'table'?), not as a
    # missing `table`.
    allowed = set(COMMON_KEYS) | set(kind.required) | set(kind.optional)
    for key in job.spec:
        if key not in allowed:
            raise wf.error(
                f"unknown key '{key}' for a {job.type} job",
                key=f"{job.key}.{key}",
                fix=did_you_mean(key, allowed) + "allowed keys: " + ", ".join(sorted(allowed)),
            )
    for key in kind.required:
        if job.spec.get(key) in (None, "", []):
            raise wf.error(f"missing key '{key}' for a {job.type} job", key=f"{job.key}.{key}")
    for key in kind.files:
        if key not in job.spec:  # an optional file
            continue
        path = wf.project_dir / str(job.spec[key])
        if "${" not in str(job.spec[key]) and not path.is_file():
            raise wf.error(f"file not found: {path}", key=f"{job.key}.{key}")
    for key in kind.mappings:
        if key in job.spec and not isinstance(job.spec[key], dict):
            raise wf.error(f"'{key}' must be a mapping", key=f"{job.key}.{key}")
    if kind.check:
        kind.check(wf, job)
    return wf.project_dir / str(job.spec[kind.calls]) if kind.calls else None


# --- the run context ----------------------------------------------------------------------------


@dataclass
class LazySpark:
    """The Spark session of a run, started on first use: a workflow that fails validation (or
    has no Spark job) starts no JVM."""

    warehouse: str | os.PathLike | None = None
    profile: Profile | None = None  # None: the profile of the project around the working folder
    spark_progress: bool = False  # Spark's console progress bar and UI on
    _spark: SparkSession | None = None

    def get(self) -> SparkSession:
        if self._spark is None:
            self._spark = local_session(
                "sparkplate",
                warehouse=self.warehouse,
                profile=self.profile,
                spark_progress=self.spark_progress,
            )
        return self._spark


class Resources:
    """What a run's jobs start once and share until the run ends (an R process with its Spark
    connection, say), each made by its job type on first use and closed when the top-level run
    ends, succeeded or not."""

    def __init__(self) -> None:
        self._made: dict[str, Any] = {}

    def get(self, name: str, make: Callable[[], Any]) -> Any:
        if name not in self._made:
            self._made[name] = make()
        return self._made[name]

    def discard(self, name: str) -> None:
        """Forget (and close) `name`, e.g. after it broke: the next job makes a new one."""
        made = self._made.pop(name, None)
        if made is not None:
            made.close()

    def close(self) -> None:
        while self._made:
            self.discard(next(iter(self._made)))


@dataclass
class Run:
    """One workflow being run: its parameters, the Spark session and resources it shares with the
    workflows it calls, and its log, indented by how deep it is called."""

    workflow: Workflow
    params: dict[str, str]
    lazy_spark: LazySpark
    resources: Resources = field(default_factory=Resources)  # shared with called workflows
    depth: int = 0
    indent: int = 0
    out: TextIO = field(default_factory=lambda: sys.stdout)
    # Runs a workflow this one calls, in this run's session. The engine sets it, so that the
    # Workflow job does not import the engine (which imports every job type).
    run_child: Callable[[Path, dict[str, str]], Run] | None = None
    tally: Tally = field(default_factory=Tally)  # what its jobs did, for progress reports

    @property
    def spark(self) -> SparkSession:
        return self.lazy_spark.get()

    def log(self, text: str) -> None:
        print("  " * (self.depth + self.indent) + text, file=self.out, flush=True)

    def _table_lock(self, spec: dict[str, Any]) -> AbstractContextManager:
        """The lock of the table a job names in `table`: every job that writes a table, or its
        properties (the HWM), or reads it to audit, does so one run at a time."""
        if not spec.get("table"):
            return nullcontext()
        about = {"run_id": self.params["run_id"], "workflow": str(self.workflow.path)}
        return iceberg.table_lock(self.spark, str(spec["table"]), about=about, log=self.log)

    def run_job(self, job: Job) -> None:
        """Fill the job's parameters in and run it with its type's runner."""
        spec = substitute(
            {k: v for k, v in job.spec.items() if k != "jobs"},
            self.params,
            self.workflow.path,
            job.key,
        )
        started = time.perf_counter()
        self.log(f"{job.id} ({job.type}) ...")
        self.indent += 1
        try:
            with self._table_lock(spec):
                JOB_TYPES[job.type].runner(JobRun(job, spec, self))
        except (PySparkException, Py4JJavaError) as err:
            # Spark's own message names the problem; the Python stack under it does not help.
            message = spark_message(err)
            raise SparkplateError(
                f"job '{job.id}' failed: {message}",
                file=self.workflow.path,
                key=job.key,
                fix=java_fix(message),
            ) from err
        except OSError as err:  # a folder not writable, a full disk
            raise os_error(err, doing=f"run job '{job.id}' of {self.workflow.path}") from err
        finally:
            self.indent -= 1
        self.log(f"{job.id} done in {time.perf_counter() - started:.1f} s")


@dataclass
class JobRun:
    """One job as its runner sees it: its keys with parameters filled in, and its run."""

    job: Job
    spec: dict[str, Any]
    run: Run

    @property
    def spark(self) -> SparkSession:
        return self.run.spark

    @property
    def where(self) -> dict[str, Any]:
        """What a SparkplateError about this job names: the workflow file and the job's key."""
        return {"file": self.run.workflow.path, "key": self.job.key}

    def file(self, key: str) -> Path:
        """The project file the job's `key` names."""
        return self.run.workflow.project_dir / self.spec[key]

    def log(self, text: str) -> None:
        self.run.log(text)
