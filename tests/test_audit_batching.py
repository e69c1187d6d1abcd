"""The runner batches the audits' plain aggregates into one Spark job; results must not change."""

from __future__ import annotations

import uuid

import pytest

from sparkplate.audits import AUDIT_FUNCTIONS, AuditContext
from sparkplate.audits.record import run_audits

pytestmark = pytest.mark.spark

ROWS = [(1, "US", 3, 10.5), (2, "US", 1, 20.0), (2, "FR", 1, 0.0), (None, "DE", 7, 5.0)]
AUDITS = [
    {"function": "columns_should_not_have_nulls", "columns": ["id", "country"]},
    {"function": "column_values_should_be_between", "column": "rank", "min": 1, "max": 5},
    {"function": "expression_should_be_true", "expression": "hours > 0"},
    {"function": "table_should_not_be_empty"},
    {"function": "row_count_should_be_between", "min": 1, "max": 3, "blocking": False},
    {"function": "columns_should_be_unique", "columns": ["id", "country"]},
    {"function": "distinct_count_should_be_between", "column": "country", "max": 10},
    {"function": "aggregate_should_be_between", "expression": "sum(hours)", "min": 1},
]


@pytest.fixture(scope="module")
def ctx(spark):
    data = spark.createDataFrame(ROWS, "id INT, country STRING, rank INT, hours DOUBLE").cache()
    return AuditContext(spark, "db.t", data, data.limit(0), {"date": "2024-01-01"})


def one_by_one(ctx, entries):
    outcomes = []
    for entry in entries:
        args = {k: v for k, v in entry.items() if k not in ("function", "blocking", "name")}
        outcomes.append(AUDIT_FUNCTIONS[entry["function"]].run(ctx, **args))
    return [(o.success, o.expected, o.actual) for o in outcomes]


def jobs_run_by(spark, action) -> int:
    group = f"audit-batching-{uuid.uuid4().hex}"  # a group of its own: counts are cumulative
    spark.sparkContext.setJobGroup(group, "count the jobs of one action")
    try:
        action()
    finally:
        spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)
    return len(spark.sparkContext.statusTracker().getJobIdsForGroup(group))


def test_batched_results_equal_one_by_one_results(ctx):
    batched = [(r.success, r.expected, r.actual) for r in run_audits(ctx, AUDITS)]
    assert batched == one_by_one(ctx, AUDITS)
    assert [r.success for r in run_audits(ctx, AUDITS)] == [
        False, False, False, True, False, True, True, True,
    ]  # fmt: skip


def test_batching_runs_fewer_spark_jobs(spark, ctx):
    batched = jobs_run_by(spark, lambda: run_audits(ctx, AUDITS))
    alone = jobs_run_by(spark, lambda: one_by_one(ctx, AUDITS))
    # One job (two with adaptive execution) for all eight aggregates.
    assert batched <= 2 < alone, (batched, alone)


def test_a_broken_audit_fails_alone(ctx):
    entries = [{"function": "columns_should_not_have_nulls", "columns": ["no_such_column"]},
               *AUDITS[2:4]]  # fmt: skip
    results = run_audits(ctx, entries)
    assert results[0].success is False and "error" in results[0].actual
    assert "no_such_column" in results[0].actual
    assert [r.success for r in results[1:]] == [False, True]


@pytest.mark.parametrize("ansi", [True, False], ids=["ansi", "legacy"])
def test_a_division_by_zero_fails_its_audit_alone_in_either_sql_mode(spark, ctx, ansi):
    """Spark 4 turns ANSI mode on: a division by zero is an error, not a NULL. Either way the
    audit fails, says why (ANSI: Spark's message, which names try_divide), and the batch's other
    audits still pass."""
    before = spark.conf.get("spark.sql.ansi.enabled")
    spark.conf.set("spark.sql.ansi.enabled", str(ansi).lower())
    try:
        divide = {
            "function": "expression_should_be_true",
            "expression": "hours / (rank - rank) > 0",
        }
        entries = [divide, {"function": "table_should_not_be_empty"}]
        divided, other = run_audits(ctx, entries)
    finally:
        spark.conf.set("spark.sql.ansi.enabled", before)
    assert divided.success is False and other.success is True
    if ansi:
        assert divided.actual.startswith("error: ") and "DIVIDE_BY_ZERO" in divided.actual
    else:
        assert divided.actual == "false or null on 4 of 4 rows"
