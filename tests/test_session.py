"""Where the Iceberg runtime jar comes from: downloaded once, then the cached file (offline)."""

from __future__ import annotations

from sparkplate.session import iceberg_jar_config
from sparkplate.versions import ICEBERG_RUNTIME


def test_first_session_resolves_the_jar_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKPLATE_CACHE", str(tmp_path))
    monkeypatch.delenv("SPARKPLATE_ICEBERG_JAR", raising=False)
    assert iceberg_jar_config() == {
        "spark.jars.packages": ICEBERG_RUNTIME,
        "spark.jars.ivy": str(tmp_path / "ivy"),
    }


def test_later_sessions_use_the_cached_file_and_need_no_network(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKPLATE_CACHE", str(tmp_path))
    monkeypatch.delenv("SPARKPLATE_ICEBERG_JAR", raising=False)
    group, artifact, version = ICEBERG_RUNTIME.split(":")
    jar = tmp_path / "ivy" / "jars" / f"{group}_{artifact}-{version}.jar"
    jar.parent.mkdir(parents=True)
    jar.write_bytes(b"")  # where Spark's resolver leaves it
    assert iceberg_jar_config("local[*]") == {"spark.driver.extraClassPath": str(jar)}
    assert iceberg_jar_config("yarn") == {"spark.jars": str(jar)}  # executors need a copy


def test_a_jar_you_have_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKPLATE_ICEBERG_JAR", "/opt/jars/iceberg.jar")
    assert iceberg_jar_config("spark://host:7077") == {"spark.jars": "/opt/jars/iceberg.jar"}
