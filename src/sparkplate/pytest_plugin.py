"""pytest plugin shipped with sparkplate: the fixtures generated projects' unit tests use.

- `spark`: one small local Spark session for the whole test run (no Iceberg: unit tests work on
  DataFrames, so the JVM starts without the Iceberg jar and stays fast).
- `mocks`: reads the project's YAML mocks (`src/mocks/*.yaml`) as typed DataFrames.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def spark():
    from sparkplate.session import local_session

    session = local_session(app_name="sparkplate-tests", iceberg=False, quick_start=True)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def mocks(spark, pytestconfig):
    from sparkplate.mocks import MockSet

    return MockSet.find(Path(pytestconfig.rootpath), spark=spark)
