"""The runner's Spark session, made as the project's profile says (`profiles.py`): by default
the embedded one every generated project runs on, local[*] with a Hadoop catalog in ./warehouse.

When spark-submit, a notebook or a platform made the session, `local_session` returns that active
session unchanged.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from pyspark import SparkContext
from pyspark.sql import SparkSession

from sparkplate import cds, locks
from sparkplate.cache import cache_dir
from sparkplate.errors import SparkplateError
from sparkplate.files import write_atomically
from sparkplate.java import use_java
from sparkplate.preflight import check_jdbc_catalog, check_master, check_rest_catalog
from sparkplate.profiles import (
    SAME_HOST_MASTER,
    URI,
    Profile,
    check_warehouse,
    is_local_path,
    load_profile,
)
from sparkplate.versions import iceberg_runtime, spark_home

DEFAULT_CATALOG = "local"
# Where pyspark 3.4+ looks for a Spark Connect server instead of starting a JVM.
SPARK_CONNECT_SWITCHES = ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED")


def refuse_spark_connect(found: str) -> None:
    raise SparkplateError(
        f"{found}: sparkplate needs a classic Spark session, not a Spark Connect client. It calls "
        "Iceberg's Java API (branches, snapshots, fast-forward) and table locks through the "
        "driver's JVM, which a Spark Connect client does not have",
        fix="unset SPARK_REMOTE and SPARK_CONNECT_MODE_ENABLED (and drop spark.remote from the "
        "profile's spark_conf); run the workflow where its driver runs, e.g. with spark-submit",
    )


def is_spark_connect(session) -> bool:
    return type(session).__module__.startswith("pyspark.sql.connect")


def settings_from_env(
    warehouse: str | os.PathLike | None = None, profile: Profile | None = None
) -> dict[str, str | None]:
    """Where things live: options first, then SPARKPLATE_* variables, then the profile."""
    profile = profile or Profile()
    master = os.environ.get("SPARKPLATE_MASTER") or profile.master
    location = (
        warehouse or os.environ.get("SPARKPLATE_WAREHOUSE") or profile.catalog.get("warehouse")
    )
    if location is not None:
        check_warehouse(profile, str(location), master)
    if profile.catalog.get("type") == "rest":
        # The server owns the warehouse; some servers read `warehouse` as the name of one of
        # their catalogs. Send it only when given, as it is.
        location = str(location) if location else None
    else:
        location = _absolute(location or "warehouse", profile.base_dir)
    return {
        "warehouse": location,
        "catalog": os.environ.get("SPARKPLATE_CATALOG", DEFAULT_CATALOG),
        "master": master,
        "driver_memory": os.environ.get("SPARKPLATE_DRIVER_MEMORY")
        or profile.spark_conf.get("spark.driver.memory", "2g"),
    }


def _absolute(location: str | os.PathLike, base: Path | None = None) -> str:
    """A local path made absolute (from `base`); a URI (s3://, hdfs://, file:/) stays as it is."""
    text = str(location)
    if URI.match(text):
        return text
    return str(((base or Path.cwd()) / text).resolve())


def spark_warehouse_dir(warehouse: str | None) -> str:
    """The folder Spark's own (non-Iceberg) catalog creates at start-up: beside a local
    warehouse; for one on object storage or a catalog server's, in sparkplate's cache, since
    Hadoop has no file system for s3:// (Iceberg's S3FileIO serves the tables) and nothing of
    sparkplate's is kept there."""
    if warehouse is None or not is_local_path(warehouse):
        return str(cache_dir() / "spark-warehouse")
    return warehouse.rstrip("/") + "/_spark"


def same_host(master: str) -> bool:
    """Driver and executors on this host: local[...], local-cluster[...], a loopback master."""
    return bool(SAME_HOST_MASTER.match(master))


def driver_only(master: str) -> bool:
    """local or local[...]: the driver is the only JVM (local-cluster[...] has executors)."""
    return master == "local" or master.startswith("local[")


def spark_submit() -> str:
    """spark-submit of the Spark that runs the runner (pyspark's, unless SPARK_HOME says)."""
    return str(spark_home() / "bin" / "spark-submit")


FOUND = re.compile(r"found (\S+)#(\S+);(\S+) in ")  # Ivy: found GROUP#ARTIFACT;VERSION in REPO


def manifest_path(coordinates: tuple[str, ...]) -> Path:
    """Where the jars resolved for `coordinates` are listed (the first line names the set)."""
    key = hashlib.sha256(",".join(coordinates).encode()).hexdigest()[:16]
    return cache_dir() / "ivy" / "resolved" / f"{key}.txt"


def resolve_jars(coordinates: tuple[str, ...]) -> list[str]:
    """The jars of Maven `coordinates` and of their dependencies, in sparkplate's cache.

    Spark's own resolver (Ivy, through spark-submit) fetches them once; a manifest then remembers
    the set, so later sessions put the files on the classpath directly: offline, quiet, and the
    same files for the driver and the executors. Raises ValueError with the resolver's reason.
    """
    if not coordinates:
        return []
    ivy = cache_dir() / "ivy"
    manifest = manifest_path(coordinates)
    jars = _remembered(manifest)
    if jars:
        return jars
    # Ivy is not safe to run twice at once on one cache (two runs starting together on a fresh
    # machine): one process resolves, the others wait and then find its manifest.
    with locks.exclusive(ivy / "resolve.lock", "Spark's resolver (the jars' cache)",
                         on_wait=lambda text: print(text, file=sys.stderr)):  # fmt: skip
        return _remembered(manifest) or _resolve(coordinates, ivy, manifest)


def _remembered(manifest: Path) -> list[str]:
    """The jars a manifest lists, if every one of them is still in the cache; else []."""
    if manifest.is_file():
        jars = manifest.read_text().split("\n")[1:]  # the first line names the coordinates
        if jars and all(Path(jar).is_file() for jar in jars):
            return jars
    return []


def _resolve(coordinates: tuple[str, ...], ivy: Path, manifest: Path) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        noop = Path(folder) / "resolve_only.py"  # spark-submit resolves, then runs this
        noop.write_text("")
        try:
            done = subprocess.run(
                [spark_submit(), "--packages", ",".join(coordinates),
                 "--conf", f"spark.jars.ivy={ivy}", str(noop)],
                capture_output=True, text=True,
            )  # fmt: skip
        except OSError as err:
            raise ValueError(f"cannot run Spark's resolver: {err}") from err
    jars = [str(ivy / "jars" / f"{g}_{a}-{v}.jar") for g, a, v in FOUND.findall(done.stderr)]
    if done.returncode != 0 or not jars or any(not Path(jar).is_file() for jar in jars):
        lines = done.stderr.strip().splitlines()
        said = [line for line in lines if "not found" in line or "ERROR" in line] or lines[-1:]
        raise ValueError(said[0].strip() if said else f"spark-submit exit {done.returncode}")
    manifest.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(manifest, "\n".join([",".join(coordinates), *jars]))  # runs at once
    return jars


def session_jars(profile: Profile, iceberg: bool = True) -> list[str]:
    """Every jar the session needs: the Iceberg runtime (SPARKPLATE_ICEBERG_JAR if set), the
    profile's packages with their dependencies, and the profile's `jars`."""
    jars: list[str] = []
    if iceberg:
        if os.environ.get("SPARKPLATE_ICEBERG_JAR"):
            jars.append(os.environ["SPARKPLATE_ICEBERG_JAR"])
        else:
            runtime = iceberg_runtime()  # the one built for the Spark installed here
            try:
                jars += resolve_jars((runtime,))
            except ValueError as err:
                raise SparkplateError(
                    f"could not fetch the Iceberg runtime {runtime}: {err}",
                    fix=f"check the network (the jar is kept in {cache_dir() / 'ivy'} after the "
                    "first run), or point SPARKPLATE_ICEBERG_JAR at a copy of the jar",
                ) from err
    try:
        jars += [jar for jar in resolve_jars(profile.packages) if jar not in jars]
    except ValueError as err:
        raise profile.error(
            f"could not fetch {', '.join(profile.packages)}: {err}",
            key="packages",
            fix="check the coordinates (group:artifact:version) and the network",
        ) from err
    return jars + [_absolute(jar, profile.base_dir) for jar in profile.jars]


def classpath_config(master: str, jars: list[str]) -> dict[str, str]:
    """Spark settings that put `jars` on every JVM's classpath.

    On the driver's own classpath (spark.driver.extraClassPath) they are seen by everything there,
    including java.sql.DriverManager, which finds a JDBC catalog's driver there and not in Spark's
    added-jar class loader. In local mode the driver is the only JVM; with executors
    (local-cluster[...] included) spark.jars ships the same files to them.
    """
    if not jars:
        return {}
    config = {"spark.driver.extraClassPath": os.pathsep.join(jars)}
    if not driver_only(master):
        config["spark.jars"] = ",".join(jars)
    return config


def _start(builder: SparkSession.Builder) -> SparkSession:
    """`builder.getOrCreate()`, leaving no JVM behind when Ctrl-C (or any error)
    interrupts it before the JVM is connected.

    pyspark starts the driver's JVM ignoring SIGINT, then waits for it to write its port into a
    temporary folder, which it removes when interrupted. The JVM then cannot write the port and
    never reaches its watch on stdin (which ends it with its Python process), while its gateway
    thread keeps it running: left to itself it would run, and hold its memory, for good.
    """
    before = _child_pids()
    try:
        return builder.getOrCreate()
    except BaseException:
        if SparkContext._gateway is None:  # not connected: what this call started is orphaned
            for pid in _child_pids() - before:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:  # it ended on its own meanwhile
                    pass
        raise


def _child_pids() -> set[int]:
    """The processes this one started and that still run (`pgrep -P`: Linux and macOS)."""
    try:
        found = subprocess.run(["pgrep", "-P", str(os.getpid())], capture_output=True, text=True)
    except OSError:  # no pgrep: nothing to clean up after
        return set()
    return {int(pid) for pid in found.stdout.split()}


def local_session(
    app_name: str = "sparkplate",
    *,
    iceberg: bool = True,
    warehouse: str | os.PathLike | None = None,
    quick_start: bool = False,
    profile: Profile | None = None,
    spark_progress: bool = False,
) -> SparkSession:
    """The session `profile` describes (default: the project's, found from the working folder);
    with `iceberg`, its catalog is the default catalog (a Hadoop catalog under `warehouse`
    unless the profile says otherwise).

    `quick_start` is for unit tests on tiny data: the JVM compiles with its fast tier only and one
    shuffle partition does, which roughly halves a short test run (the full JIT pays off only on
    real volumes).

    `spark_progress` turns on Spark's console progress bar and its web UI, which cost a little at
    start-up and clutter short runs' output: off by default, for runs that take minutes.
    """
    for switch in SPARK_CONNECT_SWITCHES:  # before pyspark reads them
        if os.environ.get(switch):
            refuse_spark_connect(f"{switch} is set")
    active = SparkSession.getActiveSession()
    if active is not None:  # made by spark-submit, a platform or a test: use it as it is
        if is_spark_connect(active):
            refuse_spark_connect("the active Spark session is a Spark Connect session")
        return active
    profile = profile or load_profile()
    if "spark.remote" in profile.spark_conf:
        refuse_spark_connect("the profile's spark_conf sets spark.remote")
    java = use_java()  # before Spark's scripts (the jars' resolver too) look for one
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
    jars = session_jars(profile, iceberg)
    # A faster JVM start (see cds.py), where this call starts the JVM with sparkplate's options.
    sharing = None
    if SparkContext._gateway is None and "spark.driver.extraJavaOptions" not in profile.spark_conf:
        sharing = cds.plan(java, spark_home(), jars, settings["driver_memory"])
    if sharing is not None:
        java_options = " ".join([java_options, *sharing.options])
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
        .config("spark.sql.warehouse.dir", spark_warehouse_dir(settings["warehouse"]))
    )
    for key, value in classpath_config(settings["master"], jars).items():
        builder = builder.config(key, value)
    if iceberg:
        catalog = settings["catalog"]
        properties = {
            **profile.catalog,
            **({"warehouse": settings["warehouse"]} if settings["warehouse"] else {}),
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
    for key, value in profile.spark_conf.items():  # the profile has the last word...
        builder = builder.config(key, value)
    if spark_progress:  # ...but for what this run's command line asks for
        builder = builder.config("spark.ui.enabled", "true")
        builder = builder.config("spark.ui.showConsoleProgress", "true")
    check_master(profile, settings["master"])
    if iceberg and properties.get("type") == "rest":
        check_rest_catalog(profile, properties.get("uri", ""))
    try:
        session = _start(builder)
    except Exception as err:
        first_line = (str(err).strip().splitlines() or [repr(err)])[0]
        raise SparkplateError(
            f"could not start Spark on {java.describe()}: {first_line}",
            fix="check that Java runs (`python -m sparkplate.java` says which one is used)",
        ) from err
    session.sparkContext.setLogLevel(log_level)  # pyspark resets the level at start-up
    cds.after_start(sharing, session)
    if spark_progress and session.sparkContext.uiWebUrl:
        print(f"Spark UI: {session.sparkContext.uiWebUrl}", file=sys.stderr, flush=True)
    if iceberg and properties.get("type") == "jdbc":
        try:
            check_jdbc_catalog(session, profile, properties)
        except SparkplateError:
            session.stop()
            raise
    return session
