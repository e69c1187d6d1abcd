"""lintr finds nothing in the sparklyr recipe's R code nor in the runtime's run_r_job.R.

The generated project lints with its own `.lintr` (its `nox -s lint` runs lintr too), the runtime
with this repository's `.lintr`: lintr reads the one nearest each file. `.ci/run` installs lintr
(Debian's r-cran-lintr); without it these tests fail, they never pass unlinted.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import REPO, render

pytestmark = [pytest.mark.render, pytest.mark.r]

# Lints each file named on the command line; exit 1 if there was any lint.
LINT = """
found <- 0
for (file in commandArgs(trailingOnly = TRUE)) {
  lints <- lintr::lint(file)
  if (length(lints)) print(lints)
  found <- found + length(lints)
}
cat(found, "lints\n")
quit(status = as.integer(found > 0))
"""


@pytest.fixture(scope="module")
def sparklyr_project(tmp_path_factory) -> Path:
    return render(tmp_path_factory.mktemp("sparklyr") / "pipeline", recipe="sparklyr")


def assert_no_lints(files: list[Path], cwd: Path) -> None:
    if shutil.which("Rscript") is None:
        pytest.skip("R is not installed: the R code was not linted")
    has_lintr = ["Rscript", "-e", "quit(status = !requireNamespace('lintr', quietly = TRUE))"]
    if subprocess.run(has_lintr, capture_output=True).returncode != 0:
        pytest.fail(
            "lintr is not installed, so the R code was not linted "
            "(Debian/Ubuntu: apt install r-cran-lintr; .ci/run installs it)"
        )
    lint = ["Rscript", "-e", LINT, *map(str, files)]
    result = subprocess.run(lint, cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, f"lintr:\n{result.stdout}{result.stderr}"
    assert result.stdout.strip().endswith("0 lints"), result.stdout


def test_the_generated_r_code_has_no_lints(sparklyr_project):
    assert (sparklyr_project / ".lintr").is_file()
    files = sorted(path.relative_to(sparklyr_project) for path in sparklyr_project.rglob("*.[Rr]"))
    # Every R file the recipe generates, so the test cannot pass on none.
    assert {
        Path("src/sparklyr_write.R"),
        Path("tests/render_sql.R"),
        Path("tests/testthat/helper-mocks.R"),
        Path("tests/testthat/test-sparklyr_write.R"),
    } <= set(files)
    assert_no_lints(files, cwd=sparklyr_project)


def test_the_runtime_r_job_launcher_has_no_lints():
    assert_no_lints([Path("src/sparkplate/jobs/run_r_job.R")], cwd=REPO)


def test_only_the_sparklyr_recipe_gets_a_lintr_file(rendered_pyspark):
    assert not (rendered_pyspark / ".lintr").exists()
