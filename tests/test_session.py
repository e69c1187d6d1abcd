"""Where the session's jars come from: resolved once into the cache, then the files (offline)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sparkplate.session import classpath_config, manifest_path, resolve_jars, session_jars
from sparkplate.versions import iceberg_runtime


def test_a_resolved_set_is_reused_without_the_resolver(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKPLATE_CACHE", str(tmp_path))
    monkeypatch.setenv("SPARK_HOME", str(tmp_path / "no-spark"))  # the resolver cannot run
    jars = [tmp_path / "ivy/jars/g_a-1.jar", tmp_path / "ivy/jars/g_dep-2.jar"]
    for jar in jars:
        jar.parent.mkdir(parents=True, exist_ok=True)
        jar.touch()
    with pytest.raises(ValueError):  # no manifest yet: the resolver is needed, and fails
        resolve_jars(("g:a:1",))
    manifest = manifest_path(("g:a:1",))
    manifest.parent.mkdir(parents=True)
    manifest.write_text("g:a:1\n" + "\n".join(map(str, jars)))
    assert resolve_jars(("g:a:1",)) == [str(jar) for jar in jars]
    jars[1].unlink()  # a jar gone from the cache: resolve again
    with pytest.raises(ValueError):
        resolve_jars(("g:a:1",))


# A resolver that takes a second and says whether another one ran at the same time.
SLOW_RESOLVER = """#!/bin/sh
ivy="${4#spark.jars.ivy=}"
[ -e "$ivy/running" ] && echo overlap >>"$ivy/calls"
touch "$ivy/running"; echo call >>"$ivy/calls"; sleep 1
mkdir -p "$ivy/jars" && touch "$ivy/jars/g_a-1.jar"
rm "$ivy/running"; echo "found g#a;1 in central" >&2
"""
RESOLVE = "from sparkplate.session import resolve_jars; print(resolve_jars(('g:a:1',)))"


def test_two_processes_resolving_at_once_run_the_resolver_once(tmp_path):
    spark_home = tmp_path / "spark"
    (spark_home / "bin").mkdir(parents=True)
    (spark_home / "bin/spark-submit").write_text(SLOW_RESOLVER)
    (spark_home / "bin/spark-submit").chmod(0o755)
    env = {**os.environ, "SPARKPLATE_CACHE": str(tmp_path / "cache"), "SPARK_HOME": str(spark_home)}
    runs = [subprocess.Popen([sys.executable, "-c", RESOLVE], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]  # fmt: skip
    outputs = [run.communicate(timeout=60) for run in runs]

    jar = str(tmp_path / "cache/ivy/jars/g_a-1.jar")
    assert [out for out, _ in outputs] == [f"{[jar]}\n"] * 2, outputs
    assert (tmp_path / "cache/ivy/calls").read_text() == "call\n"  # the second one waited


def test_the_iceberg_runtime_is_resolved_like_any_package(tmp_path, monkeypatch):
    from sparkplate.profiles import Profile

    monkeypatch.delenv("SPARKPLATE_ICEBERG_JAR", raising=False)
    asked = []
    monkeypatch.setattr(
        "sparkplate.session.resolve_jars",
        lambda c: asked.append(c) or [f"/cache/{c[0]}.jar"] * bool(c),
    )
    profile = Profile(packages=("g:a:1",), jars=("/opt/my.jar",))
    ICEBERG_RUNTIME = iceberg_runtime()
    assert session_jars(profile) == [
        f"/cache/{ICEBERG_RUNTIME}.jar",
        "/cache/g:a:1.jar",
        "/opt/my.jar",
    ]
    assert asked == [(ICEBERG_RUNTIME,), ("g:a:1",)]


def test_a_jar_you_have_wins(monkeypatch):
    from sparkplate.profiles import Profile

    monkeypatch.setenv("SPARKPLATE_ICEBERG_JAR", "/opt/jars/iceberg.jar")
    monkeypatch.setattr("sparkplate.session.resolve_jars", lambda c: [])
    assert session_jars(Profile()) == ["/opt/jars/iceberg.jar"]


@pytest.mark.parametrize(
    "master, executors",
    [("local", False), ("local[2]", False), ("local-cluster[2,1,1024]", True),
     ("spark://127.0.0.1:7077", True), ("yarn", True)],
)  # fmt: skip
def test_the_jars_reach_the_executors_wherever_there_are_some(master, executors):
    jars = ["/cache/iceberg.jar", "/cache/postgresql.jar", "/jars/my.jar"]
    config = classpath_config(master, jars)
    # On the driver's own classpath always: java.sql.DriverManager finds a JDBC driver only there.
    assert config["spark.driver.extraClassPath"] == ":".join(jars)
    assert config.get("spark.jars") == (",".join(jars) if executors else None)


# Ctrl-C while pyspark waits for the JVM it started to write its port: pyspark's wait sleeps
# in steps of 0.1 s, so its tenth sleep raises it, a second after the JVM was started.
INTERRUPTED_START = """
import time
import pyspark.java_gateway as gateway
from sparkplate.session import local_session

started, sleeps, real_popen, real_sleep = [], [], gateway.Popen, time.sleep

def popen(*args, **kwargs):
    started.append(real_popen(*args, **kwargs))
    return started[-1]

def ctrl_c(seconds):
    sleeps.append(seconds)
    real_sleep(seconds)
    if len(sleeps) == 10:
        time.sleep = real_sleep
        raise KeyboardInterrupt

gateway.Popen, time.sleep = popen, ctrl_c
try:
    local_session(iceberg=False)
except KeyboardInterrupt:
    pass
try:
    started[0].wait(timeout=60)
    print("ended")
except Exception as err:
    started[0].kill()
    print(f"still running after 60 s: {type(err).__name__}")
"""


def test_a_start_interrupted_before_the_jvm_is_connected_leaves_no_jvm_behind(tmp_path):
    run = subprocess.run([sys.executable, "-c", INTERRUPTED_START], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.stdout.strip() == "ended", run.stdout + run.stderr[-2000:]
