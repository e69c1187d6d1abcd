"""`sparkplate project init | list | render | test | rollback` (deploy has its own module).

Each prints what it finds in the shape of Dataflow's `project` commands: a heading per kind,
one `->` line per item, and a summary line.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from sparkplate.engine import validate
from sparkplate.errors import SparkplateError
from sparkplate.jobs.spark_submit import maven
from sparkplate.profiles import PROFILE_FILE
from sparkplate.project import bundle as bundles
from sparkplate.project.registry import open_registry
from sparkplate.project.render import Assets, render, write_rendered
from sparkplate.project.repo import (
    RENDERED_DIR,
    Project,
    Repository,
    find_root,
    git_facts,
    shown,
)

KINDS = {  # what `project list KIND` takes: the plural of an asset type, or a group
    "wheels": "wheel",
    "eggs": "wheel",
    "jars": "jar",
    "sqls": "sql",
    "rs": "r",
}
INIT = """\
# The repository's sparkplate settings: where `sparkplate project deploy` publishes assets and
# bundles, and where it writes Airflow DAGs. Projects keep their own profiles next to their
# workflows; a profile named here serves the projects that have none.
deploy:
  registry: ~/.local/share/sparkplate/registry   # a folder, or s3://bucket/prefix
  bundles: ~/.local/share/sparkplate/bundles     # deployed workflows; Airflow's workers read them
  airflow:
    dags_folder: ~/airflow/dags
    env:                                         # for every deployed task
      SPARKPLATE_WAREHOUSE: ~/.local/share/sparkplate/warehouse
  branches:
    default: main          # other branches deploy as sandbox.<branch>.<workflow id>
    # profiles: {main: cluster, "*": sandbox}    # the profile deployed runs use, per branch
profiles:
  local: {}
"""


def init(start: Path, say) -> Path:
    root = find_root(start)
    target = root / PROFILE_FILE
    if target.exists():
        raise SparkplateError(f"{target} exists", fix="edit it; its `deploy:` key is read")
    target.write_text(
        INIT.replace(
            "~/.local/share/sparkplate/warehouse",
            str(Path.home() / ".local/share/sparkplate/warehouse"),
        )
    )
    say(f"created {target}")
    return target


def _heading(say, title: str, lines: list[str], verb: str = "found") -> None:
    say(f"{title}:")
    for line in lines:
        say(f"-> {line}")
    say(f"Summary: {len(lines)} {verb}.")


def list_project(repo: Repository, what: str | None, say) -> None:
    def show(source) -> str:
        return source.shown(repo.root)

    if what in (None, "assets"):
        _heading(say, "Python Assets", [show(s) for s in repo.python])
        _heading(say, "Maven Assets", [show(s) for s in repo.maven])
        for kind, title in (("sql", "SQL Script Assets"), ("r", "R Script Assets")):
            found = [s for s in repo.scripts if s.type == kind]
            _heading(say, title, [f"{show(s)} ({len(s.project.files)} files)" for s in found])
    if what in (None, "workflows"):
        _heading(
            say,
            "Scheduler Workflows",
            [shown(p, repo.root) for p in repo.workflows],
        )


def list_deployed(repo: Repository, what: str, namespace: str | None, say) -> None:
    if what == "workflows":
        folder = repo.deploy.bundles
        lines = []
        for dag in sorted(p.name for p in folder.iterdir()) if folder.is_dir() else ():
            now = bundles.current(folder, dag)
            done = [b.version for b in bundles.versions(folder, dag)]
            if done:
                lines.append(
                    f"{dag}: current {now.version if now else 'none'} "
                    f"(versions {', '.join(map(str, done))})"
                )
        _heading(say, f"Deployed workflows in {folder}", lines)
        return
    kind = KINDS.get(what or "")
    if kind is None:
        raise SparkplateError(
            f"cannot list deployed {what or 'everything'}",
            fix="name a kind: " + ", ".join([*KINDS, "workflows"]),
        )
    registry = open_registry(repo.deploy.registry, repo.root)
    found = registry.deployed(type=kind, namespace=namespace)
    say(f"Project namespaces with deployed {what.upper()}:")
    for deployed in found:
        say(f"-> {deployed.id}")
    say(f"Summary: {len(found)} found.")


def rendered_name(project: Project, workflow: Path) -> str:
    return f"{project.name}.{workflow.name.removesuffix('.sch.yaml')}.rendered.yaml"


def render_all(repo: Repository, say) -> list[Path]:
    """Every workflow into .workflows/, references filled in, file paths made to point back
    at the project (or at the rendered workflows it calls)."""
    out = repo.root / RENDERED_DIR
    facts = git_facts(repo.root, detached=repo.deploy.default_branch)
    registry = lambda: open_registry(repo.deploy.registry, repo.root)  # noqa: E731
    assets = Assets(registry, out / "assets", facts.branch, repo.deploy.default_branch)
    written = []
    say("Building Scheduler Workflows:")
    for project in repo.projects:

        def to_out(kind: str, key: str, value: str, spec: dict, project=project) -> str:
            if kind == "Workflow" and key == "workflow":
                return rendered_name(project, project.folder / value)
            return os.path.relpath(project.folder / value, out)

        for workflow in project.workflows:
            target = out / rendered_name(project, workflow)
            header = (
                f"Rendered by `sparkplate project render` from "
                f"{workflow.relative_to(repo.root)}; render again rather than edit it."
            )
            write_rendered(render(workflow, assets, to_out), target, header)
            written.append(target)
            say(f"-> {shown(workflow, repo.root)}... CREATED {shown(target, repo.root)}")
    say(f"Summary: {len(written)} successful, 0 failed.")
    return written


def _unit_test_command(project: Project) -> list[str] | None:
    """The project's own unit tests: its nox `tests` session, else Maven's or pytest's."""
    folder = project.folder
    if (folder / "noxfile.py").is_file() and "def tests(" in (folder / "noxfile.py").read_text():
        return [sys.executable, "-m", "nox", "-s", "tests"]
    if (folder / "pom.xml").is_file():
        return [maven(folder) or "mvn", "-B", "-q", "test"]
    if (folder / "pyproject.toml").is_file():
        return [sys.executable, "-m", "pytest", "-q"]
    return None


