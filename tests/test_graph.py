"""`sparkplate graph` (issue 14): a workflow's jobs as a Mermaid flowchart or a Graphviz graph,
and the diagrams a generated project's README shows, which must be what the command prints.

The unit tests write small workflows of their own; no Spark starts (conftest's `no_spark`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import RECIPES, render

from sparkplate.cli import main as cli
from sparkplate.graph import to_dot, to_mermaid, workflow_graph

# A main workflow: a job whose id is a Mermaid keyword, a wap template with two writes and
# three audits (one non-blocking, one blocking by default and named), and an Audit job.
MAIN = """\
workflow:
  id: t.main
  params:
    date: null
    target_table: db.results
  jobs:
    - job: {id: end, type: Spark, script: ddl.sql}
    - template:
        id: publish_it
        type: wap
        table: ${target_table}
        partition: {date: "${date}"}
        jobs:
          - job: {id: first, type: Spark, script: write.sql}
          - job: {id: second, type: PySpark, script: write.py}
        audits:
          - {function: table_should_not_be_empty, blocking: true}
          - {function: columns_should_be_unique, columns: [date], blocking: false}
          - {function: table_should_not_be_empty, name: "not empty, again"}
    - job:
        id: check
        type: Audit
        table: ${target_table}
        audits: [{function: table_should_not_be_empty, blocking: false}]
"""
MAIN_MERMAID = """\
flowchart TD
    job1["end (Spark)"]
    subgraph job2 ["publish_it (wap)"]
        job2_1["first (Spark)"]
        job2_2["second (PySpark)"]
        job2_audit1["table_should_not_be_empty (blocking)"]
        job2_audit2["columns_should_be_unique (non-blocking)"]
        job2_audit3["not empty, again (blocking)"]
        job2_publish["publish to main"]
    end
    subgraph job3 ["check (Audit)"]
        job3_audit1["table_should_not_be_empty (non-blocking)"]
    end
    job1 --> job2
    job2_1 --> job2_2
    job2_2 --> job2_audit1
    job2_2 --> job2_audit2
    job2_2 --> job2_audit3
    job2_audit1 --> job2_publish
    job2_audit2 -.-> job2_publish
    job2_audit3 --> job2_publish
    job2 --> job3
"""
# Runs main for a range of dates; `range` is replaced per test.
CALLER = """\
workflow:
  id: t.caller
  params:
    date: null
    start_date: 2024-01-01
    lookback_days: 2
    target_table: db.results
  jobs:
    - job:
        id: days
        type: Workflow
        workflow: main.sch.yaml
        for_each_date: RANGE
