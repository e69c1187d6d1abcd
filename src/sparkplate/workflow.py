"""Workflow files (`*.sch.yaml`): parse them and resolve their parameters, without Spark.

    workflow:
      id: top_titles.main
      params: {date: null, target_table: prod_db.top_titles}   # null: must be given at run time
      jobs:
        - job: {id: ddl, type: Spark, script: ddl/top_titles.sql}
        - template:
            id: wap
            type: wap
            table: ${target_table}
            partition: {date: "${date}"}
            jobs: [...]
            audits: [{function: table_should_not_be_empty, blocking: true}]

Jobs run in the order they are listed. `${name}` in any string is replaced by a parameter.
This module knows the file's shape, and the parameter values known before a run (`values`):
each job is checked against its type, on those values, by `sparkplate.engine.validate`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sparkplate.errors import SparkplateError
from sparkplate.params import (
    BUILTIN_PARAMS,
    DATE,
    did_you_mean,
    is_date_param,
    new_run_id,
    parse_date,
    references,
    substitute,
)
from sparkplate.yamlfile import load_yaml

# `trigger` and `notifications` are for the scheduler: `sparkplate project deploy` makes them the
# Airflow DAG's schedule and failure callback; a local run does not use them.
WORKFLOW_KEYS = ("id", "description", "owner", "trigger", "notifications", "params", "jobs")


@dataclass
class Job:
    id: str
    type: str
    spec: dict[str, Any]  # the job's keys as written (strings still hold ${...})
    key: str  # where it is in the file, e.g. "workflow.jobs[2].template"
    jobs: list[Job] = field(default_factory=list)  # for templates: the jobs they wrap


@dataclass
class Workflow:
    path: Path
    id: str
    params: dict[str, str | None]  # declared parameters and their defaults
    jobs: list[Job]
    owner: str | None = None
    trigger: dict[str, Any] = field(default_factory=dict)  # for a scheduler: schedule, timezone
    notifications: dict[str, Any] = field(default_factory=dict)  # on_failure: [who]
    # The parameter values known before the run, which job checks test values on: the defaults
    # (`sparkplate validate`), a run's resolved parameters, or what a calling workflow passes.
    values: dict[str, str] = field(default_factory=dict)

    @property
    def project_dir(self) -> Path:
        return self.path.parent

    def error(self, message: str, key: str | None = None, fix: str | None = None):
        return SparkplateError(message, file=self.path, key=key, fix=fix)

    def resolve_params(self, given: dict[str, str], run_id: str | None = None) -> dict[str, str]:
        """Defaults overridden by `given`; every declared parameter must end up with a value."""
        unknown = sorted(set(given) - set(self.params) - set(BUILTIN_PARAMS))
        if unknown:
            raise self.error(
                f"unknown parameter(s) {', '.join(unknown)}",
                key="workflow.params",
                fix=did_you_mean(unknown[0], self.params)
                + f"declared parameters: {', '.join(self.params) or 'none'}",
            )
        values = {**self.params, **given}
        missing = [name for name, value in values.items() if value is None]
        if missing:
            raise self.error(
                f"missing parameter(s) {', '.join(missing)}",
                key=f"workflow.params.{missing[0]}",
                fix=" ".join(f"-p {name}=..." for name in missing),
            )
        for name, value in values.items():  # caught here, not as an empty partition later
            self._check_date(name, value, given=name in given)
        values.setdefault("run_id", run_id or new_run_id())
        values.setdefault("workflow_id", self.id)
        values.setdefault("project_dir", str(self.project_dir))
        return {k: str(v) for k, v in values.items()}

    def known_params(self, given: Mapping[str, str | None] | None = None) -> dict[str, str]:
        """The values known before a run: the defaults, overridden by `given`, where None means
        given but known only when the run starts (a caller's required parameter)."""
        values = {**self.params, **(given or {})}
        known = {name: str(value) for name, value in values.items() if value is not None}
        return {**known, "workflow_id": self.id, "project_dir": str(self.project_dir)}

    def known_value(self, value: Any) -> Any | None:
        """`value` with its `${...}` filled in from `values`; None if one of them is known only
        at run time (a parameter without a default, or the run id)."""
        if any(name not in self.values for _, name in references(value, "")):
            return None
        return substitute(value, self.values, self.path)

    def wants_date(self, name: str, value: Any) -> bool:
        """Whether `value` for parameter `name` must be a real date: a date parameter's value,
        or a value written like one (2024-13-45 is a typo, not text)."""
        return is_date_param(name, self.params.get(name)) or bool(DATE.fullmatch(str(value)))

    def _check_date(self, name: str, value: Any, given: bool) -> None:
        text = str(value)
        if not self.wants_date(name, text):
            return
        try:
            parse_date(text)
        except ValueError:
            raise self.error(
                f"parameter {name}={text!r} is not a date",
                key=f"workflow.params.{name}",
                fix=f"-p {name}=YYYY-MM-DD"
                if given
                else f"write the default as YYYY-MM-DD (a real date), or null to give it at run "
                f"time with -p {name}=YYYY-MM-DD",
            ) from None


def _parse_jobs(entries: Any, key: str, wf_path: Path) -> list[Job]:
    if not isinstance(entries, list) or not entries:
        raise SparkplateError(
            "'jobs' must be a non-empty list",
            file=wf_path,
            key=key,
            fix="list entries like `- job: {id: ddl, type: Spark, ...}`",
        )
    jobs, seen = [], set()
    for i, entry in enumerate(entries):
        entry_key = f"{key}[{i}]"
        if (
            not isinstance(entry, dict)
            or len(entry) != 1
            or next(iter(entry)) not in ("job", "template")
        ):
            raise SparkplateError(
                "each entry must be a single `job:` or `template:` mapping",
                file=wf_path,
                key=entry_key,
                fix=_entry_fix(entry),
            )
        kind, spec = next(iter(entry.items()))
        entry_key += f".{kind}"
        if not isinstance(spec, dict):
            raise SparkplateError(f"the {kind} must be a mapping", file=wf_path, key=entry_key)
        for required in ("id", "type"):
            if not spec.get(required):
                raise SparkplateError(
                    f"missing key '{required}'", file=wf_path, key=f"{entry_key}.{required}"
                )
        job_id = str(spec["id"])
        _check_id(job_id, wf_path, f"{entry_key}.id")
        if job_id in seen:
            raise SparkplateError(
                f"duplicate job id '{job_id}'",
                file=wf_path,
                key=f"{entry_key}.id",
                fix="give every job its own id",
            )
        seen.add(job_id)
        children = (
            _parse_jobs(spec.get("jobs"), f"{entry_key}.jobs", wf_path)
            if kind == "template"
            else []
        )
        jobs.append(Job(id=job_id, type=str(spec["type"]), spec=spec, key=entry_key, jobs=children))
    return jobs


def _entry_fix(entry: Any) -> str:
    """`- jobs: {...}` is most likely a misspelt `- job:`."""
    if isinstance(entry, dict) and len(entry) == 1:
        suggestion = did_you_mean(next(iter(entry)), ("job", "template"))
        if suggestion:
            return suggestion + "write `- job: {...}` or `- template: {...}`"
    return "write `- job: {...}` or `- template: {...}`"


def parse_workflow(path: Path) -> Workflow:
    """Read a workflow file and check its shape; job-type checks happen in `engine.validate`."""
    path = Path(path)
    doc = load_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("workflow"), dict):
        raise SparkplateError(
            "the file must have a top-level `workflow:` mapping", file=path, key="workflow"
        )
    spec = doc["workflow"]
    _known_keys(spec, WORKFLOW_KEYS, path, "workflow")
    if not spec.get("id"):
        raise SparkplateError("missing key 'id'", file=path, key="workflow.id")
    _check_id(str(spec["id"]), path, "workflow.id")
    params = spec.get("params") or {}
    if not isinstance(params, dict):
        raise SparkplateError(
            "'params' must be a mapping of name to default", file=path, key="workflow.params"
        )
    params = {str(k): (None if v is None else str(v)) for k, v in params.items()}
    jobs = _parse_jobs(spec.get("jobs"), "workflow.jobs", path)
    for key in ("trigger", "notifications"):
        if not isinstance(spec.get(key) or {}, dict):
            raise SparkplateError(f"'{key}' must be a mapping", file=path, key=f"workflow.{key}")
    _check_trigger(spec.get("trigger") or {}, path)
    notify = (spec.get("notifications") or {}).get("on_failure")
    if notify is not None and not (
        isinstance(notify, str)
        or (isinstance(notify, list) and all(isinstance(n, str) for n in notify))
    ):
        raise SparkplateError(
            "on_failure must name whom to notify: a name or a list of names",
            file=path,
            key="workflow.notifications.on_failure",
        )
    wf = Workflow(
        path=path,
        id=str(spec["id"]),
        params=params,
        jobs=jobs,
        owner=str(spec["owner"]) if spec.get("owner") else None,
        trigger=dict(spec.get("trigger") or {}),
        notifications=dict(spec.get("notifications") or {}),
    )
    wf.values = wf.known_params()
    for name, value in params.items():  # a wrong default: found now, not when a run uses it
        if value is not None and "${" not in value:
            wf._check_date(name, value, given=False)
    known = set(params) | set(BUILTIN_PARAMS)
    found = [*references(spec.get("params"), "workflow.params"),
             *references(spec.get("jobs"), "workflow.jobs")]  # fmt: skip
    for where, name in found:
        if name.startswith("sparkplate."):
            raise wf.error(
                f"${{{name}}} is an asset reference, which only rendering fills in",
                key=where,
                fix="render the workflows (sparkplate project render) and run the rendered "
                "file in .workflows/, or deploy them (sparkplate project deploy)",
            )
        if name not in known:
            raise wf.error(
                f"unknown parameter ${{{name}}}",
                key=where,
                fix=did_you_mean(name, known) + "declare it under workflow.params (declared: "
                f"{', '.join(params) or 'none'})",
            )
    return wf


