"""SQL text without Spark: comments, statements, and the column list of a CREATE TABLE.

Workflows and mocks are checked before any JVM starts, so this is a small scanner, not a parser:
it knows quotes, comments and parentheses as Spark SQL does, and column definitions of the form
`name TYPE [NOT NULL] [DEFAULT ...] [COMMENT '...']` separated by commas.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from sparkplate.errors import SparkplateError

# The statement a table's columns are read from, up to the parenthesis that opens the column list
# (`CREATE TABLE t AS SELECT ...` has none). Matched on text whose quotes are masked.
_CREATE = re.compile(
    r"\b(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:EXTERNAL\s+)?|REPLACE\s+)TABLE\s+"
    r"(?:IF\s+NOT\s+EXISTS\s+)?[^\s(]+\s*\(",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")


class UnclosedComment(ValueError):
    """A `/*` without its `*/`: Spark would fail with UNCLOSED_BRACKETED_COMMENT."""

    def __init__(self, line: int):
        super().__init__(f"unclosed /* comment at line {line}")
        self.line = line

    def error(self, file: object) -> SparkplateError:
        return SparkplateError(
            str(self),
            file=file,
            fix="close it with */ (comments nest in Spark SQL: each /* needs its own */)",
        )


def _opens_block_comment(sql: str, i: int) -> bool:
    # `/*+` opens a hint (`/*+ BROADCAST(t) */`), which Spark reads as code.
    return sql.startswith("/*", i) and not sql.startswith("/*+", i)


def _comment_end(sql: str, start: int) -> int:
    """The index just after the comment that starts at `start`."""
    if sql.startswith("--", start):
        end = start + 1
        while True:
            end = sql.find("\n", end + 1)
            if end < 0:
                return len(sql)
            if sql[end - 1] != "\\":  # Spark continues a `--` comment after a final backslash
                return end
    level, i = 0, start
    while i < len(sql):
        if _opens_block_comment(sql, i):
            level, i = level + 1, i + 2
        elif sql.startswith("*/", i):
            level, i = level - 1, i + 2
            if not level:
                return i
        else:
            i += 1
    raise UnclosedComment(sql.count("\n", 0, start) + 1)


def _scan(sql: str):
    """(index, character, kind, depth) for each character of `sql`, in one pass.

    kind is "code", "quoted" or "comment"; depth counts the open parentheses of the code. As in
    Spark SQL: `-- ...` runs to the end of the line; `/* ... */` may hold `--` and other
    `/* ... */` (`/* a /* b */ c */` is one comment), and an unclosed one raises UnclosedComment;
    `/*+ ... */` is a hint, so code. Inside '...' and "..." a backslash escapes the next
    character ('title\'s rank'); inside `...` only a doubled backtick does. An apostrophe in a
    comment ("the job's") opens nothing, and `--` or `/*` in quotes is text.
    """
    depth, quote, i = 0, None, 0
    while i < len(sql):
        ch = sql[i]
        if quote:
            yield i, ch, "quoted", depth
            if ch == "\\" and quote != "`" and i + 1 < len(sql):
                i += 1
                yield i, sql[i], "quoted", depth
            elif ch == quote:
                quote = None
        elif sql.startswith("--", i) or _opens_block_comment(sql, i):
            end = _comment_end(sql, i)
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
    """`sql` without its comments. A `/* ... */` becomes one space (`SELECT/**/1` is
    `SELECT 1`); the line breaks of a comment stay, so line numbers stay those of `sql`."""
    kept, in_comment = [], False
    for i, ch, kind, _ in _scan(sql):
        if kind != "comment" or ch == "\n":
            kept.append(ch)
        elif not in_comment and sql.startswith("/*", i):
            kept.append(" ")
        in_comment = kind == "comment"
    return "".join(kept)


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split on `sep` outside parentheses, quotes and comments."""
    cuts = [i for i, ch, kind, depth in _scan(text) if kind == "code" and ch == sep and not depth]
    bounds = zip([-1, *cuts], [*cuts, len(text)], strict=True)
    return [part for start, end in bounds if (part := text[start + 1 : end].strip())]


def _column_block(sql: str) -> str:
    """The text between the parentheses that follow CREATE TABLE <name>."""
    code = "".join(ch if kind == "code" else "_" for _, ch, kind, _ in _scan(sql))
    match = _CREATE.search(code)
    if not match:
        raise ValueError("no CREATE TABLE statement with a column list")
    start = match.end() - 1
    for i, ch, kind, depth in _scan(sql[start:]):
        if kind == "code" and ch == ")" and depth == 0:
            return sql[start + 1 : start + i]
    raise ValueError("unbalanced parentheses in the column list")


def _tokens(text: str) -> list[tuple[int, str]]:
    """(index, token) for the words, quoted texts and other single characters of `text`."""
    tokens, last = [], None
    for i, ch, kind, _ in _scan(text):
        if kind == "comment" or (kind == "code" and ch.isspace()):
            last = None
            continue
        if kind == "code" and _WORD.fullmatch(ch):
            kind = "word"
        if kind == last and kind in ("word", "quoted"):  # 'a''b' and `a``b` are one token
            tokens[-1] = (tokens[-1][0], tokens[-1][1] + ch)
        else:
            tokens.append((i, ch))
        last = kind
    return tokens


