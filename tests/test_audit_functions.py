"""The audit function library: every function passes on good data and fails on bad data."""

from __future__ import annotations

import inspect
from datetime import date, datetime

import pytest

from sparkplate.audits import functions as fn
from sparkplate.audits.base import AUDIT_FUNCTIONS, AuditContext

VOCABULARY = [
    "columns_should_not_have_nulls",
    "column_null_ratio_should_be_below",
    "columns_should_be_unique",
    "column_values_should_be_in",
    "column_values_should_be_between",
    "column_values_should_match_regex",
    "row_count_should_be_between",
    "table_should_not_be_empty",
    "row_count_change_should_be_within",
    "data_should_be_fresh",
    "values_should_exist_in",
    "expression_should_be_true",
    "schema_should_match",
    "distinct_count_should_be_between",
    "aggregate_should_be_between",
    "row_count_should_equal",
]

SCHEMA = (
    "title_id INT, country_code STRING, views BIGINT, view_hours DOUBLE, day DATE, "
    "updated_at TIMESTAMP"
)
D5, D6, D7 = date(2024, 1, 5), date(2024, 1, 6), date(2024, 1, 7)
NOON = datetime(2024, 1, 7, 12, 0)

GOOD_ROWS = [
    (1, "US", 100, 10.5, D7, NOON),
    (2, "FR", 200, 20.0, D7, NOON),
    (3, "US", 300, 30.0, D7, NOON),
    (4, "DE", 400, 0.0, D7, NOON),
]
BAD_ROWS = [
    (1, "US", 100, 10.5, D7, NOON),
    (1, "US", 150, 5.0, D7, NOON),  # duplicated key (1, US)
    (None, "XX", -5, None, D7, NOON),  # null id, unknown country, negative views
    (2, None, 200, 20.0, D7, NOON),
    (7, "us", 9999, 1.0, D6, NOON),  # lower-case country, id missing from the reference
    (None, None, 50, 2.0, D7, NOON),  # all-null key
]
REF_VIEW = "audit_functions_test_ref_titles"


def context(spark, data, published=None, params=None) -> AuditContext:
    return AuditContext(
        spark=spark,
        table="db.top_titles",
        data=data,
        published=published if published is not None else data.limit(0),
        params=params or {},
    )


@pytest.fixture(scope="module")
def good(spark):
    return context(spark, spark.createDataFrame(GOOD_ROWS, SCHEMA).cache())


@pytest.fixture(scope="module")
def bad(spark):
    return context(spark, spark.createDataFrame(BAD_ROWS, SCHEMA).cache())


@pytest.fixture(scope="module")
def empty(spark):
    return context(spark, spark.createDataFrame([], SCHEMA))


@pytest.fixture(scope="module")
def history(spark):
    """The published table: 3 rows on Jan 5, 4 rows on Jan 6."""
    rows = [(i, "US", 1, 1.0, D5, NOON) for i in range(3)]
    rows += [(i, "US", 1, 1.0, D6, NOON) for i in range(4)]
    return spark.createDataFrame(rows, SCHEMA).cache()


@pytest.fixture(scope="module")
def ref_titles(spark):
    spark.createDataFrame([(i,) for i in (1, 2, 3, 4)], "title_id INT").createOrReplaceTempView(
        REF_VIEW
    )
    yield REF_VIEW
    spark.catalog.dropTempView(REF_VIEW)


# --- the registry (no Spark) ------------------------------------------------------------------


def test_every_function_of_the_vocabulary_is_registered_and_nothing_else():
    ours = {n for n, f in AUDIT_FUNCTIONS.items() if f.run.__module__ == fn.__name__}
    assert sorted(ours) == sorted(VOCABULARY)


@pytest.mark.parametrize("name", VOCABULARY)
def test_functions_take_ctx_first_and_have_a_one_line_docstring(name):
    run = AUDIT_FUNCTIONS[name].run
    assert next(iter(inspect.signature(run).parameters)) == "ctx"
    doc = inspect.getdoc(run)
    assert doc and "\n" not in doc and doc.startswith("Passes when")


