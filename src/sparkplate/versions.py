"""Which Iceberg runtime serves the Spark that runs here.

The Spark is the one spark-submit would start: `SPARK_HOME`'s, else pyspark's own. Its version
and Scala binary version are read from its `spark-core_<scala>-<version>.jar` (a session's jars
are chosen before its JVM starts, so the running JVM cannot be asked), falling back to pyspark's
version where that Spark has no jars folder. Nothing here is a constant of one Spark line.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
from pathlib import Path

from sparkplate.errors import SparkplateError

ICEBERG_VERSION = "1.12.0"
# The Spark lines Iceberg ICEBERG_VERSION ships a Spark runtime for, with the Scala each is built
# on (Iceberg 1.12 has no runtime for Spark 4.0 or 4.2).
ICEBERG_SPARK_LINES = {"3.5": "2.12", "4.1": "2.13"}
SPARK_CORE_JAR = re.compile(r"^spark-core_(\d+\.\d+)-(\d+\.\d+\.\d+\S*)\.jar$")


def spark_home() -> Path:
    """The Spark that spark-submit and pyspark start: SPARK_HOME's, else pyspark's own."""
    if os.environ.get("SPARK_HOME"):
        return Path(os.environ["SPARK_HOME"])
    return Path(importlib.util.find_spec("pyspark").origin).parent  # without importing it


def spark_build(home: Path | None = None) -> tuple[str, str | None]:
    """(Spark version, Scala binary version) of the Spark in `home`; Scala is None when that
    Spark has no jars folder to tell it."""
    jars = (home or spark_home()) / "jars"
    if jars.is_dir():
        for jar in jars.glob("spark-core_*.jar"):
            found = SPARK_CORE_JAR.match(jar.name)
            if found:
                return found[2], found[1]
    return importlib.metadata.version("pyspark"), None


def spark_line(version: str) -> str:
    """'4.1.4' -> '4.1'."""
    return ".".join(version.split(".")[:2])


def installed_spark_line() -> str:
    """The Spark line installed here ('3.5', '4.1'): what a project rendered to run here is on."""
    return spark_line(spark_build()[0])


def iceberg_runtime(home: Path | None = None) -> str:
    """The Maven coordinates of the Iceberg runtime built for the Spark in `home`."""
    version, scala = spark_build(home)
    line = spark_line(version)
    if line not in ICEBERG_SPARK_LINES or scala not in (None, ICEBERG_SPARK_LINES[line]):
        supported = ", ".join(f"{known} (Scala {on})" for known, on in ICEBERG_SPARK_LINES.items())
        raise SparkplateError(
            f"Spark {version}{f' (Scala {scala})' if scala else ''} in {home or spark_home()} "
            f"has no Iceberg {ICEBERG_VERSION} runtime: sparkplate runs on Spark {supported}",
            fix="install a pyspark sparkplate runs on (pip install 'pyspark>=4.1,<4.2', or "
            "'pyspark>=3.5,<3.6'), or point SPARK_HOME at such a Spark",
        )
    return (
        f"org.apache.iceberg:iceberg-spark-runtime-{line}_{ICEBERG_SPARK_LINES[line]}"
        f":{ICEBERG_VERSION}"
    )
