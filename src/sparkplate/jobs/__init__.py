"""Job types: one module per type, each registering itself on import (see `jobs.base`).

Spark (a SQL script), PySpark (a Python file's `main(args, spark)`), SparkSubmit (a JVM
application's jar, built with Maven when stale), R (an R script's `main(args, spark)`, run with
sparklyr), Metadata, Audit, HWM, Workflow (run another workflow, e.g. main for each date), and the
`wap` template, which runs its jobs on an Iceberg branch, audits the branch and publishes it only
if no blocking audit failed.
"""

# isort: off
# The registry: importing a module registers its job type. A new type is one more name here; the
# order is the one error messages list the types in.
from sparkplate.jobs import spark_sql, pyspark_job, spark_submit, r  # noqa: F401
from sparkplate.jobs import metadata, audit, hwm, sub_workflow, wap  # noqa: F401

# isort: on
from sparkplate.jobs.base import JOB_TYPES, JobRun, LazySpark, Resources, Run, check_job

__all__ = ["JOB_TYPES", "JobRun", "LazySpark", "Resources", "Run", "check_job"]
