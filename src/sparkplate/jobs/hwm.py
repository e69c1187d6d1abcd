"""The HWM job: move a table's high-water mark forward (see `iceberg.set_hwm`)."""

from __future__ import annotations

from sparkplate import iceberg
from sparkplate.jobs.base import JobRun, job_type


@job_type("HWM", required=("table", "hwm_datetime"), optional=("hwm_timezone",))
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
