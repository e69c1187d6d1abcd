"""Writing a mock file in the format `read_mock` reads: one row per line, every value exact.

Each value is written so that every recipe's reader gets it back unchanged: text that a YAML
reader would take for something else (`NO`, `1e5`, `null`, `2024-01-01`) is quoted, text with
line breaks or control characters is double-quoted with escapes, a decimal that a float cannot
hold exactly stays text, and a FLOAT is written in the fewest digits that give the same FLOAT.
No Spark here.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import struct
from decimal import Decimal
from typing import Any

import yaml

from sparkplate.mocks.spec import normalize_type

# Plain text that YAML 1.1 (PyYAML) or 1.2 (the Scala recipe's reader) would read as a number or
# a boolean; PyYAML's own checks cover 1.1 only, so `1e5` or `0o17` would lose their quotes.
_LOOKS_TYPED = re.compile(
    r"[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+"
    r"|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)|y|Y|n|N|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF"
)


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper with the quoting rules above and decimals as numbers."""


def _text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = None
    if not text.isprintable():  # line breaks, tabs, control characters: escapes on one line
        style = '"'
    elif _LOOKS_TYPED.fullmatch(text):
        style = "'"
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


def _decimal(dumper: yaml.SafeDumper, number: Decimal) -> yaml.ScalarNode:
    text = format(number, "f")  # never `1E-7`, which YAML 1.1 reads as text
    if Decimal(repr(float(text))) != number:  # more digits than a float keeps: stay text
        return _text(dumper, text)
    tag = "float" if "." in text else "int"
    return dumper.represent_scalar(f"tag:yaml.org,2002:{tag}", text)


_Dumper.add_representer(str, _text)
_Dumper.add_representer(Decimal, _decimal)


def _dump(data: Any, flow: bool | None) -> str:
    return yaml.dump(
        data,
        Dumper=_Dumper,
        default_flow_style=flow,
        sort_keys=False,
        allow_unicode=True,
        width=math.inf,  # never fold a long value over two lines
    )


def shortest_float32(value: float) -> float:
    """The float with the fewest digits that is still the same FLOAT (0.1, not
    0.10000000149011612, which is what Spark hands Python for FLOAT 0.1)."""
    if not math.isfinite(value):
        return value
    for digits in range(6, 10):
        short = float(f"{value:.{digits}g}")
        if struct.unpack("f", struct.pack("f", short))[0] == value:
            return short
    return value


def _value(value: Any, type_: str) -> Any:
    if value is None:
        return None
    if type_ == "FLOAT":
        return shortest_float32(value)
    if type_ == "TIMESTAMP":  # as text: YAML's own timestamps carry a time zone
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        return value.isoformat(sep=" ")
    return value


def mock_text(
    table: str,
    columns: dict[str, str],
    rows: list[dict[str, Any]],
    *,
    role: str = "source",
    partitioned_by: tuple[str, ...] = (),
    comment: str = "",
) -> str:
    """The YAML of a mock of `table`: `columns` maps names to Spark SQL types in order, `rows`
    hold Python values as Spark collects them (timestamps as datetimes or ISO text)."""
    types = {name: normalize_type(type_) for name, type_ in columns.items()}
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    lines.append(_dump({"table": table, "role": role, "columns": types}, flow=False).rstrip())
    if partitioned_by:
        lines.append(_dump({"partitioned_by": list(partitioned_by)}, flow=None).rstrip())
    if not rows:
        lines.append("rows: []")
    else:
        lines.append("rows:")
        for row in rows:
            typed = {name: _value(row.get(name), type_) for name, type_ in types.items()}
            lines.append("  - " + _dump(typed, flow=True).rstrip())
    return "\n".join(lines) + "\n"
