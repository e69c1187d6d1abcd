"""Read the column list of a `CREATE TABLE` statement without Spark.

Mocks are checked against the DDL before any JVM starts, so this is a small parser for the
column definitions only: `name TYPE [NOT NULL] [COMMENT '...']`, separated by top-level commas.
"""

from __future__ import annotations

import re
from pathlib import Path

from sparkplate.errors import SparkplateError

_CREATE = re.compile(r"CREATE\s+TABLE\b", re.IGNORECASE)
_COLUMN = re.compile(r"^`?(?P<name>\w+)`?\s+(?P<type>\w+(?:\s*\([\d\s,]+\))?)", re.IGNORECASE)


def _outside_quotes(text: str):
    """(index, character, parenthesis depth) for every character of `text` outside quotes."""
    depth, quote = 0, None
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
            continue
        if ch in "'\"`":
            quote = ch
            continue
        depth += {"(": 1, ")": -1}.get(ch, 0)
        yield i, ch, depth


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split on `sep` outside parentheses and quotes."""
    cuts = [i for i, ch, depth in _outside_quotes(text) if ch == sep and depth == 0]
    bounds = zip([-1, *cuts], [*cuts, len(text)], strict=True)
    return [part for start, end in bounds if (part := text[start + 1 : end].strip())]


def _column_block(sql: str) -> str:
    """The text between the parentheses that follow CREATE TABLE <name>."""
    match = _CREATE.search(sql)
    if not match:
        raise ValueError("no CREATE TABLE statement")
    start = sql.index("(", match.end())
    for i, ch, depth in _outside_quotes(sql[start:]):
        if ch == ")" and depth == 0:
            return sql[start + 1 : start + i]
    raise ValueError("unbalanced parentheses in the column list")


def strip_comments(sql: str) -> str:
    """Drop `-- ...` comments outside quotes (comments may hold apostrophes: "the job's")."""
    out, quote, i = [], None, 0
    while i < len(sql):
        ch = sql[i]
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"`":
            quote = ch
        elif sql.startswith("--", i):
            i = sql.find("\n", i)
            if i < 0:
                break
            continue
        out.append(ch)
        i += 1
    return "".join(out)


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
