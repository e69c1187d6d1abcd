"""Fixtures only (shared helpers are in helpers.py): rendered projects, one Iceberg session per
test run, and the markers each test gets from the fixtures it uses."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from helpers import SCALA_JAR, render

# A test using one of these fixtures (directly or through another) gets the markers, so `-m`
# selects by what a test really needs.
MARKERS_OF_FIXTURES = {
    "spark": ("spark",),
    "built_scala": ("maven", "render"),
    "rendered_pyspark": ("render",),
}


@pytest.hookimpl(trylast=True)  # after plugins and pytest itself have registered theirs
def pytest_configure(config):
    # --strict-markers checks decorators, not -m: a misspelled name there silently selects all
    # or nothing.
    known = {line.split(":")[0].strip() for line in config.getini("markers")}
    named = set(re.findall(r"[A-Za-z_]\w*", config.option.markexpr or "")) - {"and", "or", "not"}
    if unknown := sorted(named - known):
        raise pytest.UsageError(f"-m names markers pyproject.toml does not register: {unknown}")


def pytest_collection_modifyitems(items):
    for item in items:
        for fixture, markers in MARKERS_OF_FIXTURES.items():
            if fixture in item.fixturenames:
                for marker in markers:
                    item.add_marker(marker)


def pytest_sessionfinish(session, exitstatus):
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.config.get_terminal_writer().line(
            "no tests were selected: exit 5, a failure (check the -m / -k expression and paths)",
            red=True,
        )


@pytest.fixture
def no_spark(monkeypatch):
    """Starting a Spark session fails the test."""

    # Imported before the first patch: a first import under it would bind `fail` for good (the
    # second patch would then record `fail` as the value to restore).
    import sparkplate.jobs.base  # noqa: F401

    def fail(*args, **kwargs):
        raise AssertionError("a Spark session was started")

    monkeypatch.setattr("sparkplate.session.local_session", fail)
    # The engine's run context imported it by name: guard that name too.
    monkeypatch.setattr("sparkplate.jobs.base.local_session", fail)


@pytest.fixture(autouse=True)
def spark_only_when_marked(request):
    """A test not marked `spark` may not start Spark: `-m "not spark"` runs stay fast."""
    if request.node.get_closest_marker("spark") is None:
        request.getfixturevalue("no_spark")


@pytest.fixture(scope="session")
def rendered_pyspark(tmp_path_factory) -> Path:
    """A default PySpark project, rendered once; copy it before changing it."""
    return render(tmp_path_factory.mktemp("rendered") / "pipeline")


@pytest.fixture(scope="session")
def built_scala(tmp_path_factory, pytestconfig) -> Path:
    """A default Scala project with its jar built as the runner builds it, once per test run:
    pytest-xdist's workers share it (the first builds it, the others wait for that build). Tests
    only read it; copy it before changing it."""
    from sparkplate import locks
    from sparkplate.jobs import spark_submit as submit

    run_folder = tmp_path_factory.getbasetemp()
    if hasattr(pytestconfig, "workerinput"):  # a pytest-xdist worker: its folder is in the run's
        run_folder = run_folder.parent
    project, built = run_folder / "built-scala" / "pipeline", run_folder / "built-scala" / "ok"
    with locks.exclusive(run_folder / "built-scala.lock", "the Scala test build"):
        if not built.is_file():
            shutil.rmtree(project, ignore_errors=True)  # a build that failed on another worker
            render(project, recipe="scala")
            # Built with `mvn`, else the project's Maven Wrapper, as `sparkplate run` builds it.
            where = {"file": project / "main.sch.yaml", "key": "write"}
            submit.build(project / SCALA_JAR, project / "pom.xml", print, where)
            built.touch()
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
