"""The audit function library: the checks a workflow can name under `audits:`.

Every function reads `ctx.data` (the run's rows on the WAP branch) unless it says otherwise, runs as
few Spark jobs as it can, and returns an Outcome whose `expected` and
`actual` read well in a log line. Argument mistakes that can be seen without data (no bound given,
conflicting options) raise ValueError: they are workflow bugs, not data problems.

Semantics follow the usual meaning in dbt tests / Great Expectations / Soda / Deequ: value checks
ignore nulls (a separate null check exists for those), bounds are inclusive.

Aggregates over `ctx.data` go through `ctx.aggregate(...)`, not `ctx.data.agg(...).first()`: the
runner then computes the aggregates of all the audits of a run in one Spark job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import reduce
from typing import Any

from pyspark.sql import Column
from pyspark.sql import functions as F

from sparkplate.audits.base import AuditContext, Outcome, audit_function

# How many values a `values`/`columns` list shows in an `expected` text before it abbreviates.
_LIST_LIMIT = 10


# --- small helpers: argument checks and readable texts ----------------------------------------


def _column_list(columns: Any, arg: str = "columns") -> list[str]:
    # A YAML author may write `columns: title_id` for a single column; accept it.
    if isinstance(columns, str):
        columns = [columns]
    if not isinstance(columns, (list, tuple)) or not columns:
        raise ValueError(f"'{arg}' must be a non-empty list of column names")
    return [str(c) for c in columns]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _check_bounds(min: Any, max: Any, *, numeric: bool) -> None:
    if min is None and max is None:
        raise ValueError("give at least one of 'min' and 'max'")
    if numeric:
        for name, value in (("min", min), ("max", max)):
            if value is not None and not _is_number(value):
                raise ValueError(f"'{name}' must be a number, got {value!r}")
    try:
        inverted = min is not None and max is not None and min > max
    except TypeError:  # e.g. a date string against a number: let Spark compare them
        inverted = False
    if inverted:
        raise ValueError(f"'min' ({min!r}) is greater than 'max' ({max!r})")


def _check_non_negative(value: Any, arg: str) -> None:
    if not _is_number(value) or value < 0:
        raise ValueError(f"'{arg}' must be a number >= 0, got {value!r}")


def _range_text(min: Any, max: Any) -> str:
    if min is not None and max is not None:
        return f"between {_show(min)} and {_show(max)}"
    return f"at least {_show(min)}" if min is not None else f"at most {_show(max)}"


def _inside(value: Column, min: Any, max: Any) -> Column:
    """`value` within the inclusive bounds given. Spark compares, so decimal, date and timestamp
    values can be bounded with numbers or strings from YAML."""
    checks = [value >= F.lit(min)] if min is not None else []
    checks += [value <= F.lit(max)] if max is not None else []
    return reduce(lambda a, b: a & b, checks)


def _in_range(value: Any, min: Any, max: Any) -> bool:
    return (min is None or value >= min) and (max is None or value <= max)


def _show(value: Any) -> str:
    """A value as a person would write it: strings quoted, floats without noise digits."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else str(round(value, 6))
    if isinstance(value, (date, datetime)):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return str(value)


def _list_text(values: list[Any], *, quote: bool = True) -> str:
    shown = [_show(v) if quote else str(v) for v in values[:_LIST_LIMIT]]
    if len(values) > _LIST_LIMIT:
        shown.append(f"... ({len(values)} in all)")
    return ", ".join(shown)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _plural_days(days: float) -> str:
    return _plural(int(days), "day") if float(days).is_integer() else f"{days} days"


def _percent(ratio: float) -> str:
    return f"{ratio * 100:.4g}%"


def _count_where(condition: Column) -> Column:
    # count() skips the nulls when() yields, so rows where `condition` is null are not counted.
    return F.count(F.when(condition, 1))


def _parse_day(text: Any, what: str) -> date:
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        raise ValueError(f"{what} must be a date like 2024-01-07, got {text!r}") from None


# --- null checks ------------------------------------------------------------------------------


@audit_function
def columns_should_not_have_nulls(ctx: AuditContext, columns: list) -> Outcome:
    """Passes when none of `columns` holds a null."""
    cols = _column_list(columns)
    row = ctx.aggregate(*[_count_where(F.col(c).isNull()) for c in cols])
    expected = f"no nulls in {_list_text(cols, quote=False)}"
    found = [f"{_plural(row[i], 'null')} in {c}" for i, c in enumerate(cols) if row[i]]
    return Outcome(not found, expected, ", ".join(found) or "no nulls")


