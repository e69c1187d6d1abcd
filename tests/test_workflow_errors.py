"""Mistakes in workflow and mock files are reported before any Spark work, by file and key.

None of these tests may start Spark: conftest's `no_spark`, on every test not marked `spark`,
makes starting a session fail the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import edit

from sparkplate.cli import main as cli
from sparkplate.engine import run_workflow, validate
from sparkplate.errors import SparkplateError
from sparkplate.mocks import MockSet

PARAMS = {"date": "2024-01-01"}


def raised(call, *args) -> str:
    with pytest.raises(SparkplateError) as err:
        call(*args)
    return str(err.value)


def test_malformed_yaml_names_the_line(project):
    wf = project / "main.sch.yaml"
    line = wf.read_text().splitlines().index("        type: Spark") + 1
    edit(wf, "        type: Spark\n", "        type: Spark: SQL\n")

    message = raised(validate, wf)

    assert str(wf) in message
    assert f"malformed YAML at line {line}," in message


@pytest.mark.parametrize(
    "old, new, key, problem",
    [
        (
            "type: Spark\n",
            "type: Sparky\n",
            "workflow.jobs[0].job.type",
            "unknown job type 'Sparky'",
        ),
        (
            "owner: data-engineering\n        description",
            "owner: data-engineering\n        colour: blue\n        description",
            "workflow.jobs[1].job.colour",
            "unknown key 'colour' for a Metadata job",
        ),
        (
            "script: src/pyspark_write.py",
            "script: src/pyspark_writer.py",
            "workflow.jobs[2].template.jobs[0].job.script",
            "file not found",
        ),
        (
            "function: table_should_not_be_empty",
            "function: table_should_not_be_emptyy",
            "workflow.jobs[2].template.audits[4].function",
            "unknown audit function 'table_should_not_be_emptyy'",
        ),
        (
            "            columns: [date, country_code, title_id]\n",
            "",
            "workflow.jobs[2].template.audits[1]",
            "audit 'columns_should_be_unique': missing argument 'columns'",
        ),
        (
            "expression: view_hours > 0\n",
            "expression: view_hours > 0\n            threshold: 3\n",
            "workflow.jobs[2].template.audits[3]",
            "unknown argument 'threshold'",
        ),
        (
            "blocking: false",
            "blocking: no",  # YAML 1.2: text, not false
            "workflow.jobs[2].template.audits[5].blocking",
            "'blocking' must be true or false",
        ),
        (
            "top_n: ${top_n}",
            "top_n: ${topn}",
            "workflow.jobs[2].template.jobs[0].job.params.top_n",
            "unknown parameter ${topn}",
        ),
    ],
    ids=[
        "job-type",
        "job-key",
        "script-file",
        "audit-function",
        "audit-missing-arg",
        "audit-unknown-arg",
        "audit-blocking",
        "param-reference",
    ],
)
def test_workflow_mistake_is_named_by_key(project, old, new, key, problem):
    wf = edit(project / "main.sch.yaml", old, new)

    message = raised(validate, wf)

    assert message.startswith(f"{wf} [{key}]: "), message
    assert problem in message
    # Running it fails the same way, before Spark starts.
    assert raised(run_workflow, wf, PARAMS) == message


@pytest.mark.parametrize(
    "job",
    [
        '{id: hwm_inside, type: HWM, table: "${target_table}", hwm_datetime: "${date}T23:59:59"}',
        '{id: audit_inside, type: Audit, table: "${target_table}", audits: []}',
    ],
    ids=["HWM", "Audit"],
)
def test_wap_template_refuses_jobs_that_do_not_write(project, job):
    wf = edit(
        project / "main.sch.yaml",
        "        audits:\n",
        f"          - job: {job}\n        audits:\n",
    )
    kind = job.split("type: ")[1].split(",")[0]

    message = raised(validate, wf)

    assert message.startswith(f"{wf} [workflow.jobs[2].template.jobs[1].job.type]: "), message
    assert f"a {kind} job cannot run inside a wap template" in message
    assert "Spark or PySpark" in message


def test_mistake_in_a_called_workflow_names_that_file(project):
    main = edit(project / "main.sch.yaml", "type: Spark\n", "type: Sparky\n")

    message = raised(validate, project / "daily.sch.yaml")

    assert message.startswith(f"{main} [workflow.jobs[0].job.type]: ")


def test_missing_parameter_is_reported_at_run_time(project):
    wf = project / "main.sch.yaml"
    validate(wf)  # `date` has no default: only a run can tell it is missing

    message = raised(run_workflow, wf, {"top_n": "3"})

    assert message.startswith(f"{wf} [workflow.params.date]: missing parameter(s) date")
    assert "fix: -p date=..." in message


def test_undeclared_parameter_is_reported(project):
    wf = project / "main.sch.yaml"

    message = raised(run_workflow, wf, {**PARAMS, "dat": "2024-01-01"})

    assert message.startswith(f"{wf} [workflow.params]: unknown parameter(s) dat")


def test_unknown_parameter_in_a_sql_script_stops_the_run_before_spark(project):
    ddl = edit(
        project / "ddl" / "sparkplate_sample_results.sql",
        "CREATE TABLE IF NOT EXISTS ${target_table}",
        "CREATE TABLE IF NOT EXISTS ${target_tabel}",
    )

    message = raised(run_workflow, project / "main.sch.yaml", PARAMS)

    assert str(ddl) in message
    assert "unknown parameter ${target_tabel}" in message


def test_cli_validate_prints_the_error_and_exits_2(project):
    wf = edit(project / "main.sch.yaml", "type: Spark\n", "type: Sparky\n")

    result = CliRunner().invoke(cli, ["validate", str(wf)])

    assert result.exit_code == 2
    assert f"error: {wf} [workflow.jobs[0].job.type]: unknown job type 'Sparky'" in result.stderr
    assert "Traceback" not in result.output


# --- mocks --------------------------------------------------------------------------------------

SOURCE = Path("src/mocks/some_db.source_table.yaml")
EXPECTED = Path("src/mocks/sample_db.sparkplate_sample_results.yaml")
BR_9 = "{title_id: 9, country_code: BR, view_hours: 0.5, playback_date: 2024-01-01}"  # rows[15]


@pytest.mark.parametrize(
    "mock, old, new, key, problem",
    [
        (
            SOURCE,
            BR_9,
            BR_9.replace("0.5", "abc"),
            "rows[15].view_hours",
            "expected a number for DOUBLE, got 'abc'",
        ),
        (  # the loader leaves dates as text, so a bad one is reported, not a crash
            SOURCE,
            BR_9,
            BR_9.replace("2024-01-01", "2024-13-01"),
            "rows[15].playback_date",
            "expected a date (YYYY-MM-DD), got '2024-13-01'",
        ),
        (
            SOURCE,
            BR_9,
            BR_9.replace("title_id: 9", "title_id: 9, views: 3"),
            "rows[15].views",
            "column 'views' is not in the table's columns",
        ),
        (  # typed by the DDL: the column is called title_rank there
            EXPECTED,
            "title_id: 9, country_code: BR, title_rank: 2",
            "title_id: 9, country_code: BR, rank: 2",
            "rows[8].rank",
            "column 'rank' is not in the table's columns",
        ),
        (
            EXPECTED,
            "title_id: 9, country_code: BR, title_rank: 2",
            "title_id: 9, country_code: BR, title_rank: second",
            "rows[8].title_rank",
            "expected a whole number for INT, got 'second'",
        ),
        (
            EXPECTED,
            "ddl: ddl/",
            "columns: {title_id: INT, country_code: STRING}\nddl: ddl/",
            "columns",
            "do not match the DDL's",
        ),
    ],
    ids=[
        "wrong-type",
        "bad-date",
        "unknown-column",
        "column-not-in-ddl",
        "wrong-type-from-ddl",
        "columns-differ-from-ddl",
    ],
)
def test_mock_mistake_is_named_by_key(project, mock, old, new, key, problem):
    path = edit(project / mock, old, new)

    message = raised(MockSet.find, project)

    assert message.startswith(f"{path} [{key}]: "), message
    assert problem in message


def test_a_repeated_key_is_refused_with_both_lines(project):
    path = project / "main.sch.yaml"
    twice = "            blocking: true\n            blocking: false\n"
    path.write_text(path.read_text().replace("            blocking: true\n", twice, 1))
    with pytest.raises(SparkplateError, match=r"main.sch.yaml.*appears twice"):
        validate(path)