"""


@pytest.fixture
def pipeline(tmp_path) -> Path:
    (tmp_path / "main.sch.yaml").write_text(MAIN)
    (tmp_path / "ddl.sql").write_text("SELECT 1;\n")
    (tmp_path / "write.sql").write_text("SELECT 1;\n")
    (tmp_path / "write.py").write_text("def main(args, spark):\n    pass\n")
    return tmp_path


def caller(pipeline: Path, date_range: str | None) -> Path:
    text = CALLER.replace("RANGE", date_range or "")
    if date_range is None:
        text = text.replace("        for_each_date: \n", "")
    path = pipeline / "caller.sch.yaml"
    path.write_text(text)
    return path


def test_every_job_audit_and_publish_is_drawn_in_run_order(pipeline):
    drawn = to_mermaid(workflow_graph(pipeline / "main.sch.yaml"))

    assert drawn == MAIN_MERMAID


@pytest.mark.parametrize(
    ("date_range", "params", "shown"),
    [
        ('{end: "${date}", days: "${lookback_days}"}', {}, "for each of the last 2 days"),
        ('{end: "${date}", days: 1}', {}, "for the last day"),
        ('{start: "${start_date}", end: "${date}"}', {}, "for each date"),
        (
            '{end: "${date}", days: "${lookback_days}"}',
            {"date": "2024-01-07"},
            "for each date from 2024-01-06 to 2024-01-07",
        ),
        ('{start: "${date}", end: "${date}"}', {"date": "2024-01-07"}, "for 2024-01-07"),
        (None, {"date": "2024-01-07"}, ""),
    ],
)
def test_a_called_workflow_is_named_with_its_dates_as_far_as_known(
    pipeline, date_range, params, shown
):
    drawn = to_mermaid(workflow_graph(caller(pipeline, date_range), params))

    label = "days (Workflow)<br/>main.sch.yaml" + (f" {shown}" if shown else "")
    assert drawn == f'flowchart TD\n    job1[["{label}"]]\n'


def test_expanded_the_called_workflow_is_drawn_inside_its_job(pipeline):
    path = caller(pipeline, '{end: "${date}", days: "${lookback_days}"}')

    drawn = to_mermaid(workflow_graph(path, expand=True))

    # main's own diagram one level deeper, its ids under the calling job's, its arrows last.
    body = re.sub(r"\bjob(\d)", r"job1_job\1", MAIN_MERMAID).splitlines()[1:]
    arrows = [line for line in body if "-->" in line or "-.->" in line]
    expected = [
        "flowchart TD",
        '    subgraph job1 ["days (Workflow)<br/>main.sch.yaml for each of the last 2 days"]',
        *(f"    {line}" for line in body if line not in arrows),
        "    end",
        *arrows,
    ]
    assert drawn.splitlines() == expected


def test_dot_draws_the_same_graph_with_arrows_to_group_borders(pipeline):
    drawn = to_dot(workflow_graph(pipeline / "main.sch.yaml"))

    assert drawn.startswith('digraph "t.main" {\n    compound=true;\n')
    assert '    subgraph cluster_job2 {\n        label="publish_it (wap)";\n' in drawn
    assert '        job2_audit2 [label="columns_should_be_unique (non-blocking)"];\n' in drawn
    # Into a group: its first node, clipped at the border; out of one: its last node.
    assert "    job1 -> job2_1 [lhead=cluster_job2];\n" in drawn
    assert "    job2_publish -> job3_audit1 [ltail=cluster_job2, lhead=cluster_job3];\n" in drawn
    assert "    job2_audit2 -> job2_publish [style=dashed];\n" in drawn
    assert "    job2_audit1 -> job2_publish;\n" in drawn
    assert drawn.endswith("\n}\n")


def test_labels_are_quoted_for_each_format(pipeline):
    path = caller(pipeline, None)
    path.write_text(path.read_text().replace("main.sch.yaml", '"a \\"b\\" c/../main.sch.yaml"'))
    (pipeline / 'a "b" c').mkdir()

    graph = workflow_graph(path)

    assert '<br/>a #quot;b#quot; c/../main.sch.yaml"]]' in to_mermaid(graph)
    assert 'label="days (Workflow)\\na \\"b\\" c/../main.sch.yaml"' in to_dot(graph)


def test_the_command_prints_the_diagram(pipeline):
    runner = CliRunner()

    mermaid = runner.invoke(cli, ["graph", str(pipeline / "main.sch.yaml")])
    dot = runner.invoke(cli, ["graph", str(pipeline / "main.sch.yaml"), "--format", "dot"])

    assert (mermaid.exit_code, mermaid.output) == (0, MAIN_MERMAID)
    assert dot.exit_code == 0 and dot.output.startswith('digraph "t.main" {')


def test_the_command_takes_parameters_as_run_does(pipeline):
    path = caller(pipeline, '{end: "${date}", days: "${lookback_days}"}')
    runner = CliRunner()

    given = runner.invoke(
        cli, ["graph", str(path), "-p", "date=2024-01-07", "-p", "lookback_days=3"]
    )
    missing = runner.invoke(cli, ["graph", str(path), "-p", "lookback_days=3"])

    assert given.exit_code == 0, given.output
    assert "for each date from 2024-01-05 to 2024-01-07" in given.output
    assert missing.exit_code == 2
    assert "missing parameter(s) date" in missing.output


def test_the_command_refuses_an_invalid_workflow_as_validate_does(pipeline):
    (pipeline / "write.py").unlink()

    done = CliRunner().invoke(cli, ["graph", str(pipeline / "main.sch.yaml")])

    assert done.exit_code == 2
    assert "[workflow.jobs[1].template.jobs[1].job.script]: file not found" in done.output


# --- the generated README ------------------------------------------------------------------------

MERMAID_BLOCK = re.compile(r"^```mermaid\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@pytest.mark.render
@pytest.mark.parametrize(
    "answers",
    [{"recipe": recipe} for recipe in RECIPES]
    + [{"recipe": "sparksql", "use_wap": False, "daily_lookback_days": 1}],
    ids=[*RECIPES, "sparksql-no-wap-one-day"],
)
def test_the_readme_shows_what_sparkplate_graph_draws(tmp_path, answers):
    project = render(tmp_path / "p", **answers)
    runner = CliRunner()
    drawn = []
    for workflow in ("main.sch.yaml", "daily.sch.yaml"):
        done = runner.invoke(cli, ["graph", str(project / workflow)])
        assert done.exit_code == 0, done.output
        drawn.append(done.output)

    shown = MERMAID_BLOCK.findall((project / "README.md").read_text())

    assert shown == drawn
