"""The generated noxfile installs the sparkplate runtime from the source its project was made from.

`sparkplate_requirement()` reads `.copier-answers.yml` in the working directory, as nox runs it
from the project root. No Spark and no nox session runs here: the noxfile is imported as a module.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest
from helpers import REPO

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
