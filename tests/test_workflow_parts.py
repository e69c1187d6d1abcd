"""The pieces a run is built from, checked one by one: SQL text, parameters, dates, audit arguments.

No Spark here: conftest's `no_spark`, on every test not marked `spark`, makes starting a session
fail the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sparkplate.audits.record import argument_errors
from sparkplate.engine import run_workflow
from sparkplate.errors import SparkplateError
from sparkplate.jobs.sub_workflow import dates_for
from sparkplate.params import substitute
from sparkplate.sqltext import columns_of, split_top_level, strip_comments
from sparkplate.workflow import Workflow

# --- sqltext ------------------------------------------------------------------------------------


def test_split_ignores_separators_in_quotes_comments_and_parentheses():
    text = "a, 'b,c', \"d,e\", `f,g`, fn(h, i), j -- k, l\n, m"

    assert split_top_level(text) == [
        "a",
        "'b,c'",
        '"d,e"',
        "`f,g`",
        "fn(h, i)",
        "j -- k, l",  # the comment stays with its part; its comma cuts nothing
        "m",
    ]


def test_split_on_semicolons_drops_empty_statements():
    text = "SELECT ';' AS a;\n\nSELECT (1; 2);  ;\nSELECT 3;"

    assert split_top_level(text, ";") == ["SELECT ';' AS a", "SELECT (1; 2)", "SELECT 3"]


def test_backslash_escaped_quote_does_not_end_the_string():
    text = r"title_rank INT COMMENT 'title\'s rank, 1 = top', view_hours DOUBLE"

    assert split_top_level(text) == [
        r"title_rank INT COMMENT 'title\'s rank, 1 = top'",
        "view_hours DOUBLE",
    ]


def test_apostrophe_in_a_line_comment_opens_no_string():
    text = "a INT, -- the job's own key\nb STRING, c INT"

    assert split_top_level(text) == ["a INT", "-- the job's own key\nb STRING", "c INT"]


def test_columns_of_reads_names_and_types_in_order():
    ddl = """
    -- the writer's table (an apostrophe here opens nothing)
    CREATE TABLE IF NOT EXISTS ${target_table} (
        `id` BIGINT NOT NULL COMMENT 'row id, unique',
        amount DECIMAL(10, 2) COMMENT 'in (USD), rounded',
        title_rank INT COMMENT 'title\\'s rank, 1 = top',
        `Country_Code` STRING  -- ISO code, e.g. 'BR'
    )
    USING iceberg
    PARTITIONED BY (days(ts))
    COMMENT 'one table (of many)'
    """

    columns = columns_of(ddl)

    assert list(columns.items()) == [
        ("id", "BIGINT"),
        ("amount", "DECIMAL(10,2)"),
        ("title_rank", "INT"),
        ("country_code", "STRING"),
    ]


def test_columns_of_without_a_create_table_is_a_value_error():
    with pytest.raises(ValueError, match="no CREATE TABLE"):
        columns_of("ALTER TABLE t ADD COLUMN x INT")


def test_strip_comments_keeps_dashes_inside_quotes():
    sql = "SELECT '--not a comment' AS a, \"x -- y\" AS b -- a comment's end\nFROM t -- last"

    assert strip_comments(sql) == "SELECT '--not a comment' AS a, \"x -- y\" AS b \nFROM t "


# --- parameters ---------------------------------------------------------------------------------

PARAMS = {"top_n": "3", "ratio": "0.5", "below": "-2", "date": "2024-01-01", "code": "007x"}


@pytest.mark.parametrize(
    "value, expected",
    [("${top_n}", 3), ("${ratio}", 0.5), ("${below}", -2)],
    ids=["int", "float", "negative"],
)
def test_a_whole_reference_to_a_number_becomes_a_number(value, expected):
    result = substitute(value, PARAMS)

    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("top ${top_n}", "top 3"),
        ("${top_n}${top_n}", "33"),
        ("${date}T23:59:59", "2024-01-01T23:59:59"),
        ("${date}", "2024-01-01"),
        ("${code}", "007x"),
        ("no reference", "no reference"),
    ],
)
def test_anything_else_stays_a_string(value, expected):
    assert substitute(value, PARAMS) == expected


def test_substitute_goes_into_mappings_and_lists():
    spec = {"max": "${top_n}", "columns": ["c_${date}", "${ratio}"], "blocking": True, "n": 4}

    assert substitute(spec, PARAMS) == {
        "max": 3,
        "columns": ["c_2024-01-01", 0.5],
        "blocking": True,
        "n": 4,
    }


def test_an_unknown_parameter_names_the_file_and_key():
    spec = {"params": {"date": "${date}", "out": ["x", "run ${run}"]}}

    with pytest.raises(SparkplateError) as err:
        substitute(spec, PARAMS, "main.sch.yaml", "workflow.jobs[2].job")

    key = "workflow.jobs[2].job.params.out[1]"
    assert (err.value.file, err.value.key) == ("main.sch.yaml", key)
    assert str(err.value).startswith(
        "main.sch.yaml [workflow.jobs[2].job.params.out[1]]: unknown parameter ${run}"
    )


# --- dates of a for_each_date -------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, expected",
    [
        ({"end": "2024-01-02", "days": 3}, ["2023-12-31", "2024-01-01", "2024-01-02"]),
        ({"end": "2024-01-02", "days": "1"}, ["2024-01-02"]),
        ({"start": "2024-02-28", "end": "2024-03-01"}, ["2024-02-28", "2024-02-29", "2024-03-01"]),
        ({"start": "2024-01-01", "end": "2024-01-01"}, ["2024-01-01"]),
    ],
    ids=["days", "one-day", "start-end-leap", "start-is-end"],
)
def test_dates_are_oldest_first_and_inclusive(spec, expected):
    assert dates_for(spec) == expected


def test_start_after_end_is_refused():
    with pytest.raises(SparkplateError) as err:
        dates_for({"start": "2024-01-03", "end": "2024-01-02"}, "b.sch.yaml", "jobs[0].x")

    assert str(err.value).startswith(
        "b.sch.yaml [jobs[0].x]: start 2024-01-03 is after end 2024-01-02"
    )
    assert err.value.fix == "give the earlier date as start"


@pytest.mark.parametrize(
    "spec",
    [
        {"end": "2024-01-02", "days": 0},
        {"end": "2024-01-02", "days": -3},
        {"end": "2024-01-02", "days": "three"},
        {"end": "2024-02-30", "days": 1},
        {"start": "2024-13-01", "end": "2024-12-31"},
        {"start": "2024-01-01", "end": "01/02/2024"},
    ],
    ids=["days-0", "days-negative", "days-text", "bad-end", "bad-start", "not-iso"],
)
def test_bad_dates_or_days_are_refused(spec):
    with pytest.raises(SparkplateError) as err:
        dates_for(spec, "b.sch.yaml", "jobs[0].x")

    assert str(err.value).startswith("b.sch.yaml [jobs[0].x]: bad for_each_date ")
    assert "YYYY-MM-DD" in err.value.fix


# --- run parameters -----------------------------------------------------------------------------


def test_resolve_params_refuses_an_impossible_date():
    wf = Workflow(Path("main.sch.yaml"), "w", {"date": None, "end_date": "2024-01-31"}, [])

    with pytest.raises(SparkplateError) as err:
        wf.resolve_params({"date": "2024-02-30"})

    assert str(err.value).startswith(
        "main.sch.yaml [workflow.params.date]: parameter date='2024-02-30' is not a date"
    )
    assert err.value.fix == "-p date=YYYY-MM-DD"
    with pytest.raises(SparkplateError, match=r"params.end_date\]: parameter end_date="):
        wf.resolve_params({"date": "2024-02-29", "end_date": "2024-1-31x"})
    resolved = wf.resolve_params({"date": "2024-02-29"}, run_id="r1")
    assert resolved == {
        "date": "2024-02-29",
        "end_date": "2024-01-31",
        "run_id": "r1",
        "workflow_id": "w",
        "project_dir": ".",
    }


def test_a_run_with_an_impossible_date_stops_before_spark(project):
    wf = project / "main.sch.yaml"

    with pytest.raises(SparkplateError, match=r"parameter date='2024-02-30' is not a date"):
        run_workflow(wf, {"date": "2024-02-30", "top_n": "3"})


# --- audit arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "function, args, problem",
    [
        (
            "column_values_should_be_between",
            {"column": "title_rank", "min": 5, "max": 1},
            "'min' (5) is greater than 'max' (1)",
        ),
        ("row_count_should_be_between", {"min": 10, "max": 2}, "is greater than 'max'"),
        ("row_count_should_be_between", {"min": "ten"}, "'min' must be a number"),
        ("distinct_count_should_be_between", {"column": "c"}, "give at least one of"),
    ],
    ids=["values-min-over-max", "rows-min-over-max", "not-a-number", "no-bound"],
)
def test_argument_errors_are_found_without_data(function, args, problem):
    problems = argument_errors(function, args)

    assert len(problems) == 1
    assert problem in problems[0]


@pytest.mark.parametrize(
    "function, args",
    [
        ("column_values_should_be_between", {"column": "title_rank", "min": 1, "max": "${top_n}"}),
        ("row_count_should_be_between", {"min": "${top_n}", "max": 2}),  # known at run time
        ("column_values_should_be_between", {"column": "title_rank", "min": 1, "max": 3}),
        ("row_count_should_be_between", {"min": 2, "max": 2}),
        ("columns_should_be_unique", {"columns": ["date", "title_id"]}),
        ("table_should_not_be_empty", {}),
    ],
)
def test_good_or_parameterised_arguments_pass(function, args):
    assert argument_errors(function, args) == []


@pytest.mark.parametrize("text", ["007", "1.50", "+3"])
def test_digits_that_are_not_a_plain_number_stay_text(text):
    assert substitute("${code}", {"code": text}) == text
