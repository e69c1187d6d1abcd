"""`sparkplate project`: list, render, deploy, roll back, on small repositories built inline.

These start no Spark: deploying builds assets, renders and validates workflows and writes DAG
files, none of which runs a job. test_airflow.py runs deployed workflows for real.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from helpers import commit, git

from sparkplate.cli import main
from sparkplate.errors import SparkplateError
from sparkplate.project import bundle as bundles
from sparkplate.project.registry import open_registry
from sparkplate.workflow import parse_workflow

MAIN = """\
workflow:
  id: alpha.main
  params: {date: null, table: db.t}
  jobs:
    - job:
        id: ddl
        type: Spark
        script: ddl/t.sql
    - job: {id: hwm, type: HWM, table: "${table}", hwm_datetime: "${date}T23:59:59"}
"""
DAILY = """\
workflow:
  id: alpha.daily
  owner: data-eng
  trigger: {schedule: "0 6 * * *", timezone: Europe/Amsterdam}
  notifications: {on_failure: [data-eng, oncall@example.com]}
  params: {date: null, days: 2}
  jobs:
    - job:
        id: main
        type: Workflow
        workflow: main.sch.yaml
        for_each_date: {end: "${date}", days: "${days}"}
"""


def write_tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    """A repository with one project (alpha), its deploy settings pointing into tmp_path."""
    root = tmp_path / "pipelines"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "remote", "add", "origin", "git@example.com:acme/pipelines.git")
    settings = {
        "deploy": {
            "registry": str(tmp_path / "registry"),
            "bundles": str(tmp_path / "bundles"),
            "airflow": {"dags_folder": str(tmp_path / "dags"),
                        "env": {"SPARKPLATE_DRIVER_MEMORY": "1g"}},
            "branches": {"default": "main", "profiles": {"main": "deployed", "*": "sandbox"}},
        },
        "profiles": {
            "local": {},
            "deployed": {"catalog": {"type": "hadoop", "warehouse": str(tmp_path / "prod")}},
            "sandbox": {"catalog": {"type": "hadoop", "warehouse": str(tmp_path / "sandbox")}},
        },
    }  # fmt: skip
    write_tree(root, {
        "sparkplate.yaml": yaml.safe_dump(settings),
        "alpha/main.sch.yaml": MAIN,
        "alpha/daily.sch.yaml": DAILY,
        "alpha/ddl/t.sql": "CREATE TABLE IF NOT EXISTS ${table} (date DATE) USING iceberg;\n",
    })  # fmt: skip
    commit(root, "alpha")
    monkeypatch.chdir(root)
    return root


def sparkplate(*args: str, ok: bool = True):
    result = CliRunner().invoke(main, list(args))
    if ok and result.exit_code != 0:
        raise AssertionError(f"sparkplate {' '.join(args)} failed:\n{result.output}")
    return result


def test_list_finds_projects_assets_and_workflows(repo):
    write_tree(repo, {
        "beta/daily.sch.yaml": DAILY.replace("alpha.", "beta."),
        "beta/main.sch.yaml": MAIN.replace("alpha.", "beta."),
        "beta/ddl/t.sql": "SELECT 1;\n",
        "beta/job.R": "main <- function(args, spark) NULL\n",
        "beta/app/pom.xml": "<project><artifactId>beta-app</artifactId></project>\n",
        "hello/hello_world/pyproject.toml": '[build-system]\nrequires = ["setuptools"]\n'
        'build-backend = "setuptools.build_meta"\n[project]\nname = "hello-world"\n',
        "alpha/pyproject.toml": "[tool.ruff]\nline-length = 100\n",  # settings, no package
        "alpha/target/stale.sch.yaml": MAIN,  # build output: not a project
    })  # fmt: skip
    commit(repo)
    out = sparkplate("project", "list").output
    assert "Python Assets:\n-> ./hello/hello_world/pyproject.toml\nSummary: 1 found." in out
    assert "Maven Assets:\n-> ./beta/app/pom.xml\nSummary: 1 found." in out
    assert "SQL Script Assets:\n-> ./alpha (5 files)\nSummary: 1 found." in out
    assert "R Script Assets:\n-> ./beta (5 files)\nSummary: 1 found." in out
    assert out.endswith(
        "Scheduler Workflows:\n-> ./alpha/daily.sch.yaml\n-> ./alpha/main.sch.yaml\n"
        "-> ./beta/daily.sch.yaml\n-> ./beta/main.sch.yaml\nSummary: 4 found.\n"
    )
    assert sparkplate("project", "list", "workflows").output.startswith("Scheduler Workflows:")


def test_validate_refuses_references_only_rendering_fills_in(repo):
    (repo / "alpha/main.sch.yaml").write_text(
        MAIN.replace("script: ddl/t.sql", "script: ${sparkplate.sql.alpha}/ddl/t.sql")
    )
    with pytest.raises(SparkplateError) as err:
        parse_workflow(repo / "alpha/main.sch.yaml")
    assert "[workflow.jobs[0].job.script]" in str(err.value)
    assert "asset reference" in str(err.value) and "sparkplate project render" in str(err.value)
    (repo / "alpha/main.sch.yaml").write_text(MAIN.replace("${table}", "${db.table}", 1))
    with pytest.raises(SparkplateError, match=r"unknown parameter \$\{db.table\}"):
        parse_workflow(repo / "alpha/main.sch.yaml")


def test_deploy_publishes_assets_bundles_workflows_and_writes_dags(repo, tmp_path):
    commit_id = git(repo, "rev-parse", "HEAD")[:8]
    out = sparkplate("project", "deploy").output
    asset = f"sparkplate.sql.alpha.acme.pipelines.main.{commit_id}.1"
    assert f"-> ./alpha... DEPLOYED AS {asset}" in out
    bundle = bundles.current(tmp_path / "bundles", "alpha.daily")
    assert bundle.version == 1
    record = bundle.record()
    assert record["assets"] == [asset] and record["commit"] == commit_id
    # The bundle holds what the run reads: the scripts and the workflows, nothing from the repo.
    assert (bundle.project / "ddl/t.sql").read_text().startswith("CREATE TABLE")
    assert parse_workflow(bundle.project / "daily.sch.yaml").id == "alpha.daily"
    dag = (tmp_path / "dags/alpha.daily.py").resolve()
    assert dag == bundle.folder / "dag.py"
    text = dag.read_text()
    compile(text, str(dag), "exec")  # Python; test_airflow.py imports it in Airflow
    assert "CronDataIntervalTimetable('0 6 * * *', timezone='Europe/Amsterdam')" in text
    assert "'main.d-1'" in text and "'main.d-0'" in text and "--for-date" in text
    assert "NOTIFY = ['data-eng', 'oncall@example.com']" in text
    assert str(bundle.project / "daily.sch.yaml") in text
    # Deploying the same commit again takes the next numbers; nothing is overwritten.
    sparkplate("project", "deploy")
    assert f"sparkplate.sql.alpha.acme.pipelines.main.{commit_id}.2" in [
        str(d.id) for d in open_registry(str(tmp_path / "registry"), repo).deployed(type="sql")
    ]
    assert bundles.current(tmp_path / "bundles", "alpha.daily").version == 2
    listed = sparkplate("project", "list", "sqls", "--namespace", "alpha", "--deployed").output
    assert listed.splitlines()[1:3] == [f"-> {asset[:-1]}2", f"-> {asset}"]


def test_rollback_makes_an_earlier_bundle_current(repo, tmp_path):
    sparkplate("project", "deploy")
    (repo / "alpha/ddl/t.sql").write_text("CREATE TABLE IF NOT EXISTS ${table} (d DATE);\n")
    commit(repo, "a new column name")
    sparkplate("project", "deploy")
    root = tmp_path / "bundles"
    assert "(d DATE)" in (bundles.current(root, "alpha.main").project / "ddl/t.sql").read_text()
    out = sparkplate("project", "rollback", "alpha.main").output
    assert out.startswith("alpha.main: current bundle 2 -> 1")
    assert "(date DATE)" in (bundles.current(root, "alpha.main").project / "ddl/t.sql").read_text()
    assert sparkplate("project", "rollback", "alpha.main", "--to", "2").exit_code == 0
    failed = sparkplate("project", "rollback", "alpha.main", "--to", "7", ok=False)
    assert failed.exit_code == 2 and "versions: 1, 2" in failed.output


def test_a_failed_deploy_leaves_every_current_bundle_as_it_was(repo, tmp_path):
    sparkplate("project", "deploy")
    root = tmp_path / "bundles"
    (repo / "alpha/main.sch.yaml").write_text(
        MAIN.replace("script: ddl/t.sql", "script: ${sparkplate.sql.nowhere}/t.sql")
    )
    commit(repo, "a reference to nothing")
    failed = sparkplate("project", "deploy", ok=False)
    assert failed.exit_code == 2
    assert "main.sch.yaml [workflow.jobs[0].job.script]: no deployed asset" in failed.output
    assert "${sparkplate.sql.nowhere}" in failed.output and "sql assets there: " in failed.output
    assert "sparkplate.sql.alpha" in failed.output  # the assets there are
    for dag_id in ("alpha.main", "alpha.daily"):
        assert bundles.current(root, dag_id).version == 1
    # What a failed (or killed) deploy leaves is never listed, switched to or reused.
    assert [b.version for b in bundles.versions(root, "alpha.daily")] == [1]
    with pytest.raises(SparkplateError, match="not complete"):
        bundles.switch(bundles.Bundle("alpha.daily", 2, root / "alpha.daily/versions/2"))


def test_a_branch_deploys_sandboxes_with_the_branch_profile(repo, tmp_path):
    sparkplate("project", "deploy")
    git(repo, "switch", "-q", "-c", "feature/x")
    out = sparkplate("project", "deploy").output
    assert "-> sandbox.feature-x.alpha.daily... DEPLOYED AS bundle 1" in out
    sandbox = bundles.current(tmp_path / "bundles", "sandbox.feature-x.alpha.daily")
    assert sandbox.record()["profile"] == "sandbox"
    dag = sandbox.folder.joinpath("dag.py").read_text()
    assert "env -u SPARKPLATE_WAREHOUSE" in dag and "--profile sandbox run" in dag
    production = bundles.current(tmp_path / "bundles", "alpha.daily")
    assert "--profile deployed run" in production.folder.joinpath("dag.py").read_text()
    assert bundles.current(tmp_path / "bundles", "alpha.daily").version == 1  # untouched
    assert (tmp_path / "dags/sandbox.feature-x.alpha.daily.py").is_symlink()


def edit_settings(repo: Path, change) -> None:
    settings = yaml.safe_load((repo / "sparkplate.yaml").read_text())
    change(settings)
    (repo / "sparkplate.yaml").write_text(yaml.safe_dump(settings))
    commit(repo, "settings")


def test_deploy_refuses_a_dirty_tree_and_a_warehouse_inside_the_bundle(repo):
    (repo / "alpha/ddl/t.sql").write_text("SELECT 2;\n")
    failed = sparkplate("project", "deploy", ok=False)
    assert "uncommitted changes" in failed.output
    commit(repo)
    edit_settings(repo, lambda s: s["deploy"]["branches"]["profiles"].pop("main"))
    failed = sparkplate("project", "deploy", ok=False)
    assert "profile 'local' have no fixed warehouse" in failed.output
    assert "SPARKPLATE_WAREHOUSE" in failed.output


def test_a_sandbox_never_gets_production_settings(repo, tmp_path):
    edit_settings(repo, lambda s: s["deploy"]["airflow"]["env"].update(
        SPARKPLATE_WAREHOUSE=str(tmp_path / "prod")))  # fmt: skip
    sparkplate("project", "deploy")
    production = (tmp_path / "dags/alpha.main.py").read_text()
    assert "'SPARKPLATE_WAREHOUSE': " in production and "env -u" not in production
    git(repo, "switch", "-q", "-c", "feature-y")
    sparkplate("project", "deploy")
    sandbox = (tmp_path / "dags/sandbox.feature-y.alpha.main.py").read_text()
    assert "SPARKPLATE_WAREHOUSE'" not in sandbox  # not given, and dropped from the worker's
    assert "env -u SPARKPLATE_WAREHOUSE" in sandbox
    edit_settings(repo, lambda s: s["deploy"]["branches"]["profiles"].pop("*"))
    assert "no profile says where they write" in sparkplate("project", "deploy", ok=False).output
    edit_settings(repo, lambda s: s["deploy"]["branches"]["profiles"].update({"*": "deployed"}))
    failed = sparkplate("project", "deploy", ok=False).output
    assert "the sandbox profile 'deployed' writes where production's 'deployed' does" in failed


def test_render_fills_references_from_the_registry(repo, tmp_path):
    sparkplate("project", "deploy")
    (repo / "alpha/main.sch.yaml").write_text(
        MAIN.replace("script: ddl/t.sql", "script: ${sparkplate.sql.alpha.main}/ddl/t.sql")
    )
    commit(repo, "the DDL from the deployed scripts")
    out = sparkplate("project", "render").output
    assert "-> ./alpha/main.sch.yaml... CREATED ./.workflows/alpha.main.rendered.yaml" in out
    rendered = repo / ".workflows/alpha.main.rendered.yaml"
    script = yaml.safe_load(rendered.read_text())["workflow"]["jobs"][0]["job"]["script"]
    assert script.startswith(str(repo / ".workflows/assets/sparkplate.sql.alpha.acme."))
    assert Path(script).read_text().startswith("CREATE TABLE")
    called = yaml.safe_load((repo / ".workflows/alpha.daily.rendered.yaml").read_text())
    assert called["workflow"]["jobs"][0]["job"]["workflow"] == "alpha.main.rendered.yaml"
    assert sparkplate("validate", str(rendered)).exit_code == 0


def test_run_job_and_for_date_are_checked_before_spark_starts(repo):
    daily = str(repo / "alpha/daily.sch.yaml")
    failed = sparkplate("run", daily, "-p", "date=2024-01-03", "--job", "nope", ok=False)
    assert "no top-level job 'nope'" in failed.output and "use one of: main" in failed.output
    failed = sparkplate("run", daily, "-p", "date=2024-01-03", "--job", "main",
                        "--for-date", "2024-01-05", ok=False)  # fmt: skip
    assert "2024-01-05 is not one of the job's dates (2024-01-02..2024-01-03)" in failed.output


def test_an_s3_registry_deploys_and_renders_like_a_folder(repo, tmp_path, monkeypatch):
    from servers import moto_s3

    with moto_s3() as s3:
        for name, value in (("AWS_ENDPOINT_URL", s3.endpoint), ("AWS_ACCESS_KEY_ID", s3.access_key),
                            ("AWS_SECRET_ACCESS_KEY", s3.secret_key),
                            ("AWS_DEFAULT_REGION", s3.region)):  # fmt: skip
            monkeypatch.setenv(name, value)
        edit_settings(repo, lambda s: s["deploy"].update(registry=f"s3://{s3.bucket}/assets"))
        commit_id = git(repo, "rev-parse", "HEAD")[:8]
        out = sparkplate("project", "deploy").output
        asset = f"sparkplate.sql.alpha.acme.pipelines.main.{commit_id}.1"
        assert f"DEPLOYED AS {asset}" in out
        prefix = f"assets/sql/alpha/acme/pipelines/main/{commit_id}/1"
        assert sorted(s3.keys("assets/")) == [f"{prefix}.claim", f"{prefix}.json", f"{prefix}.zip"]
        bundle = bundles.current(tmp_path / "bundles", "alpha.main")
        assert (bundle.project / "ddl/t.sql").is_file() and bundle.record()["assets"] == [asset]
        (repo / "alpha/main.sch.yaml").write_text(
            MAIN.replace("script: ddl/t.sql", f"script: ${{{asset}}}/ddl/t.sql")
        )
        commit(repo, "the DDL of a pinned build")
        sparkplate("project", "render")
        rendered = yaml.safe_load((repo / ".workflows/alpha.main.rendered.yaml").read_text())
        script = Path(rendered["workflow"]["jobs"][0]["job"]["script"])
        assert script == repo / ".workflows/assets" / asset / "ddl/t.sql" and script.is_file()
        listed = sparkplate("project", "list", "sqls", "--deployed").output
        assert f"-> {asset}" in listed


def test_a_trigger_is_checked_before_it_reaches_a_scheduler(repo):
    (repo / "alpha/daily.sch.yaml").write_text(DAILY.replace("Europe/Amsterdam", "Mars/Olympus"))
    failed = sparkplate("validate", str(repo / "alpha/daily.sch.yaml"), ok=False)
    assert "[workflow.trigger.timezone]: unknown timezone 'Mars/Olympus'" in failed.output


def test_ids_that_would_escape_a_folder_or_break_a_dag_are_refused(repo):
    (repo / "alpha/main.sch.yaml").write_text(MAIN.replace("id: alpha.main", "id: ../../x"))
    commit(repo)
    failed = sparkplate("project", "deploy", ok=False)
    assert "[workflow.id]: '../../x' cannot be an id" in failed.output
    (repo / "alpha/main.sch.yaml").write_text(MAIN.replace("id: ddl", "id: my ddl"))
    with pytest.raises(SparkplateError, match=r"job.id\]: 'my ddl' cannot be an id"):
        parse_workflow(repo / "alpha/main.sch.yaml")


def test_a_scheduled_workflow_cannot_require_parameters(repo):
    (repo / "alpha/daily.sch.yaml").write_text(DAILY.replace("days: 2}", "days: 2, region: null}"))
    commit(repo)
    failed = sparkplate("project", "deploy", ok=False).output
    assert "daily.sch.yaml [workflow.params.region]: a scheduled workflow cannot require" in failed


def test_init_writes_the_settings_and_list_shows_deployed_workflows(repo, tmp_path):
    (repo / "sparkplate.yaml").unlink()
    commit(repo)
    assert sparkplate("project", "init").output == f"created {repo / 'sparkplate.yaml'}\n"
    settings = yaml.safe_load((repo / "sparkplate.yaml").read_text())
    assert settings["deploy"]["branches"]["default"] == "main"
    assert sparkplate("project", "init", ok=False).exit_code == 2  # never overwritten
    git(repo, "checkout", "--", ".")
    (repo / "sparkplate.yaml").unlink(missing_ok=True)
    git(repo, "checkout", "HEAD~1", "--", "sparkplate.yaml")
    commit(repo, "settings back")
    sparkplate("project", "deploy")
    sparkplate("project", "deploy")
    listed = sparkplate("project", "list", "workflows", "--deployed").output
    assert "-> alpha.daily: current 2 (versions 1, 2)" in listed


def test_rollback_goes_to_what_was_current_not_to_a_failed_deploys_bundle(repo, tmp_path):
    write_tree(repo, {"beta/main.sch.yaml": MAIN.replace("alpha.", "beta."),
                      "beta/ddl/t.sql": "SELECT 1;\n"})  # fmt: skip
    commit(repo, "beta")
    sparkplate("project", "deploy")  # alpha.main and beta.main: version 1
    (repo / "beta/main.sch.yaml").write_text(
        MAIN.replace("alpha.", "beta.").replace("script: ddl/t.sql", "script: ${sparkplate.sql.x}")
    )
    commit(repo, "beta broken")
    sparkplate("project", "deploy", ok=False)  # alpha.main's version 2 is complete, never current
    (repo / "beta/main.sch.yaml").write_text(MAIN.replace("alpha.", "beta."))
    commit(repo, "beta mended")
    sparkplate("project", "deploy")  # version 3
    root = tmp_path / "bundles"
    assert [b.version for b in bundles.versions(root, "alpha.main")] == [1, 3]
    assert sparkplate("project", "rollback", "alpha.main").output.startswith(
        "alpha.main: current bundle 3 -> 1"
    )
    assert (
        "no deployed version 2"
        in sparkplate("project", "rollback", "alpha.main", "--to", "2", ok=False).output
    )


def test_a_deploy_killed_halfway_leaves_the_previous_bundles_current(repo, tmp_path):
    many = {f"alpha/w{i:02}.sch.yaml": MAIN.replace("alpha.main", f"alpha.w{i:02}")
            for i in range(30)}  # fmt: skip
    write_tree(repo, many)  # 32 bundles of 32 rendered workflows each: seconds of work
    commit(repo, "many workflows")
    sparkplate("project", "deploy")
    deploying = subprocess.Popen(
        [sys.executable, "-m", "sparkplate.cli", "project", "deploy"], cwd=repo,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    root = tmp_path / "bundles"
    while not (root / "alpha.daily/versions/2").exists():  # the first bundle of the second deploy
        assert deploying.poll() is None, deploying.stdout.read().decode()
        time.sleep(0.002)
    deploying.kill()
    deploying.wait()
    dag_ids = [p.name for p in root.iterdir()]
    assert len(dag_ids) == 32
    assert {bundles.current(root, d).version for d in dag_ids} == {1}
    assert [b.version for b in bundles.versions(root, "alpha.daily")] == [1]
    out = sparkplate("project", "deploy").output  # the next deploy takes new numbers
    assert "-> alpha.daily... DEPLOYED AS bundle 3" in out