@audit_function
def column_null_ratio_should_be_below(ctx: AuditContext, column: str, max_ratio: float) -> Outcome:
    """Passes when the share of nulls in `column` is at most `max_ratio` (0..1)."""
    _check_non_negative(max_ratio, "max_ratio")
    total, nulls = ctx.aggregate(F.count(F.lit(1)), _count_where(F.col(column).isNull()))
    expected = f"at most {_percent(max_ratio)} nulls in {column}"
    if total == 0:
        return Outcome(True, expected, "no rows")
    ratio = nulls / total
    actual = f"{nulls} of {_plural(total, 'row')} null ({_percent(ratio)})"
    return Outcome(ratio <= max_ratio, expected, actual)


# --- uniqueness and accepted values -----------------------------------------------------------


@audit_function
def columns_should_be_unique(ctx: AuditContext, columns: list) -> Outcome:
    """Passes when no two rows share the values of `columns` (rows with all-null keys aside)."""
    cols = _column_list(columns)
    keys = [f"k{i}" for i in range(len(cols))]
    # Like dbt `unique` for one column (nulls are not keys) and dbt_utils'
    # unique_combination_of_columns for several (a null in part of a key is a value).
    any_present = reduce(lambda a, b: a | b, [F.col(c).isNotNull() for c in cols])
    key = F.when(any_present, F.struct(*[F.col(c) for c in cols]))
    # The common case, no duplicates, is told by one aggregate (batched with the other audits);
    # only a failure pays for the grouping that finds how many keys repeat and an example.
    expected = f"unique {_list_text(cols, quote=False)}"
    keyed_rows, distinct_keys = ctx.aggregate(F.count(key), F.count_distinct(key))
    if keyed_rows == distinct_keys:
        return Outcome(True, expected, "no duplicated keys")
    duplicates = (
        ctx.data.where(any_present)
        .select(*[F.col(c).alias(k) for c, k in zip(cols, keys, strict=True)])
        .groupBy(*keys)
        .count()
        .where(F.col("count") > 1)
    )
    n_keys, n_rows, example = duplicates.agg(
        F.count(F.lit(1)), F.sum("count"), F.min(F.struct(*keys))
    ).first()
    if len(cols) == 1:
        shown = _show(example[0])
    else:
        shown = "(" + ", ".join(f"{c}={_show(v)}" for c, v in zip(cols, example, strict=True)) + ")"
    actual = f"{_plural(n_keys, 'duplicated key')} over {n_rows} rows, e.g. {shown}"
    return Outcome(False, expected, actual)


@audit_function
def column_values_should_be_in(ctx: AuditContext, column: str, values: list) -> Outcome:
    """Passes when every non-null value of `column` is one of `values`."""
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError("'values' must be a non-empty list")
    col = F.col(column)
    unexpected = col.isNotNull() & ~col.isin(list(values))
    bad, example = ctx.aggregate(_count_where(unexpected), F.min(F.when(unexpected, col)))
    expected = f"{column} in {_list_text(list(values))}"
    if bad == 0:
        return Outcome(True, expected, "all values accepted")
    return Outcome(
        False, expected, f"{_plural(bad, 'row')} with other values, e.g. {_show(example)}"
    )


@audit_function
def column_values_should_be_between(
    ctx: AuditContext, column: str, min: Any = None, max: Any = None
) -> Outcome:
    """Passes when every non-null value of `column` lies within [min, max] (inclusive)."""
    _check_bounds(min, max, numeric=False)
    col = F.col(column)
    condition = ~_inside(col, min, max)
    bad, low, high = ctx.aggregate(_count_where(condition), F.min(col), F.max(col))
    expected = f"{column} {_range_text(min, max)}"
    if low is None:
        return Outcome(True, expected, "no non-null values")
    observed = f"min {_show(low)}, max {_show(high)}"
    if bad == 0:
        return Outcome(True, expected, f"all within ({observed})")
    return Outcome(False, expected, f"{_plural(bad, 'value')} outside ({observed})")


@audit_function
def column_values_should_match_regex(ctx: AuditContext, column: str, regex: str) -> Outcome:
    """Passes when every non-null value of `column` contains a match of the Java `regex`."""
    # rlike searches (like GE and dbt_expectations): anchor with ^...$ to match whole values.
    text = F.col(column).cast("string")
    mismatch = text.isNotNull() & ~text.rlike(regex)
    bad, example = ctx.aggregate(_count_where(mismatch), F.min(F.when(mismatch, text)))
    expected = f"{column} matching /{regex}/"
    if bad == 0:
        return Outcome(True, expected, "all values match")
    return Outcome(False, expected, f"{_plural(bad, 'value')} not matching, e.g. {example!r}")


# --- row counts -------------------------------------------------------------------------------


