"""The Audit job: audit a table as published (no WAP), record the results, fail on a blocking one.

Its audit checks and recording are also what the `wap` template runs on its branch.
"""

from __future__ import annotations

from typing import Any

from sparkplate import iceberg
from sparkplate.audits import AUDIT_FUNCTIONS, AuditContext
from sparkplate.audits.record import AUDIT_KEYS, argument_errors, record, run_audits
from sparkplate.errors import AuditFailed
from sparkplate.jobs.base import JobRun, job_type
from sparkplate.params import did_you_mean
from sparkplate.sqltext import quote_string
from sparkplate.workflow import Job, Workflow


def check_audits(wf: Workflow, job: Job) -> None:
    """The job's `audits`, if any: known functions with the arguments they take."""
    if "audits" not in job.spec:
        return
    entries, key = job.spec["audits"], f"{job.key}.audits"
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
                fix=did_you_mean(name, AUDIT_FUNCTIONS)
                + "use one of: "
                + ", ".join(sorted(AUDIT_FUNCTIONS)),
            )
        if "blocking" in entry and not isinstance(entry["blocking"], bool):
            raise wf.error("'blocking' must be true or false", key=f"{where}.blocking")
        args = {k: v for k, v in entry.items() if k not in AUDIT_KEYS}
        problems = AUDIT_FUNCTIONS[name].problems_with(args) or argument_errors(name, args)
        if problems:
            raise wf.error(f"audit '{name}': " + "; ".join(problems), key=where)


def partition_filter(partition: dict[str, Any]) -> str:
    return " AND ".join(f"`{col}` = {quote_string(value)}" for col, value in partition.items())


def audit_and_record(jr: JobRun, data, ref: str, snapshot_id: int | None) -> list:
    """Run the job's audits on `data`, record the results; return the blocking failures."""
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
    jr.run.tally.audited(results)
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


def fail_on(failed: list, table: str, consequence: str) -> None:
    if failed:
        names = ", ".join(r.audit for r in failed)
        raise AuditFailed(
            f"blocking audit(s) failed on {table}: {names}; {consequence}",
            fix=f"see the results with `sparkplate table show {table}`",
        )


@job_type(
    "Audit",
    required=("table", "audits"),
    optional=("partition",),
    mappings=("partition",),
    check=check_audits,
)
def run_audit_job(jr: JobRun) -> None:
    table = jr.spec["table"]
    iceberg.require_table(jr.spark, table, jr.job.key)
    iceberg.refresh(jr.spark, table)
    data = jr.spark.read.table(table)
    if jr.spec.get("partition"):
        data = data.where(partition_filter(jr.spec["partition"]))
    failed = audit_and_record(jr, data, "main", iceberg.main_snapshot_id(jr.spark, table))
    fail_on(failed, table, "the data is already published (audit without WAP)")
