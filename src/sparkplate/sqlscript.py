"""Run a SQL file with Spark SQL variable substitution: `${name}` in the file is filled by Spark.

The workflow's parameters are set as session variables for the file's statements, so the SQL is
exactly what a person would run in spark-sql after `SET date=2024-01-01;`. An error names the file
and the line in it, with Spark's own message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.sql import SparkSession

from sparkplate.errors import SparkplateError, spark_message
from sparkplate.params import PARAM_REF
from sparkplate.sqltext import UnclosedComment, split_top_level, strip_comments

# Where Spark says the error is, relative to the statement: "(line 2, pos 5)" or "; line 2 pos 5".
_POSITION = re.compile(r"\s*[(;]?\s*line (\d+),? pos (\d+)\)?;?")
# CREATE NAMESPACE (DATABASE, SCHEMA) or TABLE ... IF NOT EXISTS, and the name it creates.
_CREATE_IF_NOT_EXISTS = re.compile(
    r"\s*CREATE\s+(?:(NAMESPACE|DATABASE|SCHEMA)|(?:EXTERNAL\s+)?TABLE)\s+IF\s+NOT\s+EXISTS\s+"
    r"([\w.`]+)",
    re.IGNORECASE,
)


def _without_comments(text: str, file: object) -> str:
    try:
        return strip_comments(text)
    except UnclosedComment as err:  # Spark would split nothing and fail far from the cause
        raise err.error(file) from None


def statements(text: str, file: object = None) -> list[tuple[int, str]]:
    """(first line in the file, statement) for each statement; comments dropped.

    Dropping a comment keeps its line breaks, so line numbers stay those of the file. An
    unclosed `/*` is a SparkplateError naming `file`.
    """
    code = _without_comments(text, file)
    found, searched_to = [], 0
    for statement in split_top_level(code, ";"):
        start = code.index(statement, searched_to)
        found.append((code.count("\n", 0, start) + 1, statement))
        searched_to = start + len(statement)
    return found


@contextmanager
def session_variables(spark: SparkSession, values: Mapping[str, object]) -> Iterator[None]:
    """Set `values` as variables for `${name}` substitution; restore what was there after."""
    before = {name: spark.conf.get(name, None) for name in values}
    for name, value in values.items():
        spark.conf.set(name, str(value))
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                spark.conf.unset(name)
            else:
                spark.conf.set(name, value)


def unknown_variables(
    text: str, known: Iterable[str], file: object = None
) -> list[tuple[int, str]]:
    """(line, name) of every `${name}` outside comments that is not in `known`.

    An unclosed `/*` is a SparkplateError naming `file`.
    """
    known = set(known)
    return [
        (number, match[1])
        for number, line in enumerate(_without_comments(text, file).splitlines(), start=1)
        for match in PARAM_REF.finditer(line)
        if match[1] not in known
    ]


def run_sql_file(spark: SparkSession, path: Path, params: Mapping[str, object]) -> None:
    """Run every statement of `path` in order, with `params` as `${...}` variables."""
    path = Path(path)
    text = path.read_text()
    for line, name in unknown_variables(text, params, path)[:1]:
        # Spark would substitute an empty string: stop before that.
        raise SparkplateError(
            f"${{{name}}} has no value",
            file=f"{path}:{line}",
            fix=f"pass {name}=... (given: {', '.join(sorted(params)) or 'nothing'})",
        )
    with session_variables(spark, params):
        for first_line, statement in statements(text, path):
            try:
                run_statement(spark, statement, params)
            except (PySparkException, Py4JJavaError) as err:
                message = spark_message(err)
                position = _POSITION.search(message)
                line = first_line + int(position[1]) - 1 if position else first_line
                # The file and line replace Spark's position within the statement.
                raise SparkplateError(_POSITION.sub("", message), file=f"{path}:{line}") from err


def run_statement(
    spark: SparkSession, statement: str, params: Mapping[str, object] | None = None
) -> None:
    """`spark.sql(statement)`, where a CREATE ... IF NOT EXISTS that fails while what it creates
    exists counts as done: it lost a race with another run (see `_created_meanwhile`). Every
    DDL sparkplate runs goes through here: the project's SQL files, the audit results table, the
    mocks' tables. `params` fill the statement's `${...}` for that check (Spark fills them for
    the statement itself)."""
    try:
        spark.sql(statement)
    except (PySparkException, Py4JJavaError):
        if not _created_meanwhile(spark, statement, params or {}):
            raise


def _created_meanwhile(spark: SparkSession, statement: str, params: Mapping[str, object]) -> bool:
    """Whether a failed CREATE ... IF NOT EXISTS lost a race that left what it asked for.

    Runs started at once on a new catalog all find the namespace missing and create it; Spark
    takes the "already exists" of the ones that come second as done, but a JDBC catalog fails
    them with its database's duplicate-key error instead.
    """
    filled = PARAM_REF.sub(lambda ref: str(params.get(ref[1], ref[0])), statement)
    found = _CREATE_IF_NOT_EXISTS.match(filled)
    if found is None:
        return False
    kind, name = found.groups()
    try:
        return spark.catalog.databaseExists(name) if kind else spark.catalog.tableExists(name)
    except (PySparkException, Py4JJavaError):
        return False
