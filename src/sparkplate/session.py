"""The runner's Spark session, made as the project's profile says (`profiles.py`): by default
the embedded one every generated project runs on, local[*] with a Hadoop catalog in ./warehouse.

When spark-submit, a notebook or a platform made the session, `local_session` returns that active
session unchanged.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

import pyspark
from pyspark.sql import SparkSession

from sparkplate.errors import SparkplateError
from sparkplate.preflight import check_jdbc_catalog, check_master
from sparkplate.profiles import SAME_HOST_MASTER, Profile, check_warehouse, load_profile
from sparkplate.versions import ICEBERG_RUNTIME

DEFAULT_CATALOG = "local"


def settings_from_env(
    warehouse: str | os.PathLike | None = None, profile: Profile | None = None
) -> dict[str, str]:
    """Where things live: options first, then SPARKPLATE_* variables, then the profile."""
    profile = profile or Profile()
    master = os.environ.get("SPARKPLATE_MASTER") or profile.master
    location = (
        warehouse or os.environ.get("SPARKPLATE_WAREHOUSE") or profile.catalog.get("warehouse")
    )
    if location is not None:
        check_warehouse(profile, str(location), master)
    return {
        "warehouse": _absolute(location or "warehouse", profile.base_dir),
        "catalog": os.environ.get("SPARKPLATE_CATALOG", DEFAULT_CATALOG),
        "master": master,
        "driver_memory": os.environ.get("SPARKPLATE_DRIVER_MEMORY")
        or profile.spark_conf.get("spark.driver.memory", "2g"),
    }


def _absolute(location: str | os.PathLike, base: Path | None = None) -> str:
    """A local path made absolute (from `base`); a URI (s3://, hdfs://, file:/) stays as it is."""
    text = str(location)
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:/", text):
        return text
    return str(((base or Path.cwd()) / text).resolve())


def same_host(master: str) -> bool:
    """Driver and executors on this host: local[...], local-cluster[...], a loopback master."""
    return bool(SAME_HOST_MASTER.match(master))


def driver_only(master: str) -> bool:
    """local or local[...]: the driver is the only JVM (local-cluster[...] has executors)."""
    return master == "local" or master.startswith("local[")


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sparkplate"
    return Path(os.environ.get("SPARKPLATE_CACHE", default))


def spark_submit() -> str:
    """spark-submit of the Spark that runs the runner (pyspark's, unless SPARK_HOME says)."""
    home = os.environ.get("SPARK_HOME") or str(Path(pyspark.__file__).parent)
    return str(Path(home) / "bin" / "spark-submit")


def cached_jar(coordinate: str) -> Path:
    """Where Spark's resolver puts the jar of `group:artifact:version` in sparkplate's cache."""
    group, artifact, version = coordinate.split(":")
    return cache_dir() / "ivy" / "jars" / f"{group}_{artifact}-{version}.jar"


def fetch_packages(packages: tuple[str, ...], profile: Profile) -> None:
    """Resolve the profile's packages into the cache once, before the session starts.

    Their jars then go on the driver's classpath beside Iceberg's: a JDBC driver that only
    reaches Spark's own class loader (spark.jars.packages) is not found by the JDBC catalog.
    """
    missing = [p for p in packages if not cached_jar(p).is_file()]
    if not missing:
        return
    with tempfile.TemporaryDirectory() as folder:
        noop = Path(folder) / "resolve_only.py"  # spark-submit resolves, then runs this
        noop.write_text("")
        done = subprocess.run(
            [spark_submit(), "--packages", ",".join(missing),
             "--conf", f"spark.jars.ivy={cache_dir() / 'ivy'}", str(noop)],
            capture_output=True, text=True,
        )  # fmt: skip
    if done.returncode != 0 or any(not cached_jar(p).is_file() for p in missing):
        said = [line for line in done.stderr.splitlines() if "not found" in line or "ERROR" in line]
        raise profile.error(
            f"could not fetch {', '.join(missing)}: " + (said[0].strip() if said else "no jar"),
            key="packages",
            fix="check the coordinates (group:artifact:version) and the network",
        )


def iceberg_jar_config(
    master: str = "local[*]", packages: tuple[str, ...] = (), jars: tuple[str, ...] = ()
) -> dict[str, str]:
    """Spark settings that put the Iceberg runtime (and the profile's packages) on the classpath.

    The jar is fetched once with Spark's own dependency resolver into sparkplate's cache; later
    sessions point at the cached file directly, so they start offline. SPARKPLATE_ICEBERG_JAR
    names a jar you already have. In local mode the driver is the only JVM, so the jar goes on its
    classpath as it is; with executors (local-cluster[...] included) it must reach them too, so
    it goes through spark.jars. The packages' own jars, once cached, and the profile's `jars` go
    on the driver's classpath too; spark.jars.packages and spark.jars bring them to every JVM.
    """
    ivy = cache_dir() / "ivy"
    cached = cached_jar(ICEBERG_RUNTIME)
    jar = os.environ.get("SPARKPLATE_ICEBERG_JAR") or (str(cached) if cached.is_file() else None)
    config: dict[str, str] = {}
    driver_classpath = [str(cached_jar(p)) for p in packages if cached_jar(p).is_file()]
    driver_classpath += jars
    spark_jars = list(jars)
    if jar is None:
        packages = (ICEBERG_RUNTIME, *packages)
    elif driver_only(master):
        driver_classpath.insert(0, jar)
    else:
        spark_jars.insert(0, jar)
    if spark_jars:
        config["spark.jars"] = ",".join(spark_jars)
    if driver_classpath:
        config["spark.driver.extraClassPath"] = os.pathsep.join(driver_classpath)
    if packages:
        config.update({"spark.jars.packages": ",".join(packages), "spark.jars.ivy": str(ivy)})
    return config


def local_session(
    app_name: str = "sparkplate",
    *,
    iceberg: bool = True,
    warehouse: str | os.PathLike | None = None,
    quick_start: bool = False,
    profile: Profile | None = None,
) -> SparkSession:
    """The session `profile` describes (default: the project's, found from the working folder);
    with `iceberg`, its catalog is the default catalog (a Hadoop catalog under `warehouse`
    unless the profile says otherwise).

    `quick_start` is for unit tests on tiny data: the JVM compiles with its fast tier only and one
    shuffle partition does, which roughly halves a short test run (the full JIT pays off only on
    real volumes).
    """
    active = SparkSession.getActiveSession()
    if active is not None:  # made by spark-submit, a platform or a test: use it as it is
        return active
    profile = profile or load_profile()
    settings = settings_from_env(warehouse, profile)
    log_level = os.environ.get("SPARKPLATE_SPARK_LOG_LEVEL", "ERROR")
    java_options = (
        f"-Dlog4j2.configurationFile={Path(__file__).with_name('log4j2.properties').as_uri()} "
        f"-Dsparkplate.log.level={log_level}"
    )
    shuffle_partitions = os.environ.get("SPARKPLATE_SHUFFLE_PARTITIONS", "4")
    if quick_start:
        java_options += " -XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
        shuffle_partitions = "1"
    if same_host(settings["master"]):
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
    jars = [_absolute(jar, profile.base_dir) for jar in profile.jars]
    fetch_packages(profile.packages, profile)
    if iceberg:
        catalog = settings["catalog"]
        classpath = iceberg_jar_config(settings["master"], profile.packages, tuple(jars))
        for key, value in classpath.items():
            builder = builder.config(key, value)
        properties = {
            **profile.catalog,
            "warehouse": settings["warehouse"],
            # A workflow's jobs may run as other Spark applications (a jar, an R job) that commit
            # to the same tables: load tables afresh, so this session sees those commits.
            "cache-enabled": profile.catalog.get("cache-enabled", "false"),
        }
        builder = builder.config(
            "spark.sql.extensions",
            "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        ).config(f"spark.sql.catalog.{catalog}", "org.apache.iceberg.spark.SparkCatalog")
        for key, value in properties.items():
            builder = builder.config(f"spark.sql.catalog.{catalog}.{key}", value)
        builder = builder.config("spark.sql.defaultCatalog", catalog)
    elif profile.packages or jars:
        builder = builder.config("spark.jars.packages", ",".join(profile.packages))
        builder = builder.config("spark.jars", ",".join(jars))
    for key, value in profile.spark_conf.items():  # the profile has the last word
        builder = builder.config(key, value)
    check_master(profile, settings["master"])
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
    if iceberg and properties.get("type") == "jdbc":
        try:
            check_jdbc_catalog(session, profile, properties)
        except SparkplateError:
            session.stop()
            raise
    return session
