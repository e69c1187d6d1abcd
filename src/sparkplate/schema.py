"""The JSON Schema of workflow files (`*.sch.yaml`), built from the job-type and audit-function
registries, so that an editor completes and checks what `sparkplate validate` reads.

`sparkplate schema` prints it. The template keeps a copy (`.sparkplate/workflow.schema.json` of
every generated project, which its workflow files name in a `# yaml-language-server: $schema=...`
line); a test fails when the copy differs from what this module builds, and
`python -m sparkplate.schema` rewrites it from a checkout.

The schema knows the file's shape: keys, job types, audit functions and their arguments, value
types. What needs the project or the parameters' values (files exist, parameters are declared,
dates are real, script parameters) stays with `sparkplate validate`.
"""

from __future__ import annotations

import inspect
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any

from sparkplate.audits import AUDIT_FUNCTIONS
from sparkplate.audits.record import AUDIT_KEYS
from sparkplate.jobs import JOB_TYPES
from sparkplate.jobs.base import COMMON_KEYS, JobType
from sparkplate.jobs.sub_workflow import RANGE_KEYS
from sparkplate.params import PARAM_REF
from sparkplate.workflow import CRON_PRESETS, ID, TRIGGER_KEYS, WORKFLOW_KEYS

# Where the template keeps its copy, from a checkout's root; generated projects get it there.
TEMPLATE_COPY = Path("templates", ".sparkplate", "workflow.schema.json")
# No URL is published: a URN names the schema without pretending it can be fetched.
SCHEMA_ID = "urn:sparkplate:workflow.schema.json"

# A string that is one parameter reference, e.g. "${top_n}": a run substitutes it before the
# value is used, and a number's text becomes the number (see params.substitute).
PARAM = {
    "type": "string",
    "pattern": f"^{PARAM_REF.pattern}$",
    "description": "A parameter, filled in when the workflow runs.",
}
SCALAR = {"type": ["string", "number", "boolean"]}
# What `check_job` takes as a missing value of a required key.
EMPTY = {"enum": [None, "", []]}

# The keys of the workflow mapping (`build` fails on a key of WORKFLOW_KEYS not described here).
WORKFLOW_PROPERTIES: dict[str, dict[str, Any]] = {
    "id": {"$ref": "#/$defs/id"},
    "description": {"type": "string", "description": "What the workflow does."},
    "owner": {"type": "string", "description": "Who owns the workflow (a user or a team)."},
    "trigger": {
        "type": "object",
        "description": "When a scheduler runs it (`sparkplate project deploy`); a local run "
        "ignores it.",
        "properties": {
            "schedule": {
                "description": 'A cron expression, "minute hour day month weekday", or a preset.',
                "anyOf": [
                    {"enum": list(CRON_PRESETS)},
                    {"type": "string", "pattern": r"^\s*\S+(\s+\S+){4}\s*$"},
                ],
            },
            "timezone": {
                "type": "string",
                "description": "The schedule's IANA timezone, e.g. UTC or Europe/Amsterdam.",
            },
        },
        "additionalProperties": False,
    },
    "notifications": {
        "type": "object",
        "description": "Whom a scheduler tells when a run fails.",
        "properties": {
            "on_failure": {
                "description": "A name or a list of names.",
                "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            }
        },
        "additionalProperties": False,
    },
    "params": {
        "type": "object",
        "description": "The parameters, referred to as ${name}, and their defaults (null: given "
        "at run time with -p name=value).",
        "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
    },
    "jobs": {"$ref": "#/$defs/entries"},
}

# Job keys whose meaning is the same in every job type that declares them. A key a job type
# declares and this does not describe is still allowed, typed by what the registry says of it.
JOB_KEYS: dict[str, dict[str, Any]] = {
    "id": {"$ref": "#/$defs/id"},
    "table": {
        "type": "string",
        "description": "The Iceberg table (db.table): a job naming it runs under the table's "
        "lock, one run at a time.",
    },
    "partition": {
        "description": 'The partition the job audits, column to value, e.g. {date: "${date}"}.',
        "additionalProperties": SCALAR,
    },
    "params": {
        "description": "Values passed to the script or workflow, by name.",
        "additionalProperties": SCALAR,
    },
    "script": {"description": "The script, relative to the workflow file's folder."},
    "jar": {"description": "The application's jar, relative to the workflow file's folder."},
    "class": {
        "type": "string",
        "description": "The application's main class, with its package.",
    },
    "pom": {"description": "The Maven project that builds the jar when it is stale."},
    "submit": {
        "type": "boolean",
        "description": "Run the jar with spark-submit as its own Spark application, even when "
        "its class offers run(SparkSession, Array[String]) for the runner's session.",
    },
    "workflow": {"description": "The workflow file to run, relative to this one's folder."},
    "for_each_date": {"$ref": "#/$defs/date_range"},
    "hwm_datetime": {
        "type": "string",
        "description": 'The high-water mark, an ISO datetime, e.g. "${date}T23:59:59".',
    },
    "hwm_timezone": {"type": "string", "description": "The mark's IANA timezone (UTC if none)."},
    "owner": {"type": "string", "description": "The table's owner."},
    "description": {"type": "string", "description": "What the table holds."},
    "tags": {"type": "array", "items": SCALAR, "description": "The table's tags."},
    "lifetime_days": {
        "anyOf": [{"type": "integer", "minimum": 1}, PARAM],
        "description": "How many days the table's data is kept.",
    },
    "primary_key": {
        "type": "array",
        "items": {"type": "string"},
        "description": "The columns that identify a row.",
    },
    "audits": {"$ref": "#/$defs/audits"},
}

AUDIT_ENTRY_KEYS: dict[str, dict[str, Any]] = {
    "function": {"description": "The audit function."},
    "blocking": {
        "type": "boolean",
        "description": "true (the default): a failure stops the run and nothing is published; "
        "false: it is recorded as a warning.",
    },
    "name": {"type": "string", "description": "The result's name (the function's if none)."},
}

# Python annotations of audit arguments as JSON types.
JSON_TYPES = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    dict: "object",
    type(None): "null",
}