@audit_function
def row_count_should_be_between(
    ctx: AuditContext, min: float | None = None, max: float | None = None
) -> Outcome:
    """Passes when the number of rows is within [min, max] (inclusive)."""
    _check_bounds(min, max, numeric=True)
    n = ctx.aggregate(F.count(F.lit(1)))[0]
    return Outcome(_in_range(n, min, max), f"row count {_range_text(min, max)}", _plural(n, "row"))


@audit_function
def table_should_not_be_empty(ctx: AuditContext) -> Outcome:
    """Passes when there is at least one row."""
    return row_count_should_be_between(ctx, min=1)


@audit_function
def row_count_change_should_be_within(
    ctx: AuditContext, column: str, max_change_ratio: float
) -> Outcome:
    """Passes when the row count differs from the previous `column` partition by <= the ratio."""
    _check_non_negative(max_change_ratio, "max_change_ratio")
    col = F.col(column)
    n, low, high = ctx.aggregate(F.count(F.lit(1)), F.min(col), F.max(col))
    if n and low is None:
        raise ValueError(f"{column} is null in every audited row: cannot tell the partition")
    if low != high:
        raise ValueError(
            f"the audited rows span several values of {column} ({_show(low)} to {_show(high)}): "
            "'column' must be the partition column"
        )
    expected = f"row count within {_percent(max_change_ratio)} of the previous partition"
    # Empty data has no partition value: compare with the latest published partition instead.
    earlier = ctx.published if low is None else ctx.published.where(col < F.lit(low))
    # Two small look-ups rather than one grouping over the table's whole history. On Iceberg
    # both are answered from the manifests (aggregate push-down) without opening a data file;
    # where delete files are in the way, they read the pruned partitions instead.
    previous = earlier.agg(F.max(col)).first()[0]
    if previous is None:
        return Outcome(True, expected, "no previous partition")
    old = ctx.published.where(col == F.lit(previous)).count()
    change = abs(n - old) / old
    sign = "+" if n >= old else "-"
    actual = f"{_plural(n, 'row')} vs {old} on {_show(previous)} ({sign}{_percent(change)})"
    return Outcome(change <= max_change_ratio, expected, actual)


@audit_function
def row_count_should_equal(
    ctx: AuditContext,
    other_table: str | None = None,
    other_where: str | None = None,
    count: int | None = None,
) -> Outcome:
    """Passes when the row count equals `count` or the row count of `other_table` [where ...]."""
    if (other_table is None) == (count is None):
        raise ValueError("give exactly one of 'other_table' and 'count'")
    if other_where is not None and other_table is None:
        raise ValueError("'other_where' filters 'other_table', which is missing")
    if count is not None:
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError(f"'count' must be a whole number >= 0, got {count!r}")
        n = ctx.aggregate(F.count(F.lit(1)))[0]
        return Outcome(n == count, f"exactly {_plural(count, 'row')}", _plural(n, "row"))
    other = ctx.spark.table(other_table)
    if other_where is not None:
        other = other.where(other_where)
    source = other_table + (f" where {other_where}" if other_where else "")
    # Both counts in one aggregation over the union of the two sides (one scan, one shuffle).
    both = ctx.data.select(F.lit(True).alias("ours")).unionByName(
        other.select(F.lit(False).alias("ours"))
    )
    n, m = both.agg(_count_where(F.col("ours")), _count_where(~F.col("ours"))).first()
    return Outcome(n == m, f"as many rows as {source}", f"{_plural(n, 'row')} vs {m}")


# --- freshness, references, free-form checks ----------------------------------------------------


@audit_function
def data_should_be_fresh(
    ctx: AuditContext, column: str, max_age_days: float, as_of: str | None = None
) -> Outcome:
    """Passes when max(`column`) is at most `max_age_days` days before `as_of` (run date/today)."""
    _check_non_negative(max_age_days, "max_age_days")
    if as_of is not None:
        day = _parse_day(as_of, "'as_of'")
    elif "date" in ctx.params:
        day = _parse_day(ctx.params["date"], "the 'date' parameter")
    else:
        # Sessions run in UTC (see session.py), so "today" is the UTC day too.
        day = datetime.now(timezone.utc).date()
    # Cast in Spark so timestamps become dates in the session time zone, not Python's.
    latest = ctx.aggregate(F.max(F.col(column)).cast("date"))[0]
    expected = f"latest {column} at most {_plural_days(max_age_days)} before {day.isoformat()}"
    if latest is None:
        return Outcome(False, expected, f"no values of {column}")
    age = (day - latest).days
    when = "after" if age < 0 else "before"
    actual = f"latest {latest.isoformat()}, {_plural_days(abs(age))} {when} {day.isoformat()}"
    return Outcome(age <= max_age_days, expected, actual)


