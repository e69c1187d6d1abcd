"""A deployed workflow as an Apache Airflow DAG file. sparkplate writes it; Airflow imports it.

Each top-level job is a task running `sparkplate run WORKFLOW --job ID` in the bundle; a `wap`
template is one job, so its write, audits and publish stay in one task. A Workflow job with
`for_each_date: {end: ${date}, days: N}` becomes one task per date, oldest first. The workflow's
`trigger` gives the schedule and timezone, `notifications.on_failure` (else the owner) whom the
failure callback records.

Which date a run computes: `date` is the run's `ds`. A scheduled run's covers the interval that
has just ended (a daily run at 06:00 computes yesterday, a complete day); a manual run, or
`airflow dags test DAG 2024-01-02`, the date it is given.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from sparkplate.params import substitute
from sparkplate.workflow import Workflow

DAG_FILE = '''\
"""{dag_id}: the sparkplate workflow {workflow_id}, deployed from {source} (bundle {version}).

Written by `sparkplate project deploy`; change the workflow file and deploy again.
Each task runs one job of {workflow_file} in the bundle this file belongs to.
"""

import json
import pathlib
from datetime import datetime, timezone

import pendulum

from airflow.timetables.interval import CronDataIntervalTimetable

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG, Param
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.models.param import Param
    from airflow.operators.bash import BashOperator

BUNDLE = {bundle!r}
NOTIFY = {notify!r}  # who is told when a task fails
TASK_ENV = {env!r}


def on_failure(context):
    """Record the failure for NOTIFY in the deployment's notifications log."""
    ti = context["task_instance"]
    line = {{"dag_id": ti.dag_id, "task_id": ti.task_id, "run_id": context.get("run_id"),
            "notify": NOTIFY, "at": datetime.now(timezone.utc).isoformat()}}
    log = pathlib.Path(BUNDLE).parent.parent / "notifications.jsonl"
    with log.open("a") as out:
        out.write(json.dumps(line) + "\\n")


with DAG(
    dag_id={dag_id!r},
    description={description!r},
    schedule={schedule},
    # Early enough for any date a backfill or test asks for; catchup=False keeps the scheduler
    # from running the dates since then.
    start_date=pendulum.datetime(2000, 1, 1, tz={timezone!r}),
    catchup=False,
    max_active_runs=1,  # runs of one table's workflow are serialized by sparkplate anyway
    tags={tags!r},
    params={params},
    default_args={{"owner": {owner!r}, "retries": 0, "on_failure_callback": on_failure}},
) as dag:
    tasks = [
{tasks}
    ]
    for upstream, downstream in zip(tasks, tasks[1:]):
        upstream >> downstream
'''
TASK = """\
        BashOperator(
            task_id={task_id!r},
            bash_command={command!r},
            env=TASK_ENV,
            append_env=True,
        ),"""


def _days_back(wf: Workflow, spec: dict) -> int | None:
    """How many dates a `for_each_date: {end: ${date}, days: N}` covers, from the defaults;
    None when the dates are not `date` and the days before it."""
    each = spec.get("for_each_date") or {}
    if each.get("end") != "${date}" or "days" not in each:
        return None
    defaults = {k: v for k, v in wf.params.items() if v is not None}
    try:
        return int(substitute(each["days"], {**defaults, "date": "2000-01-01"}))
    except Exception:  # noqa: BLE001 - a days value only a run can fill in: one task
        return None


def param_variable(name: str) -> str:
    return "SPARKPLATE_PARAM_" + name.upper()


def tasks(wf: Workflow, workflow_file: Path, run: list[str]) -> list[tuple[str, str]]:
    """(task id, command) for each task, in run order."""
    params = []
    for name, default in wf.params.items():
        if name == "date":
            params.append(shlex.join(["-p", "date={{ ds }}"]))
        elif default is None:  # from the run's params, through the environment: never quoted
            params.append(f'-p "{name}=${{{param_variable(name)}}}"')
    found = []
    for job in wf.jobs:
        base = [*run, "run", str(workflow_file), "--job", job.id]
        days = _days_back(wf, job.spec) if job.type == "Workflow" else None
        if days:
            for back in range(days - 1, -1, -1):
                day = f"{{{{ macros.ds_add(ds, {-back}) }}}}" if back else "{{ ds }}"
                found.append((f"{job.id}.d-{back}", shlex.join([*base, "--for-date", day])))
        else:
            found.append((job.id, shlex.join(base)))
    return [(task_id, " ".join([command, *params])) for task_id, command in found]


def dag_file(
    *,
    dag_id: str,
    wf: Workflow,
    trigger: dict,
    notifications: dict,
    workflow_file: Path,
    bundle: Path,
    version: int,
    source: str,
    run: list[str],
    env: dict[str, str],
) -> str:
    # Nobody named: the workflow's owner, so that no failure goes unreported.
    named = notifications.get("on_failure") or []
    notify = [named] if isinstance(named, str) else [str(who) for who in named]
    notify = notify or ([wf.owner] if wf.owner else [])
    required = [name for name, default in wf.params.items() if default is None and name != "date"]
    schedule, timezone = trigger.get("schedule"), str(trigger.get("timezone") or "UTC")
    if schedule and required:
        raise wf.error(
            f"a scheduled workflow cannot require {', '.join(required)}: a scheduled run has "
            "only its date",
            key=f"workflow.params.{required[0]}",
            fix="give it a default, or drop workflow.trigger.schedule",
        )
    env = {**env, **{param_variable(n): f"{{{{ params.{n} }}}}" for n in required}}
    return DAG_FILE.format(
        dag_id=dag_id,
        workflow_id=wf.id,
        source=source,
        version=version,
        workflow_file=workflow_file.name,
        bundle=str(bundle),
        notify=notify,
        env=env,
        description=f"sparkplate workflow {wf.id} (bundle {version}, {source})",
        # The interval that ends at the trigger time: its start's date is the run's date.
        schedule=(
            f"CronDataIntervalTimetable({schedule!r}, timezone={timezone!r})" if schedule else None
        ),  # fmt: skip
        timezone=timezone,
        tags=["sparkplate"],
        params="{" + ", ".join(f"{n!r}: Param(type='string')" for n in required) + "}",
        owner=str(wf.owner or "sparkplate"),
        tasks="\n".join(
            TASK.format(task_id=task_id, command=command)
            for task_id, command in tasks(wf, workflow_file, run)
        ),
    )