# The only template, `wap`, runs just the jobs that may write on its branch.
BRANCH_TEMPLATE = "wap"


def build() -> dict[str, Any]:
    """The schema, as a JSON-ready dict; the same for the same registries."""
    jobs = [kind for kind in JOB_TYPES.values() if not kind.template]
    templates = [kind for kind in JOB_TYPES.values() if kind.template]
    writers = [kind.name for kind in JOB_TYPES.values() if kind.writes_on_branch]
    defs: dict[str, Any] = {
        "workflow": {
            "type": "object",
            "description": "One workflow: its parameters and the jobs it runs.",
            "required": ["id", "jobs"],
            "properties": WORKFLOW_PROPERTIES,
            "additionalProperties": False,
        },
        "id": {
            "type": "string",
            "pattern": ID.pattern,
            "not": {"pattern": r"\.\."},
            "description": "An id (it names a DAG or a task): letters, digits, '_', '-' and "
            "'.' (no '..'); a job's is unique in its workflow.",
        },
        "entries": _entries(),
        "branch_entries": _entries(branch=writers),
        "job": _dispatch(jobs, "job"),
        "template": _dispatch(templates, "template"),
        "date_range": {
            "type": "object",
            "description": "Run once for each date, oldest first: from start to end, or the "
            "`days` days up to end (both ends included).",
            "properties": {
                "start": {"type": "string", "description": "The first date, YYYY-MM-DD."},
                "end": {"type": "string", "description": "The last date, YYYY-MM-DD."},
                "days": {
                    "anyOf": [{"type": "integer", "minimum": 1}, PARAM],
                    "description": "How many days, up to end.",
                },
            },
            "required": ["end"],
            "oneOf": [{"required": ["start"]}, {"required": ["days"]}],
            "additionalProperties": False,
        },
        "audits": {
            "type": "array",
            "description": "Audits of the rows written: blocking ones stop the run.",
            "items": _audit_entry(),
        },
    }
    # The keys the runtime reads, each described here: a new one fails the build (and the test).
    _described(WORKFLOW_PROPERTIES, WORKFLOW_KEYS, "workflow")
    _described(WORKFLOW_PROPERTIES["trigger"]["properties"], TRIGGER_KEYS, "workflow.trigger")
    _described(defs["date_range"]["properties"], RANGE_KEYS, "for_each_date")
    _described(AUDIT_ENTRY_KEYS, AUDIT_KEYS, "an audit")
    for kind in JOB_TYPES.values():
        entry = "template" if kind.template else "job"
        defs[f"{entry}.{kind.name}"] = _job_type(kind)
    for function in AUDIT_FUNCTIONS.values():
        defs[f"audit.{function.name}"] = _audit_function(function.name)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "sparkplate workflow",
        "description": "A sparkplate workflow file (*.sch.yaml). Generated from the job types "
        "and audit functions of sparkplate (`sparkplate schema`); `sparkplate validate` checks "
        "the rest.",
        "type": "object",
        "required": ["workflow"],
        "properties": {"workflow": {"$ref": "#/$defs/workflow"}},
        "$defs": defs,
    }