class _ColumnReader:
    """Reads `name TYPE [options], ...`: only here do angle brackets nest (`MAP<STRING, INT>`);
    the options after a type (`DEFAULT a < b`) are skipped up to the next top-level comma."""

    def __init__(self, text: str):
        self.text, self.tokens, self.pos, self.start = text, _tokens(text), 0, 0

    def columns(self) -> dict[str, str]:
        columns = {}
        while self.pos < len(self.tokens):
            self.start = self.tokens[self.pos][0]
            name = self.name()
            columns[name.lower()] = self.type()
            self.skip_options()
        return columns

    def peek(self) -> str:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else ""

    def take(self, expected: str) -> str:
        token = self.peek()
        if not token:
            raise self.error(expected)
        self.pos += 1
        return token

    def expect(self, token: str) -> None:
        if self.peek().upper() != token:
            raise self.error(f"'{token}'")
        self.pos += 1

    def error(self, expected: str) -> ValueError:
        # The definition up to the next comma after where reading stopped.
        after = self.tokens[self.pos][0] if self.pos < len(self.tokens) else len(self.text)
        end = after if self.peek() == "," else self.text.find(",", after + 1)
        definition = self.text[self.start : end if end >= 0 else len(self.text)].strip()
        found = self.peek() or "the end"
        return ValueError(
            f"cannot read column definition {definition!r}: expected {expected}, found {found}"
        )

    def name(self) -> str:
        token = self.peek()
        if not (token.startswith("`") or _WORD.fullmatch(token)):
            raise self.error("a name")
        self.pos += 1
        return token[1:-1].replace("``", "`") if token.startswith("`") else token

    def type(self) -> str:
        if not _WORD.fullmatch(self.peek()):
            raise self.error("a type")
        kind = self.take("a type").upper()
        if kind in ("ARRAY", "MAP", "STRUCT") and self.peek() == "<":
            self.pos += 1
            if kind == "ARRAY":
                inner = self.type()
            elif kind == "MAP":
                key = self.type()
                self.expect(",")
                inner = f"{key},{self.type()}"
            else:
                inner = self.fields()
            self.expect(">")
            return f"{kind}<{inner}>"
        if self.peek() == "(":  # DECIMAL(10, 2), VARCHAR(20)
            self.pos += 1
            sizes = [self.number()]
            while self.peek() == ",":
                self.pos += 1
                sizes.append(self.number())
            self.expect(")")
            return f"{kind}({','.join(sizes)})"
        return kind

    def number(self) -> str:
        if not self.peek().isdigit():
            raise self.error("a number")
        return self.take("a number")

    def fields(self) -> str:
        """The fields of a STRUCT<...>, as `name:TYPE`; the name keeps its case."""
        fields = []
        while self.peek() != ">":
            if fields:
                self.expect(",")
            name = self.name()
            if self.peek() == ":":
                self.pos += 1
            field_type = self.type()
            # NOT NULL and COMMENT '...' describe the field, not its type: left out, as Spark's
            # own type text (`struct<a:int>`) leaves them out.
            while self.peek().upper() in ("NOT", "COMMENT"):
                if self.take("NOT or COMMENT").upper() == "NOT":
                    self.expect("NULL")
                elif self.peek()[:1] in ("'", '"'):
                    self.pos += 1
                else:
                    raise self.error("a quoted comment")
            quoted = name if _WORD.fullmatch(name) else "`" + name.replace("`", "``") + "`"
            fields.append(f"{quoted}:{field_type}")
        return ",".join(fields)

    def skip_options(self) -> None:
        """NOT NULL, DEFAULT ..., COMMENT '...': whatever follows the type, to the next column."""
        depth = 0
        while self.pos < len(self.tokens):
            token = self.take("a comma")
            if token == "," and not depth:
                return
            depth += {"(": 1, ")": -1}.get(token, 0)


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
    """{column name: type} in declaration order, the names in lower case.

    A type is its text in upper case without spaces: `DECIMAL(10,2)`, `MAP<STRING,INT>`,
    `ARRAY<STRUCT<id:BIGINT>>`. Struct field names keep the case they are written in: Spark
    compares them case-insensitively, and `STRUCT<firstSeen:DATE>` reads better than
    `STRUCT<FIRSTSEEN:DATE>`. A field's NOT NULL and COMMENT are not part of its type.
    """
    return _ColumnReader(_column_block(strip_comments(sql))).columns()


def read_ddl_columns(path: Path) -> dict[str, str]:
    try:
        return columns_of(path.read_text())
    except FileNotFoundError:
        raise SparkplateError(
            "DDL file not found", file=path, fix="create it or correct the path that points to it"
        ) from None
    except UnclosedComment as err:
        raise err.error(path) from None
    except ValueError as err:
        raise SparkplateError(
            f"cannot read the table's columns: {err}",
            file=path,
            fix="write the column list as `name TYPE COMMENT '...'`, "
            "e.g. `tags MAP<STRING, INT> COMMENT 'per country'`",
        ) from None
