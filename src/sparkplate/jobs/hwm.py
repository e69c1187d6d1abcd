"""The HWM job: move a table's high-water mark forward (see `iceberg.set_hwm`)."""

from __future__ import annotations

from datetime import datetime

from sparkplate import iceberg
from sparkplate.jobs.base import JobRun, job_type
from sparkplate.workflow import Job, Workflow, check_timezone


def check_hwm(wf: Workflow, job: Job) -> None:
    """The mark's datetime and timezone, as far as they are known before the run (defaults,
    `-p`): found now, not after the data is published. What `iceberg.set_hwm` accepts: an ISO
    datetime (a date alone is its midnight; an offset is kept) and an IANA timezone."""
    raw = job.spec.get("hwm_timezone")
    timezone = wf.known_value(raw)
    if timezone not in (None, ""):  # none given: UTC
        shown = f" ({raw})" if raw != timezone else ""
        check_timezone(timezone, wf.path, f"{job.key}.hwm_timezone", shown)
    raw = job.spec["hwm_datetime"]
    value = wf.known_value(raw)
    if value is None:
        return
    try:
        datetime.fromisoformat(value)  # TypeError for a number: it must be text
    except (ValueError, TypeError):
        shown = f" ({raw})" if raw != value else ""
        raise wf.error(
            f"hwm_datetime {value!r}{shown} is not an ISO datetime",
            key=f"{job.key}.hwm_datetime",
            fix='write it as YYYY-MM-DDTHH:MM:SS, e.g. "${date}T23:59:59" or 2024-01-31T23:59:59',
        ) from None


@job_type("HWM", required=("table", "hwm_datetime"), optional=("hwm_timezone",), check=check_hwm)
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