def _described(described: dict, read: tuple[str, ...], where: str) -> None:
    if set(described) != set(read):
        raise RuntimeError(
            f"the keys of {where} are {', '.join(read)}, the schema describes "
            f"{', '.join(described)}: describe them in sparkplate/schema.py"
        )


def _entries(*, branch: list[str] | None = None) -> dict[str, Any]:
    """A list of `- job:` and `- template:` entries, or, inside the branch template, of jobs
    whose type is one of `branch`."""
    if branch is None:
        entry, kinds, what = {"$ref": "#/$defs/job"}, ("job", "template"), "`job:` or `template:`"
        description = "The jobs, run in the order listed."
    else:
        entry = {"allOf": [{"$ref": "#/$defs/job"}, {"properties": {"type": {"enum": branch}}}]}
        kinds, what = ("job",), "`job:`"
        description = "The jobs that write on the branch: " + ", ".join(branch) + " jobs."
    return {
        "type": "array",
        "description": description,
        "minItems": 1,
        "items": {
            "type": "object",
            "description": f"A single {what} mapping.",
            "minProperties": 1,
            "maxProperties": 1,
            "properties": {
                kind: entry if kind == "job" else {"$ref": "#/$defs/template"} for kind in kinds
            },
            "additionalProperties": False,
        },
    }


def _dispatch(kinds: list[JobType], entry: str) -> dict[str, Any]:
    """A `- job:` or `- template:` of any of `kinds`, checked by its type's own schema: if/then
    reports that type's errors only, where oneOf would report every type's."""
    return {
        "type": "object",
        "description": f"A `- {entry}:` entry: its type says which keys it takes.",
        "required": list(COMMON_KEYS),
        "properties": {
            "type": {
                "enum": [kind.name for kind in kinds],
                # VS Code's own keyword: shown next to each value it completes.
                "enumDescriptions": [_job_doc(kind) for kind in kinds],
            }
        },
        "allOf": [
            {
                "if": {"properties": {"type": {"const": kind.name}}, "required": ["type"]},
                "then": {"$ref": f"#/$defs/{entry}.{kind.name}"},
            }
            for kind in kinds
        ],
    }


def _job_type(kind: JobType) -> dict[str, Any]:
    about = _job_doc(kind)
    properties: dict[str, Any] = {
        "id": JOB_KEYS["id"],
        "type": {"const": kind.name, "description": about},
    }
    for key in (*kind.required, *kind.optional):
        properties[key] = _job_key(kind, key)
    return {
        "title": f"{kind.name} {'template' if kind.template else 'job'}",
        "description": about,
        "type": "object",
        "required": [*COMMON_KEYS, *kind.required],
        "properties": properties,
        "additionalProperties": False,
    }


