"""The Metadata job: a table's owner, description, tags, lifetime and key as table properties."""

from __future__ import annotations

from sparkplate import iceberg
from sparkplate.jobs.base import JobRun, job_type


@job_type(
    "Metadata",
    required=("table",),
    optional=("owner", "description", "tags", "lifetime_days", "primary_key"),
)
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
