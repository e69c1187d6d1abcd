"""Render tests: real Copier on the working tree, no Spark."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import copier
import pytest
import yaml
from helpers import RECIPES, REPO, SCALA_JAR, TRANSFORM, WRITE_JOB_TYPE, render

from sparkplate.engine import validate
from sparkplate.mocks import MockSet

pytestmark = pytest.mark.render

JINJA_LEFTOVER = re.compile(r"{{|}}|{%|%}|{#|#}")
# A GitHub Actions expression, `${{ ... }}`, is meant to be there (.github/workflows/ci.yml).
GITHUB_EXPRESSION = re.compile(r"\$\{\{[^{}]*\}\}")
# Each recipe's own files besides its transform (copier.yml names that): tests and build files.
OWN_FILES = {
    "sparksql": ("src/test_sparksql_write.py",),
    "pyspark": ("src/test_pyspark_write.py",),
    "scala": (
        "pom.xml",
        ".scalafmt.conf",
        "mvnw",
        "mvnw.cmd",
        ".mvn/wrapper/maven-wrapper.properties",
        ".gitattributes",
        "src/test/scala/com/example/sparkplatesample/TopTitlesSuite.scala",
        "src/test/scala/com/example/sparkplatesample/Mock.scala",
    ),
    "sparklyr": (
        "DESCRIPTION",
        ".lintr",
        "tests/testthat/test-sparklyr_write.R",
        "tests/testthat/helper-mocks.R",
        "tests/render_sql.R",
        "tests/test_rendered_sql.py",
    ),
}


def test_every_recipe_copier_offers_has_its_own_files_listed():
    assert set(OWN_FILES) == set(RECIPES)


def files_of(project):
    return sorted(p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file())


@pytest.mark.parametrize("recipe", RECIPES)
def test_default_render_is_complete_and_clean(tmp_path, recipe):
    project = render(tmp_path / "p", recipe=recipe)
    files = files_of(project)
    for expected in (
        ".copier-answers.yml",
        ".github/workflows/ci.yml",
        ".gitignore",
        "README.md",
        "backfill.sch.yaml",
        "daily.sch.yaml",
        "main.sch.yaml",
        "ddl/sparkplate_sample_results.sql",
        "noxfile.py",
        "sparkplate.yaml",
        "src/mocks/some_db.source_table.yaml",
        "src/mocks/sample_db.sparkplate_sample_results.yaml",
        TRANSFORM[recipe],
        *OWN_FILES[recipe],
    ):
        assert expected in files
    for name in files:
        text = (project / name).read_text()
        residue = JINJA_LEFTOVER.search(GITHUB_EXPRESSION.sub("", text))
        assert not residue, f"template residue in {name}"
        assert not text.endswith("\n\n"), f"{name} ends with a blank line"
        if name.endswith(".py"):
            ast.parse(text, filename=name)
    assert f"recipe: {recipe}" in (project / ".copier-answers.yml").read_text()


@pytest.mark.parametrize("recipe", RECIPES)
@pytest.mark.parametrize("use_wap", [True, False])
def test_workflows_and_mocks_are_valid(tmp_path, recipe, use_wap):
    project = render(tmp_path / "p", recipe=recipe, use_wap=use_wap)
    main = validate(project / "main.sch.yaml")
    types = [job.type for job in main.jobs]
    if use_wap:
        assert types == ["Spark", "Metadata", "wap", "HWM"]
        assert [(j.id, j.type) for j in main.jobs[2].jobs] == [("write", WRITE_JOB_TYPE[recipe])]
    else:
        assert types == ["Spark", "Metadata", WRITE_JOB_TYPE[recipe], "Audit", "HWM"]
    validate(project / "daily.sch.yaml")
    validate(project / "backfill.sch.yaml")
    roles = sorted(m.role for m in MockSet.find(project))
    assert roles == ["expected", "source"]


def test_answers_shape_the_project(tmp_path):
    project = render(
        tmp_path / "p",
        workflow_shortname="top_titles",
        target_database="analytics",
        target_table="daily_top",
        source_table="raw.playbacks",
        top_n=25,
        daily_lookback_days=5,
        timezone="America/Los_Angeles",
    )
    files = files_of(project)
    assert "ddl/daily_top.sql" in files
    assert "src/mocks/raw.playbacks.yaml" in files
    assert "src/mocks/analytics.daily_top.yaml" in files
    main = validate(project / "main.sch.yaml")
    assert main.params["target_table"] == "analytics.daily_top"
    assert main.params["top_n"] == "25"
    assert main.params["timezone"] == "America/Los_Angeles"
    assert validate(project / "daily.sch.yaml").params["lookback_days"] == "5"
    assert main.id == "top_titles_pyspark.main"


@pytest.mark.parametrize(
    "question, answer, message",
    [
        ("target_table", "../evil", "SQL identifier"),
        ("target_table", "", "SQL identifier"),
        ("target_database", "db-name", "SQL identifier"),
        ("target_database", "x'; DROP", "SQL identifier"),
        ("source_table", "no_database", "database.table"),
        ("source_table", "a/b.c", "database.table"),
        ("workflow_shortname", "Has Space", "lower-case"),
        ("workflow_id", "a/../b", "no '/'"),
        ("workflow_id", 'quote"d', "no '/'"),
        ("owner", "", "no spaces"),
        ("top_n", 0, "at least 1"),
        ("daily_lookback_days", 0, "1 to 366"),
        ("timezone", "../etc", "IANA"),
        ("recipe", "cobol", "Invalid choice"),
        ("scala_package", "com.example.class", "keyword"),
        ("scala_package", "Com.Example", "lower-case"),
        ("scala_package", "com..example", "dot-separated"),
    ],
)
def test_bad_answers_are_refused_and_nothing_is_written(tmp_path, question, answer, message):
    dest = tmp_path / "p"
    answers = {"recipe": "scala"} if question.startswith("scala_") else {}
    with pytest.raises(ValueError, match=re.escape(message)):
        render(dest, **{**answers, question: answer})
    assert not dest.exists()


def test_scala_package_names_the_sources_their_folders_and_the_main_class(tmp_path):
    project = render(tmp_path / "p", recipe="scala", scala_package="org.acme.top_titles")
    sources = sorted(
        path.relative_to(project).as_posix() for path in (project / "src").rglob("*.scala")
    )
    assert sources == [
        "src/main/scala/org/acme/top_titles/TopTitles.scala",
        "src/test/scala/org/acme/top_titles/Mock.scala",
        "src/test/scala/org/acme/top_titles/TopTitlesSuite.scala",
    ]
    for source in sources:
        assert (project / source).read_text().startswith("package org.acme.top_titles\n")
    readme = (project / "README.md").read_text()
    assert "`src/main/scala/org/acme/top_titles/TopTitles.scala` | the transform |" in readme
    write = validate(project / "main.sch.yaml").jobs[2].jobs[0]
    assert write.spec["class"] == "org.acme.top_titles.TopTitles"
    assert (project / write.spec["pom"]).is_file()
    assert "<finalName>${project.artifactId}</finalName>" in (project / "pom.xml").read_text()
    assert write.spec["jar"] == SCALA_JAR


def test_scala_pom_builds_against_the_runtimes_spark_and_scala(tmp_path):
    """The jar runs on the runner's spark-submit: same Spark, same Scala as the pinned pyspark."""
    import pyspark

    pom = (render(tmp_path / "p", recipe="scala") / "pom.xml").read_text()
    jars = sorted(p.name for p in (Path(pyspark.__file__).parent / "jars").glob("*.jar"))
    spark = re.search(r"<spark.version>(.+)</spark.version>", pom)[1]
    scala = re.search(r"<scala.version>(.+)</scala.version>", pom)[1]
    assert spark == pyspark.__version__
    assert f"spark-sql_2.12-{spark}.jar" in jars
    assert f"scala-library-{scala}.jar" in jars


