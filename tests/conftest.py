"""Shared helpers: render the template with real Copier; one Iceberg session per test run."""

from __future__ import annotations

import shutil
from pathlib import Path

import copier
import pytest

REPO = Path(__file__).resolve().parents[1]
RECIPES = ("sparksql", "pyspark", "scala", "sparklyr")  # the recipes copier.yml offers


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
