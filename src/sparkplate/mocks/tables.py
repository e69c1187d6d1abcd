"""A warehouse table as mocks see it: its columns, their types in mock terms, its partitioning."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import SparkSession
from pyspark.sql.types import DataType

from sparkplate.errors import SparkplateError
from sparkplate.mocks.spec import is_supported_type, normalize_type


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Spark SQL type, upper case, as the mock format writes it: INT, DECIMAL(10,2)
    nullable: bool
    data_type: DataType | None = None  # Spark's own, when the column comes from a table

    @property
    def supported(self) -> bool:
        """Whether a mock can hold it (not MAP, ARRAY, STRUCT, BINARY, TIMESTAMP_NTZ...)."""
        return is_supported_type(self.type)


def require_table(spark: SparkSession, table: str, where: str) -> None:
    if not spark.catalog.tableExists(table):
        raise SparkplateError(
            f"table {table} does not exist in {where}",
            fix="check the name (database.table), the --warehouse and the --profile",
        )


def table_columns(spark: SparkSession, table: str) -> list[Column]:
    return [
        Column(f.name, normalize_type(f.dataType.simpleString()), f.nullable, f.dataType)
        for f in spark.table(table).schema
    ]


def identity_partitions(spark: SparkSession, table: str) -> tuple[str, ...]:
    """The columns the table is partitioned by as they are (not by days(ts) or bucket(...)).

    DESCRIBE lists them after the columns: under `# Partition Information` (name per row) when
    every partition field is a column as it is, else under `# Partitioning` (`Part 0: days(ts)`).
    The catalog API's listColumns refuses tables with transforms.
    """
    names, section = [], None
    for row in spark.sql(f"DESCRIBE TABLE {table}").collect():
        name, spec = row.col_name.strip(), (row.data_type or "").strip()
        if name in ("# Partition Information", "# Partitioning"):
            section = name
        elif section and (not name or (name.startswith("#") and name != "# col_name")):
            break  # the next section
        elif section == "# Partition Information" and not name.startswith("#"):
            names.append(name.strip("`"))
        elif section == "# Partitioning" and name.startswith("Part ") and "(" not in spec:
            names.append(spec.strip("`"))
    return tuple(names)