# The recipes whose `nox -s lint` runs ruff (the Scala project's only Python is its noxfile).
PYTHON_LINTED = [recipe for recipe in RECIPES if recipe != "scala"]


@pytest.mark.parametrize("recipe", PYTHON_LINTED)
def test_the_python_of_every_recipe_passes_its_own_ruff_settings(tmp_path, recipe):
    project = render(tmp_path / "p", recipe=recipe)
    for check in (["check", "."], ["format", "--check", "."]):
        done = subprocess.run([sys.executable, "-m", "ruff", *check], cwd=project,
                              capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr


def test_pre_commit_stops_conflict_markers_and_rej_files(tmp_path):
    project = render(tmp_path / "p", recipe="pyspark")
    run = [sys.executable, "-m", "pre_commit", "run", "--all-files"]
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    assert subprocess.run(run, cwd=project, capture_output=True).returncode == 0
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "<<<<<<< before updating\nmine\n=======\n")
    (project / "src" / "pyspark_write.py.rej").write_text("a hunk copier could not apply\n")
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    done = subprocess.run(run, cwd=project, capture_output=True, text=True)
    assert done.returncode != 0
    assert "README.md:" in done.stdout and "pyspark_write.py.rej" in done.stdout


@pytest.mark.render
def test_new_projects_are_on_spark_4_1_and_sparklyr_is_refused_there(tmp_path):
    """The default Spark line per recipe, and the one recipe that cannot run on 4.1."""
    for recipe, line in [("sparksql", "4.1"), ("sparklyr", "3.5")]:
        copier.run_copy(str(REPO), tmp_path / recipe, data={"recipe": recipe}, defaults=True,
                        unsafe=True, quiet=True, vcs_ref="HEAD")  # fmt: skip
        answers = yaml.safe_load((tmp_path / recipe / ".copier-answers.yml").read_text())
        assert answers["spark_version"] == line
    with pytest.raises(ValueError, match="sparklyr 1.8.4 ships no Scala 2.13 backend"):
        copier.run_copy(str(REPO), tmp_path / "refused",
                        data={"recipe": "sparklyr", "spark_version": "4.1"}, defaults=True,
                        unsafe=True, quiet=True, vcs_ref="HEAD")  # fmt: skip
    assert not (tmp_path / "refused" / "noxfile.py").exists()
