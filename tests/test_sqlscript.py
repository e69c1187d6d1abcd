"""SQL files run with Spark's own variable substitution; errors point at the file and line."""

from __future__ import annotations

import pytest

from sparkplate.errors import SparkplateError
from sparkplate.sqlscript import run_sql_file, statements

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
