"""The generated .pre-commit-config.yaml passes on a fresh render of every recipe, offline but
for the package index: every hook is local, its tool pinned (the same pins as the `lint` group).

The hooks' environments are installed once into one PRE_COMMIT_HOME for every recipe (about a
minute here); .ci/run keeps that folder between runs, so later runs take seconds per recipe.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import yaml
from helpers import RECIPES, render
from nox.project import load_toml  # tomllib is Python 3.11+

pytest.importorskip("pre_commit", reason="pre-commit is not installed (pip install -e '.[test]')")

pytestmark = pytest.mark.render


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory):
    return os.environ.get("PRE_COMMIT_HOME") or str(tmp_path_factory.mktemp("pre-commit-home"))


@pytest.fixture(scope="module", params=RECIPES)
def project(request, tmp_path_factory):
    """A fresh render of each recipe, committed to git as a new project's first commit would be."""
    recipe = request.param
    project = render(tmp_path_factory.mktemp(recipe, numbered=False) / "pipeline", recipe=recipe)
    subprocess.run(["git", "-c", "init.defaultBranch=main", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    return project


def hooks(project):
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"]  # nothing from GitHub
    return {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}


def test_pre_commit_passes_on_a_fresh_render(project, pre_commit_home):
    env = {**os.environ, "PRE_COMMIT_HOME": pre_commit_home}

    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"],
        cwd=project, env=env, capture_output=True, text=True,
    )  # fmt: skip
    print(f"pre-commit on {project.parent.name}: {time.monotonic() - started:.1f} s")

    assert done.returncode == 0, done.stdout + done.stderr
    passed = {line.split("...")[0] for line in done.stdout.splitlines() if line.endswith("Passed")}
    # Each found files to check: a hook whose pattern matches nothing is skipped, not passed.
    assert {hook["name"] for hook in hooks(project).values()} - passed == {
        "no .rej files left by copier update"
    }, done.stdout


def test_every_tool_a_hook_installs_is_pinned(project):
    for hook in hooks(project).values():
        if hook["language"] == "python":
            assert all("==" in d for d in hook["additional_dependencies"]), hook["id"]


# The Scala recipe has no pyproject.toml: its pre-commit hooks are the only place it pins them.
@pytest.mark.parametrize(
    "project", [recipe for recipe in RECIPES if recipe != "scala"], indirect=True
)
def test_nox_lints_with_the_versions_pre_commit_pins(project):
    pinned = {
        dependency
        for hook in hooks(project).values()
        for dependency in hook.get("additional_dependencies", [])
        if dependency.split("==")[0] in ("ruff", "sqlfluff")
    }

    lint = load_toml(project / "pyproject.toml")["dependency-groups"]["lint"]

    assert sorted(lint) == sorted(pinned)
