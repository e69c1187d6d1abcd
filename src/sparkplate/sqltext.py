"""SQL text without Spark: comments, statements, and the column list of a CREATE TABLE.

Workflows and mocks are checked before any JVM starts, so this is a small scanner, not a parser:
it knows quotes, comments and parentheses, and column definitions of the form
`name TYPE [NOT NULL] [COMMENT '...']` separated by top-level commas.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from sparkplate.errors import SparkplateError

_CREATE = re.compile(r"CREATE\s+TABLE\b", re.IGNORECASE)
_COLUMN = re.compile(r"^`?(?P<name>\w+)`?\s+(?P<type>\w+(?:\s*\([\d\s,]+\))?)", re.IGNORECASE)


def _scan(sql: str):
    """(index, character, kind, depth) for each character of `sql`.

    kind is "code", "quoted" or "comment" (`-- ...` to the end of the line); depth counts the
    open parentheses of the code. Inside quotes a backslash escapes the next character, as in
    Spark SQL ('title\'s rank'); an apostrophe in a comment ("the job's") opens nothing.
    """
    depth, quote, i = 0, None, 0
    while i < len(sql):
        ch = sql[i]
        if quote:
            yield i, ch, "quoted", depth
            if ch == "\\" and i + 1 < len(sql):
                i += 1
                yield i, sql[i], "quoted", depth
            elif ch == quote:
                quote = None
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = len(sql) if end < 0 else end
            for j in range(i, end):
                yield j, sql[j], "comment", depth
            i = end
            continue
        elif ch in "'\"`":
            quote = ch
            yield i, ch, "quoted", depth
        else:
            depth += {"(": 1, ")": -1}.get(ch, 0)
            yield i, ch, "code", depth
        i += 1


def strip_comments(sql: str) -> str:
    return "".join(ch for _, ch, kind, _ in _scan(sql) if kind != "comment")


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split on `sep` outside parentheses, quotes and comments."""
    cuts = [i for i, ch, kind, depth in _scan(text) if kind == "code" and ch == sep and not depth]
    bounds = zip([-1, *cuts], [*cuts, len(text)], strict=True)
    return [part for start, end in bounds if (part := text[start + 1 : end].strip())]


def _column_block(sql: str) -> str:
    """The text between the parentheses that follow CREATE TABLE <name>."""
    match = _CREATE.search(sql)
    if not match:
        raise ValueError("no CREATE TABLE statement")
    start = sql.index("(", match.end())
    for i, ch, kind, depth in _scan(sql[start:]):
        if kind == "code" and ch == ")" and depth == 0:
            return sql[start + 1 : start + i]
    raise ValueError("unbalanced parentheses in the column list")


def quote_string(value: str) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def sql_literal(value: Any, type_: str) -> str:
    """A Python value as a typed Spark SQL literal (None becomes a typed NULL)."""
    if value is None:
        return f"CAST(NULL AS {type_})"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float, Decimal)):
        return (
            f"CAST({value!r} AS {type_})"
            if isinstance(value, float)
            else (f"CAST('{value}' AS {type_})")
        )
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP'{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE'{value.isoformat()}'"
    return quote_string(str(value))


def columns_of(sql: str) -> dict[str, str]:
    """{column name: upper-case type} in declaration order."""
    columns = {}
    for definition in split_top_level(_column_block(strip_comments(sql))):
        match = _COLUMN.match(definition)
        if not match:
            raise ValueError(f"cannot read column definition {definition!r}")
        columns[match["name"].lower()] = re.sub(r"\s+", "", match["type"]).upper()
    return columns


def read_ddl_columns(path: Path) -> dict[str, str]:
    try:
        return columns_of(path.read_text())
    except FileNotFoundError:
        raise SparkplateError(
            "DDL file not found", file=path, fix="create it or correct the path that points to it"
        ) from None
    except ValueError as err:
        raise SparkplateError(
            f"cannot read the table's columns: {err}",
            file=path,
            fix="write the column list as `name TYPE COMMENT '...'`",
        ) from None
