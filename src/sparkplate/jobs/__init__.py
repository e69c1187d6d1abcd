"""One runner per job type; each declares its keys, so workflows are checked before Spark starts.

Types: Spark (a SQL script), PySpark (a Python file with `main(args, spark)`), SparkSubmit (a JVM
application's jar and main class, built with Maven when stale), R (an R script's
`main(args, spark)`, run with sparklyr), Metadata, Audit, HWM, Workflow (run another workflow,
e.g. main for each date), and the `wap` template, which runs its jobs on an Iceberg branch, audits
the branch and publishes it only if no blocking audit failed.
"""

from __future__ import annotations

import importlib.util
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException

from sparkplate import iceberg
from sparkplate.audits.base import AUDIT_FUNCTIONS, AuditContext
from sparkplate.audits.record import AUDIT_KEYS, argument_errors, record, run_audits
from sparkplate.errors import AuditFailed, SparkplateError, spark_message
from sparkplate.jobs import spark_submit as submit
from sparkplate.jobs.r import run_r_script
from sparkplate.sqlscript import run_sql_file, unknown_variables
from sparkplate.sqltext import quote_string
from sparkplate.workflow import BUILTIN_PARAMS, Job, Workflow, substitute


@dataclass(frozen=True)
class JobType:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    files: tuple[str, ...] = ()  # keys naming files relative to the project
    template: bool = False


JOB_TYPES = {
    "Spark": JobType(required=("script",), optional=("params",), files=("script",)),
    "PySpark": JobType(required=("script",), optional=("params",), files=("script",)),
    "SparkSubmit": JobType(required=("jar", "class"), optional=("params", "pom"), files=("pom",)),
    "R": JobType(required=("script",), optional=("params",), files=("script",)),
    "Metadata": JobType(
        required=("table",),
        optional=("owner", "description", "tags", "lifetime_days", "primary_key"),
    ),
    "Audit": JobType(required=("table", "audits"), optional=("partition",)),
    "HWM": JobType(required=("table", "hwm_datetime"), optional=("hwm_timezone",)),
    "Workflow": JobType(
        required=("workflow",), optional=("for_each_date", "params"), files=("workflow",)
    ),
    "wap": JobType(required=("table", "partition", "jobs"), optional=("audits",), template=True),
}
COMMON_KEYS = ("id", "type")
JVM_CLASS = re.compile(r"^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$")
# The job types that may write inside a `wap` template.
BRANCH_WRITE_TYPES = ("Spark", "PySpark", "SparkSubmit", "R")


def _check_audits(wf: Workflow, entries: Any, key: str) -> None:
    if not isinstance(entries, list):
        raise wf.error("'audits' must be a list", key=key)
    for i, entry in enumerate(entries):
        where = f"{key}[{i}]"
        if not isinstance(entry, dict) or "function" not in entry:
            raise wf.error(
                "an audit must be a mapping with a 'function' key",
                key=where,
                fix="e.g. {function: table_should_not_be_empty, blocking: true}",
            )
        name = entry["function"]
        if name not in AUDIT_FUNCTIONS:
            raise wf.error(
                f"unknown audit function '{name}'",
                key=f"{where}.function",
                fix="use one of: " + ", ".join(sorted(AUDIT_FUNCTIONS)),
            )
        if "blocking" in entry and not isinstance(entry["blocking"], bool):
            raise wf.error("'blocking' must be true or false", key=f"{where}.blocking")
        args = {k: v for k, v in entry.items() if k not in AUDIT_KEYS}
        problems = AUDIT_FUNCTIONS[name].problems_with(args) or argument_errors(name, args)
        if problems:
            raise wf.error(f"audit '{name}': " + "; ".join(problems), key=where)


def _check_script_params(wf: Workflow, job: Job) -> None:
    """Every ${name} in a SQL script must be a workflow parameter or one of the job's params."""
    script = wf.project_dir / str(job.spec["script"])
    known = set(wf.params) | set(BUILTIN_PARAMS) | set(job.spec.get("params") or {})
    for number, name in unknown_variables(script.read_text(), known)[:1]:
        raise SparkplateError(
            f"unknown parameter ${{{name}}} at line {number}",
            file=script,
            key=f"{job.key} in {wf.path.name}",
            fix=f"declare it under workflow.params of {wf.path.name}, or under the job's params",
        )


