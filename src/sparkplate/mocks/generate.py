"""Synthetic rows at any size for any table, typed by its schema, for e2e runs and benchmarks.

The columns come from the table itself, or, before it exists, from the project's mock of it
(its `columns:` or its `ddl:`), so any source table can be filled. Rows are made in Spark
(`spark.range` and column expressions); nothing is collected to the driver.

Every value is a function of the row's number, the seed and the column's name (a hash, not
`rand()`), so the same seed gives the same rows whatever the core count, the chunking of the
writes, or the other columns of the table.

The sample's viewing columns keep their realistic shape: popularity is skewed, a few titles take
most hours and a few countries most sessions, so ranks, ties and the top-N cut-off look like real
data; a small share of rows carry a null title_id or non-positive hours, which the transform must
drop. Other columns get plain, plausible values of their type, about 1 % of them null.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from sparkplate.errors import SparkplateError
from sparkplate.mocks.tables import Column, identity_partitions, table_columns

# ISO 3166-1 alpha-2 codes of 194 countries and territories.
COUNTRIES = (
    "AD AE AF AG AL AM AO AR AT AU AZ BA BB BD BE BF BG BH BI BJ BN BO BR BS BT BW BY BZ CA CD "
    "CF CG CH CI CL CM CN CO CR CU CV CY CZ DE DJ DK DM DO DZ EC EE EG ER ES ET FI FJ FM FR GA "
    "GB GD GE GH GM GN GQ GR GT GW GY HN HR HT HU ID IE IL IN IQ IR IS IT JM JO JP KE KG KH KI "
    "KM KN KR KW KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MG MH MK ML MM MN MR MT MU MV "
    "MW MX MY MZ NA NE NG NI NL NO NP NR NZ OM PA PE PG PH PK PL PT PW PY QA RO RS RU RW SA SB "
    "SC SD SE SG SI SK SL SM SN SO SR SS ST SV SY SZ TD TG TH TJ TL TM TN TO TR TT TV TW TZ UA "
    "UG US UY UZ VA VC VE VN VU WS YE ZA ZM ZW"
).split()

_INTEGERS = {"TINYINT": 100, "SMALLINT": 1000, "INT": 100_000, "BIGINT": 10_000_000}  # distinct
_DECIMAL = re.compile(r"DECIMAL\((\d+),(\d+)\)")
NULL_SHARE = 0.01
CHUNK_ROWS = 4_000_000  # rows per commit (whole dates) and per progress line


@dataclass(frozen=True)
class Target:
    table: str
    columns: list[Column]
    partitioned_by: tuple[str, ...]
    origin: str  # where its columns came from, for the user


def target(spark: SparkSession, table: str, project_root: Path) -> Target:
    """The table to fill; created from the project's mock of it if it does not exist yet."""
    from sparkplate.mocks import create_table, mock_paths_of, read_mock

    origin = "the table"
    if not spark.catalog.tableExists(table):
        paths = mock_paths_of(project_root, table)
        if not paths:
            raise SparkplateError(
                f"table {table} does not exist, and no mock in "
                f"{project_root / 'src' / 'mocks'} describes it",
                fix="create the table first (run its DDL), or add a mock of it with `columns:` "
                "or `ddl:` (or run in the project's folder, or pass --project-dir)",
            )
        mock = read_mock(paths[0], project_root)
        create_table(spark, mock)
        origin = str(mock.path)
    return Target(
        table, table_columns(spark, table), identity_partitions(spark, table), origin=origin
    )


def date_column_of(columns: list[Column], partitioned_by: tuple[str, ...], wanted: str | None):
    """The DATE column the dates go in: --date-column, else a DATE partition column, else the
    first DATE column; None if the table has none."""
    dates = [c.name for c in columns if c.type == "DATE"]
    if wanted:
        match = [name for name in dates if name.lower() == wanted.lower()]
        if not match:
            raise SparkplateError(
                f"{wanted} is not a DATE column of the table",
                key="--date-column",
                fix=f"use one of {', '.join(dates)}" if dates else "leave --date-column out",
            )
        return match[0]
    partitions = {p.lower() for p in partitioned_by}
    return next((d for d in dates if d.lower() in partitions), dates[0] if dates else None)


def _uniform(seed: int, salt: str) -> SparkColumn:
    """A number in [0, 1) from the row's id, the seed and `salt`: the same inputs, the same
    number, on any executor."""
    bits = F.xxhash64(F.col("id"), F.lit(seed), F.lit(salt)).bitwiseAND(F.lit((1 << 53) - 1))
    return bits.cast("double") / float(1 << 53)


def _normal(seed: int, salt: str) -> SparkColumn:
    """Standard normal, by Box-Muller from two uniforms."""
    radius = F.sqrt(-2.0 * F.log(1.0 - _uniform(seed, salt + "/r")))
    return radius * F.cos(2 * math.pi * _uniform(seed, salt + "/a"))


def _viewing(name: str, type_: str, seed: int, titles: int) -> SparkColumn | None:
    """The sample's realistic values for its viewing columns, or None for any other column."""
    noise = _uniform(seed, "noise")
    if name == "title_id" and type_ in _INTEGERS:
        title = F.floor(F.pow(_uniform(seed, name), 3) * titles) + 1
        return F.when(noise < 0.002, F.lit(None)).otherwise(title)
    if name == "country_code" and type_ == "STRING":
        countries = F.array(*[F.lit(c) for c in COUNTRIES])
        index = F.floor(F.pow(_uniform(seed, name), 2) * len(COUNTRIES)).cast("int")
        return F.element_at(countries, index + 1)
    if name == "view_hours" and type_ in ("DOUBLE", "FLOAT"):
        # Hours in tenths, as players report them: sums tie now and then. A few are 0 or negative.
        return F.when(noise > 0.998, -F.round(_uniform(seed, name + "/negative"), 1)).otherwise(
            F.round(F.exp(_normal(seed, name)) * 0.8, 1)
        )
    return None


