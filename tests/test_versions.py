"""The Iceberg runtime follows the Spark installed here: its line and its Scala."""

from __future__ import annotations

import pytest

from sparkplate.errors import SparkplateError
from sparkplate.session import local_session
from sparkplate.versions import iceberg_runtime, spark_build


def spark_with(tmp_path, jar: str):
    home = tmp_path / "spark"
    (home / "jars").mkdir(parents=True)
    (home / "jars" / jar).touch()
    (home / "jars" / "spark-core-tests.jar").touch()  # not a spark-core_<scala>-<version> jar
    return home


@pytest.mark.parametrize(
    "jar, runtime",
    [("spark-core_2.12-3.5.9.jar", "iceberg-spark-runtime-3.5_2.12"),
     ("spark-core_2.13-4.1.4.jar", "iceberg-spark-runtime-4.1_2.13")],
)  # fmt: skip
def test_the_runtime_is_the_one_built_for_the_installed_spark(tmp_path, jar, runtime):
    assert iceberg_runtime(spark_with(tmp_path, jar)).startswith(f"org.apache.iceberg:{runtime}:")


@pytest.mark.parametrize(
    "jar, said",
    [("spark-core_2.13-4.0.1.jar", "Spark 4.0.1 (Scala 2.13)"),
     ("spark-core_2.12-3.4.4.jar", "Spark 3.4.4 (Scala 2.12)"),
     ("spark-core_2.13-3.5.9.jar", "Spark 3.5.9 (Scala 2.13)")],
)  # fmt: skip
def test_a_spark_without_an_iceberg_runtime_is_named_with_the_fix(tmp_path, jar, said):
    with pytest.raises(SparkplateError) as raised:
        iceberg_runtime(spark_with(tmp_path, jar))
    assert said in str(raised.value)
    assert "pip install 'pyspark>=4.1,<4.2'" in str(raised.value)


def test_spark_home_wins_over_pyspark(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARK_HOME", str(spark_with(tmp_path, "spark-core_2.13-4.1.0.jar")))
    assert spark_build() == ("4.1.0", "2.13")


def test_a_spark_with_no_jars_folder_is_pyspark_s_version(tmp_path):
    import pyspark

    assert spark_build(tmp_path) == (pyspark.__version__, None)


@pytest.mark.parametrize("switch", ["SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED"])
def test_spark_connect_is_refused_before_anything_starts(monkeypatch, switch):
    monkeypatch.setenv(switch, "sc://127.0.0.1:15002" if switch == "SPARK_REMOTE" else "1")
    with pytest.raises(SparkplateError) as raised:
        local_session()
    assert f"{switch} is set" in str(raised.value)
    assert "classic Spark session" in str(raised.value)
