"""Workflow parameters: `${name}` references, the parameters every run has, and substitution;
with what a parameter's value is checked by: dates, and the "did you mean" of a misspelt name.

A leaf module (it imports only the error type): the workflow parser, the SQL runner and the job
types all read `${...}` the same way through it.
"""

from __future__ import annotations

import difflib
import re
import uuid
from collections.abc import Iterable
from datetime import date, datetime, timezone
from typing import Any

from sparkplate.errors import SparkplateError

PARAM_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Any ${...}: what is not a parameter (`${sparkplate.jar.x}`, `${a.b}`, `${}`) is refused, never
# passed through as text.
ANY_REF = re.compile(r"\$\{([^}]*)\}")
# Parameters every run has without declaring them.
BUILTIN_PARAMS = ("run_id", "workflow_id", "project_dir")


# What a date is written as, everywhere a workflow gives one: `date.fromisoformat` alone would
# also take 20240131 or 2024-W05-3, which would then name a partition differently.
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(text: Any) -> date:
    """`text` as a date, written YYYY-MM-DD; ValueError if it is not one (2024-02-30)."""
    if not isinstance(text, str) or not DATE.fullmatch(text):
        raise ValueError(f"{text!r} is not written YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError as err:
        raise ValueError(f"{text!r} is not a date ({err})") from None


def is_date_param(name: str, default: str | None) -> bool:
    """A parameter whose values must be dates: named so, or declared with a date default."""
    return (
        name == "date"
        or name.endswith("_date")
        or (default is not None and bool(DATE.fullmatch(default)))
    )


def did_you_mean(word: Any, choices: Iterable[Any]) -> str:
    """ "did you mean 'x'? " for the choice closest to a misspelt `word`, or "" if none is close.

    Case is ignored, so 'spark' finds 'Spark' and 'utc' finds 'UTC'."""
    folded = {str(choice).casefold(): str(choice) for choice in choices}
    close = difflib.get_close_matches(str(word).casefold(), list(folded), n=1)
    return f"did you mean '{folded[close[0]]}'? " if close else ""


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
                    fix=did_you_mean(name, params) + "declare it under workflow.params",
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
