"""The SQL scanner and the DDL column reader, without Spark: comments, quotes, nested types.

What Spark SQL does with comments (they nest; `--` and quotes inside one are comment text; `/*+`
opens a hint) was checked against a Spark 3.5 session; the Spark test in test_sqlscript.py runs
a DDL file through Spark to hold the reader to it.
"""

from __future__ import annotations

import pytest

from sparkplate.errors import SparkplateError
from sparkplate.sqltext import (
    UnclosedComment,
    columns_of,
    read_ddl_columns,
    split_top_level,
    strip_comments,
)

# --- comments -----------------------------------------------------------------------------------


def test_a_semicolon_and_an_apostrophe_in_a_block_comment_split_nothing():
    text = "/* Owner: data-engineering; it's reviewed */ SELECT 1; SELECT 2;"

    assert split_top_level(text, ";") == [
        "/* Owner: data-engineering; it's reviewed */ SELECT 1",
        "SELECT 2",
    ]


def test_block_comments_nest_and_hold_dashes():
    sql = "SELECT /* a /* b; */ c; */ 1 /* -- not a line comment */ AS x, 2 AS y"

    assert strip_comments(sql) == "SELECT   1   AS x, 2 AS y"


def test_a_block_comment_becomes_a_space_and_keeps_its_line_breaks():
    sql = "SELECT/* one\ntwo */1\nFROM t"

    assert strip_comments(sql) == "SELECT \n1\nFROM t"


def test_a_block_comment_opener_in_quotes_is_text():
    sql = "SELECT '/* not; a comment' AS a, `b /* c` -- d */ e\n, 3"

    assert strip_comments(sql) == "SELECT '/* not; a comment' AS a, `b /* c` \n, 3"


def test_a_hint_is_code_not_a_comment():
    sql = "SELECT /*+ REPARTITION(2) */ 1 /*+*/"

    assert strip_comments(sql) == sql


def test_quotes_in_a_comment_open_nothing():
    # Spark ends this comment at the first */: the apostrophes are comment text.
    assert split_top_level("/* '*/ 1, 2 /* ' */", ",") == ["/* '*/ 1", "2 /* ' */"]


def test_a_backslash_at_the_end_of_a_line_comment_continues_it():
    # As in Spark: `SELECT 1 AS x -- a \<newline>, 2 AS y` selects only x.
    assert strip_comments("SELECT 1 AS x -- a \\\n, 2 AS y\nFROM t") == "SELECT 1 AS x \n\nFROM t"


def test_a_backslash_in_backticks_escapes_nothing():
    # `a\` is a whole identifier in Spark; only a doubled backtick stays inside one.
    assert split_top_level("`a\\`, `b``c`, d") == ["`a\\`", "`b``c`", "d"]


@pytest.mark.parametrize(
    "sql, line",
    [("SELECT 1 /* never closed", 1), ("SELECT 1;\n/* a /* b */\nSELECT 2", 2)],
    ids=["plain", "nested-one-short"],
)
def test_an_unclosed_block_comment_names_its_line(sql, line):
    with pytest.raises(UnclosedComment, match=f"unclosed /\\* comment at line {line}"):
        strip_comments(sql)


# --- the column list of a CREATE TABLE ----------------------------------------------------------


def test_nested_types_are_read_whole_and_normalised():
    ddl = """
    CREATE TABLE db.t (
        tags MAP<STRING, INT> COMMENT 'views by tag, e.g. <a, b>',
        names ARRAY < STRING >,
        grid ARRAY<ARRAY<DOUBLE>>,
        amount decimal(10, 2),
        owner STRUCT<firstSeen: DATE NOT NULL COMMENT 'first, then >', `full name`: string>,
        kv MAP<STRING, STRUCT<a:INT, b:ARRAY<BIGINT>>>,
        nothing STRUCT<>
    ) USING iceberg
    """

    assert columns_of(ddl) == {
        "tags": "MAP<STRING,INT>",
        "names": "ARRAY<STRING>",
        "grid": "ARRAY<ARRAY<DOUBLE>>",
        "amount": "DECIMAL(10,2)",
        # field names keep their case; a field's NOT NULL and COMMENT are not its type
        "owner": "STRUCT<firstSeen:DATE,`full name`:STRING>",
        "kv": "MAP<STRING,STRUCT<a:INT,b:ARRAY<BIGINT>>>",
        "nothing": "STRUCT<>",
    }


