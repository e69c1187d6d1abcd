"""Class-data sharing for the driver JVM: a first run lists its classes, a background process
builds the archive from the lists, later runs map it; an archive that does not fit is dropped."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sparkplate import cds
from sparkplate.java import find_java
from sparkplate.versions import spark_home

# A session without Iceberg: no jar to resolve into the test's own cache, and a short class list.
START = """
from sparkplate.session import local_session
spark = local_session("cds-test", iceberg=False, warehouse=r"{warehouse}")
print("vm:", spark._jvm.System.getProperty("java.vm.info"))
spark.range(10).count()
"""


def start_spark(tmp_path: Path, env: dict) -> str:
    done = subprocess.run(
        [sys.executable, "-c", START.format(warehouse=tmp_path / "warehouse")],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return next(line for line in done.stdout.splitlines() if line.startswith("vm:"))


def wait_for(path: Path, seconds: float = 240) -> bool:
    deadline = time.monotonic() + seconds
    while not path.is_file() and time.monotonic() < deadline:
        time.sleep(0.5)
    return path.is_file()


def ended_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@pytest.fixture(autouse=True)
def empty_spark_conf_dir(tmp_path_factory, monkeypatch):
    """Spark's settings folder, empty: one with files turns CDS off (a SPARK_CONF_DIR the
    machine sets, or a Spark install's own conf/), which only its own test is about."""
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path_factory.mktemp("spark-conf")))


@pytest.fixture
def own_cache(tmp_path, monkeypatch) -> dict:
    monkeypatch.setenv("SPARKPLATE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(cds.SWITCH, "on")  # on a CI runner too
    return {**os.environ}


@pytest.mark.spark
def test_a_run_lists_its_classes_and_later_runs_map_the_archive(tmp_path, own_cache):
    start_spark(tmp_path, own_cache)
    folders = list((tmp_path / "cache" / "cds").iterdir())
    assert len(folders) == 1
    archive = folders[0] / cds.ARCHIVE
    assert wait_for(archive), (folders[0] / "build.log").read_text()
    assert not list(folders[0].glob("classes-*.lst"))  # built from: gone
    assert "sharing" in start_spark(tmp_path, own_cache)
    # An archive the JVM cannot use (another Java, a changed install) is dropped: the next run
    # lists its classes again for a new one (test_the_switch_and_ci_runners: no archive, a list).
    archive.chmod(0o644)
    archive.write_bytes(b"not an archive")
    assert "sharing" not in start_spark(tmp_path, own_cache)
    assert not archive.exists()


@pytest.mark.parametrize(
    "switch, ci, on",
    [(None, None, True), ("off", None, False), (None, "true", False), ("on", "true", True),
     (None, "false", True), ("off", "true", False)],
)  # fmt: skip
def test_the_switch_and_ci_runners(tmp_path, monkeypatch, switch, ci, on):
    monkeypatch.setenv("SPARKPLATE_CACHE", str(tmp_path))
    for name, value in ((cds.SWITCH, switch), ("CI", ci)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    planned = cds.plan(find_java(), spark_home(), [], "2g")
    assert (planned is not None) == on
    if on:
        assert planned.options[0].startswith("-XX:DumpLoadedClassList=")


def test_one_archive_per_java_spark_jars_and_heap(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKPLATE_CACHE", str(tmp_path))
    java, home = find_java(), spark_home()
    base = cds.folder_for(java, home, ["/a.jar"], "2g")
    assert base == cds.folder_for(java, home, ["/a.jar"], "2g")
    assert base != cds.folder_for(java, home, ["/a.jar", "/b.jar"], "2g")
    assert base != cds.folder_for(java, home, ["/a.jar"], "40g")
    assert base != cds.folder_for(java, tmp_path, ["/a.jar"], "2g")


def test_the_lists_of_ended_runs_are_merged(tmp_path):
    header = "# NOTE: Do not modify this file.\n"
    (tmp_path / f"classes-{ended_pid()}.lst").write_text(
        header + "java/lang/Object id: 0\norg/apache/spark/SparkContext id: 1\n"
    )
    (tmp_path / f"classes-{ended_pid()}.lst").write_text(
        header + "java/lang/Object id: 0\norg/apache/iceberg/Table id: 7\n"
        "@lambda-proxy java/lang/Runnable run\n"
    )
    (tmp_path / f"classes-{os.getpid()}.lst").write_text("still/Running id: 0\n")  # not yet
    assert cds.merged_list(tmp_path) == [
        "java/lang/Object",
        "org/apache/spark/SparkContext",
        "org/apache/iceberg/Table",
        "@lambda-proxy java/lang/Runnable run",
    ]


def test_a_spark_conf_dir_with_files_turns_it_off_and_each_one_has_its_own_archive(
    tmp_path, monkeypatch
):
    """java -Xshare:dump refuses a class path with a folder that has files on it, and Spark puts
    SPARK_CONF_DIR there: such a start goes without CDS, rather than record a failed build that
    would turn CDS off for the same Java and Spark without it too."""
    monkeypatch.setenv("SPARKPLATE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(cds.SWITCH, "on")
    java, home = find_java(), spark_home()
    conf = tmp_path / "conf"
    conf.mkdir()
    monkeypatch.setenv("SPARK_CONF_DIR", str(conf))
    empty_conf = cds.plan(java, home, [], "2g")
    (conf / "spark-defaults.conf").write_text("spark.sql.shuffle.partitions 4\n")

    assert empty_conf is not None
    assert cds.plan(java, home, [], "2g") is None
    (tmp_path / "other-conf").mkdir()
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path / "other-conf"))
    assert cds.plan(java, home, [], "2g").folder != empty_conf.folder


def test_a_failed_build_is_not_tried_again(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKPLATE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(cds.SWITCH, "on")
    java, home = find_java(), spark_home()
    folder = cds.plan(java, home, [], "2g").folder
    run = ended_pid()
    (folder / f"classes-{run}.lst").write_text("java/lang/Object id: 0\n")
    (folder / cds.CLASSPATH).write_text(str(tmp_path))
    broken = tmp_path / "broken-java"
    (broken / "bin").mkdir(parents=True)
    (broken / "bin" / "java").write_text("#!/bin/sh\necho 'disk full' >&2\nexit 3\n")
    (broken / "bin" / "java").chmod(0o755)
    assert cds.build(folder, broken, "2g", run, ended_pid()) == 0
    assert not (folder / cds.ARCHIVE).exists()
    assert "exited with 3" in (folder / cds.FAILED).read_text()
    assert cds.plan(java, home, [], "2g") is None  # runs start without CDS, as before


def test_the_last_used_archives_are_kept(tmp_path):
    for age in range(cds.KEEP + 2):
        folder = tmp_path / f"key{age}"
        folder.mkdir()
        (folder / cds.ARCHIVE).write_text("archive")
        os.utime(folder / cds.ARCHIVE, (time.time() - age * 60,) * 2)
    (tmp_path / "listing").mkdir()  # a first run's folder, no archive yet: kept
    cds.prune(tmp_path)
    kept = sorted(f.name for f in tmp_path.iterdir())
    assert kept == [f"key{age}" for age in range(cds.KEEP)] + ["listing"]