def test_problems_with_reports_missing_and_unknown_arguments():
    between = AUDIT_FUNCTIONS["column_values_should_be_between"]
    assert between.required == ("column",)
    assert between.optional == ("min", "max")
    assert between.problems_with({"column": "views", "min": 0}) == []
    problems = between.problems_with({"minimum": 0})
    assert "missing argument 'column'" in problems
    assert any(p.startswith("unknown argument 'minimum'") and "max, min" in p for p in problems)
    assert AUDIT_FUNCTIONS["table_should_not_be_empty"].problems_with({"min": 1}) == [
        "unknown argument 'min' (allowed: none)"
    ]


@pytest.mark.parametrize(
    "name, args, message",
    [
        ("column_values_should_be_between", {"column": "views"}, "at least one"),
        ("row_count_should_be_between", {}, "at least one"),
        ("distinct_count_should_be_between", {"column": "c"}, "at least one"),
        ("aggregate_should_be_between", {"expression": "sum(views)"}, "at least one"),
        ("row_count_should_be_between", {"min": 5, "max": 1}, "greater than"),
        ("row_count_should_be_between", {"min": "5"}, "must be a number"),
        ("row_count_should_equal", {}, "exactly one"),
        ("row_count_should_equal", {"other_table": "t", "count": 3}, "exactly one"),
        ("row_count_should_equal", {"count": 3, "other_where": "x = 1"}, "other_where"),
        ("row_count_should_equal", {"count": -1}, "whole number"),
        ("column_values_should_be_in", {"column": "c", "values": []}, "non-empty"),
        ("columns_should_not_have_nulls", {"columns": []}, "non-empty"),
        ("column_null_ratio_should_be_below", {"column": "c", "max_ratio": -0.1}, ">= 0"),
        ("data_should_be_fresh", {"column": "d", "max_age_days": 1, "as_of": "soon"}, "date"),
        ("row_count_change_should_be_within", {"column": "d", "max_change_ratio": "x"}, ">= 0"),
        ("schema_should_match", {"columns": ["a"]}, "mapping"),
    ],
)
def test_argument_mistakes_raise_before_touching_data(name, args, message):
    with pytest.raises(ValueError, match=message):
        AUDIT_FUNCTIONS[name].run(None, **args)


def test_type_spellings_normalize_to_simple_strings():
    norm = fn._normalize_type
    assert norm("INTEGER") == norm("int") == "int"
    assert norm("LONG") == "bigint"
    assert norm("DECIMAL(10, 2)") == "decimal(10,2)"
    assert norm("decimal") == "decimal(10,0)"
    assert norm("VARCHAR(20)") == "string"
    assert norm("ARRAY<STRUCT<a: INTEGER, b: STRING>>") == "array<struct<a:int,b:string>>"


# --- null checks ------------------------------------------------------------------------------


@pytest.mark.spark
def test_columns_should_not_have_nulls(good, bad, empty):
    columns = ["title_id", "country_code"]
    ok = fn.columns_should_not_have_nulls(good, columns=columns)
    assert ok.success and ok.expected == "no nulls in title_id, country_code"
    assert ok.actual == "no nulls"
    failed = fn.columns_should_not_have_nulls(bad, columns=columns + ["views"])
    assert not failed.success
    assert failed.actual == "2 nulls in title_id, 2 nulls in country_code"
    assert fn.columns_should_not_have_nulls(empty, columns="title_id").success


@pytest.mark.spark
def test_column_null_ratio_should_be_below(good, bad, empty):
    assert fn.column_null_ratio_should_be_below(good, column="title_id", max_ratio=0).success
    failed = fn.column_null_ratio_should_be_below(bad, column="title_id", max_ratio=0.2)
    assert not failed.success
    assert failed.actual == "2 of 6 rows null (33.33%)"
    # The bound is inclusive: exactly a third of nulls is allowed by 1/3.
    assert fn.column_null_ratio_should_be_below(bad, column="title_id", max_ratio=1 / 3).success
    no_rows = fn.column_null_ratio_should_be_below(empty, column="title_id", max_ratio=0)
    assert no_rows.success and no_rows.actual == "no rows"


# --- uniqueness and accepted values -----------------------------------------------------------


@pytest.mark.spark
def test_columns_should_be_unique(good, bad):
    key = ["title_id", "country_code"]
    ok = fn.columns_should_be_unique(good, columns=key)
    assert ok.success and ok.actual == "no duplicated keys"
    failed = fn.columns_should_be_unique(bad, columns=key)
    assert not failed.success
    assert failed.actual == "1 duplicated key over 2 rows, e.g. (title_id=1, country_code='US')"
    single = fn.columns_should_be_unique(bad, columns=["title_id"])
    # The two null ids are not a duplicate (dbt `unique`), only id 1 is.
    assert single.actual == "1 duplicated key over 2 rows, e.g. 1"


