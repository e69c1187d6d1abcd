"""YAML mocks for every recipe: read and check them without Spark, then make frames or tables."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.functions import lit

from sparkplate.errors import SparkplateError
from sparkplate.mocks.spec import Mock, read_mock
from sparkplate.sqlscript import run_statement
from sparkplate.sqltext import sql_literal
from sparkplate.yamlfile import load_yaml

__all__ = [
    "Mock",
    "MockSet",
    "check_mocks",
    "create_table",
    "differences",
    "mock_paths",
    "mock_paths_of",
    "read_mock",
    "to_frame",
    "write_table",
]

MOCKS_DIR = Path("src") / "mocks"


def mock_paths(project_root: Path) -> list[Path]:
    """The project's mock files; none is an error that says where they belong."""
    mocks_dir = project_root / MOCKS_DIR
    paths = sorted(mocks_dir.glob("*.yaml")) + sorted(mocks_dir.glob("*.yml"))
    if not paths:
        raise SparkplateError(
            "no mocks found",
            file=mocks_dir,
            fix="add one YAML file per table, e.g. some_db.source_table.yaml",
        )
    return paths


def mock_paths_of(project_root: Path, table: str) -> list[Path]:
    """The project's mock files whose `table:` is `table` (one, in a sound project); files that
    are not even YAML are skipped here: `sparkplate mock validate` reports them."""
    try:
        paths = mock_paths(project_root)
    except SparkplateError:
        return []
    found = []
    for path in paths:
        try:
            doc = load_yaml(path)
        except SparkplateError:
            continue
        if isinstance(doc, dict) and str(doc.get("table")) == table:
            found.append(path)
    return found


def check_mocks(project_root: Path) -> list[tuple[Path, Mock | SparkplateError]]:
    """Every mock of the project read and checked, without Spark: (file, mock or its problem).

    Unlike MockSet.find, which stops at the first problem, this reports each file's own.
    """
    results: list[tuple[Path, Mock | SparkplateError]] = []
    seen: dict[str, Path] = {}
    for path in mock_paths(project_root):
        try:
            mock = read_mock(path, project_root)
        except SparkplateError as err:
            results.append((path, err))
            continue
        if mock.table in seen:
            results.append((path, _duplicate(mock, seen[mock.table])))
            continue
        seen[mock.table] = path
        results.append((path, mock))
    return results


def _duplicate(mock: Mock, first: Path) -> SparkplateError:
    return SparkplateError(
        f"table {mock.table} already has a mock in {first}",
        file=mock.path,
        key="table",
        fix="keep one mock file per table",
    )


def _literal(value: Any, type_: str) -> str:
    # NaN and the infinities have no SQL literal; Spark casts their names.
    if isinstance(value, float) and not math.isfinite(value):
        name = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return f"CAST('{name}' AS {type_})"
    return sql_literal(value, type_)


def to_frame(spark: SparkSession, mock: Mock) -> DataFrame:
    """The mock's rows as a DataFrame of the mock's types.

    Built from a SQL VALUES list rather than createDataFrame: the rows then never pass through
    Python workers, whose start-up would take seconds of every unit test run.
    """
    columns = list(mock.columns.items())
    typed = ", ".join(f"CAST(`{name}` AS {type_}) AS `{name}`" for name, type_ in columns)
    if not mock.rows:
        return spark.sql(
            f"SELECT {typed} FROM (SELECT "
            + ", ".join(f"CAST(NULL AS {type_}) AS `{name}`" for name, type_ in columns)
            + ") WHERE FALSE"
        )
    values = ",\n".join(
        "(" + ", ".join(_literal(row[name], type_) for name, type_ in columns) + ")"
        for row in mock.rows
    )
    names = ", ".join(f"`{name}`" for name, _ in columns)
    return spark.sql(f"SELECT {typed} FROM VALUES {values} AS mock({names})")


def write_table(spark: SparkSession, mock: Mock, frame: DataFrame | None = None) -> None:
    """Create the mock's table if needed and replace its contents with the mock's rows."""
    create_table(spark, mock)
    rows = frame if frame is not None else to_frame(spark, mock)
    rows.writeTo(mock.table).overwrite(lit(True))


def create_table(spark: SparkSession, mock: Mock) -> None:
    """Create the mock's table (and its namespace) with its columns, if it does not exist."""
    namespace = mock.table.rsplit(".", 1)[0] if "." in mock.table else None
    if namespace:
        run_statement(spark, f"CREATE NAMESPACE IF NOT EXISTS {namespace}")
    partitioning = (
        f" PARTITIONED BY ({', '.join(mock.partitioned_by)})" if mock.partitioned_by else ""
    )
    columns = f"({mock.ddl_columns}) USING iceberg{partitioning}"
    run_statement(spark, f"CREATE TABLE IF NOT EXISTS {mock.table} {columns}")


class MockSet:
    """All mocks of a project, checked on load; look them up by table name."""

    def __init__(self, mocks: list[Mock], spark: SparkSession | None = None):
        self.spark = spark
        self._by_table: dict[str, Mock] = {}
        for mock in mocks:
            if mock.table in self._by_table:
                raise _duplicate(mock, self._by_table[mock.table].path)
            self._by_table[mock.table] = mock

    @classmethod
    def find(cls, project_root: Path, spark: SparkSession | None = None) -> MockSet:
        return cls([read_mock(p, project_root) for p in mock_paths(project_root)], spark)

    def __iter__(self):
        return iter(self._by_table.values())

    def get(self, table: str) -> Mock:
        try:
            return self._by_table[table]
        except KeyError:
            raise SparkplateError(
                f"no mock for table {table}", fix=f"mocks exist for: {', '.join(self._by_table)}"
            ) from None

    def frame(self, table: str) -> DataFrame:
        if self.spark is None:
            raise RuntimeError("MockSet was created without a Spark session")
        return to_frame(self.spark, self.get(table))

    def create_table(self, table: str) -> None:
        """Create `table` (as named in its mock) holding exactly the mock's rows."""
        if self.spark is None:
            raise RuntimeError("MockSet was created without a Spark session")
        write_table(self.spark, self.get(table))

    def sources(self) -> list[Mock]:
        return [m for m in self if m.role == "source"]


def differences(spark: SparkSession, mock: Mock, table: str) -> tuple[list, list]:
    """(expected rows missing from `table`, rows in `table` the mock does not expect).

    Only the partitions the mock has rows for are compared, so other dates may hold anything.
    """
    expected = to_frame(spark, mock)
    actual = spark.table(table).select(*mock.columns)
    if mock.partitioned_by:
        partitions = expected.select(*mock.partitioned_by).distinct()
        # Null-safe: a mock's rows may sit in the NULL partition too.
        same = [actual[c].eqNullSafe(partitions[c]) for c in mock.partitioned_by]
        actual = actual.join(partitions, same, "left_semi").select(*mock.columns)
    return (expected.exceptAll(actual).collect(), actual.exceptAll(expected).collect())
