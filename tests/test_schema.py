"""The JSON Schema of workflow files (issue 14): shipped as generated, valid for every workflow a
render makes, refusing what `sparkplate validate` refuses, and carried by generated projects.

No Spark: the schema is built from the registries, and validation starts no session.
"""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from helpers import RECIPES, REPO, render

from sparkplate import schema
from sparkplate.cli import main as cli
from sparkplate.engine import validate
from sparkplate.errors import SparkplateError

REGENERATE = "regenerate the shipped copies with `.venv/bin/python -m sparkplate.schema`"
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.MULTILINE)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    built = schema.build()
    jsonschema.Draft202012Validator.check_schema(built)
    return jsonschema.Draft202012Validator(built)


def problems(validator, text: str) -> list[str]:
    found = validator.iter_errors(yaml.safe_load(text))
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in found]


# --- the shipped copies ----------------------------------------------------------------------


def test_the_templates_copy_is_the_generated_schema():
    shipped = REPO / schema.TEMPLATE_COPY
    assert shipped.is_file(), f"{shipped} is missing: {REGENERATE}"
    assert shipped.read_text(encoding="utf-8") == schema.dumps(), (
        f"{shipped} differs from the job types and audit functions: {REGENERATE}"
    )


def test_the_schema_names_every_job_type_and_audit_function():
    from sparkplate.audits import AUDIT_FUNCTIONS
    from sparkplate.jobs import JOB_TYPES

    defs = schema.build()["$defs"]
    types = (
        defs["job"]["properties"]["type"]["enum"] + defs["template"]["properties"]["type"]["enum"]
    )
    assert sorted(types) == sorted(JOB_TYPES)
    assert defs["audits"]["items"]["properties"]["function"]["enum"] == list(AUDIT_FUNCTIONS)
    assert "Passes when" in defs["audit.columns_should_be_unique"]["description"]


def test_the_cli_prints_it():
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0, result.output
    assert result.output == schema.dumps()


# --- what it accepts and refuses, as `validate` does -------------------------------------------

# One of each kind of entry: a script job, the wap template with a write and audits, the HWM.
GOOD = """\
workflow:
  id: t.main
  owner: team
  trigger: {schedule: "0 6 * * *", timezone: UTC}
  notifications: {on_failure: [team]}
  params:
    date: null
    target_table: db.results
    top_n: 3
  jobs:
    - job:
        id: ddl
        type: Spark
        script: ddl.sql
    - template:
        id: wap
        type: wap
        table: ${target_table}
        partition: {date: "${date}"}
        jobs:
          - job:
              id: write
              type: PySpark
              script: write.py
              params: {date: "${date}", top_n: "${top_n}"}
        audits:
          - function: columns_should_be_unique
            blocking: true
            columns: [date, title_id]
          - function: column_values_should_be_between
            column: title_rank
            min: 1
            max: ${top_n}
          - function: row_count_change_should_be_within
            blocking: false
            column: date
            max_change_ratio: 0.5
    - job:
        id: hwm
        type: HWM
        table: ${target_table}
        hwm_datetime: ${date}T23:59:59
"""

BAD = {
    "unknown job type": ("type: HWM", "type: HMW"),
    "missing required key": ("        hwm_datetime: ${date}T23:59:59\n", ""),
    "empty required key": ("script: ddl.sql", 'script: ""'),
    "unknown job key": ("        id: hwm\n", "        id: hwm\n        tabel: db.results\n"),
    "unknown audit function": ("function: columns_should_be_unique", "function: columns_unique"),
    "missing audit argument": ("            columns: [date, title_id]\n", ""),
    "unknown audit argument": (
        "            column: title_rank\n",
        "            colum: title_rank\n",
    ),
    "audit argument not a number": ("max_change_ratio: 0.5", "max_change_ratio: half"),
    "blocking not a boolean": ("blocking: false", "blocking: no way"),
    "template as a job": ("    - template:\n        id: wap", "    - job:\n        id: wap"),
    "non-writer inside wap": ("              type: PySpark", "              type: Metadata"),
    "unknown workflow key": ("  owner: team\n", "  owner: team\n  ownr: team\n"),
    "bad schedule": ('schedule: "0 6 * * *"', 'schedule: "6am"'),
    "bad id": ("id: t.main", "id: t/main"),
}


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / "ddl.sql").write_text("CREATE TABLE IF NOT EXISTS db.results (date STRING)\n")
    (tmp_path / "write.py").write_text("def main(args, spark):\n    pass\n")
    return tmp_path


def test_a_workflow_validate_accepts_is_valid(validator, project):
    path = project / "main.sch.yaml"
    path.write_text(GOOD)
    validate(path)
    assert problems(validator, GOOD) == []


@pytest.mark.parametrize("old, new", BAD.values(), ids=BAD)
def test_what_validate_refuses_the_schema_refuses(validator, project, old, new):
    assert GOOD.count(old) == 1, old
    text = GOOD.replace(old, new)
    path = project / "main.sch.yaml"
    path.write_text(text)
    with pytest.raises(SparkplateError):
        validate(path)
    assert problems(validator, text), f"the schema accepts what validate refuses: {new!r}"


def test_errors_name_the_type_whose_keys_are_wrong(validator):
    # if/then on `type`: a wrong HWM job is reported against the HWM job's keys only.
    found = problems(validator, GOOD.replace("        hwm_datetime: ${date}T23:59:59\n", ""))
    assert found == ["workflow.jobs.2.job: 'hwm_datetime' is a required property"]


# --- generated projects ------------------------------------------------------------------------


@pytest.fixture(scope="module", params=[*RECIPES, "pyspark-no-wap"])
def rendered(request, tmp_path_factory) -> Path:
    recipe, _, variant = request.param.partition("-")
    answers = {"use_wap": False} if variant == "no-wap" else {}
    return render(tmp_path_factory.mktemp(request.param) / "pipeline", recipe=recipe, **answers)


@pytest.mark.render
def test_generated_workflows_are_valid_and_name_the_schema(validator, rendered):
    workflows = sorted(rendered.glob("*.sch.yaml"))
    assert [p.name for p in workflows] == ["backfill.sch.yaml", "daily.sch.yaml", "main.sch.yaml"]
    for path in workflows:
        text = path.read_text()
        assert problems(validator, text) == [], path.name
        # The modeline sits in the comments before the document, where editors look for it.
        header = text.split("\nworkflow:", 1)[0]
        (named,) = MODELINE.findall(header)
        assert (path.parent / named).resolve() == rendered / ".sparkplate/workflow.schema.json"


@pytest.mark.render
def test_generated_projects_carry_the_schema_sparkplate_prints(rendered):
    copy = rendered / ".sparkplate" / "workflow.schema.json"
    assert copy.read_text(encoding="utf-8") == schema.dumps()
