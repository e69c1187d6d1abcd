"""Local Spark sessions: the embedded default every generated project runs on.

On a cluster, spark-submit (or the platform) creates the session; `local_session` then returns
that active session unchanged.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pyspark.sql import SparkSession

from sparkplate.errors import SparkplateError
from sparkplate.versions import ICEBERG_RUNTIME

DEFAULT_CATALOG = "local"


def settings_from_env(warehouse: str | os.PathLike | None = None) -> dict[str, str]:
    """Where things live, from options first, then environment variables, then defaults."""
    return {
        "warehouse": _absolute(warehouse or os.environ.get("SPARKPLATE_WAREHOUSE", "warehouse")),
        "catalog": os.environ.get("SPARKPLATE_CATALOG", DEFAULT_CATALOG),
        "master": os.environ.get("SPARKPLATE_MASTER", "local[*]"),
        "driver_memory": os.environ.get("SPARKPLATE_DRIVER_MEMORY", "2g"),
    }


def _absolute(location: str | os.PathLike) -> str:
    """A local path made absolute; a URI (s3a://, hdfs://, file:/) is left as it is."""
    text = str(location)
    return text if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:/", text) else str(Path(text).resolve())


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sparkplate"
    return Path(os.environ.get("SPARKPLATE_CACHE", default))


def iceberg_jar_config(master: str = "local[*]") -> dict[str, str]:
    """Spark settings that put the Iceberg runtime on the classpath.

    The jar is fetched once with Spark's own dependency resolver into sparkplate's cache; later
    sessions point at the cached file directly, so they start offline. SPARKPLATE_ICEBERG_JAR
    names a jar you already have. In local mode the driver is the only JVM, so the jar goes on its
    classpath as it is, rather than through spark.jars, which serves a copy to executors.
    """
    ivy = cache_dir() / "ivy"
    group, artifact, version = ICEBERG_RUNTIME.split(":")
    cached = ivy / "jars" / f"{group}_{artifact}-{version}.jar"
    jar = os.environ.get("SPARKPLATE_ICEBERG_JAR") or (str(cached) if cached.is_file() else None)
    if jar is None:
        return {"spark.jars.packages": ICEBERG_RUNTIME, "spark.jars.ivy": str(ivy)}
    return {"spark.driver.extraClassPath" if master.startswith("local") else "spark.jars": jar}


def local_session(
    app_name: str = "sparkplate",
    *,
    iceberg: bool = True,
    warehouse: str | os.PathLike | None = None,
    quick_start: bool = False,
) -> SparkSession:
    """A small local session; with `iceberg`, a Hadoop catalog under `warehouse` is the default.

    `quick_start` is for unit tests on tiny data: the JVM compiles with its fast tier only and one
    shuffle partition does, which roughly halves a short test run (the full JIT pays off only on
    real volumes).
    """
    active = SparkSession.getActiveSession()
    if active is not None:  # made by spark-submit, a platform or a test: use it as it is
        return active
    settings = settings_from_env(warehouse)
    log_level = os.environ.get("SPARKPLATE_SPARK_LOG_LEVEL", "ERROR")
    java_options = (
        f"-Dlog4j2.configurationFile={Path(__file__).with_name('log4j2.properties').as_uri()} "
        f"-Dsparkplate.log.level={log_level}"
    )
    shuffle_partitions = os.environ.get("SPARKPLATE_SHUFFLE_PARTITIONS", "4")
    if quick_start:
        java_options += " -XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
        shuffle_partitions = "1"
    if settings["master"].startswith("local"):
        # A laptop's hostname may resolve to an address that is not reachable from itself.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = (
        SparkSession.builder.appName(app_name)
        .master(settings["master"])
        .config("spark.driver.memory", settings["driver_memory"])
        .config("spark.driver.extraJavaOptions", java_options)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # Small data on a laptop: a handful of shuffle partitions beats the default 200.
        .config("spark.sql.shuffle.partitions", shuffle_partitions)
        .config("spark.sql.session.timeZone", "UTC")
        # INSERT OVERWRITE replaces the partitions it writes, not the whole table.
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        # Spark's own (non-Iceberg) catalog would otherwise create ./spark-warehouse.
        .config("spark.sql.warehouse.dir", settings["warehouse"].rstrip("/") + "/_spark")
    )
    if iceberg:
        catalog = settings["catalog"]
        for key, value in iceberg_jar_config(settings["master"]).items():
            builder = builder.config(key, value)
        builder = (
            builder.config(
                "spark.sql.extensions",
                "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
            )
            .config(f"spark.sql.catalog.{catalog}", "org.apache.iceberg.spark.SparkCatalog")
            .config(f"spark.sql.catalog.{catalog}.type", "hadoop")
            .config(f"spark.sql.catalog.{catalog}.warehouse", settings["warehouse"])
            # A workflow's jobs may run as other Spark applications (a jar, an R job) that commit
            # to the same tables: load tables afresh, so this session sees those commits.
            .config(f"spark.sql.catalog.{catalog}.cache-enabled", "false")
            .config("spark.sql.defaultCatalog", catalog)
        )
    try:
        session = builder.getOrCreate()
    except Exception as err:  # no Java, or the first download of the Iceberg jar failed
        first_line = (str(err).strip().splitlines() or [repr(err)])[0]
        raise SparkplateError(
            f"could not start Spark: {first_line}",
            fix="install Java 17 (or set JAVA_HOME); on a first run the Iceberg runtime jar is "
            f"downloaded into {cache_dir() / 'ivy'}: check the network, or point "
            "SPARKPLATE_ICEBERG_JAR at a copy of the jar",
        ) from err
    session.sparkContext.setLogLevel(log_level)  # pyspark resets the level at start-up
    return session