# Workflow and job ids name DAGs, tasks and folders: no spaces, slashes or `..`.
ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$")
TRIGGER_KEYS = ("schedule", "timezone")
CRON_PRESETS = ("@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly")


def _known_keys(mapping: dict, allowed: tuple[str, ...], path: Path, where: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise SparkplateError(
                f"unknown key '{key}'",
                file=path,
                key=f"{where}.{key}",
                fix=did_you_mean(key, allowed) + "allowed keys: " + ", ".join(allowed),
            )


def _check_id(value: str, path: Path, key: str) -> None:
    if not ID.match(value) or ".." in value:
        raise SparkplateError(
            f"{value!r} cannot be an id",
            file=path,
            key=key,
            fix="use letters, digits, '_', '-' and '.' (no '..'), starting with a letter, a "
            "digit or '_'",
        )


def _check_trigger(trigger: dict, path: Path) -> None:
    """What a scheduler would only find out when it loads the deployed workflow."""
    _known_keys(trigger, TRIGGER_KEYS, path, "workflow.trigger")
    if trigger.get("timezone") is not None:
        check_timezone(trigger["timezone"], path, "workflow.trigger.timezone")
    schedule = trigger.get("schedule")
    if schedule is not None and not (
        isinstance(schedule, str) and (schedule in CRON_PRESETS or len(schedule.split()) == 5)
    ):
        raise SparkplateError(
            f"schedule {schedule!r} is not a cron expression",
            file=path,
            key="workflow.trigger.schedule",
            fix='five fields, "minute hour day month weekday" (e.g. "0 6 * * *"), or one of '
            + ", ".join(CRON_PRESETS),
        )


def check_timezone(value: Any, path: Path, key: str, shown: str = "") -> None:
    """`value` must be an IANA timezone name, as `zoneinfo` reads it (`shown`: where it came from,
    e.g. " (${timezone})")."""
    try:
        if not isinstance(value, str):
            raise ValueError("not text")
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SparkplateError(
            f"unknown timezone {value!r}{shown}",
            file=path,
            key=key,
            fix=did_you_mean(value, available_timezones())
            + "use an IANA name such as UTC or Europe/Amsterdam",
        ) from None


def walk(jobs: list[Job]):
    """Every job, templates' inner jobs included, in run order."""
    for job in jobs:
        yield job
        yield from walk(job.jobs)
