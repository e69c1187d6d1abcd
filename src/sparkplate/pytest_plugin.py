"""pytest plugin shipped with sparkplate: the fixtures generated projects' unit tests use.

- `spark`: one small local Spark session for the whole test run. Plain by default (unit tests on
  DataFrames start faster without the Iceberg jar); with `sparkplate_iceberg = true` in the pytest
  settings it has an Iceberg catalog in a temporary warehouse, for tests that run real DDL and
  INSERT statements.
- `mocks`: the project's YAML mocks (`src/mocks/*.yaml`) as typed DataFrames or tables.
- `run_sql`: runs a SQL file as the workflow would, `${name}` filled from keyword arguments.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_addoption(parser):
    parser.addini(
        "sparkplate_iceberg",
        type="bool",
        default=False,
        help="sparkplate: give the `spark` fixture an Iceberg catalog in a temporary warehouse",
    )


@pytest.fixture(scope="session")
def spark(pytestconfig, tmp_path_factory):
    from sparkplate.profiles import Profile
    from sparkplate.session import local_session

    iceberg = pytestconfig.getini("sparkplate_iceberg")
    warehouse = tmp_path_factory.mktemp("warehouse") if iceberg else None
    session = local_session(
        app_name="sparkplate-tests",
        iceberg=iceberg,
        warehouse=warehouse,
        quick_start=True,
        profile=Profile(),  # unit tests on mocks run locally, whatever profile a run uses
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def mocks(spark, pytestconfig):
    from sparkplate.mocks import MockSet

    return MockSet.find(Path(pytestconfig.rootpath), spark=spark)


@pytest.fixture(scope="session")
def run_sql(spark):
    from sparkplate.sqlscript import run_sql_file

    def run(path: str | Path, **params: object) -> None:
        run_sql_file(spark, Path(path), params)

    return run
