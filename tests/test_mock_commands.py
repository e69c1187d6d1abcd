"""`sparkplate mock extract`, `mock validate` and `mock generate`.

Extract writes a mock that `mock load` turns back into exactly the table's rows; validate checks
every mock of a project without Spark; generate fills any table typed by its DDL, in Spark.
Only two tests start Spark (one per Spark command); the rest run in milliseconds.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import textwrap
import time
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from sparkplate.cli import main as cli
from sparkplate.mocks.spec import convert, normalize_type, read_mock
from sparkplate.mocks.writer import mock_text


def sparkplate(*args) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


# --- the mock writer: every value back as it was, without Spark -----------------------------------

TRICKY_TEXT = [
    'it\'s "quoted"',
    "two\nlines\r\nand a\ttab",
    "Côte d'Ivoire, 東京 🎬",
    "",
    " leading and trailing ",
    "NO",  # Norway; YAML 1.1 reads it as false
    "null",
    "true",
    "1e5",  # a number in YAML 1.2 (the Scala reader), text in 1.1
    "0o17",
    "2024-01-01",
    "12:30",
    "a, b: {c} [d] #e",
    "- x",
    "\\",
    "\x00\u2028",
]


def test_written_mock_reads_back_the_same_values(tmp_path):
    columns = {
        "s": "STRING",
        "i": "BIGINT",
        "d": "DOUBLE",
        "f": "FLOAT",
        "n": "DECIMAL(38,10)",
        "b": "BOOLEAN",
        "day": "DATE",
        "ts": "TIMESTAMP",
    }
    rows = [{"s": text} for text in TRICKY_TEXT] + [
        {
            "i": -(2**63),
            "d": float("nan"),
            "f": 0.10000000149011612,  # FLOAT 0.1 as Spark gives it to Python
            "n": Decimal("1234567890123456789012345678.1234567891"),  # more than a float holds
            "b": False,
            "day": dt.date(1, 1, 1),
            "ts": dt.datetime(1999, 12, 31, 23, 59, 59, 123456),
        },
        {"d": -math.inf, "f": math.inf, "n": Decimal("0.0000001000"), "ts": "2024-01-01 10:00:00"},
        {"d": 5e-324, "n": Decimal("-12.5000000000"), "b": True},
    ]

    path = tmp_path / "t.yaml"
    path.write_text(mock_text("db.t", columns, rows, partitioned_by=("day",)), encoding="utf-8")
    mock = read_mock(path, tmp_path)

    lines = path.read_text(encoding="utf-8").splitlines()
    assert len([line for line in lines if line.startswith("  - {")]) == len(rows)  # one per line
    assert mock.columns == columns and mock.partitioned_by == ("day",)
    assert [r["s"] for r in mock.rows[: len(TRICKY_TEXT)]] == TRICKY_TEXT
    special = mock.rows[len(TRICKY_TEXT)]
    assert special["i"] == -(2**63) and math.isnan(special["d"])
    assert special["f"] == 0.1  # the shortest text of the same FLOAT
    assert special["n"] == Decimal("1234567890123456789012345678.1234567891")
    assert special["day"] == dt.date(1, 1, 1) and special["b"] is False
    assert special["ts"] == dt.datetime(1999, 12, 31, 23, 59, 59, 123456)
    infinite = mock.rows[len(TRICKY_TEXT) + 1]
    assert (infinite["d"], infinite["f"]) == (-math.inf, math.inf)
    assert infinite["n"] == Decimal("0.0000001") and infinite["s"] is None
    assert infinite["ts"] == dt.datetime(2024, 1, 1, 10)
    assert mock.rows[-1]["d"] == 5e-324 and mock.rows[-1]["n"] == Decimal("-12.5")


@pytest.mark.parametrize(
    "value, type_, problem",
    [
        (128, "TINYINT", "does not fit in TINYINT"),
        (2**31, "INT", "does not fit in INT"),
        (1.005, "DECIMAL(10,2)", "more than 2 decimal places"),
        (123.4, "DECIMAL(4,2)", "more than 2 digits before the point"),
        ("NaN", "DECIMAL(10,2)", "expected a decimal number"),
        (1e39, "FLOAT", "too large for FLOAT"),
    ],
)
def test_values_spark_would_change_are_refused(value, type_, problem):
    # Spark's CAST would round, overflow to NULL or to Infinity without a word.
    with pytest.raises(ValueError, match=problem):
        convert(value, type_)


# --- validate: every mock, without Spark ----------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("decimal (10, 2)", "DECIMAL(10,2)"),
        ("integer", "INT"),
        ("map<string, int>", "MAP<STRING,INT>"),
        ("STRUCT<userId: integer, title string>", "STRUCT<userId:INT,title STRING>"),
    ],
)
def test_type_names_compare_by_spelling_but_keep_field_names(written, normal):
    assert normalize_type(written) == normal


def test_validate_names_each_bad_mock_and_fails(tmp_path):
    write(
        tmp_path / "ddl/results.sql",
        """\
        CREATE TABLE IF NOT EXISTS ${target_table} (
            title_id INT COMMENT 'the title',
            amount DECIMAL(6,2)
        ) USING ICEBERG;
        """,
    )
    mocks = tmp_path / "src/mocks"
    write(
        mocks / "a_good.yaml",
        """\
        table: db.results
        role: expected
        ddl: ddl/results.sql
        rows:
          - {title_id: 1, amount: 12.34}
        """,
    )
    write(
        mocks / "b_bad_value.yaml",
        """\
        table: db.source
        role: source
        columns: {title_id: INT, seen: DATE}
        rows:
          - {title_id: 1, seen: 2024-01-01}
          - {title_id: 2, seen: 2024-13-01}
        """,
    )
    write(
        mocks / "c_too_precise.yaml",
        """\
        table: db.other
        role: source
        ddl: ddl/results.sql
        rows:
          - {title_id: 1, amount: 1.005}
        """,
    )
    write(mocks / "d_again.yaml", (mocks / "a_good.yaml").read_text())

    code, output = sparkplate("mock", "validate", tmp_path)

    assert code == 1, output
    lines = output.splitlines()
    assert f"{mocks / 'a_good.yaml'}: ok (db.results, expected, 1 row)" in lines
    assert f"{mocks / 'b_bad_value.yaml'} [rows[1].seen]: expected a date" in output
    assert f"{mocks / 'c_too_precise.yaml'} [rows[0].amount]: 1.005 has more than 2" in output
    assert f"{mocks / 'd_again.yaml'} [table]: table db.results already has a mock" in output
    assert "3 of 4 mocks have problems" in output


def test_validate_passes_the_sample_project(rendered_pyspark):
    code, output = sparkplate("mock", "validate", rendered_pyspark)

    assert code == 0, output
    assert output.count(": ok (") == 2, output


# --- extract: refused before Spark starts ---------------------------------------------------------


def test_extract_refuses_to_overwrite_a_mock(tmp_path):
    out = write(tmp_path / "src/mocks/db.t.yaml", "table: db.t\n")

    code, output = sparkplate("mock", "extract", "db.t", "--project-dir", tmp_path)

    assert code == 2
    assert f"{out}: the file exists; not overwriting it" in output
    assert "--force" in output
    assert out.read_text() == "table: db.t\n"


# --- Spark: extract -> load round trip; generate from a DDL ---------------------------------------

ALL_TYPES = """
    i INT, big BIGINT, small SMALLINT, tiny TINYINT, f FLOAT, d DOUBLE, n DECIMAL(20,4),
    s STRING, b BOOLEAN, day DATE, ts TIMESTAMP