def _job_key(kind: JobType, key: str) -> dict[str, Any]:
    """A key's schema: what the registry declares of it, with what JOB_KEYS says of it."""
    if kind.template and key == "jobs":
        return {
            "$ref": "#/$defs/branch_entries" if kind.name == BRANCH_TEMPLATE else "#/$defs/entries"
        }
    schema: dict[str, Any] = {}
    if key in kind.files or key in kind.built or key == kind.calls:
        schema["type"] = "string"
    if key in kind.mappings:
        schema["type"] = "object"
    schema.update(JOB_KEYS.get(key, {}))
    # `check_job` takes null, "" and [] for a missing required key.
    if key in kind.required and schema.get("type") == "string":
        schema["minLength"] = 1
    elif key in kind.required and "type" not in schema and "$ref" not in schema:
        schema["not"] = EMPTY
    return schema


def _audit_entry() -> dict[str, Any]:
    names = list(AUDIT_FUNCTIONS)
    return {
        "type": "object",
        "description": "An audit: a function of the library, its arguments, and whether a "
        "failure blocks the run.",
        "required": ["function"],
        "properties": {
            **AUDIT_ENTRY_KEYS,
            "function": {
                **AUDIT_ENTRY_KEYS["function"],
                "enum": names,
                "enumDescriptions": [_doc(AUDIT_FUNCTIONS[name].run) for name in names],
            },
        },
        "allOf": [
            {
                "if": {"properties": {"function": {"const": name}}, "required": ["function"]},
                "then": {"$ref": f"#/$defs/audit.{name}"},
            }
            for name in names
        ],
    }


def _audit_function(name: str) -> dict[str, Any]:
    function = AUDIT_FUNCTIONS[name]
    hints = typing.get_type_hints(function.run)
    signature = inspect.signature(function.run)
    # `blocking` and `name` are typed by the audit entry's schema; here they are only allowed.
    properties: dict[str, Any] = {
        **{key: {} for key in AUDIT_ENTRY_KEYS},
        "function": {"const": name, "description": _doc(function.run)},
    }
    for arg in (*function.required, *function.optional):
        schema = _value_schema(hints.get(arg, Any))
        default = signature.parameters[arg].default
        if default is not inspect.Parameter.empty and default is not None:
            schema["default"] = default
        properties[arg] = schema
    return {
        "title": name,
        "description": _doc(function.run),
        "type": "object",
        "required": ["function", *function.required],
        "properties": properties,
        "additionalProperties": False,
    }


def _value_schema(hint: Any) -> dict[str, Any]:
    """An argument's annotation as a schema; a value that is not text may be a parameter."""
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    kinds = [JSON_TYPES.get(choice) for choice in (typing.get_args(hint) if union else (hint,))]
    if None in kinds:
        return {}  # anything: e.g. Any, a bound compared with a number, a date or a string
    schemas: list[dict[str, Any]] = []
    for kind in kinds:
        if kind == "array":  # a list of columns may be one name written alone (_column_list)
            schemas += [{"type": "array", "minItems": 1}, {"type": "string"}]
        else:
            schemas.append({"type": kind})
    if any(kind not in ("string", "array", "null") for kind in kinds):
        schemas.append(PARAM)
    schemas = [s for i, s in enumerate(schemas) if s not in schemas[:i]]
    return schemas[0] if len(schemas) == 1 else {"anyOf": schemas}


def _job_doc(kind: JobType) -> str:
    # A job type's module says what the type is ("The Spark job: ..."); its runner, how it runs.
    return _doc(kind.runner, module_first=True)


def _doc(obj: Any, *, module_first: bool = False) -> str:
    """The first paragraph of `obj`'s docstring or its module's, on one line."""
    docs = [inspect.getdoc(obj), inspect.getdoc(sys.modules[obj.__module__])]
    text = next((doc for doc in (docs[::-1] if module_first else docs) if doc), "")
    return " ".join(text.split("\n\n")[0].split())


def dumps(schema: dict[str, Any] | None = None) -> str:
    """The schema as the shipped files hold it."""
    return json.dumps(build() if schema is None else schema, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Rewrite the template's copy, from a checkout."""
    checkout = Path(__file__).resolve().parents[2]
    if not (checkout / "copier.yml").is_file():
        sys.exit("run this from a sparkplate checkout: it rewrites templates/" + str(TEMPLATE_COPY))
    target = checkout / TEMPLATE_COPY
    target.write_text(dumps(), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
