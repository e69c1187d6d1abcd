"""Synthetic viewing data at any size, for e2e runs and benchmarks.

Popularity is skewed on purpose: a few titles take most hours and a few countries most sessions,
so ranks, ties and the top-N cut-off look like real data. The same seed gives the same rows.
A small share of rows carry a null title_id or non-positive hours, which the transform must drop.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from sparkplate.errors import SparkplateError

# ISO 3166-1 alpha-2 codes of 190 countries and territories.
COUNTRIES = (
    "AD AE AF AG AL AM AO AR AT AU AZ BA BB BD BE BF BG BH BI BJ BN BO BR BS BT BW BY BZ CA CD "
    "CF CG CH CI CL CM CN CO CR CU CV CY CZ DE DJ DK DM DO DZ EC EE EG ER ES ET FI FJ FM FR GA "
    "GB GD GE GH GM GN GQ GR GT GW GY HN HR HT HU ID IE IL IN IQ IR IS IT JM JO JP KE KG KH KI "
    "KM KN KR KW KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MG MH MK ML MM MN MR MT MU MV "
    "MW MX MY MZ NA NE NG NI NL NO NP NR NZ OM PA PE PG PH PK PL PT PW PY QA RO RS RU RW SA SB "
    "SC SD SE SG SI SK SL SM SN SO SR SS ST SV SY SZ TD TG TH TJ TL TM TN TO TR TT TV TW TZ UA "
    "UG US UY UZ VA VC VE VN VU WS YE ZA ZM ZW"
).split()

VIEWING_COLUMNS = {
    "title_id": "INT",
    "country_code": "STRING",
    "view_hours": "DOUBLE",
    "playback_date": "DATE",
}


def viewing_rows(
    spark: SparkSession, start: date, end: date, rows_per_day: int, seed: int, titles: int = 5000
) -> DataFrame:
    """`rows_per_day` playback sessions for every date in [start, end]."""
    days = (end - start).days + 1
    if days < 1 or rows_per_day < 1:
        raise ValueError("need start <= end and rows_per_day >= 1")
    # A fixed partition count keeps rand(seed) reproducible whatever the machine's core count.
    rows = spark.range(0, days * rows_per_day, numPartitions=8)
    countries = F.array(*[F.lit(c) for c in COUNTRIES])
    country_index = F.floor(F.pow(F.rand(seed + 1), 2) * len(COUNTRIES)).cast("int")
    title = (F.floor(F.pow(F.rand(seed), 3) * titles) + 1).cast("int")
    noise = F.rand(seed + 3)
    return rows.select(
        F.when(noise < 0.002, F.lit(None).cast("int")).otherwise(title).alias("title_id"),
        F.element_at(countries, country_index + 1).alias("country_code"),
        # Hours in tenths, as players report them: sums tie now and then. A few are 0 or negative.
        F.when(noise > 0.998, -F.round(F.rand(seed + 4), 1))
        .otherwise(F.round(F.exp(F.randn(seed + 2)) * 0.8, 1))
        .alias("view_hours"),
        F.date_add(F.lit(start), (F.col("id") / rows_per_day).cast("int")).alias("playback_date"),
    )


def generate_viewing(
    spark: SparkSession,
    table: str,
    start: date,
    end: date,
    rows_per_day: int,
    seed: int,
    titles: int = 5000,
) -> int:
    """Fill `table` with viewing rows for [start, end], replacing those dates; returns how many.

    The table (and its namespace) is created with the viewing columns if it does not exist; an
    existing table must have them.
    """
    columns = ", ".join(f"{k} {v}" for k, v in VIEWING_COLUMNS.items())
    if "." in table:
        spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {table.rsplit('.', 1)[0]}")
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS {table} ({columns}) USING iceberg "
        "PARTITIONED BY (playback_date)"
    )
    have = {f.name for f in spark.table(table).schema}
    if not set(VIEWING_COLUMNS) <= have:
        raise SparkplateError(
            f"{table} lacks columns {sorted(set(VIEWING_COLUMNS) - have)}",
            fix="generate into a table with the viewing columns: " + columns,
        )
    rows = viewing_rows(spark, start, end, rows_per_day, seed, titles)
    rows.writeTo(table).overwritePartitions()
    return ((end - start).days + 1) * rows_per_day