def check_job(wf: Workflow, job: Job) -> Path | None:
    """Raise a SparkplateError for what is wrong with `job`; return the workflow it calls."""
    kind = JOB_TYPES.get(job.type)
    if kind is None:
        raise wf.error(
            f"unknown job type '{job.type}'",
            key=f"{job.key}.type",
            fix="use one of: " + ", ".join(JOB_TYPES),
        )
    if kind.template != job.key.endswith(".template"):
        entry = "template" if kind.template else "job"
        raise wf.error(f"type '{job.type}' must be declared as `- {entry}:`", key=job.key)
    for key in kind.required:
        if job.spec.get(key) in (None, "", []):
            raise wf.error(f"missing key '{key}' for a {job.type} job", key=f"{job.key}.{key}")
    allowed = set(COMMON_KEYS) | set(kind.required) | set(kind.optional)
    for key in job.spec:
        if key not in allowed:
            raise wf.error(
                f"unknown key '{key}' for a {job.type} job",
                key=f"{job.key}.{key}",
                fix="allowed keys: " + ", ".join(sorted(allowed)),
            )
    for key in kind.files:
        if key not in job.spec:  # an optional file
            continue
        path = wf.project_dir / str(job.spec[key])
        if "${" not in str(job.spec[key]) and not path.is_file():
            raise wf.error(f"file not found: {path}", key=f"{job.key}.{key}")
    for key in ("params", "partition", "for_each_date"):
        if key in job.spec and not isinstance(job.spec[key], dict):
            raise wf.error(f"'{key}' must be a mapping", key=f"{job.key}.{key}")
    if "audits" in job.spec:
        _check_audits(wf, job.spec["audits"], f"{job.key}.audits")
    for inner in job.jobs:  # only writes belong on the branch: the template audits and publishes
        if inner.type not in BRANCH_WRITE_TYPES:
            raise wf.error(
                f"a {inner.type} job cannot run inside a {job.type} template",
                key=f"{inner.key}.type",
                fix=f"inside it use {' or '.join(BRANCH_WRITE_TYPES)} jobs; put the others before "
                "or after the template",
            )
    if job.type == "SparkSubmit" and not JVM_CLASS.match(str(job.spec["class"])):
        raise wf.error(
            f"'{job.spec['class']}' is not a JVM class name",
            key=f"{job.key}.class",
            fix="give the application's main class with its package, e.g. com.example.ExampleApp",
        )
    if job.type == "Spark" and "${" not in str(job.spec["script"]):
        _check_script_params(wf, job)
    if job.type == "Workflow":
        each = job.spec.get("for_each_date") or {}
        if each and ("end" not in each or ("start" in each) == ("days" in each)):
            raise wf.error(
                "for_each_date needs 'end' and exactly one of 'start' or 'days'",
                key=f"{job.key}.for_each_date",
            )
        return wf.project_dir / str(job.spec["workflow"])
    return None


# --- running -----------------------------------------------------------------------------------

Runner = Callable[["JobRun"], None]


@dataclass
class JobRun:
    """One job about to run: its keys with parameters filled in, and the run it belongs to."""

    job: Job
    spec: dict[str, Any]
    run: Any  # sparkplate.runner.Run (not imported: it imports this module)

    @property
    def spark(self):
        return self.run.spark()

    @property
    def where(self) -> dict[str, Any]:
        """What a SparkplateError about this job names: the workflow file and the job's key."""
        return {"file": self.run.workflow.path, "key": self.job.key}

    def log(self, text: str) -> None:
        self.run.log(text)


def run_job(run, job: Job) -> None:
    spec = substitute(
        {k: v for k, v in job.spec.items() if k != "jobs"},
        run.params,
        run.workflow.path,
        job.key,
    )
    started = time.perf_counter()
    run.log(f"{job.id} ({job.type}) ...")
    run.indent += 1
    try:
        RUNNERS[job.type](JobRun(job, spec, run))
    except (PySparkException, Py4JJavaError) as err:
        # Spark's own message names the problem; the Python stack under it does not help.
        raise SparkplateError(
            f"job '{job.id}' failed: {spark_message(err)}", file=run.workflow.path, key=job.key
        ) from err
    finally:
        run.indent -= 1
    run.log(f"{job.id} done in {time.perf_counter() - started:.1f} s")


