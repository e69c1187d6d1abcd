"""The GitHub Actions workflow every recipe generates passes actionlint and `zizmor --offline`
(no finding of medium or higher), pins its actions to commits, and still runs the same checks.

actionlint is a Go program: .ci/run installs it (`go install`). Where it is missing the actionlint
test is skipped, loudly, except under CI (env CI set), where it fails: CI must run it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import RECIPES, render

pytestmark = pytest.mark.render

WORKFLOW = Path(".github/workflows/ci.yml")
# owner/repo[/path]@<full commit> # vX.Y.Z: a tag can be moved, a commit cannot.
PINNED = re.compile(r"^\s*-?\s*uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)$")
ZIZMOR_BLOCKING = {"Medium", "High"}


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def tool(name: str) -> str:
    """The tool's path: next to this Python (the venv's bin) or on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found:
        return found
    why = {
        "actionlint": "install it with `GOBIN=$PWD/.ci/venv/bin go install "
        "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12` (.ci/run does)",
        "zizmor": "install the test extra (`pip install -e .[test]`)",
    }[name]
    message = f"{name} is not installed, so the generated CI workflow was NOT checked: {why}"
    if under_ci():
        pytest.fail(f"{message} (CI is set: CI must run it)")
    pytest.skip(f"SKIPPED: {message}")


@pytest.fixture(scope="module", params=RECIPES)
def project(request, tmp_path_factory) -> Path:
    return render(tmp_path_factory.mktemp(request.param) / "pipeline", recipe=request.param)


def recipe_of(project: Path) -> str:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())["recipe"]


def test_actionlint_passes(project):
    result = subprocess.run(
        [tool("actionlint"), "-no-color", "-oneline", str(WORKFLOW)],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"actionlint ({recipe_of(project)}):\n{result.stdout}"
    assert result.stdout == ""


def test_zizmor_offline_finds_nothing_of_medium_or_higher(project):
    result = subprocess.run(
        [tool("zizmor"), "--offline", "--no-config", "--no-progress", "--format", "json"]
        + [str(WORKFLOW)],
        cwd=project,
        capture_output=True,
        text=True,
    )
    # 0: no finding; 10-14: findings (the highest severity sets the code); else zizmor failed.
    assert result.returncode == 0 or 10 <= result.returncode <= 14, result.stderr
    findings = json.loads(result.stdout)
    blocking = [
        f"{f['ident']} ({f['determinations']['severity']}): {f['desc']}"
        for f in findings
        if f["determinations"]["severity"] in ZIZMOR_BLOCKING
    ]
    assert not blocking, f"zizmor --offline ({recipe_of(project)}):\n" + "\n".join(blocking)


def test_actions_are_pinned_to_a_commit_with_the_release_in_a_comment(project):
    lines = [line for line in (project / WORKFLOW).read_text().splitlines() if "uses:" in line]
    assert lines
    unpinned = [line for line in lines if not PINNED.match(line)]
    assert not unpinned, f"not pinned as `uses: owner/repo@<commit> # vX.Y.Z`: {unpinned}"
    # One action, one release: its steps agree on the commit (the r-lib steps share a repo).
    by_repo: dict[str, set[tuple[str, str]]] = {}
    for line in lines:
        action, commit, version = PINNED.match(line).groups()
        by_repo.setdefault("/".join(action.split("/")[:2]), set()).add((commit, version))
    assert all(len(pins) == 1 for pins in by_repo.values()), by_repo


def test_least_permissions_no_credentials_kept_caches_and_a_timeout(project):
    recipe = recipe_of(project)
    workflow = yaml.safe_load((project / WORKFLOW).read_text())
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    assert isinstance(job["timeout-minutes"], int) and 0 < job["timeout-minutes"] <= 120
    steps = job["steps"]
    uses = [step.get("uses", "").split("@")[0] for step in steps]
    checkout = steps[uses.index("actions/checkout")]
    assert checkout["with"]["persist-credentials"] is False
    cached = {
        path.strip()
        for step in steps
        if step.get("uses", "").startswith("actions/cache@")
        for path in step["with"]["path"].splitlines()
    }
    assert {"~/.cache/pip", "~/.cache/uv", "~/.cache/sparkplate"} <= cached
    java = steps[uses.index("actions/setup-java")]["with"]
    assert java.get("cache") == ("maven" if recipe == "scala" else None)


def test_the_workflow_runs_the_same_checks_as_before(project):
    """Hardening changed how the steps run, not what they do: the same tools, then `nox`."""
    recipe = recipe_of(project)
    (job,) = yaml.safe_load((project / WORKFLOW).read_text())["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    steps = job["steps"]
    setups = [s["uses"].split("@")[0] for s in steps if "uses" in s and "/cache@" not in s["uses"]]
    expected = ["actions/checkout", "actions/setup-python", "actions/setup-java"]
    if recipe == "sparklyr":
        expected += ["r-lib/actions/setup-r", "r-lib/actions/setup-r-dependencies"]
    assert setups == expected
    with_ = {s["uses"].split("@")[0]: s.get("with", {}) for s in steps if "uses" in s}
    assert with_["actions/setup-python"]["python-version"] == "3.11"
    assert with_["actions/setup-java"]["distribution"] == "temurin"
    # Java from the matrix: the versions the project's Spark line supports (copier.yml's facts).
    assert with_["actions/setup-java"]["java-version"] == "${{ matrix.java }}"
    line = yaml.safe_load((project / ".copier-answers.yml").read_text())["spark_version"]
    assert job["strategy"]["matrix"]["java"] == {"3.5": ["17"], "4.1": ["17", "21"]}[line]
    assert [s["run"] for s in steps if "run" in s] == ["pip install nox uv", "nox"]
    assert steps[-1] == {"run": "nox"}
