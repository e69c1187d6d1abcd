"""sparkplate's own checks. `nox` runs every session; `nox -l` lists them.

- lint:          ruff on the runtime, tests and benchmarks
- tests:         runtime unit tests and render tests (real Copier, real Spark and Iceberg)
- e2e(recipe):   render a recipe into a temp dir and run the generated project's own `nox`
- update:        copier update of every recipe from the previous release, then its own `nox`
- bench:         figures for the generated project's speed and memory (prints, asserts nothing)
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests", "e2e", "update", "bench"]

REPO = Path(__file__).parent
# The recipes copier.yml offers; each is rendered and run end to end.
RECIPES = ["sparksql", "pyspark", "scala", "sparklyr"]


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "benchmarks", "noxfile.py")


@nox.session
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.run("pytest", "-m", "not update", *session.posargs)


@nox.session
def update(session: nox.Session) -> None:
    """copier update from the previous release (or a fixture tag) to this working tree."""
    session.install("-e", ".[test]")
    session.run("pytest", "-m", "update", "tests/test_update.py", *session.posargs)


@nox.session
@nox.parametrize("recipe", RECIPES, ids=RECIPES)
def e2e(session: nox.Session, recipe: str) -> None:
    """Render the recipe with real Copier, then run the generated project's own nox."""
    session.install("copier", "nox", "uv")
    project = Path(tempfile.mkdtemp(prefix=f"sparkplate-e2e-{recipe}-")) / "pipeline"
    session.run("copier", "copy", "--trust", "--defaults", "--vcs-ref", "HEAD",
                "-d", f"recipe={recipe}", str(REPO.resolve()), str(project))  # fmt: skip
    session.chdir(project)
    session.run("nox")
    if recipe == "sparklyr" and not sparklyr_installed():
        # The project's nox ran its tests and skipped its end-to-end runs: say so here too.
        session.skip("SKIPPED: sparklyr is not installed; the sparklyr job was not run")


def sparklyr_installed() -> bool:
    check = ["Rscript", "-e", "quit(status = !requireNamespace('sparklyr', quietly = TRUE))"]
    return shutil.which("Rscript") is not None and subprocess.run(check).returncode == 0


@nox.session
def bench(session: nox.Session) -> None:
    session.install("-e", ".[test]", "psutil", "sqlfluff")
    session.run("python", "benchmarks/bench.py", *session.posargs)
