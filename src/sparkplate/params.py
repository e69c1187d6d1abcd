"""Workflow parameters: `${name}` references, the parameters every run has, and substitution.

A leaf module (it imports only the error type): the workflow parser, the SQL runner and the job
types all read `${...}` the same way through it.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from typing import Any

from sparkplate.errors import SparkplateError

PARAM_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Any ${...}: what is not a parameter (`${sparkplate.jar.x}`, `${a.b}`, `${}`) is refused, never
# passed through as text.
ANY_REF = re.compile(r"\$\{([^}]*)\}")
# Parameters every run has without declaring them.
BUILTIN_PARAMS = ("run_id", "workflow_id", "project_dir")


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "_" + uuid.uuid4().hex[:6]


_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def substitute(value: Any, params: dict[str, str], file: object = None, where: str = "") -> Any:
    """Replace ${name} in every string of `value` (dicts and lists included).

    A string that is exactly one reference to a number becomes that number (`max: ${top_n}`),
    as if the value had been written there.
    """
    if isinstance(value, str):
        whole = PARAM_REF.fullmatch(value)
        if whole and whole[1] in params and _NUMBER.fullmatch(params[whole[1]]):
            text = params[whole[1]]
            number = float(text) if "." in text else int(text)
            if str(number) == text:  # "007" or "1.50" stay text: the digits may matter
                return number

        def replace(match: re.Match) -> str:
            name = match[1]
            if name not in params:
                raise SparkplateError(
                    f"unknown parameter ${{{name}}}",
                    file=file,
                    key=where or None,
                    fix="declare it under workflow.params",
                )
            return params[name]

        return PARAM_REF.sub(replace, value)
    if isinstance(value, dict):
        return {k: substitute(v, params, file, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, params, file, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def references(value: Any, where: str):
    """Yield (key path, what is inside the braces) for every ${...} in `value`."""
    if isinstance(value, str):
        for match in ANY_REF.finditer(value):
            yield where, match[1]
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from references(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from references(v, f"{where}[{i}]")
