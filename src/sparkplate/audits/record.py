"""Run a workflow's audits and record every result in the audit-results table."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pyspark.sql import Column, Row, SparkSession

from sparkplate import faults, iceberg
from sparkplate.audits.base import AUDIT_FUNCTIONS, AuditContext, Outcome
from sparkplate.errors import spark_message
from sparkplate.sqlscript import run_statement
from sparkplate.sqltext import quote_string, sql_literal

# Reserved keys of an audit entry; everything else is an argument of the function.
AUDIT_KEYS = ("function", "blocking", "name")

RESULT_COLUMNS = (
    "run_id STRING, workflow_id STRING, job_id STRING, table_name STRING, ref STRING, "
    "snapshot_id BIGINT, audit STRING, function STRING, arguments STRING, blocking BOOLEAN, "
    "success BOOLEAN, severity STRING, expected STRING, actual STRING, audited_at TIMESTAMP"
)


def results_table() -> str:
    return os.environ.get("SPARKPLATE_AUDIT_TABLE", "sparkplate.audit_results")


@dataclass(frozen=True)
class AuditResult:
    audit: str  # the entry's name (defaults to the function name)
    function: str
    arguments: dict[str, Any]
    blocking: bool
    success: bool
    expected: str
    actual: str

    @property
    def severity(self) -> str:
        if self.success:
            return "ok"
        return "error" if self.blocking else "warning"

    def line(self) -> str:
        mark = {"ok": "pass", "warning": "WARN", "error": "FAIL"}[self.severity]
        kind = "blocking" if self.blocking else "non-blocking"
        text = f"  [{mark}] {self.audit} ({kind})"
        return text if self.success else f"{text}: expected {self.expected}; got {self.actual}"


def split_entry(entry: dict[str, Any]) -> tuple[str, str, bool, dict[str, Any]]:
    function = str(entry["function"])
    name = str(entry.get("name") or function)
    blocking = bool(entry.get("blocking", True))
    args = {k: v for k, v in entry.items() if k not in AUDIT_KEYS}
    return name, function, blocking, args


class _Planned(Exception):
    """Raised by a planning context once an audit has asked for its first aggregate."""


class _Unavailable:
    """Stands in for data, tables and the session while planning: using them ends the plan."""

    def __getattr__(self, name: str):
        raise _Planned()


@dataclass(frozen=True)
class _PlanningContext(AuditContext):
    asked: list = field(default_factory=list)

    def aggregate(self, *columns: Column) -> Row:
        self.asked.extend(columns)
        raise _Planned()


@dataclass(frozen=True)
class _AnsweredContext(AuditContext):
    answers: list = field(default_factory=list)  # the planned first aggregate, if any

    def aggregate(self, *columns: Column) -> Row:
        if self.answers and len(self.answers[0]) == len(columns):
            return self.answers.pop()
        return super().aggregate(*columns)


def _planning_context(table: str = "", params: Mapping[str, str] | None = None):
    nothing = _Unavailable()
    return _PlanningContext(nothing, table, nothing, nothing, params or {})


def argument_errors(function: str, args: dict[str, Any]) -> list[str]:
    """What is wrong with the argument values (min > max, no bound...), found without data.

    Functions check their arguments before they build any Spark expression or look at data, so
    calling them with a planning context, Spark or not, finds these.
    Arguments that still hold ${...} are only known at run time and are not checked here.
    """
    if "${" in json.dumps(args, default=str):
        return []
    try:
        AUDIT_FUNCTIONS[function].run(_planning_context(), **args)
    except (ValueError, TypeError) as err:
        return [str(err)]
    except Exception:  # _Planned, or a Spark column built without a session: the values passed
        return []
    return []


def _batched_answers(ctx: AuditContext, entries: list[dict[str, Any]]) -> list[Row | None]:
    """The first aggregate each audit asks for, all computed in one Spark job.

    Each audit function is called once against a planning context that records the columns of
    its first `ctx.aggregate(...)` and stops it there. Audits that look at anything else first
    (a join, the published table, the schema) are left to run as they are.
    """
    plans: list[list[Column]] = []
    for entry in entries:
        _, function, _, args = split_entry(entry)
        planning = _planning_context(ctx.table, ctx.params)
        try:
            AUDIT_FUNCTIONS[function].run(planning, **args)
        except _Planned:
            pass
        except Exception:  # argument errors surface when the audit really runs
            planning.asked.clear()
        plans.append(list(planning.asked))
    columns = [c.alias(f"a{i}_{j}") for i, plan in enumerate(plans) for j, c in enumerate(plan)]
    if not columns:
        return [None] * len(entries)
    try:
        row = ctx.data.agg(*columns).first()
    except Exception:  # e.g. a misspelt column: let each audit run alone and report its own error
        return [None] * len(entries)
    answers, at = [], 0
    for plan in plans:
        answers.append(Row(*row[at : at + len(plan)]) if plan else None)
        at += len(plan)
    return answers


def run_audits(ctx: AuditContext, entries: list[dict[str, Any]]) -> list[AuditResult]:
    """Run every audit; a failure does not stop the others, so one run shows all problems.

    Each audit on its own would be a Spark job or two, and on a run's small output a job costs
    more in scheduling than in work; so their plain aggregates are batched into one job first.
    """
    answers = _batched_answers(ctx, entries)
    results = []
    for entry, answer in zip(entries, answers, strict=True):
        name, function, blocking, args = split_entry(entry)
        answered = _AnsweredContext(ctx.spark, ctx.table, ctx.data, ctx.published, ctx.params,
                                    [answer] if answer is not None else [])  # fmt: skip
        try:
            outcome = AUDIT_FUNCTIONS[function].run(answered, **args)
        except Exception as err:  # a bad argument or a Spark error is a failed audit, recorded
            # A Java-side failure says only "An error occurred while calling o113..." in its
            # first line; the Java exception and its cause say what (DIVIDE_BY_ZERO, ...).
            message = spark_message(err).splitlines()[0]
            outcome = Outcome(False, "the audit to run", f"error: {message}")
        results.append(
            AuditResult(
                name, function, args, blocking, outcome.success, outcome.expected, outcome.actual
            )
        )
    return results


def record(
    spark: SparkSession,
    results: list[AuditResult],
    *,
    run_id: str,
    workflow_id: str,
    job_id: str,
    table: str,
    ref: str,
    snapshot_id: int | None,
) -> None:
    """Append the results in one commit, creating the results table on first use."""
    if not results:
        return
    target = results_table()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    types = [column.split()[-1] for column in RESULT_COLUMNS.split(", ")]
    rows = [
        (run_id, workflow_id, job_id, table, ref, snapshot_id, r.audit, r.function,
         json.dumps(r.arguments, default=str, sort_keys=True), r.blocking, r.success,
         r.severity, r.expected, r.actual, now)
        for r in results
    ]  # fmt: skip
    # A VALUES list keeps the rows in the JVM (createDataFrame would start Python workers).
    values = ",\n".join(
        "(" + ", ".join(sql_literal(v, t) for v, t in zip(row, types, strict=True)) + ")"
        for row in rows
    )
    faults.point("while_recording_audits")
    # Runs of every table append here, one at a time (the Hadoop catalog's commits are not safe
    # concurrently); taken after the audited table's lock, never before it, so no deadlock.
    with iceberg.table_lock(spark, target, about={"run_id": run_id, "workflow": workflow_id}):
        # The lock is this machine's only where the warehouse is not local: runs elsewhere may
        # create these at the same moment.
        run_statement(spark, f"CREATE NAMESPACE IF NOT EXISTS {target.rsplit('.', 1)[0]}")
        run_statement(
            spark,
            f"CREATE TABLE IF NOT EXISTS {target} ({RESULT_COLUMNS}) USING iceberg "
            "COMMENT 'Every audit sparkplate ran: what was checked, expected and found.'",
        )
        spark.sql(f"INSERT INTO {target} VALUES {values}")


def last_results(spark: SparkSession, table: str):
    """The results of the latest audited run of `table`, or [] when none is recorded."""
    target = results_table()
    if not spark.catalog.tableExists(target):
        return []
    return spark.sql(
        f"SELECT * FROM {target} WHERE table_name = {quote_string(table)} AND run_id = "
        f"(SELECT max_by(run_id, audited_at) FROM {target} WHERE table_name = "
        f"{quote_string(table)}) ORDER BY audit"
    ).collect()
