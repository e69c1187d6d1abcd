"""The generated noxfile installs the sparkplate runtime from the source its project was made from,
and its first session fails on what a conflicted `copier update` leaves (Copier exits 0).

`sparkplate_requirement()` reads `.copier-answers.yml` in the working directory, as nox runs it
from the project root; the noxfile is imported as a module for it. The `conflicts` session runs
with real nox (it needs no virtualenv: under a second). No Spark runs here.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import REPO, TRANSFORM

pytest.importorskip(
    "nox",
    reason="nox is not installed: the generated noxfile imports it, so none of its tests ran "
    "(pip install nox)",
)

ANSWERS = "# Changes here will be overwritten by Copier; NEVER EDIT MANUALLY\n{}recipe: pyspark\n"


@pytest.fixture(scope="module")
def noxfile(rendered_pyspark):
    """The rendered project's noxfile.py, imported under a name of its own."""
    path = rendered_pyspark / "noxfile.py"
    spec = importlib.util.spec_from_file_location("generated_noxfile", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("generated_noxfile", None)


@pytest.fixture
def answered(tmp_path, monkeypatch):
    """Write a .copier-answers.yml with the given lines and work in its folder."""
    monkeypatch.delenv("SPARKPLATE_REQUIREMENT", raising=False)
    monkeypatch.chdir(tmp_path)

    def write(lines: str) -> Path:
        path = tmp_path / ".copier-answers.yml"
        path.write_text(ANSWERS.format(lines))
        return path

    return write


def test_the_rendered_project_installs_the_checkout_it_came_from(
    noxfile, rendered_pyspark, monkeypatch
):
    monkeypatch.delenv("SPARKPLATE_REQUIREMENT", raising=False)
    monkeypatch.chdir(rendered_pyspark)

    assert noxfile.sparkplate_requirement() == str(REPO)


@pytest.mark.parametrize("quote", ["", "'", '"'])
def test_a_local_checkout_is_installed_as_it_is(noxfile, answered, quote):
    answered(f"_commit: 0123abc\n_src_path: {quote}{REPO}{quote}\n")

    assert noxfile.sparkplate_requirement() == str(REPO)


@pytest.mark.parametrize(
    "source, commit, expected",
    [
        (
            "gh:acme/sparkplate",
            "v0.1.0",
            "sparkplate @ git+https://github.com/acme/sparkplate@v0.1.0",
        ),
        (
            "gl:acme/data/sparkplate",
            "'0123abc'",
            "sparkplate @ git+https://gitlab.com/acme/data/sparkplate@0123abc",
        ),
        (
            "git@host.example:acme/sp.git",
            "0123abc",
            "sparkplate @ git+ssh://git@host.example/acme/sp.git@0123abc",
        ),
        (
            "https://git.example.com/acme/sparkplate.git",
            "v0.2.0",
            "sparkplate @ git+https://git.example.com/acme/sparkplate.git@v0.2.0",
        ),
        (
            "https://git.example.com/acme/sparkplate.git",
            None,
            "sparkplate @ git+https://git.example.com/acme/sparkplate.git@HEAD",
        ),
        (
            "https://git.example.com/acme/sparkplate.git",
            "v0.1.0-3-g1a2b3c4",  # Copier records `git describe` past a release
            "sparkplate @ git+https://git.example.com/acme/sparkplate.git@1a2b3c4",
        ),
    ],
    ids=["gh", "gl-quoted-commit", "scp-ssh", "https", "no-commit", "past-a-release"],
)
def test_a_git_source_is_installed_at_the_recorded_commit(
    noxfile, answered, source, commit, expected
):
    answered((f"_commit: {commit}\n" if commit else "") + f"_src_path: {source}\n")

    assert noxfile.sparkplate_requirement() == expected


def test_a_git_plus_source_gets_one_git_plus(noxfile, answered):
    answered("_commit: v0.1.0\n_src_path: git+https://git.example.com/acme/sparkplate\n")

    assert noxfile.sparkplate_requirement() == (
        "sparkplate @ git+https://git.example.com/acme/sparkplate@v0.1.0"
    )


@pytest.mark.parametrize("source", ["../sparkplate", "checkout", "/nonexistent/sparkplate"])
def test_a_source_this_machine_cannot_use_stops_with_what_to_do(
    noxfile, answered, tmp_path, source
):
    if source == "checkout":  # relative to where Copier ran, not to the project: refused too
        source = os.path.relpath(REPO, tmp_path)
    answered(f"_commit: v0.1.0\n_src_path: {source}\n")

    with pytest.raises(SystemExit) as stopped:
        noxfile.sparkplate_requirement()

    message = str(stopped.value)
    assert message.startswith(".copier-answers.yml: "), message
    assert repr(source) in message
    assert "SPARKPLATE_REQUIREMENT" in message


def test_sparkplate_requirement_from_the_environment_is_used_as_is(noxfile, answered, monkeypatch):
    answered("_commit: v0.1.0\n_src_path: ../sparkplate\n")  # would stop the run if read
    wheel = "/opt/wheels/sparkplate-0.1.0-py3-none-any.whl"
    monkeypatch.setenv("SPARKPLATE_REQUIREMENT", wheel)

    assert noxfile.sparkplate_requirement() == wheel


def test_the_template_inside_an_installed_sparkplate_asks_for_the_runtime_source(
    noxfile, answered, tmp_path
):
    package = tmp_path / "site-packages" / "sparkplate"
    (package / "template").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    answered(f"_src_path: {package / 'template'}\n")

    with pytest.raises(SystemExit) as stopped:
        noxfile.sparkplate_requirement()

    assert "rendered from the template inside an installed sparkplate" in str(stopped.value)
    assert "set SPARKPLATE_REQUIREMENT" in str(stopped.value)


# --- the `conflicts` session ----------------------------------------------------------------------


def conflicts(project: Path) -> subprocess.CompletedProcess:
    """`nox -s conflicts` in the project; nox logs to stderr, so both streams go to stdout."""
    return subprocess.run([sys.executable, "-m", "nox", "-s", "conflicts"], cwd=project,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip


def test_conflicts_runs_first_in_nox_so_in_ci(noxfile):
    # The generated CI runs plain `nox`: every session in nox.options.sessions.
    ci = (REPO / "templates/.github/workflows/ci.yml.jinja").read_text()
    assert "- run: nox\n" in ci
    assert noxfile.nox.options.sessions[0] == "conflicts"


def test_nox_and_pre_commit_look_for_the_same_markers(noxfile, rendered_pyspark):
    config = yaml.safe_load((rendered_pyspark / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}

    assert hooks["check-merge-conflict"]["entry"] == noxfile.CONFLICT_MARKER.pattern.decode()
    assert hooks["check-merge-conflict"]["exclude"] == r"\.rej$"
    assert hooks["no-rejected-updates"]["files"] == r"\.rej$"


def test_no_template_file_holds_a_line_the_check_refuses(noxfile):
    """Every recipe at once, unrendered: a flagged line in a template is flagged once rendered
    (e.g. a Markdown heading underlined with exactly seven `=`; use another length)."""
    flagged = [
        f"{path.relative_to(REPO)}:{number}"
        for path in sorted((REPO / "templates").rglob("*"))
        if path.is_file()
        for number in noxfile.conflict_marker_lines(path)
    ]

    assert flagged == []


def test_a_clean_render_passes(project):
    done = conflicts(project)

    assert done.returncode == 0, done.stdout
    assert "Session conflicts was successful" in done.stdout


def test_conflict_markers_fail_naming_each_file_and_line(project):
    transform = project / TRANSFORM["pyspark"]
    lines = transform.read_text().splitlines(keepends=True)
    conflict = ["<<<<<<< before updating\n", "mine\n", "=======\n", "theirs\n",
                ">>>>>>> after updating\n"]  # fmt: skip
    transform.write_text("".join(lines[:3] + conflict + lines[3:]))

    done = conflicts(project)

    assert done.returncode != 0
    for number in (4, 6, 8):  # the three marker lines, after the file's first three
        assert f"{TRANSFORM['pyspark']}:{number}: a conflict marker" in done.stdout
    assert f"{TRANSFORM['pyspark']}:5:" not in done.stdout
    assert "resolve the conflict, then delete the markers" in done.stdout


def test_a_rej_file_fails_naming_it_and_is_not_read_for_markers(project):
    (project / "src/x.py.rej").write_text("@@ -1 +1 @@\n=======\n")

    done = conflicts(project)

    assert done.returncode != 0
    assert "src/x.py.rej: a change copier update could not apply" in done.stdout
    assert "apply or discard this .rej file, then delete it" in done.stdout
    assert "x.py.rej:2" not in done.stdout


def test_seven_equals_signs_alone_are_a_marker_as_pre_commit_has_it(project):
    """A Markdown heading underline of exactly seven `=` is flagged (pre-commit's pattern flags
    it too); eight, or seven followed by text, are not."""
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nNotes\n========\n\nMore\n=======\n\n=======x\n")
    last = len(readme.read_text().splitlines())

    done = conflicts(project)

    assert done.returncode != 0
    assert [line.split(":")[1] for line in done.stdout.splitlines()
            if line.startswith("README.md:")] == [str(last - 2)]  # fmt: skip


def test_only_the_projects_own_text_files_are_read(project):
    marker = b"<<<<<<< before updating\n"
    for folder in (".nox/lint", "warehouse/db", "target", "env"):
        (project / folder).mkdir(parents=True)
        (project / folder / "notes.txt").write_bytes(marker)
    (project / "env/pyvenv.cfg").write_text("home = /usr/bin\n")  # a virtualenv of any name
    (project / "src/mocks/picture.bin").write_bytes(b"\0\1" + marker)  # binary, as git sees it

    done = conflicts(project)

    assert done.returncode == 0, done.stdout
