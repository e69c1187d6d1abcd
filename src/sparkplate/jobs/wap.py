"""The `wap` template: write on an Iceberg branch, audit the branch, publish it to main only if
no blocking audit failed (write-audit-publish).

Only jobs that write may run inside it; the others go before or after the template.
"""

from __future__ import annotations

from sparkplate import faults, iceberg
from sparkplate.jobs.audit import audit_and_record, check_audits, fail_on, partition_filter
from sparkplate.jobs.base import JOB_TYPES, JobRun, job_type
from sparkplate.workflow import Job, Workflow


def check_wap(wf: Workflow, job: Job) -> None:
    check_audits(wf, job)
    # Only writes belong on the branch: the template itself audits and publishes.
    writers = [name for name, kind in JOB_TYPES.items() if kind.writes_on_branch]
    for inner in job.jobs:
        if inner.type not in writers:
            raise wf.error(
                f"a {inner.type} job cannot run inside a {job.type} template",
                key=f"{inner.key}.type",
                fix=f"inside it use {' or '.join(writers)} jobs; put the others before "
                "or after the template",
            )


@job_type(
    "wap",
    required=("table", "partition", "jobs"),
    optional=("audits",),
    mappings=("partition",),
    template=True,
    check=check_wap,
)
def run_wap(jr: JobRun) -> None:
    """Write on a branch, audit the branch, publish it to main only if no blocking audit failed."""
    spark, table = jr.spark, jr.spec["table"]
    iceberg.require_table(spark, table, jr.job.key)
    iceberg.enable_wap(spark, table)
    partition = jr.spec["partition"]
    partition_text = "_".join(map(str, partition.values()))
    branch = iceberg.branch_name(partition_text, jr.run.params["run_id"])
    # The run holds the table's lock here (every job naming a table does), and taking it dropped
    # the branches of runs killed before they published.
    _write_audit_publish(jr, table, partition, branch)


def _write_audit_publish(jr: JobRun, table: str, partition: dict, branch: str) -> None:
    spark = jr.spark
    main_before = iceberg.main_snapshot_id(spark, table)
    jr.log(f"writing to branch {branch} of {table}")
    faults.point("before_branch_write")
    try:
        with iceberg.writes_to_branch(spark, branch):
            for inner in jr.job.jobs:
                jr.run.run_job(inner)
    except BaseException:
        _drop_quietly(jr, table, branch)  # a failed write publishes nothing
        raise
    faults.point("after_branch_write")
    iceberg.refresh(spark, table)
    snapshot = iceberg.branch_snapshot_id(spark, table, branch)
    if snapshot is None:  # the write produced no commit: audit an empty partition
        data = spark.read.table(table).where("false")
    else:
        data = iceberg.read_branch(spark, table, branch).where(partition_filter(partition))
    failed = audit_and_record(jr, data, branch, snapshot)
    if failed:
        iceberg.drop_branch(spark, table, branch)
    fail_on(failed, table, f"nothing was published; main stays at snapshot {main_before}")
    if snapshot is None:
        jr.log("nothing was written; nothing to publish")
        jr.run.tally.published(rows=0)
        return
    published = iceberg.publish(spark, table, branch, since=main_before)
    jr.run.tally.published(rows=published.added_records)
    jr.log(f"published {table}: main is now snapshot {published.snapshot_id}")


def _drop_quietly(jr: JobRun, table: str, branch: str) -> None:
    """Drop a failed write's branch, keeping the write's own error: if the drop fails too (the
    disk that failed the write is still full), the next run on the table drops the branch."""
    try:
        iceberg.drop_branch(jr.spark, table, branch)
    except Exception as err:  # noqa: BLE001 - the write's error is the one to report
        jr.log(f"could not drop branch {branch} ({type(err).__name__}); the next run will")