"""


@pytest.fixture
def python_in_another_time_zone():
    """Python's local zone far from the session's UTC: a timestamp collected as a datetime would
    shift by hours, so the round trip shows whether extract avoids that."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/Los_Angeles"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.mark.spark
def test_extract_then_load_gives_the_same_rows(spark, tmp_path, python_in_another_time_zone):
    from sparkplate.mocks import differences

    spark.sql("CREATE NAMESPACE IF NOT EXISTS mockx")
    spark.sql(
        f"CREATE OR REPLACE TABLE mockx.every_type ({ALL_TYPES}, tags MAP<STRING,INT>) "
        "USING iceberg PARTITIONED BY (day)"
    )
    spark.sql(
        """INSERT INTO mockx.every_type VALUES
        (1, 9223372036854775807, -32768, 127, CAST(0.1 AS FLOAT), 0.30000000000000004,
         CAST('1234567890123456.7891' AS DECIMAL(20,4)), 'it\\'s "NO"\nline two, 東京 🎬', true,
         DATE'2024-01-01', TIMESTAMP'2024-03-10 02:30:00.123456', map('a', 1)),
        (2, -9223372036854775808, 0, -128, CAST(3.4028235e38 AS FLOAT), CAST('NaN' AS DOUBLE),
         CAST('-0.0001' AS DECIMAL(20,4)), '', false, DATE'1999-12-31',
         TIMESTAMP'1970-01-01 00:00:00', NULL),
        (3, NULL, NULL, NULL, NULL, CAST('-Infinity' AS DOUBLE), NULL, 'null', NULL,
         DATE'2024-01-01', NULL, NULL),
        (NULL, 0, 1, 0, CAST(-1.5e-7 AS FLOAT), 1e300, 0, NULL, NULL, NULL,
         TIMESTAMP'2024-12-31 23:59:59', NULL)"""
    )
    project = tmp_path / "project"
    project.mkdir()
    out = project / "src/mocks/mockx.every_type.yaml"

    # A MAP cannot be a mock value: the error names the column and how to leave it out.
    code, output = sparkplate("mock", "extract", "mockx.every_type", "--project-dir", project)
    assert code == 2
    assert "column tags (MAP<STRING,INT>)" in output
    assert "--columns i,big,small,tiny,f,d,n,s,b,day,ts" in output
    assert not out.exists()

    columns = "i,big,small,tiny,f,d,n,s,b,day,ts"
    code, output = sparkplate(
        "mock", "extract", "mockx.every_type", "--columns", columns, "--project-dir", project
    )
    assert code == 0, output
    assert f"wrote 4 rows of mockx.every_type (11 columns) to {out}" in output
    text = out.read_text(encoding="utf-8")
    assert "partitioned_by: [day]" in text and "ts: '2024-03-10 02:30:00.123456'" in text

    # Load it as another table with `mock load`, then compare the two tables row for row.
    out.write_text(text.replace("table: mockx.every_type", "table: mockx.every_type_copy"))
    spark.sql("DROP TABLE IF EXISTS mockx.every_type_copy")
    code, output = sparkplate("mock", "load", "--project-dir", project)
    assert code == 0, output
    original = spark.table("mockx.every_type").drop("tags")
    copy = spark.table("mockx.every_type_copy")
    assert copy.schema == original.schema
    assert copy.count() == 4
    assert original.exceptAll(copy).count() == 0 and copy.exceptAll(original).count() == 0
    assert differences(spark, read_mock(out, project), "mockx.every_type") == ([], [])

    # --where and --limit choose the rows; --force replaces the file.
    code, output = sparkplate(
        "mock", "extract", "mockx.every_type", "--columns", "s,i", "--where", "i >= 2",
        "--limit", "1", "--out", out, "--force",
    )  # fmt: skip
    assert code == 0, output
    mock = read_mock(out, project)
    assert list(mock.columns) == ["s", "i"] and mock.partitioned_by == ()
    assert len(mock.rows) == 1 and mock.rows[0]["i"] in (2, 3)