@audit_function
def values_should_exist_in(
    ctx: AuditContext, column: str, ref_table: str, ref_column: str
) -> Outcome:
    """Passes when every non-null value of `column` exists in `ref_table`.`ref_column`."""
    values = ctx.data.select(F.col(column).alias("v")).where(F.col("v").isNotNull())
    reference = ctx.spark.table(ref_table).select(F.col(ref_column).alias("r"))
    missing = values.join(reference, F.col("v") == F.col("r"), "left_anti")
    rows, distinct, example = missing.agg(
        F.count(F.lit(1)), F.count_distinct("v"), F.min("v")
    ).first()
    expected = f"every {column} in {ref_table}.{ref_column}"
    if rows == 0:
        return Outcome(True, expected, "all values found")
    actual = (
        f"{_plural(rows, 'row')} ({_plural(distinct, 'distinct value')}) not found, "
        f"e.g. {_show(example)}"
    )
    return Outcome(False, expected, actual)


@audit_function
def expression_should_be_true(ctx: AuditContext, expression: str) -> Outcome:
    """Passes when the SQL boolean `expression` is true on every row (null counts as false)."""
    holds = F.coalesce(F.expr(expression), F.lit(False))
    total, bad = ctx.aggregate(F.count(F.lit(1)), _count_where(~holds))
    expected = f"{expression} on every row"
    if bad == 0:
        return Outcome(True, expected, f"true on all {_plural(total, 'row')}")
    return Outcome(False, expected, f"false or null on {bad} of {_plural(total, 'row')}")


@audit_function
def distinct_count_should_be_between(
    ctx: AuditContext, column: str, min: float | None = None, max: float | None = None
) -> Outcome:
    """Passes when the number of distinct non-null values of `column` is within [min, max]."""
    _check_bounds(min, max, numeric=True)
    n = ctx.aggregate(F.count_distinct(F.col(column)))[0]
    expected = f"distinct {column} count {_range_text(min, max)}"
    return Outcome(_in_range(n, min, max), expected, _plural(n, "distinct value"))


@audit_function
def aggregate_should_be_between(
    ctx: AuditContext, expression: str, min: Any = None, max: Any = None
) -> Outcome:
    """Passes when the aggregate SQL `expression` (e.g. sum(view_hours)) is within [min, max]."""
    _check_bounds(min, max, numeric=False)
    value = F.expr(expression)
    # A null aggregate (e.g. sum over no rows) makes `ok` null, which fails.
    result, ok = ctx.aggregate(value, _inside(value, min, max))
    shown = "null" if result is None else _show(result)
    return Outcome(bool(ok), f"{expression} {_range_text(min, max)}", f"{expression} = {shown}")


# --- schema -----------------------------------------------------------------------------------

# Spellings of the same Spark type; `simpleString()` uses the values.
_TYPE_ALIASES = {
    "integer": "int",
    "long": "bigint",
    "short": "smallint",
    "byte": "tinyint",
    "real": "float",
    "dec": "decimal",
    "numeric": "decimal",
    "timestamp_ltz": "timestamp",
}


def _normalize_type(text: str) -> str:
    t = re.sub(r"\s+", "", text.lower())
    # A DataFrame read from a table shows CHAR/VARCHAR columns as string.
    t = re.sub(r"\b(?:var)?char\(\d+\)", "string", t)
    t = re.sub(r"\b\w+\b", lambda m: _TYPE_ALIASES.get(m.group(0), m.group(0)), t)
    return re.sub(r"\bdecimal\b(?!\()", "decimal(10,0)", t)


@audit_function
def schema_should_match(ctx: AuditContext, columns: dict) -> Outcome:
    """Passes when the data has exactly `columns` (name -> Spark SQL type), in any order."""
    if not isinstance(columns, Mapping) or not columns:
        raise ValueError("'columns' must be a non-empty mapping of column name to type")
    # Names compare case-insensitively, as Spark resolves them by default.
    wanted = {str(name).lower(): (str(name), str(t)) for name, t in columns.items()}
    found = {f.name.lower(): (f.name, f.dataType.simpleString()) for f in ctx.data.schema.fields}
    missing = [wanted[k][0] for k in wanted if k not in found]
    extra = [found[k][0] for k in found if k not in wanted]
    mismatched = [
        f"{found[k][0]} is {found[k][1]}, not {wanted[k][1]}"
        for k in wanted
        if k in found and _normalize_type(found[k][1]) != _normalize_type(wanted[k][1])
    ]
    problems = []
    if missing:
        problems.append("missing " + ", ".join(missing))
    if extra:
        problems.append("extra " + ", ".join(extra))
    problems.extend(mismatched)
    spec = _list_text([f"{name} {t}" for name, t in wanted.values()], quote=False)
    expected = f"exactly {_plural(len(wanted), 'column')}: {spec}"
    return Outcome(not problems, expected, "; ".join(problems) or "schema matches")
