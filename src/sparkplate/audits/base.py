"""What an audit function is: a named check over the rows a run wrote, with declared arguments.

Audit functions are registered by name so workflow files can refer to them, and their arguments
are read from the function signature so a workflow can be validated before any Spark work starts.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame, Row, SparkSession

from sparkplate.params import did_you_mean


@dataclass(frozen=True)
class AuditContext:
    """Everything an audit function may look at."""

    spark: SparkSession
    table: str  # the audited table, e.g. "prod_db.top_titles"
    data: DataFrame  # the rows under audit: the run's partition, read from the WAP branch
    published: DataFrame  # the whole table as published on main (before this run publishes)
    params: Mapping[str, str]  # the workflow parameters of this run (date, run_id, ...)

    def aggregate(self, *columns: Column) -> Row:
        """One row of aggregates over `data` (see sparkplate.audits.record for why)."""
        return self.data.agg(*columns).first()


@dataclass(frozen=True)
class Outcome:
    """What an audit found; `expected` and `actual` are short human-readable texts."""

    success: bool
    expected: str
    actual: str


@dataclass(frozen=True)
class AuditFunction:
    name: str
    run: Callable[..., Outcome]
    required: tuple[str, ...]
    optional: tuple[str, ...]

    def problems_with(self, args: Mapping[str, Any]) -> list[str]:
        """Argument problems, worded for a person editing a workflow file."""
        problems = [f"missing argument '{a}'" for a in self.required if a not in args]
        allowed = set(self.required) | set(self.optional)
        for a in args:
            if a not in allowed:
                problems.append(
                    f"unknown argument '{a}' ({did_you_mean(a, allowed)}"
                    f"allowed: {', '.join(sorted(allowed)) or 'none'})"
                )
        return problems


AUDIT_FUNCTIONS: dict[str, AuditFunction] = {}


def audit_function(func: Callable[..., Outcome]) -> Callable[..., Outcome]:
    """Register `func(ctx, **args) -> Outcome` under its own name."""
    params = list(inspect.signature(func).parameters.values())[1:]  # skip ctx
    AUDIT_FUNCTIONS[func.__name__] = AuditFunction(
        name=func.__name__,
        run=func,
        required=tuple(p.name for p in params if p.default is inspect.Parameter.empty),
        optional=tuple(p.name for p in params if p.default is not inspect.Parameter.empty),
    )
    return func
