"""sparkplate's own checks. `nox` runs every session; `nox -l` lists them.

- lint:          ruff on the runtime, tests and benchmarks
- tests:         runtime unit tests and render tests (real Copier, real Spark and Iceberg)
- e2e(recipe):   render a recipe into a temp dir and run the generated project's own `nox`
- bench:         figures for the generated project's speed and memory (prints, asserts nothing)
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests", "e2e", "bench"]

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
    session.run("pytest", *session.posargs)


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


@nox.session
def bench(session: nox.Session) -> None:
    session.install("-e", ".[test]", "psutil", "sqlfluff")
    session.run("python", "benchmarks/bench.py", *session.posargs)