def test_options_after_the_type_are_skipped_and_their_angle_brackets_nest_nothing():
    ddl = """CREATE TABLE t (
        a INT NOT NULL DEFAULT 1 COMMENT 'a < b, always',
        flag BOOLEAN DEFAULT 1 < 2,
        later BIGINT GENERATED ALWAYS AS (CAST(a > 0 AS BIGINT)),
        `Odd Name` TIMESTAMP
    )"""

    assert columns_of(ddl) == {
        "a": "INT",
        "flag": "BOOLEAN",
        "later": "BIGINT",
        "odd name": "TIMESTAMP",
    }


@pytest.mark.parametrize(
    "create",
    [
        "CREATE OR REPLACE TABLE",
        "create table if not exists",
        "CREATE EXTERNAL TABLE",
        "CREATE OR REPLACE EXTERNAL TABLE",
        "REPLACE TABLE",
        "CREATE\n  TABLE IF NOT EXISTS",
    ],
)
def test_every_form_of_create_table_is_found(create):
    ddl = f"{create} ${{db}}.`my table`(id BIGINT, m MAP<STRING, INT>) USING iceberg"

    assert columns_of(ddl) == {"id": "BIGINT", "m": "MAP<STRING,INT>"}


def test_create_table_in_a_string_or_comment_is_not_the_statement():
    ddl = """
    SET note = 'CREATE TABLE x (wrong INT)';  /* CREATE TABLE y (wrong INT) */
    CREATE TABLE t (right_one INT)
    """

    assert columns_of(ddl) == {"right_one": "INT"}


def test_create_table_as_select_has_no_column_list():
    with pytest.raises(ValueError, match="no CREATE TABLE statement with a column list"):
        columns_of("CREATE TABLE t USING iceberg AS SELECT count(*) AS n FROM s")


@pytest.mark.parametrize(
    "columns, says",
    [
        ("tags MAP<STRING INT>, b INT", "'tags MAP<STRING INT>': expected ',', found INT"),
        ("a ARRAY<INT, b INT", "'a ARRAY<INT': expected '>', found ,"),
        ("a, b INT", "'a': expected a type, found ,"),
        ("s STRUCT<x INT COMMENT note>", "expected a quoted comment, found note"),
        ("d DECIMAL(10, two)", "'d DECIMAL(10, two)': expected a number, found two"),
    ],
    ids=["map-without-comma", "unclosed-angle", "no-type", "unquoted-comment", "not-a-size"],
)
def test_a_column_that_cannot_be_read_is_named(columns, says):
    with pytest.raises(ValueError, match="cannot read column definition") as raised:
        columns_of(f"CREATE TABLE t ({columns})")

    assert says in str(raised.value)


def test_a_ddl_file_with_a_leading_block_comment_is_read(tmp_path):
    ddl = tmp_path / "top_titles.sql"
    ddl.write_text(
        "/* Owner: data-engineering; reviewed 2024-03 (it's ours) */\n"
        "CREATE TABLE IF NOT EXISTS ${db}.top_titles (\n"
        "  title_id INT, -- the title's id\n"
        "  views MAP<STRING, INT> /* by country; */\n"
        ") USING iceberg;\n"
    )

    assert read_ddl_columns(ddl) == {"title_id": "INT", "views": "MAP<STRING,INT>"}


def test_a_ddl_file_with_an_unclosed_comment_is_an_error_naming_it(tmp_path):
    ddl = tmp_path / "broken.sql"
    ddl.write_text("CREATE TABLE t (id INT)\n/* Owner: data-engineering\n")

    with pytest.raises(SparkplateError) as raised:
        read_ddl_columns(ddl)

    assert str(raised.value).startswith(f"{ddl}: unclosed /* comment at line 2")
    assert "close it with */" in raised.value.fix