def can_make(type_: str) -> bool:
    """Whether generate makes values of `type_` (not of MAP, ARRAY, STRUCT, BINARY...)."""
    simple = {"DOUBLE", "FLOAT", "STRING", "BOOLEAN", "DATE", "TIMESTAMP", "TIMESTAMP_NTZ"}
    return type_ in _INTEGERS or type_ in simple or bool(_DECIMAL.fullmatch(type_))


def _plain(name: str, type_: str, seed: int, day: SparkColumn) -> SparkColumn:
    """Plausible values of `type_`, one that `can_make`."""
    u = _uniform(seed, name)
    if type_ in _INTEGERS:  # ids: skewed towards small ones, as keys of real data are
        return F.floor(F.pow(u, 2) * _INTEGERS[type_]) + 1
    if type_ in ("DOUBLE", "FLOAT"):
        return F.round(F.exp(_normal(seed, name)) * 10, 2)
    if decimal := _DECIMAL.fullmatch(type_):
        precision, scale = int(decimal[1]), int(decimal[2])
        whole = min(precision - scale, 6)
        places = min(scale, 15 - whole)  # within a double's exact digits, so no rounding up
        return F.floor(u * 10 ** (whole + places)) / 10**places
    if type_ == "STRING":  # a few hundred distinct values, some far more common: name_1, name_2
        return F.concat(F.lit(f"{name}_"), (F.floor(F.pow(u, 2) * 1000) + 1).cast("string"))
    if type_ == "BOOLEAN":
        return u < 0.5
    if type_ == "DATE":
        return day
    # TIMESTAMP or TIMESTAMP_NTZ: some time on the row's day
    midnight = F.unix_timestamp(day.cast("timestamp"))
    return F.timestamp_seconds(midnight + F.floor(u * 86400))


def rows(
    spark: SparkSession,
    target: Target,
    start: date,
    rows_per_day: int,
    ids: tuple[int, int],
    seed: int,
    titles: int,
    date_column: str | None,
) -> DataFrame:
    """Rows number ids[0] to ids[1] - 1 of the table; row i falls on start + i // rows_per_day."""
    day = F.date_add(F.lit(start), (F.col("id") / rows_per_day).cast("int"))
    partitions = {p.lower() for p in target.partitioned_by}
    values = []
    for column in target.columns:
        name, type_ = column.name, column.type
        if name == date_column:
            value = day
        elif not can_make(type_):
            value = F.lit(None)  # `generate` checked that the column may be null
        elif (value := _viewing(name.lower(), type_, seed, titles)) is None:
            value = _plain(name.lower(), type_, seed, day)
            if column.nullable and name.lower() not in partitions:
                is_null = _uniform(seed, name.lower() + "/null") < NULL_SHARE
                value = F.when(is_null, None).otherwise(value)
        values.append(value.cast(column.data_type or type_).alias(name))
    return spark.range(*ids).select(*values)


def generate(
    spark: SparkSession,
    table: str,
    start: date,
    end: date,
    rows_per_day: int,
    seed: int,
    *,
    titles: int = 5000,
    project_root: Path = Path("."),
    date_column: str | None = None,
    echo: Callable[[str], None] = print,
    chunk_rows: int = CHUNK_ROWS,
) -> int:
    """Fill `table` with rows_per_day rows for every date in [start, end], replacing the
    partitions written; returns how many rows. Tables partitioned by the date column are written
    a few dates per commit, with a progress line after each."""
    days = (end - start).days + 1
    if days < 1 or rows_per_day < 1:
        raise SparkplateError("need start <= end and rows_per_day >= 1")
    goal = target(spark, table, project_root)
    if goal.origin != "the table":
        echo(f"created {table} with the columns of {goal.origin}")
    cannot = [c for c in goal.columns if not can_make(c.type)]
    if required := [c for c in cannot if not c.nullable]:
        raise SparkplateError(
            f"{table} has NOT NULL columns of a type generate cannot make: "
            + ", ".join(f"{c.name} ({c.type})" for c in required),
            fix="fill this table another way (generate makes numbers, text, booleans, dates, "
            "timestamps and decimals)",
        )
    for c in cannot:
        echo(f"note: {c.name} ({c.type}) is left null: generate makes no values of that type")
    date_column = date_column_of(goal.columns, goal.partitioned_by, date_column)
    total = days * rows_per_day
    by_date = date_column is not None and date_column.lower() in {
        p.lower() for p in goal.partitioned_by
    }
    # Whole dates per commit, so each commit replaces exactly its own partitions.
    days_per_write = max(1, chunk_rows // rows_per_day) if by_date else days
    if total > chunk_rows and not by_date:
        echo(
            f"writing {total:,} rows in one commit ({table} is not partitioned by "
            f"{date_column or 'a DATE column'})"
        )
    began = time.monotonic()
    for first_day in range(0, days, days_per_write):
        last_day = min(days, first_day + days_per_write)
        ids = (first_day * rows_per_day, last_day * rows_per_day)
        batch = rows(spark, goal, start, rows_per_day, ids, seed, titles, date_column)
        batch.writeTo(table).overwritePartitions()
        if days_per_write < days:
            done = ids[1]
            echo(
                f"wrote {done:,} of {total:,} rows ({100 * done // total} %, to "
                f"{start + timedelta(days=last_day - 1)}), {time.monotonic() - began:.0f} s"
            )
    return total
