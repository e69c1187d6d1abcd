"""Shared helpers: render the template with real Copier; one Iceberg session per test run."""

from __future__ import annotations

import shutil
from pathlib import Path

import copier
import pytest

REPO = Path(__file__).resolve().parents[1]
RECIPES = ("sparksql", "pyspark", "scala", "sparklyr")  # the recipes copier.yml offers
SCALA_JAR = "target/sparkplate_sample.jar"  # the default Scala project's jar and main class
SCALA_CLASS = "com.example.sparkplatesample.ExampleApp"


def render(dest: Path, **answers) -> Path:
    """Render the template at the working tree (uncommitted edits included) into `dest`."""
    copier.run_copy(
        str(REPO),
        dest,
        data={"recipe": "pyspark", **answers},
        defaults=True,
        unsafe=True,
        quiet=True,
        vcs_ref="HEAD",
    )
    return dest


@pytest.fixture(scope="session")
def rendered_pyspark(tmp_path_factory) -> Path:
    """A default PySpark project, rendered once; copy it before changing it."""
    return render(tmp_path_factory.mktemp("rendered") / "pipeline")


@pytest.fixture(scope="session")
def built_scala(tmp_path_factory) -> Path:
    """A default Scala project with its jar built as the runner builds it, once per test run."""
    from sparkplate.jobs import spark_submit as submit

    if shutil.which("mvn") is None:
        pytest.fail("Maven (mvn) is needed to build the Scala recipe; .ci/run installs it")
    project = render(tmp_path_factory.mktemp("scala") / "pipeline", recipe="scala")
    where = {"file": project / "main.sch.yaml", "key": "write"}
    submit.build(project / SCALA_JAR, project / "pom.xml", print, where)
    return project


@pytest.fixture
def project(rendered_pyspark, tmp_path) -> Path:
    """A fresh copy of the default PySpark project for one test."""
    return Path(shutil.copytree(rendered_pyspark, tmp_path / "pipeline"))


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """One local Spark session, with an Iceberg Hadoop catalog, for every test that needs Spark.

    It replaces the plugin's plain `spark` fixture: a process has one SparkContext, and its
    catalogs and jars are fixed when it starts. Tests keep apart by using their own table names.
    """
    from sparkplate.session import local_session

    warehouse = tmp_path_factory.mktemp("warehouse")
    session = local_session("sparkplate-tests", iceberg=True, warehouse=warehouse, quick_start=True)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def source(spark, rendered_pyspark):
    """The source mock every recipe renders, loaded once into the test warehouse."""
    from sparkplate.mocks import MockSet, write_table

    for mock in MockSet.find(rendered_pyspark).sources():
        write_table(spark, mock)
    return MockSet.find(rendered_pyspark)


@pytest.fixture(scope="session")
def warehouse(spark, source) -> str:
    """The shared session's warehouse, the source table in it. Passed to run_workflow as the
    CLI's --warehouse would be (run_workflow then finds that session active and uses it)."""
    return spark.conf.get("spark.sql.catalog.local.warehouse")