@pytest.mark.spark
def test_columns_should_be_unique_counts_keys_not_rows(spark):
    data = spark.createDataFrame([(1,), (1,), (1,), (2,), (2,), (None,), (None,)], "id INT")
    failed = fn.columns_should_be_unique(context(spark, data), columns=["id"])
    assert failed.actual == "2 duplicated keys over 5 rows, e.g. 1"


@pytest.mark.spark
def test_column_values_should_be_in(good, bad):
    values = ["US", "FR", "DE"]
    ok = fn.column_values_should_be_in(good, column="country_code", values=values)
    assert ok.success and ok.expected == "country_code in 'US', 'FR', 'DE'"
    # Nulls are ignored; 'XX' and 'us' are not accepted.
    failed = fn.column_values_should_be_in(bad, column="country_code", values=values)
    assert not failed.success
    assert failed.actual == "2 rows with other values, e.g. 'XX'"


@pytest.mark.spark
def test_column_values_should_be_between(good, bad, empty):
    ok = fn.column_values_should_be_between(good, column="views", min=100, max=400)
    assert ok.success and ok.actual == "all within (min 100, max 400)"
    failed = fn.column_values_should_be_between(bad, column="views", min=0, max=1000)
    assert not failed.success
    assert failed.actual == "2 values outside (min -5, max 9999)"
    only_min = fn.column_values_should_be_between(bad, column="views", min=0)
    assert not only_min.success and only_min.actual.startswith("1 value outside")
    assert only_min.expected == "views at least 0"
    # Nulls are ignored.
    assert fn.column_values_should_be_between(bad, column="view_hours", min=0).success
    nothing = fn.column_values_should_be_between(empty, column="views", max=0)
    assert nothing.success and nothing.actual == "no non-null values"


@pytest.mark.spark
def test_column_values_should_be_between_dates_with_string_bounds(good, bad):
    args = {"column": "day", "min": "2024-01-07", "max": "2024-01-31"}
    assert fn.column_values_should_be_between(good, **args).success
    failed = fn.column_values_should_be_between(bad, **args)
    assert not failed.success and "min 2024-01-06" in failed.actual
    # YAML reads an unquoted 2024-01-07 as a date.
    assert fn.column_values_should_be_between(good, column="day", max=D7).success


@pytest.mark.spark
def test_column_values_should_match_regex(good, bad):
    ok = fn.column_values_should_match_regex(good, column="country_code", regex="^[A-Z]{2}$")
    assert ok.success and ok.actual == "all values match"
    failed = fn.column_values_should_match_regex(bad, column="country_code", regex="^[A-Z]{2}$")
    assert not failed.success and failed.actual == "1 value not matching, e.g. 'us'"
    # Non-string columns are matched on their text.
    assert fn.column_values_should_match_regex(good, column="title_id", regex=r"^\d+$").success


# --- row counts -------------------------------------------------------------------------------


@pytest.mark.spark
def test_row_count_should_be_between(good, empty):
    ok = fn.row_count_should_be_between(good, min=1, max=4)
    assert ok.success and ok.expected == "row count between 1 and 4" and ok.actual == "4 rows"
    failed = fn.row_count_should_be_between(good, max=3)
    assert not failed.success and failed.actual == "4 rows"
    assert fn.row_count_should_be_between(empty, max=0).success


@pytest.mark.spark
def test_table_should_not_be_empty(good, empty):
    assert fn.table_should_not_be_empty(good).success
    failed = fn.table_should_not_be_empty(empty)
    assert not failed.success
    assert failed.expected == "row count at least 1" and failed.actual == "0 rows"


@pytest.mark.spark
def test_row_count_change_should_be_within(spark, good, history):
    ctx = context(spark, good.data, published=history)
    ok = fn.row_count_change_should_be_within(ctx, column="day", max_change_ratio=0.1)
    assert ok.success and ok.actual == "4 rows vs 4 on 2024-01-06 (+0%)"
    grown = spark.createDataFrame(GOOD_ROWS * 2, SCHEMA)
    failed = fn.row_count_change_should_be_within(
        context(spark, grown, published=history), column="day", max_change_ratio=0.5
    )
    assert not failed.success and failed.actual == "8 rows vs 4 on 2024-01-06 (+100%)"