def _project_file(jr: JobRun, key: str) -> Path:
    return jr.run.workflow.project_dir / jr.spec[key]


def run_spark_sql(jr: JobRun) -> None:
    params = {**jr.run.params, **{k: str(v) for k, v in (jr.spec.get("params") or {}).items()}}
    run_sql_file(jr.spark, _project_file(jr, "script"), params)


def load_python_main(path: Path) -> Callable:
    spec = importlib.util.spec_from_file_location(f"sparkplate_job_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as err:
        raise SparkplateError(f"syntax error: {err.msg}", file=f"{path}:{err.lineno}") from None
    except Exception as err:
        raise SparkplateError(
            f"importing it failed: {type(err).__name__}: {err}",
            file=f"{path}{_line_in(err, path)}",
        ) from err
    if not callable(getattr(module, "main", None)):
        raise SparkplateError(
            "no `main(args, spark)` function",
            file=path,
            fix="define main(args, spark); the workflow passes its params",
        )
    return module.main


def run_pyspark(jr: JobRun) -> None:
    path = _project_file(jr, "script")
    main = load_python_main(path)
    try:
        main({k: str(v) for k, v in (jr.spec.get("params") or {}).items()}, jr.spark)
    except (PySparkException, Py4JJavaError, SparkplateError):
        raise
    except Exception as err:  # a bug in the transform: point at its line, not at the runner
        raise SparkplateError(
            f"{type(err).__name__}: {err}", file=f"{path}{_line_in(err, path)}", key=jr.job.key
        ) from err


def run_spark_submit(jr: JobRun) -> None:
    jar = _project_file(jr, "jar")
    if jr.spec.get("pom"):
        pom = _project_file(jr, "pom")
        if submit.stale(jar, pom):
            submit.build(jar, pom, jr.log, jr.where)
    params = jr.spec.get("params") or {}
    name = f"{jr.run.workflow.id}.{jr.job.id}"
    submit.run_application(jr.spark, jar, str(jr.spec["class"]), params, name, jr.log, jr.where)


def run_r(jr: JobRun) -> None:
    params = jr.spec.get("params") or {}
    run_r_script(jr.spark, _project_file(jr, "script"), params, jr.log, jr.where)


def _line_in(err: BaseException, path: Path) -> str:
    """`:<line>` of the deepest frame of `err` in the file `path`, or ''."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if Path(f.filename) == path]
    return f":{frames[-1].lineno}" if frames else ""


def run_metadata(jr: JobRun) -> None:
    table = jr.spec["table"]
    iceberg.require_table(jr.spark, table, jr.job.key)
    props = {}
    for key in ("owner", "description", "lifetime_days"):
        if jr.spec.get(key) is not None:
            props[f"sparkplate.{key}"] = str(jr.spec[key])  # Spark reserves plain `owner`
    for key in ("tags", "primary_key"):
        if jr.spec.get(key):
            props[f"sparkplate.{key}"] = ",".join(str(v) for v in jr.spec[key])
    changed = iceberg.set_properties(jr.spark, table, props)
    jr.log(f"{len(changed)} of {len(props)} properties changed on {table}")


def partition_filter(partition: dict[str, Any]) -> str:
    return " AND ".join(f"`{col}` = {quote_string(value)}" for col, value in partition.items())


def audit_and_record(jr: JobRun, data, ref: str, snapshot_id: int | None) -> list:
    table = jr.spec["table"]
    ctx = AuditContext(
        spark=jr.spark,
        table=table,
        data=data,
        published=jr.spark.read.table(table),
        params=jr.run.params,
    )
    # No cache of `data`: the audits' aggregates are batched into one scan (see audits.record),
    # and building a cache costs more than a second scan of one small partition.
    results = run_audits(ctx, jr.spec.get("audits") or [])
    for result in results:
        jr.log(result.line())
    record(
        jr.spark,
        results,
        run_id=jr.run.params["run_id"],
        workflow_id=jr.run.workflow.id,
        job_id=jr.job.id,
        table=table,
        ref=ref,
        snapshot_id=snapshot_id,
    )
    return [r for r in results if r.severity == "error"]


def _fail_on(failed: list, table: str, consequence: str) -> None:
    if failed:
        names = ", ".join(r.audit for r in failed)
        raise AuditFailed(
            f"blocking audit(s) failed on {table}: {names}; {consequence}",
            fix=f"see the results with `sparkplate table show {table}`",
        )


def run_audit_job(jr: JobRun) -> None:
    table = jr.spec["table"]
    iceberg.require_table(jr.spark, table, jr.job.key)
    iceberg.refresh(jr.spark, table)
    data = jr.spark.read.table(table)
    if jr.spec.get("partition"):
        data = data.where(partition_filter(jr.spec["partition"]))
    failed = audit_and_record(jr, data, "main", iceberg.main_snapshot_id(jr.spark, table))
    _fail_on(failed, table, "the data is already published (audit without WAP)")


def run_wap(jr: JobRun) -> None:
    """Write on a branch, audit the branch, publish it to main only if no blocking audit failed."""
    spark, table = jr.spark, jr.spec["table"]
    iceberg.require_table(spark, table, jr.job.key)
    iceberg.enable_wap(spark, table)
    partition = jr.spec["partition"]
    partition_text = "_".join(map(str, partition.values()))
    branch = iceberg.branch_name(partition_text, jr.run.params["run_id"])
    with iceberg.table_lock(spark, table):
        for old in iceberg.branches(spark, table):  # the same partition's earlier, killed runs
            if old.startswith(iceberg.branch_prefix(partition_text)) and old != branch:
                jr.log(f"dropping branch {old} left by an interrupted run")
                iceberg.drop_branch(spark, table, old)
        _write_audit_publish(jr, table, partition, branch)


def _write_audit_publish(jr: JobRun, table: str, partition: dict, branch: str) -> None:
    spark = jr.spark
    main_before = iceberg.main_snapshot_id(spark, table)
    jr.log(f"writing to branch {branch} of {table}")
    try:
        with iceberg.writes_to_branch(spark, branch):
            for inner in jr.job.jobs:
                run_job(jr.run, inner)
    except BaseException:
        iceberg.drop_branch(spark, table, branch)  # a failed write publishes nothing
        raise
    iceberg.refresh(spark, table)
    snapshot = iceberg.branch_snapshot_id(spark, table, branch)
    if snapshot is None:  # the write produced no commit: audit an empty partition
        data = spark.read.table(table).where("false")
    else:
        data = iceberg.read_branch(spark, table, branch).where(partition_filter(partition))
    failed = audit_and_record(jr, data, branch, snapshot)
    if failed:
        iceberg.drop_branch(spark, table, branch)
    _fail_on(failed, table, f"nothing was published; main stays at snapshot {main_before}")
    if snapshot is None:
        jr.log("nothing was written; nothing to publish")
        return
    published = iceberg.publish(spark, table, branch)
    jr.log(f"published {table}: main is now snapshot {published}")


def run_hwm(jr: JobRun) -> None:
    table = jr.spec["table"]
    iceberg.require_table(jr.spark, table, jr.job.key)
    moved, hwm = iceberg.set_hwm(
        jr.spark,
        table,
        jr.spec["hwm_datetime"],
        jr.spec.get("hwm_timezone") or "UTC",
        jr.run.params["run_id"],
    )
    verb = "moved to" if moved else "stays at (only moves forward)"
    jr.log(f"high-water mark of {table} {verb} {hwm['datetime']} {hwm.get('timezone', '')}")


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


def run_workflow_job(jr: JobRun) -> None:
    from sparkplate.runner import run_workflow

    child_path = _project_file(jr, "workflow")
    each = jr.spec.get("for_each_date")
    dates = dates_for(each, jr.run.workflow.path, f"{jr.job.key}.for_each_date") if each else [None]
    for day in dates:
        params = {k: str(v) for k, v in (jr.spec.get("params") or {}).items()}
        if day:
            params["date"] = day
        run_workflow(child_path, params, parent=jr.run)


RUNNERS: dict[str, Runner] = {
    "Spark": run_spark_sql,
    "PySpark": run_pyspark,
    "SparkSubmit": run_spark_submit,
    "R": run_r,
    "Metadata": run_metadata,
    "Audit": run_audit_job,
    "HWM": run_hwm,
    "Workflow": run_workflow_job,
    "wap": run_wap,
}