GENERATED_DDL = """\
-- every type a mock holds, and the sample's viewing columns
CREATE TABLE IF NOT EXISTS ${table} (
    title_id INT COMMENT 'viewing: skewed ids',
    country_code STRING,
    view_hours DOUBLE,
    day DATE COMMENT 'the partition',
    seen_at TIMESTAMP,
    big BIGINT, small SMALLINT, tiny TINYINT, ratio FLOAT,
    price DECIMAL(5,2), label STRING, flag BOOLEAN
)
USING ICEBERG
PARTITIONED BY (day);
"""


@pytest.mark.spark
def test_generate_fills_any_table_from_its_ddl(spark, tmp_path):
    from pyspark.sql import functions as F

    from sparkplate.mocks.generate import COUNTRIES, generate

    project = tmp_path / "project"
    write(project / "ddl/events.sql", GENERATED_DDL)
    for name in ("events", "events_again"):
        write(
            project / f"src/mocks/mockg.{name}.yaml",
            f"table: mockg.{name}\nrole: source\nddl: ddl/events.sql\npartitioned_by: [day]\n"
            "rows: []\n",
        )
    for name in ("events", "events_again"):
        spark.sql(f"DROP TABLE IF EXISTS mockg.{name}")

    # Two dates per commit: three writes, each followed by a progress line.
    progress = []
    start, end = dt.date(2024, 1, 1), dt.date(2024, 1, 5)
    count = generate(
        spark, "mockg.events", start, end, 40, seed=3, titles=50, project_root=project,
        echo=progress.append, chunk_rows=80,
    )  # fmt: skip

    assert count == 200
    assert progress[0].startswith("created mockg.events with the columns of ")
    assert progress[1].startswith("wrote 80 of 200 rows (40 %, to 2024-01-02), ")
    assert progress[-1].startswith("wrote 200 of 200 rows (100 %, to 2024-01-05), ")
    events = spark.table("mockg.events")
    assert [(f.name, f.dataType.simpleString()) for f in events.schema][:5] == [
        ("title_id", "int"),
        ("country_code", "string"),
        ("view_hours", "double"),
        ("day", "date"),
        ("seen_at", "timestamp"),
    ]
    per_day = {r.day: r["count"] for r in events.groupBy("day").count().collect()}
    assert per_day == {start + dt.timedelta(days=i): 40 for i in range(5)}
    facts = events.agg(
        F.min("title_id").alias("min_title"),
        F.max("title_id").alias("max_title"),
        F.sum(F.col("title_id").isNull().cast("int")).alias("null_titles"),
        F.sum((~F.col("country_code").isin(*COUNTRIES)).cast("int")).alias("bad_countries"),
        F.sum((F.to_date("seen_at") != F.col("day")).cast("int")).alias("seen_other_day"),
        F.sum(F.col("price").isNotNull().cast("int")).alias("prices"),
        F.max("price").alias("max_price"),
        F.countDistinct("label").alias("labels"),
        F.countDistinct("flag").alias("flags"),
    ).first()
    assert 1 <= facts.min_title and facts.max_title <= 50
    assert facts.bad_countries == 0 and facts.seen_other_day == 0
    # Decimals fit DECIMAL(5,2) (an overflow would be NULL): about 1 % of nulls, not more.
    assert facts.prices >= 190 and facts.max_price < 1000
    assert facts.labels > 10 and facts.flags == 2

    # The same seed gives the same rows whatever the commits: one write through the CLI now.
    code, output = sparkplate(
        "mock", "generate", "mockg.events_again", "--start-date", start, "--end-date", end,
        "--rows-per-day", 40, "--seed", 3, "--titles", 50, "--project-dir", project,
    )  # fmt: skip
    assert code == 0, output
    its_mock = project / "src/mocks/mockg.events_again.yaml"
    assert output.splitlines() == [
        f"created mockg.events_again with the columns of {its_mock}",
        "generated 200 rows in mockg.events_again for 2024-01-01..2024-01-05",
    ]
    again = spark.table("mockg.events_again")
    assert events.exceptAll(again).count() == 0 and again.exceptAll(events).count() == 0