@pytest.mark.spark
def test_row_count_change_ignores_the_partition_itself_and_later_ones(spark, good, history):
    # A re-run: main already holds Jan 7 (1 row) and a later day; Jan 6 is still the previous one.
    rerun = history.unionByName(spark.createDataFrame(GOOD_ROWS[:1], SCHEMA))
    later = [(9, "US", 1, 1.0, date(2024, 1, 9), NOON)]
    published = rerun.unionByName(spark.createDataFrame(later, SCHEMA))
    ctx = context(spark, good.data, published=published)
    outcome = fn.row_count_change_should_be_within(ctx, column="day", max_change_ratio=0)
    assert outcome.success and "on 2024-01-06" in outcome.actual


@pytest.mark.spark
def test_row_count_change_without_previous_partition_passes(spark, good, history):
    new_table = fn.row_count_change_should_be_within(good, column="day", max_change_ratio=0.1)
    assert new_table.success and new_table.actual == "no previous partition"
    first_day = spark.createDataFrame([(1, "US", 1, 1.0, D5, NOON)], SCHEMA)
    ctx = context(spark, first_day, published=history)
    outcome = fn.row_count_change_should_be_within(ctx, column="day", max_change_ratio=0.1)
    assert outcome.success and outcome.actual == "no previous partition"


@pytest.mark.spark
def test_row_count_change_on_empty_data_compares_with_latest_partition(spark, empty, history):
    ctx = context(spark, empty.data, published=history)
    failed = fn.row_count_change_should_be_within(ctx, column="day", max_change_ratio=0.5)
    assert not failed.success and failed.actual == "0 rows vs 4 on 2024-01-06 (-100%)"
    assert fn.row_count_change_should_be_within(empty, column="day", max_change_ratio=0).success


@pytest.mark.spark
def test_row_count_change_needs_a_single_partition(bad):
    with pytest.raises(ValueError, match="several values of day"):
        fn.row_count_change_should_be_within(bad, column="day", max_change_ratio=0.1)


@pytest.mark.spark
def test_row_count_should_equal_a_count(good):
    ok = fn.row_count_should_equal(good, count=4)
    assert ok.success and ok.expected == "exactly 4 rows"
    failed = fn.row_count_should_equal(good, count=5)
    assert not failed.success and failed.actual == "4 rows"


@pytest.mark.spark
def test_row_count_should_equal_another_table(good, ref_titles):
    ok = fn.row_count_should_equal(good, other_table=ref_titles)
    assert ok.success and ok.actual == "4 rows vs 4"
    failed = fn.row_count_should_equal(good, other_table=ref_titles, other_where="title_id > 1")
    assert not failed.success and failed.actual == "4 rows vs 3"
    assert failed.expected == f"as many rows as {ref_titles} where title_id > 1"


# --- freshness, references, free-form checks ----------------------------------------------------


@pytest.mark.spark
def test_data_should_be_fresh(good):
    ok = fn.data_should_be_fresh(good, column="updated_at", max_age_days=1, as_of="2024-01-08")
    assert ok.success and ok.actual == "latest 2024-01-07, 1 day before 2024-01-08"
    failed = fn.data_should_be_fresh(good, column="day", max_age_days=2, as_of="2024-01-10")
    assert not failed.success and failed.actual == "latest 2024-01-07, 3 days before 2024-01-10"
    assert fn.data_should_be_fresh(good, column="day", max_age_days=0, as_of=D7).success


@pytest.mark.spark
def test_data_should_be_fresh_defaults_to_the_run_date(spark, good):
    ctx = context(spark, good.data, params={"date": "2024-01-09", "run_id": "r1"})
    failed = fn.data_should_be_fresh(ctx, column="day", max_age_days=1)
    assert not failed.success and failed.expected.endswith("before 2024-01-09")
    # Without a date parameter, today: 2024 data is stale.
    assert not fn.data_should_be_fresh(good, column="day", max_age_days=30).success
    # Data dated after the reference day is fresh.
    future = fn.data_should_be_fresh(good, column="day", max_age_days=0, as_of="2024-01-05")
    assert future.success and "2 days after" in future.actual


