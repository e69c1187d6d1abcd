"""`sparkplate table show` (issue 14, item 7): a table's state as aligned text and as one JSON
object, read from a table a real `sparkplate run` wrote; and a table the local warehouse does not
have, refused before Spark starts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import attach_warehouse, cli_env, main_snapshot, run_cli

from sparkplate.cli import main
from sparkplate.errors import SparkplateError
from sparkplate.profiles import Profile
from sparkplate.table_state import (
    UNPUBLISHED_NOTE,
    hadoop_table_folder,
    require_table_without_spark,
)

TABLE = "sample_db.sparkplate_sample_results"
STOCK_AUDITS = 6  # the stock workflow's audits: five blocking ones and one non-blocking
KEYS = ["table", "snapshots", "refs", "unpublished_wap_branches", "high_water_mark", "last_audits"]


def show(project: Path, warehouse: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [Path(sys.executable).with_name("sparkplate"), "table", "show", TABLE,
         "--warehouse", warehouse, *args],
        cwd=project, capture_output=True, text=True, timeout=300, env=cli_env(),
    )  # fmt: skip


def block(lines: list[str], heading: str) -> list[str]:
    """The lines under `heading`, up to the next blank line."""
    start = next(i for i, line in enumerate(lines) if line.startswith(heading)) + 1
    end = next((i for i in range(start, len(lines)) if not lines[i]), len(lines))
    return lines[start:end]


def columns(header: str) -> list[str]:
    return re.split(r"\s{2,}", header.strip())


def test_shows_a_run_tables_state_as_aligned_text_and_as_json(spark, source, project, tmp_path):
    catalog, warehouse = "t_table_show", tmp_path / "warehouse"
    attach_warehouse(spark, catalog, warehouse, source)
    run = run_cli(project, warehouse, "main.sch.yaml", date="2024-01-01")
    assert run.returncode == 0, run.stdout + run.stderr
    table = f"{catalog}.{TABLE}"
    published = main_snapshot(spark, table)
    # A tag, and a WAP branch as a run killed before its publish leaves one.
    spark.sql(f"ALTER TABLE {table} CREATE TAG `release_1`")
    spark.sql(f"ALTER TABLE {table} CREATE BRANCH `wap_20240102_killed`")

    text, as_json = show(project, warehouse), show(project, warehouse, "--json")

    assert text.returncode == 0, text.stdout + text.stderr
    assert as_json.returncode == 0, as_json.stdout + as_json.stderr
    state = json.loads(as_json.stdout)
    assert list(state) == KEYS
    assert state["table"] == TABLE
    snapshot_ids = [
        r.snapshot_id
        for r in spark.sql(f"SELECT * FROM {table}.snapshots ORDER BY committed_at DESC").collect()
    ]
    assert [s["snapshot_id"] for s in state["snapshots"]] == snapshot_ids
    assert state["snapshots"][0]["added_records"] == 10  # the expected mock's rows
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", state["snapshots"][0]["committed_at"])
    assert state["refs"] == [
        {"name": "main", "kind": "branch", "snapshot_id": published},
        {"name": "release_1", "kind": "tag", "snapshot_id": published},
        {"name": "wap_20240102_killed", "kind": "branch", "snapshot_id": published},
    ]
    assert state["unpublished_wap_branches"] == ["wap_20240102_killed"]
    hwm = state["high_water_mark"]
    assert sorted(hwm) == ["datetime", "run_id", "snapshot_id", "timezone"]
    assert (hwm["datetime"], hwm["timezone"]) == ("2024-01-01T23:59:59", "UTC")
    audits = state["last_audits"]
    assert audits["run_id"] == hwm["run_id"]  # the run that moved the HWM audited last
    assert audits["ref"].startswith("wap_20240101_")
    assert audits["snapshot_id"] == published
    assert len(audits["results"]) == STOCK_AUDITS
    assert {r["severity"] for r in audits["results"]} == {"ok"}

    lines = text.stdout.splitlines()
    assert lines[0] == f"table {TABLE}"
    # Aligned: the numbers (the last column) right-aligned, so every line of a block is as long.
    snapshots = block(lines, "snapshots (newest first, UTC):")
    assert columns(snapshots[0]) == [
        "committed", "snapshot id", "operation", "added rows", "deleted rows"
    ]  # fmt: skip
    assert len({len(line) for line in snapshots}) == 1
    assert [int(columns(row)[1]) for row in snapshots[1:]] == snapshot_ids
    refs = block(lines, "refs:")
    assert [line.split() for line in refs] == [
        [r["name"], r["kind"], str(r["snapshot_id"])] for r in state["refs"]
    ]
    assert len({len(line) for line in refs}) == 1
    assert block(lines, UNPUBLISHED_NOTE) == ["  wap_20240102_killed"]
    assert [line.split() for line in block(lines, "high-water mark:")] == [
        [key, value] for key, value in hwm.items()
    ]
    heading = f"last audit results (run {audits['run_id']}, on {audits['ref']}, "
    results = block(lines, heading)
    header = results[0]
    assert columns(header) == ["result", "audit", "blocking", "expected", "got"]
    for row, result in zip(results[1:], audits["results"], strict=True):
        for name, key in (("result", "severity"), ("audit", "audit"), ("expected", "expected")):
            assert row[header.index(name) :].startswith(result[key]), (row, name)


# --- without Spark: a table the local Hadoop catalog does not have -------------------------------


@pytest.fixture
def no_session_yet(monkeypatch, tmp_path):
    """As in a `sparkplate` process: no Spark session yet (a Spark test run before this one
    leaves its own), no profile file and no SPARKPLATE_* settings."""
    monkeypatch.setattr("pyspark.sql.SparkSession.getActiveSession", staticmethod(lambda: None))
    for name in ("SPARKPLATE_WAREHOUSE", "SPARKPLATE_PROFILE", "SPARKPLATE_CATALOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def metadata(folder: Path, *names: str) -> None:
    (folder / "metadata").mkdir(parents=True)
    for name in names:
        (folder / "metadata" / name).write_text("{}")


@pytest.mark.parametrize("as_json", [[], ["--json"]], ids=["text", "json"])
def test_a_table_the_warehouse_has_not_is_refused_before_spark_starts(
    no_session_yet, tmp_path, as_json
):
    warehouse = tmp_path / "warehouse"
    metadata(warehouse / "sample_db" / "other", "v1.metadata.json")
    metadata(warehouse / "sample_db" / "half", "version-hint.text")  # a hint names no metadata

    for name in ("sample_db.missing", "sample_db.half"):
        result = CliRunner().invoke(
            main, ["table", "show", name, "--warehouse", str(warehouse), *as_json]
        )
        # The `spark_only_when_marked` guard fails the test had a session been started.
        assert result.exit_code == 2, result.output
        assert f"error: table {name} does not exist in the warehouse {warehouse} " in result.output
        assert "fix: run the workflow first, or pass --warehouse" in result.output

    nowhere = tmp_path / "nowhere"
    no_warehouse = CliRunner().invoke(
        main, ["table", "show", "sample_db.other", "--warehouse", str(nowhere), *as_json]
    )
    assert no_warehouse.exit_code == 2
    assert f"table sample_db.other does not exist: there is no warehouse {nowhere}" in (
        no_warehouse.output
    )


def test_a_table_with_metadata_goes_on_to_spark(no_session_yet, tmp_path):
    metadata(tmp_path / "warehouse" / "db" / "t", "v3.metadata.json", "version-hint.text")
    require_table_without_spark("db.t", None, Profile())  # ./warehouse by default
    with pytest.raises(SparkplateError, match="does not exist"):
        require_table_without_spark("db.t2", None, Profile())


@pytest.mark.parametrize(
    "name, folder",
    [
        ("db.t", "db/t"),
        ("local.db.t", "db/t"),  # the default catalog, named
        ("`my.db`.t", "my.db/t"),
        ("a.b.t", "a/b/t"),  # a nested namespace
        ("t", None),  # the catalog's default namespace: Spark knows it
        ("local.t", None),
        ("spark_catalog.db.t", None),  # another catalog
        ("other.db.t", None),  # a catalog the profile adds
        ("db.`t", None),  # not a name
    ],
)
def test_the_folder_of_a_name_in_the_hadoop_catalog(no_session_yet, tmp_path, name, folder):
    profile = Profile(
        spark_conf={"spark.sql.catalog.other": "org.apache.iceberg.spark.SparkCatalog"}
    )
    found = hadoop_table_folder(name, str(tmp_path / "wh"), profile)
    assert found == (None if folder is None else (tmp_path / "wh", tmp_path / "wh" / folder))


@pytest.mark.parametrize(
    "catalog, warehouse",
    [
        ({"type": "jdbc", "uri": "jdbc:postgresql://db/iceberg"}, "/tmp/wh"),
        ({"type": "rest", "uri": "http://localhost:8181"}, None),
        ({"type": "hadoop"}, "s3://bucket/warehouse"),
    ],
    ids=["jdbc", "rest", "object-storage"],
)
def test_other_catalogs_are_left_to_spark(no_session_yet, catalog, warehouse):
    assert hadoop_table_folder("db.t", warehouse, Profile(catalog=catalog)) is None
