"""The Spark job: a SQL script run statement by statement, `${name}` filled by Spark SQL."""

from __future__ import annotations

from sparkplate.errors import SparkplateError
from sparkplate.jobs.base import SCRIPT_JOB, JobRun, job_type
from sparkplate.params import BUILTIN_PARAMS
from sparkplate.sqlscript import run_sql_file, unknown_variables
from sparkplate.workflow import Job, Workflow


def check_script_params(wf: Workflow, job: Job) -> None:
    """Every ${name} in a SQL script must be a workflow parameter or one of the job's params."""
    if "${" in str(job.spec["script"]):  # the script is known only at run time
        return
    script = wf.project_dir / str(job.spec["script"])
    known = set(wf.params) | set(BUILTIN_PARAMS) | set(job.spec.get("params") or {})
    for number, name in unknown_variables(script.read_text(), known, script)[:1]:
        raise SparkplateError(
            f"unknown parameter ${{{name}}} at line {number}",
            file=script,
            key=f"{job.key} in {wf.path.name}",
            fix=f"declare it under workflow.params of {wf.path.name}, or under the job's params",
        )


@job_type(
    "Spark",
    **SCRIPT_JOB,
    check=check_script_params,
)
def run_spark_sql(jr: JobRun) -> None:
    params = {**jr.run.params, **{k: str(v) for k, v in (jr.spec.get("params") or {}).items()}}
    run_sql_file(jr.spark, jr.file("script"), params)
