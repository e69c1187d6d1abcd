"""YAML mocks: one file per table, typed by its own `columns` or by the table's DDL.

    table: some_db.source_table      # the table the rows belong to
    role: source                     # source: loaded into the warehouse; expected: a test's answer
    columns: {title_id: INT, ...}    # or `ddl: ddl/top_titles.sql` to take the DDL's columns
    partitioned_by: [playback_date]  # optional, for tables `sparkplate mock load` creates
    params: {date: 2024-01-01}       # optional: the run an expected mock is the answer to
    rows:
      - {title_id: 1, country_code: US, view_hours: 1.5, playback_date: 2024-01-01}

Everything here runs without Spark, so a bad mock is reported before a JVM starts.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import struct
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sparkplate.errors import SparkplateError
from sparkplate.sqltext import read_ddl_columns
from sparkplate.yamlfile import load_yaml

ROLES = ("source", "expected")
_DECIMAL = re.compile(r"DECIMAL\((\d+),(\d+)\)")
# Whole numbers by their bits: a value out of range would silently become NULL in Spark's cast.
_INTEGER_BITS = {"TINYINT": 8, "SMALLINT": 16, "INT": 32, "INTEGER": 32, "BIGINT": 64}
_INTEGER_TYPES = set(_INTEGER_BITS)
_FLOAT_TYPES = {"FLOAT", "DOUBLE"}
_OTHER_TYPES = {"STRING", "BOOLEAN", "DATE", "TIMESTAMP"}
SUPPORTED_TYPES = (
    "TINYINT, SMALLINT, INT, BIGINT, FLOAT, DOUBLE, DECIMAL(p,s), STRING, BOOLEAN, DATE, TIMESTAMP"
)


def normalize_type(type_name: str) -> str:
    """`decimal (10, 2)` as `DECIMAL(10,2)`: type names upper-cased, spaces dropped, and a
    struct's field names (`STRUCT<userId: INT>`) kept as they are written."""
    text = re.sub(r"\s*([<>,():])\s*", r"\1", str(type_name).strip())
    text = re.sub(r"\s+", " ", text)

    def word(match: re.Match) -> str:
        if text[match.end() : match.end() + 1] in (":", " "):
            return match[0]  # a field name, followed by its type
        return "INT" if match[0].upper() == "INTEGER" else match[0].upper()

    return re.sub(r"[A-Za-z_][A-Za-z0-9_]*", word, text)


def is_supported_type(type_name: str) -> bool:
    t = normalize_type(type_name)
    return t in _INTEGER_TYPES | _FLOAT_TYPES | _OTHER_TYPES or bool(_DECIMAL.fullmatch(t))


def convert(value: Any, type_name: str) -> Any:
    """The Python value Spark expects for `type_name`; ValueError says why not."""
    if value is None:
        return None
    t = normalize_type(type_name)
    if t in _INTEGER_TYPES:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number for {t}, got {value!r}")
        limit = 2 ** (_INTEGER_BITS[t] - 1)
        if not -limit <= value < limit:
            raise ValueError(f"{value} does not fit in {t} ({-limit} to {limit - 1})")
        return value
    if t in _FLOAT_TYPES:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number for {t}, got {value!r}")
        if t == "FLOAT" and math.isfinite(value) and math.isinf(_as_float32(value)):
            raise ValueError(f"{value!r} is too large for FLOAT (use DOUBLE)")
        return float(value)
    if t == "STRING":
        if not isinstance(value, str):
            raise ValueError(f"expected text for STRING, got {value!r} (quote it)")
        return value
    if t == "BOOLEAN":
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
        return value
    if t in ("DATE", "TIMESTAMP"):  # YAML gives text: the strict loader keeps dates as text
        parse, form = {
            "DATE": (dt.date.fromisoformat, "YYYY-MM-DD"),
            "TIMESTAMP": (dt.datetime.fromisoformat, "YYYY-MM-DD HH:MM:SS"),
        }[t]
        try:
            return parse(str(value))
        except ValueError:
            raise ValueError(f"expected a {t.lower()} ({form}), got {value!r}") from None
    if decimal := _DECIMAL.fullmatch(t):
        return _decimal(value, int(decimal[1]), int(decimal[2]))
    raise ValueError(f"unsupported type {type_name}")


def _as_float32(value: float) -> float:
    return struct.unpack("f", struct.pack("f", value))[0]


def _decimal(value: Any, precision: int, scale: int) -> Decimal:
    """`value` as a Decimal that DECIMAL(precision,scale) holds exactly: Spark would round extra
    decimal places away and turn too many digits into NULL, so both are refused here."""
    try:
        # Text keeps every digit; a YAML number arrives as a float, whose repr is its shortest form.
        number = Decimal(value if isinstance(value, str) else repr(value))
    except InvalidOperation:
        number = None
    if isinstance(value, bool) or number is None or not number.is_finite():
        raise ValueError(f"expected a decimal number, got {value!r}")
    places = max(0, -number.normalize().as_tuple().exponent)
    whole_digits = number.adjusted() + 1 if abs(number) >= 1 else 0
    if places > scale:
        raise ValueError(
            f"{value} has more than {scale} decimal places for DECIMAL({precision},{scale})"
        )
    if whole_digits > precision - scale:
        raise ValueError(
            f"{value} has more than {precision - scale} digits before the point for "
            f"DECIMAL({precision},{scale})"
        )
    return number


