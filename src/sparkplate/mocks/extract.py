"""`sparkplate mock extract`: a few rows of a real table as a YAML mock, typed by its schema.

Only the rows asked for reach the driver (`limit(n).collect()`), whatever the table's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.errors import PySparkException
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from sparkplate.errors import SparkplateError, spark_message
from sparkplate.mocks.spec import SUPPORTED_TYPES
from sparkplate.mocks.tables import Column, identity_partitions, table_columns
from sparkplate.mocks.writer import mock_text

# Timestamps leave Spark as text in the session's time zone, the zone the mock's TIMESTAMP
# literals are read in again; a collected datetime would be in the Python process's zone.
_TIMESTAMP_TEXT = "yyyy-MM-dd HH:mm:ss.SSSSSS"


@dataclass(frozen=True)
class Extract:
    table: str
    columns: list[Column]
    partitioned_by: tuple[str, ...]
    rows: list[dict[str, Any]]

    def text(self, role: str = "source", comment: str = "") -> str:
        return mock_text(
            self.table,
            {c.name: c.type for c in self.columns},
            self.rows,
            role=role,
            partitioned_by=self.partitioned_by,
            comment=comment,
        )


def refuse_overwrite(out: Path, force: bool) -> None:
    """Checked before Spark starts: an existing mock may hold hand-made cases."""
    if out.exists() and not force:
        raise SparkplateError(
            "the file exists; not overwriting it",
            file=out,
            fix="pass --force to replace it, or --out to write another file",
        )


def choose_columns(available: list[Column], wanted: list[str] | None) -> list[Column]:
    """The columns named by --columns (any case), in that order; all of them by default."""
    if not wanted:
        chosen = available
    else:
        by_name = {c.name.lower(): c for c in available}
        unknown = [name for name in wanted if name.lower() not in by_name]
        if unknown:
            raise SparkplateError(
                f"no column {', '.join(unknown)} in the table",
                key="--columns",
                fix=f"choose from {', '.join(c.name for c in available)}",
            )
        chosen = list({name.lower(): by_name[name.lower()] for name in wanted}.values())
    unsupported = [c for c in chosen if not c.supported]
    if unsupported:
        kept = [c.name for c in chosen if c.supported]
        raise SparkplateError(
            "a mock cannot hold "
            + ", ".join(f"column {c.name} ({c.type})" for c in unsupported)
            + f"; mocks hold {SUPPORTED_TYPES}",
            key="--columns",
            fix=(f"leave it out: --columns {','.join(kept)}" if kept else "extract another table"),
        )
    return chosen


def extract(
    spark: SparkSession,
    table: str,
    columns: list[str] | None = None,
    where: str | None = None,
    limit: int = 10,
) -> Extract:
    chosen = choose_columns(table_columns(spark, table), columns)
    frame = spark.table(table)
    if where:
        try:
            frame = frame.where(where)
        except PySparkException as err:
            raise SparkplateError(
                f"cannot filter {table}: {spark_message(err)}",
                key="--where",
                fix="write a Spark SQL condition on the table's columns, "
                "e.g. --where \"playback_date = '2024-01-01'\"",
            ) from None
    selected = frame.select(
        *[
            (
                F.date_format(F.col(f"`{c.name}`"), _TIMESTAMP_TEXT)
                if c.type == "TIMESTAMP"
                else F.col(f"`{c.name}`")
            ).alias(c.name)
            for c in chosen
        ]
    )
    names = [c.name for c in chosen]
    rows = [dict(zip(names, row, strict=True)) for row in selected.limit(limit).collect()]
    by_name = {c.name.lower(): c.name for c in chosen}
    partitioned_by = tuple(
        by_name[p.lower()] for p in identity_partitions(spark, table) if p.lower() in by_name
    )
    return Extract(table, chosen, partitioned_by, rows)
