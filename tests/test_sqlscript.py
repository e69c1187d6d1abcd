"""SQL files run with Spark's own variable substitution; errors point at the file and line."""

from __future__ import annotations

import pytest

from sparkplate.errors import SparkplateError
from sparkplate.sqlscript import _created_meanwhile, run_sql_file, statements, unknown_variables
from sparkplate.sqltext import read_ddl_columns

SCRIPT = """-- a comment with an apostrophe: it's fine
CREATE SCHEMA IF NOT EXISTS ${db};

CREATE TABLE IF NOT EXISTS ${db}.${name} (id INT, note STRING) USING ICEBERG;
-- the next statement spans lines
INSERT INTO ${db}.${name}
SELECT id, '${note}' FROM range(${rows})
"""


def test_statements_keep_the_line_they_start_on():
    found = statements(SCRIPT)
    assert [line for line, _ in found] == [2, 4, 6]
    assert found[2][1].startswith("INSERT INTO ${db}.${name}\nSELECT")


@pytest.mark.spark
def test_variables_are_filled_by_spark_and_removed_after(spark, tmp_path):
    script = tmp_path / "load.sql"
    script.write_text(SCRIPT)
    spark.conf.set("note", "kept")  # a variable the session had before

    run_sql_file(spark, script, {"db": "sqlscript", "name": "t1", "note": "it works", "rows": 3})

    assert spark.sql("SELECT count(*), min(note) FROM sqlscript.t1").first() == (3, "it works")
    assert spark.conf.get("note") == "kept"
    assert spark.conf.get("rows", None) is None


@pytest.mark.spark
@pytest.mark.parametrize(
    "broken, rows, spark_says",
    [
        ("SELECT id, '${note}' FROM range(${rows})", None, "${rows} has no value"),
        ("SELECT id, '${note}' FRM range(${rows})", 2, "PARSE_SYNTAX_ERROR"),
        ("SELECT idd, '${note}' FROM range(${rows})", 2, "UNRESOLVED_COLUMN"),
    ],
    ids=["variable-not-given", "syntax", "unknown-column"],
)
def test_an_error_names_the_file_and_the_line(spark, tmp_path, broken, rows, spark_says):
    script = tmp_path / "broken.sql"
    script.write_text(SCRIPT.replace("SELECT id, '${note}' FROM range(${rows})", broken))
    params = {"db": "sqlscript", "name": "t2", "note": "x"}
    if rows is not None:
        params["rows"] = rows

    with pytest.raises(SparkplateError) as raised:
        run_sql_file(spark, script, params)

    message = str(raised.value)
    assert message.startswith(f"{script}:7: ")  # the line of the SELECT in the file
    assert spark_says in message
    assert " pos " not in message  # Spark's position within the statement is replaced


# --- block comments -----------------------------------------------------------------------------


def test_a_block_comment_splits_nothing_and_keeps_line_numbers():
    text = "/* Owner: data-engineering;\n   it's ours */\nSELECT 1; /* a /* b; */ */ SELECT 2;\n"

    assert statements(text) == [(3, "SELECT 1"), (3, "SELECT 2")]


def test_a_block_comment_after_an_apostrophe_line_still_splits():
    assert [s for _, s in statements("/* it's */ SELECT 1; SELECT 2;")] == ["SELECT 1", "SELECT 2"]


def test_a_variable_in_a_block_comment_is_not_a_reference():
    text = "/* run with ${x};\n   see ${y} */\nSELECT ${date} /* ${z} */, ${top_n}"

    assert unknown_variables(text, {"date"}) == [(3, "top_n")]


def test_an_unclosed_block_comment_stops_the_run_naming_the_file(tmp_path):
    script = tmp_path / "ddl.sql"
    script.write_text("CREATE TABLE t (id INT);\n/* Owner: data-engineering; it's ours\n")

    # The check comes before any statement runs: no Spark session is needed to see it.
    with pytest.raises(SparkplateError) as raised:
        run_sql_file(None, script, {})

    assert str(raised.value).startswith(f"{script}: unclosed /* comment at line 2")


DDL = """/* Owner: data-engineering; reviewed 2024-03 (it's the team's table).
   /* Nested: ${not_a_param} -- and a dash pair */ still the same comment */
CREATE TABLE IF NOT EXISTS ${db}.top_titles (
    title_id INT NOT NULL COMMENT 'the title\\'s id',
    views MAP<STRING, INT> COMMENT 'by country; e.g. {US: 3}',
    ranks ARRAY<STRUCT<day: DATE, rank: INT>>, /* ; */
    amount DECIMAL(10, 2)
) USING iceberg;
"""


@pytest.mark.spark
def test_a_ddl_file_with_block_comments_and_nested_types_creates_its_table(spark, tmp_path):
    ddl = tmp_path / "top_titles.sql"
    ddl.write_text(DDL)
    spark.sql("CREATE SCHEMA IF NOT EXISTS sqlscript_ddl")

    run_sql_file(spark, ddl, {"db": "sqlscript_ddl"})  # as a `type: Spark` DDL job runs it

    schema = spark.table("sqlscript_ddl.top_titles").schema
    spark_types = {f.name: f.dataType.simpleString().upper() for f in schema.fields}
    assert spark_types == {
        "title_id": "INT",
        "views": "MAP<STRING,INT>",
        "ranks": "ARRAY<STRUCT<DAY:DATE,RANK:INT>>",
        "amount": "DECIMAL(10,2)",
    }
    # What validation reads without Spark is what Spark made (field names compared as Spark does).
    assert {k: v.upper() for k, v in read_ddl_columns(ddl).items()} == spark_types


@pytest.mark.spark
def test_a_create_if_not_exists_that_lost_a_race_to_another_run_is_done(spark):
    """Runs started at once on a new JDBC catalog race to create the namespace: the losers get
    the database's duplicate-key error. What they asked for exists, so their DDL goes on."""
    spark.sql("CREATE NAMESPACE IF NOT EXISTS raced_db")
    spark.sql("CREATE TABLE IF NOT EXISTS raced_db.t (id INT) USING iceberg")
    params = {"db": "raced_db", "table": "raced_db.t"}

    assert _created_meanwhile(spark, "\n  create schema if not exists ${db}", params)
    assert _created_meanwhile(spark, "CREATE DATABASE IF NOT EXISTS `raced_db`", params)
    assert _created_meanwhile(spark, "CREATE TABLE IF NOT EXISTS ${table} (id INT)", params)
    # Not created by anyone, or not a create-if-not-exists: the error stands.
    assert not _created_meanwhile(spark, "CREATE SCHEMA IF NOT EXISTS raced_db_2", params)
    assert not _created_meanwhile(spark, "CREATE TABLE IF NOT EXISTS raced_db.t2 (id INT)", {})
    assert not _created_meanwhile(spark, "CREATE TABLE ${table} (id INT)", params)
    assert not _created_meanwhile(spark, "INSERT INTO raced_db.t VALUES (1)", params)