@pytest.mark.spark
def test_data_should_be_fresh_fails_without_data(empty):
    failed = fn.data_should_be_fresh(empty, column="day", max_age_days=1, as_of="2024-01-07")
    assert not failed.success and failed.actual == "no values of day"


@pytest.mark.spark
def test_values_should_exist_in(good, bad, ref_titles):
    args = {"column": "title_id", "ref_table": ref_titles, "ref_column": "title_id"}
    ok = fn.values_should_exist_in(good, **args)
    assert ok.success and ok.actual == "all values found"
    # Nulls are ignored; 7 is not a known title.
    failed = fn.values_should_exist_in(bad, **args)
    assert not failed.success and failed.actual == "1 row (1 distinct value) not found, e.g. 7"


@pytest.mark.spark
def test_expression_should_be_true(good, bad):
    ok = fn.expression_should_be_true(good, expression="views >= 0 AND view_hours >= 0")
    assert ok.success and ok.actual == "true on all 4 rows"
    failed = fn.expression_should_be_true(bad, expression="views >= 0")
    assert not failed.success and failed.actual == "false or null on 1 of 6 rows"
    # A null result fails too: the row with null view_hours.
    nulls = fn.expression_should_be_true(bad, expression="view_hours >= 0")
    assert not nulls.success and nulls.actual == "false or null on 1 of 6 rows"


@pytest.mark.spark
def test_distinct_count_should_be_between(good, bad):
    ok = fn.distinct_count_should_be_between(good, column="country_code", min=2, max=3)
    assert ok.success and ok.actual == "3 distinct values"
    failed = fn.distinct_count_should_be_between(good, column="country_code", max=2)
    assert not failed.success and failed.actual == "3 distinct values"
    # Null is not a value: US, XX, us.
    assert fn.distinct_count_should_be_between(bad, column="country_code", max=3).success


@pytest.mark.spark
def test_aggregate_should_be_between(good, empty):
    ok = fn.aggregate_should_be_between(good, expression="sum(views)", min=500, max=1000)
    assert ok.success and ok.actual == "sum(views) = 1000"
    failed = fn.aggregate_should_be_between(good, expression="avg(view_hours)", min=20)
    assert not failed.success and failed.actual == "avg(view_hours) = 15.125"
    dates = fn.aggregate_should_be_between(good, expression="max(day)", min="2024-01-07")
    assert dates.success and dates.actual == "max(day) = 2024-01-07"
    # A sum over no rows is null, which is not within any bounds.
    nothing = fn.aggregate_should_be_between(empty, expression="sum(views)", min=0)
    assert not nothing.success and nothing.actual == "sum(views) = null"


# --- schema (reads the schema only) -------------------------------------------------------------

DECLARED = {
    "title_id": "INT",
    "country_code": "STRING",
    "views": "BIGINT",
    "view_hours": "DOUBLE",
    "day": "DATE",
    "updated_at": "TIMESTAMP",
}


@pytest.mark.spark
def test_schema_should_match(good):
    ok = fn.schema_should_match(good, columns=DECLARED)
    assert ok.success and ok.actual == "schema matches"
    # Other spellings of the same types and names in another case match too.
    spelled = {**DECLARED, "title_id": "integer", "views": "LONG"}
    spelled["Country_Code"] = spelled.pop("country_code")
    assert fn.schema_should_match(good, columns=spelled).success


@pytest.mark.spark
def test_schema_should_match_reports_every_difference(good):
    declared = {**DECLARED, "views": "INT", "region": "STRING"}
    del declared["updated_at"]
    failed = fn.schema_should_match(good, columns=declared)
    assert not failed.success
    assert failed.actual == "missing region; extra updated_at; views is bigint, not INT"


@pytest.mark.spark
def test_schema_should_match_decimals(spark):
    data = spark.createDataFrame([], "amount DECIMAL(10,2)")
    ctx = context(spark, data)
    assert fn.schema_should_match(ctx, columns={"amount": "DECIMAL(10, 2)"}).success
    failed = fn.schema_should_match(ctx, columns={"amount": "DECIMAL(12,2)"})
    assert not failed.success and failed.actual == "amount is decimal(10,2), not DECIMAL(12,2)"