def test(repo: Repository, say) -> bool:
    """Unit tests of every project, then render and validate every workflow."""
    failed: list[str] = []
    say("Testing Projects:")
    passed = 0
    for project in repo.projects:
        where = shown(project.folder, repo.root)
        command = _unit_test_command(project)
        if command is None:
            say(f"-> {where}... SKIPPED (no noxfile tests session, pom.xml or pyproject.toml)")
            continue
        if shutil.which(command[0]) is None:
            raise SparkplateError(f"`{command[0]}` is not on PATH; {where} tests with it")
        if command[1:3] == ["-m", "nox"] and importlib.util.find_spec("nox") is None:
            raise SparkplateError(
                f"{where} tests with nox, which is not installed here", fix="pip install nox"
            )
        done = subprocess.run(command, cwd=project.folder, capture_output=True, text=True)
        if done.returncode == 0:
            passed += 1
            say(f"-> {where}... PASSED ({' '.join(command[-3:])})")
        else:
            failed.append(where)
            say(f"-> {where}... FAILED ({' '.join(command)} exited {done.returncode}):")
            for line in (done.stdout + done.stderr).strip().splitlines()[-25:]:
                say(f"   {line}")
    say(f"Summary: {passed} successful, {len(failed)} failed.")
    try:
        rendered = render_all(repo, say)
    except SparkplateError as err:
        say(f"error: {err}")
        return False
    say("Testing Scheduler Workflows:")
    ok = 0
    for path in rendered:
        try:
            validate(path)
            ok += 1
            say(f"-> {shown(path, repo.root)}... PASSED")
        except SparkplateError as err:
            failed.append(str(path))
            say(f"-> {shown(path, repo.root)}... FAILED: {err}")
    say(f"Summary: {ok} successful, {len(rendered) - ok} failed.")
    return not failed


def rollback(repo: Repository, dag_id: str, to: int | None, say) -> None:
    before = bundles.current(repo.deploy.bundles, dag_id)
    now = bundles.rollback(repo.deploy.bundles, dag_id, to)
    record = now.record()
    say(
        f"{dag_id}: current bundle {before.version if before else 'none'} -> {now.version} "
        f"({record['branch']}@{record['commit']}, assets: {', '.join(record['assets'])})"
    )