@dataclass(frozen=True)
class Mock:
    path: Path
    table: str
    role: str
    columns: dict[str, str]  # name -> normalized Spark SQL type, in order
    partitioned_by: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]  # converted values, every column present
    params: dict[str, str]  # for expected mocks: the run parameters they answer

    @property
    def ddl_columns(self) -> str:
        return ", ".join(f"`{name}` {type_}" for name, type_ in self.columns.items())


def _require(doc: dict, key: str, path: Path, fix: str) -> Any:
    if key not in doc or doc[key] in (None, ""):
        raise SparkplateError(f"missing key '{key}'", file=path, key=key, fix=fix)
    return doc[key]


def _columns(doc: dict, path: Path, project_root: Path) -> dict[str, str]:
    declared = doc.get("columns")
    if declared is not None and not isinstance(declared, dict):
        raise SparkplateError(
            "'columns' must map column names to types",
            file=path,
            key="columns",
            fix="write e.g. `columns: {title_id: INT}`",
        )
    declared = {str(k).lower(): normalize_type(v) for k, v in (declared or {}).items()}
    for name, type_ in declared.items():
        if not is_supported_type(type_):
            raise SparkplateError(
                f"unsupported type {type_}",
                file=path,
                key=f"columns.{name}",
                fix=f"use one of {SUPPORTED_TYPES}",
            )
    if "ddl" not in doc:
        if not declared:
            raise SparkplateError(
                "the mock has neither 'columns' nor 'ddl'",
                file=path,
                fix="add `ddl: ddl/<table>.sql` or a `columns:` mapping",
            )
        return declared
    ddl_path = project_root / str(doc["ddl"])
    from_ddl = {k: normalize_type(v) for k, v in read_ddl_columns(ddl_path).items()}
    if declared and declared != from_ddl:
        raise SparkplateError(
            f"'columns' {declared} do not match the DDL's {from_ddl}",
            file=path,
            key="columns",
            fix=f"drop 'columns' or make them match {ddl_path}",
        )
    return from_ddl


def read_mock(path: Path, project_root: Path) -> Mock:
    doc = load_yaml(path)
    if not isinstance(doc, dict):
        raise SparkplateError("a mock must be a mapping with 'table', 'role' and 'rows'", file=path)
    table = str(_require(doc, "table", path, "name the table, e.g. `table: some_db.source_table`"))
    role = _require(doc, "role", path, f"set `role:` to one of {', '.join(ROLES)}")
    if role not in ROLES:
        raise SparkplateError(
            f"unknown role {role!r}", file=path, key="role", fix=f"use one of {', '.join(ROLES)}"
        )
    columns = _columns(doc, path, project_root)
    partitioned_by = tuple(str(c).lower() for c in doc.get("partitioned_by") or ())
    for name in partitioned_by:
        if name not in columns:
            raise SparkplateError(
                f"partition column '{name}' is not a column",
                file=path,
                key="partitioned_by",
                fix=f"use one of {', '.join(columns)}",
            )
    params = doc.get("params") or {}
    if not isinstance(params, dict):
        raise SparkplateError(
            "'params' must be a mapping",
            file=path,
            key="params",
            fix="e.g. `params: {date: 2024-01-01, top_n: 3}`",
        )
    raw_rows = doc.get("rows") or []
    if not isinstance(raw_rows, list):
        raise SparkplateError("'rows' must be a list of mappings", file=path, key="rows")
    rows = []
    for i, raw in enumerate(raw_rows):
        if not isinstance(raw, dict):
            raise SparkplateError(
                "a row must be a mapping of column to value", file=path, key=f"rows[{i}]"
            )
        raw = {str(k).lower(): v for k, v in raw.items()}
        for name in raw:
            if name not in columns:
                raise SparkplateError(
                    f"column '{name}' is not in the table's columns",
                    file=path,
                    key=f"rows[{i}].{name}",
                    fix=f"use only {', '.join(columns)}",
                )
        row = {}
        for name, type_ in columns.items():
            try:
                row[name] = convert(raw.get(name), type_)
            except ValueError as err:
                raise SparkplateError(
                    str(err),
                    file=path,
                    key=f"rows[{i}].{name}",
                    fix=f"give a {type_} value, or null",
                ) from None
        rows.append(row)
    return Mock(
        path=path,
        table=table,
        role=role,
        columns=columns,
        partitioned_by=partitioned_by,
        rows=tuple(rows),
        params={str(k): str(v) for k, v in params.items()},
    )
