"""Profiles in sparkplate.yaml: read and checked before Spark starts, turned into Spark settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import cli_env

from sparkplate.errors import SparkplateError
from sparkplate.profiles import Profile, load_profile
from sparkplate.session import settings_from_env

CLUSTER = """\
profiles:
  local: {}
  cluster:
    master: spark://spark-master:7077
    catalog:
      type: jdbc
      uri: jdbc:postgresql://db:5432/iceberg
      jdbc.password: ${env:TEST_PGPASSWORD}
      warehouse: s3://bucket/warehouse
    packages: [org.postgresql:postgresql:42.7.8]
    spark_conf: {spark.executor.memory: 4g, spark.sql.adaptive.enabled: false}
"""


def project_with(tmp_path: Path, text: str) -> Path:
    (tmp_path / "sparkplate.yaml").write_text(text)
    (tmp_path / "jobs").mkdir()
    return tmp_path


@pytest.fixture(autouse=True)
def no_profile_env(monkeypatch):
    for name in ("SPARKPLATE_PROFILE", "SPARKPLATE_MASTER", "SPARKPLATE_WAREHOUSE"):
        monkeypatch.delenv(name, raising=False)


def test_without_the_file_the_local_profile_is_todays_behaviour(tmp_path):
    profile = load_profile(start=tmp_path)
    assert profile == Profile()
    settings = settings_from_env(None, profile)
    assert settings["master"] == "local[*]"
    assert Path(settings["warehouse"]).name == "warehouse"


def test_a_profile_is_found_from_a_sub_folder_and_filled_from_the_environment(
    tmp_path, monkeypatch
):
    project = project_with(tmp_path, CLUSTER)
    monkeypatch.setenv("TEST_PGPASSWORD", "s3cret")
    profile = load_profile("cluster", start=project / "jobs")
    assert profile.file == project / "sparkplate.yaml"
    assert profile.master == "spark://spark-master:7077"
    assert profile.catalog["jdbc.password"] == "s3cret"
    assert profile.spark_conf == {
        "spark.executor.memory": "4g",
        "spark.sql.adaptive.enabled": "false",
    }
    assert profile.packages == ("org.postgresql:postgresql:42.7.8",)


def test_the_environment_variable_picks_the_profile_and_sparkplate_variables_override_it(
    tmp_path, monkeypatch
):
    project = project_with(tmp_path, CLUSTER)
    monkeypatch.setenv("TEST_PGPASSWORD", "x")
    monkeypatch.setenv("SPARKPLATE_PROFILE", "cluster")
    monkeypatch.setenv("SPARKPLATE_MASTER", "spark://other:7077")
    settings = settings_from_env(None, load_profile(start=project))
    assert settings["master"] == "spark://other:7077"
    assert settings["warehouse"] == "s3://bucket/warehouse"


@pytest.mark.parametrize(
    "text, name, message, key",
    [
        (CLUSTER, "clustr", "unknown profile 'clustr'", "profiles"),
        (CLUSTER, "cluster", "environment variable TEST_PGPASSWORD is not set",
         "profiles.cluster.catalog.jdbc.password"),
        ("profiles:\n  c:\n    mastr: local\n", "c", "unknown key 'mastr'", "profiles.c.mastr"),
        ("profiles:\n  c:\n    catalog: {uri: x}\n", "c", "the catalog has no 'type'",
         "profiles.c.catalog"),
        ("profiles:\n  c:\n    packages: a:b:1\n", "c", "'packages' must be a list",
         "profiles.c.packages"),
        ("profiles:\n  c:\n    master: yarn\n    catalog: {type: hadoop, warehouse: /data/wh}\n",
         "c", "the warehouse /data/wh is a path on this host", "profiles.c.catalog.warehouse"),
        ("profile:\n  c: {}\n", "c", "expected a mapping `profiles:`", "profiles"),
    ],
)  # fmt: skip
def test_a_bad_profile_names_the_file_the_key_and_the_fix(tmp_path, text, name, message, key):
    project = project_with(tmp_path, text)
    with pytest.raises(SparkplateError) as error:
        load_profile(name, start=project)
    assert message in error.value.message
    assert error.value.file == str(project / "sparkplate.yaml")
    assert error.value.key == key


def test_a_named_profile_without_the_file_says_so(tmp_path):
    with pytest.raises(SparkplateError, match="there is no sparkplate.yaml"):
        load_profile("cluster", start=tmp_path)


def test_a_warehouse_path_is_fine_on_this_hosts_cluster_and_relative_to_the_file(tmp_path):
    text = (
        "profiles:\n  c:\n    master: local-cluster[2,1,1024]\n"
        "    catalog: {type: hadoop, warehouse: wh}\n"
    )
    project = project_with(tmp_path, text)
    settings = settings_from_env(None, load_profile("c", start=project / "jobs"))
    assert settings["warehouse"] == str(project / "wh")


def test_validate_checks_the_profile(tmp_path, rendered_pyspark, monkeypatch):
    project = Path(rendered_pyspark)
    done = subprocess.run(
        [sys.executable, "-m", "sparkplate.cli", "validate", "main.sch.yaml"],
        cwd=project, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "profile local ok (local[*], hadoop)" in done.stdout
    monkeypatch.setenv("SPARKPLATE_PROFILE", "nope")
    done = subprocess.run(
        [sys.executable, "-m", "sparkplate.cli", "validate", "main.sch.yaml"],
        cwd=project, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2
    assert "sparkplate.yaml [profiles]: unknown profile 'nope'" in done.stderr


@pytest.mark.spark
def test_main_runs_on_a_local_cluster_with_executor_jvms(project, tmp_path):
    """local-cluster[2,1,1024]: real executor JVMs, so the Iceberg jar must reach them."""
    (project / "sparkplate.yaml").write_text(
        "profiles:\n  cluster:\n    master: local-cluster[2,1,1024]\n"
        "    catalog: {type: hadoop, warehouse: cluster-warehouse}\n"
    )
    steps = ["mock load", "run main.sch.yaml -p date=2024-01-01 -p top_n=3",
             "mock check sample_db.sparkplate_sample_results"]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "sparkplate.cli", "--profile", "cluster", "do", *steps],
        cwd=project, capture_output=True, text=True, env=cli_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert (project / "cluster-warehouse" / "sample_db").is_dir()


@pytest.mark.parametrize(
    ("location", "folder"),
    [
        ("/data/warehouse", "/data/warehouse"),
        ("warehouse", "warehouse"),
        ("file:///data/warehouse", "/data/warehouse"),
        ("file:/data/warehouse", "/data/warehouse"),
        ("s3://bucket/warehouse", None),
        ("hdfs://namenode/warehouse", None),
    ],
)
def test_local_path_names_the_folder_of_a_local_location_only(location, folder):
    from sparkplate.profiles import local_path

    assert local_path(location) == (Path(folder) if folder else None)
