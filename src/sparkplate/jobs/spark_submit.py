"""The SparkSubmit job: a JVM application (the Scala recipe's jar), in the runner's session or
spark-submitted.

An application that offers `run(spark: SparkSession, args: Array[String])` beside its `main` runs
in the runner's own JVM and Spark session: the jar is loaded there, and `run` gets the session
with its catalogs and, inside a `wap` template, the branch to write to. One JVM for the whole
workflow run, not one more per date. Otherwise, or with `submit: true`, it is spark-submitted as
a separate Spark application with the runner's own settings (the same catalog and warehouse, the
Iceberg jar, `spark.wap.branch`). Either way its table commits are seen by the runner, which
audits and publishes them like any other write.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from sparkplate.errors import SparkplateError, spark_message
from sparkplate.java import use_java
from sparkplate.jobs.base import JobRun, job_type
from sparkplate.session import spark_submit
from sparkplate.versions import spark_build, spark_home, spark_line
from sparkplate.workflow import Job, Workflow

# The runner's Spark settings an application gets (catalogs, storage credentials, executors...),
# less those that name the runner's own application or its ports, and the console progress bar
# (the application's output is read line by line: each redraw of the bar would be a log line).
NOT_INHERITED = re.compile(
    r"^spark\.(app\.|submit\.|master$|executor\.id$|driver\.host$|ui\.showConsoleProgress$)"
    r"|\.port$"
)
WAP_BRANCH = "spark.wap.branch"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
STACK_FRAME = re.compile(r"^\s+(at |\.\.\. \d+ more)")
JVM_CLASS = re.compile(r"^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$")


def inherited_conf(spark) -> dict[str, str]:
    conf = {
        key: value
        for key, value in spark.sparkContext.getConf().getAll()
        if not NOT_INHERITED.search(key)
    }
    branch = spark.conf.get(WAP_BRANCH, None)
    if branch:
        conf[WAP_BRANCH] = branch
    return conf


def application_args(params: dict) -> list[str]:
    """`{top_n: 100}` -> `--top-n 100`: the usual spelling of a JVM command line."""
    args: list[str] = []
    for key, value in params.items():
        args += [f"--{str(key).replace('_', '-')}", str(value)]
    return args


def write_properties(conf: dict[str, str], path: Path) -> Path:
    """`conf` as a Java properties file for spark-submit's --properties-file, readable by its
    owner alone: settings may hold secrets (a catalog's password), which on the command line
    every user of the machine would see in `ps`."""

    def escape(text: str, key: bool = False) -> str:
        text = text.replace("\\", "\\\\")
        return re.sub(r"([=: ])", r"\\\1", text) if key else text

    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.writelines(f"{escape(k, key=True)}={escape(v)}\n" for k, v in sorted(conf.items()))
    return path


def submit_command(
    spark, jar: Path, main_class: str, params: dict, name: str, properties: Path
) -> list[str]:
    """spark-submit of the jar with the runner's settings, written to `properties`."""
    write_properties(inherited_conf(spark), properties)
    command = [spark_submit(), "--master", spark.sparkContext.master, "--name", name,
               "--properties-file", str(properties)]  # fmt: skip
    return [*command, "--class", main_class, str(jar), *application_args(params)]


def sources_digest(pom: Path) -> str:
    """A hash of what the jar is built from: the pom, everything under src/main and the project's
    Maven settings (.mvn: its config, extensions and wrapper), names and contents. Contents
    rather than times, so copied, moved or deleted files count too."""
    digest = hashlib.sha256()
    root = pom.parent
    inputs = sorted(p for folder in ("src/main", ".mvn") for p in _files_under(root / folder))
    for path in [pom, *(p for p in inputs if p.is_file())]:
        digest.update(f"{path.relative_to(root).as_posix()}\0{_file_digest(path)}\n".encode())
    return digest.hexdigest()


def _files_under(folder: Path) -> list[Path]:
    """Every file under `folder`, through linked folders too (Maven compiles what they hold),
    each real folder once (a link back up the tree would never end)."""
    files, seen = [], set()
    for current, folders, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(current)
        if real in seen:
            folders.clear()
            continue
        seen.add(real)
        files += [Path(current, name) for name in names]
    return files


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _build_record(jar: Path) -> Path:
    return jar.with_name(jar.name + ".sources")


def stale(jar: Path, pom: Path) -> bool:
    """The jar is missing, or is not the one sparkplate built from the sources as they are now.
    The record beside it names both: the sources' digest, and the jar's as that build left it
    (another build, the project's own `mvn package` or an IDE's, may have replaced it since)."""
    recorded = _build_record(jar)
    if not jar.is_file() or not recorded.is_file():
        return True
    return recorded.read_text().split() != [sources_digest(pom), _file_digest(jar)]


def stream(command: list[str], cwd: Path, log) -> tuple[int, list[str]]:
    """Run `command`, passing each output line to `log`; (exit code, the output lines)."""
    lines: list[str] = []
    with subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as process:
        for line in process.stdout:
            line = ANSI_ESCAPE.sub("", line).rstrip()  # Maven resets colours even in batch mode
            if line:
                lines.append(line)
                if not STACK_FRAME.match(line):  # the message says what failed; frames say where
                    log(line)
    return process.returncode, lines


def maven(project: Path) -> str | None:
    """The Maven to build with: `mvn` on the PATH, else the project's Maven Wrapper (`mvnw`,
    which fetches Maven once into ~/.m2/wrapper); None when there is neither."""
    if shutil.which("mvn"):
        return "mvn"
    wrapper = project / ("mvnw.cmd" if os.name == "nt" else "mvnw")
    return str(wrapper.resolve()) if wrapper.is_file() else None


def build(jar: Path, pom: Path, log, where: dict) -> None:
    """`mvn package` of a new jar (callers build when the jar is stale). Tests are skipped here:
    `nox` runs them.

    Without Maven (no `mvn`, no `mvnw`), a jar that is already there (built elsewhere, say) is
    used as it is.
    """
    mvn = maven(pom.parent)
    if mvn is None and jar.is_file():
        log(f"Maven is not installed: using {jar.name} as it is (it may predate the sources)")
        return
    if mvn is None:
        raise SparkplateError(
            f"no Maven to build {jar.name}: `mvn` is not on the PATH and {pom.parent} has no "
            "Maven Wrapper (mvnw)",
            fix="install Maven 3.6.3+ (Debian/Ubuntu: apt install maven), or add the wrapper "
            "(`mvn wrapper:wrapper` where Maven is, or `copier update` for a generated project)",
            **where,
        )
    use_java()  # Maven runs on the run's Java (the one from PyPI sets JAVA_HOME)
    log(f"building {jar.name} with Maven (mvn -DskipTests package; `nox` runs the tests) ...")
    digest = sources_digest(pom)  # before the build: an edit made meanwhile makes it stale
    # Maven keeps a jar that is newer than its classes: one that another build or a copy put
    # there would stay, and be recorded as built from these sources.
    jar.unlink(missing_ok=True)
    _build_record(jar).unlink(missing_ok=True)
    command = [mvn, "-B", "-q", "-Dstyle.color=never", "-DskipTests", "-f", pom.name, "package"]
    code, lines = stream(command, pom.parent, log)
    if code != 0:
        errors = [line for line in lines if line.startswith("[ERROR]")] or ["see its output above"]
        raise SparkplateError(
            f"the Maven build failed (exit {code}): {errors[0]}",
            fix=f"fix the build; check it with `mvn -B package` in {pom.parent.resolve()}",
            **where,
        )
    if jar.is_file():
        if sources_digest(pom) == digest:  # else edited during the build: the next run builds
            _build_record(jar).write_text(f"{digest}\n{_file_digest(jar)}\n")
    else:
        raise SparkplateError(
            f"the Maven build succeeded but did not make {jar}",
            fix="make the job's `jar` the file the pom builds (its <finalName> in target/)",
            **where,
        )


def first_error(lines: list[str]) -> str:
    """The line that names the problem: the first exception or error, else the first line."""
    for line in lines:
        if re.search(r"(Exception|Error)\b.*:", line) or line.startswith(("error", "Error")):
            return line.strip()
    return lines[0].strip()


def run_application(
    spark, jar: Path, main_class: str, params: dict, name: str, log, where: dict
) -> None:
    if not jar.is_file():
        raise SparkplateError(
            f"jar not found: {jar}", fix="build it, or give the job a `pom` to build it", **where
        )
    with tempfile.TemporaryDirectory(prefix="sparkplate-submit-") as folder:
        properties = Path(folder) / "spark.properties"
        command = submit_command(spark, jar.resolve(), main_class, params, name, properties)
        code, lines = stream(command, Path.cwd(), log)
    if code != 0:
        raise SparkplateError(
            f"spark-submit of {jar.name} ({main_class}) exited with {code}"
            + (f": {first_error(lines)}" if lines else ""),
            fix="see the application's output above",
            **where,
        )


POM_SCALA = re.compile(r"<scala\.binary\.version>\s*([\d.]+)\s*</scala\.binary\.version>")


def check_scala(pom: Path, where: dict) -> None:
    """A jar built for one Scala does not load on a Spark built for another (Spark 3.5 is on
    2.12, Spark 4 on 2.13): refuse it before building, naming both, instead of a
    NoSuchMethodError from inside the application."""
    built_for = POM_SCALA.search(pom.read_text(encoding="utf-8", errors="replace"))
    spark, scala = spark_build()
    if built_for and scala and built_for[1] != scala:
        raise SparkplateError(
            f"{pom.name} builds for Scala {built_for[1]}, but the Spark that runs the jar here "
            f"({spark}, {spark_home()}) is on Scala {scala}",
            fix="install the pyspark the project is on (the Scala recipe's noxfile.py: "
            "PYSPARK), or move the project to this Spark: copier update -d spark_version="
            f"{spark_line(spark)}",
            **where,
        )


class LoadedJar:
    """An application jar loaded into the runner's JVM: the driver loads its classes through a
    class loader of its own, and Spark ships it to executors (`addJar`), once per workflow run."""

    def __init__(self, spark, jar: Path) -> None:
        jvm = spark._jvm
        urls = spark.sparkContext._gateway.new_array(jvm.java.net.URL, 1)
        urls[0] = jvm.java.io.File(str(jar)).toURI().toURL()
        self.loader = jvm.java.net.URLClassLoader(
            urls, spark._jsparkSession.getClass().getClassLoader()
        )
        spark.sparkContext._jsc.addJar(str(jar))  # to executors, where there are some
        self.entry_points: dict[str, object] = {}

    def entry_point(self, spark, main_class: str):
        """`main_class`'s static `run(SparkSession, String[])`, or None when it has none; looked
        up once per class (each date of a daily run would repeat dozens of py4j calls)."""
        if main_class not in self.entry_points:
            self.entry_points[main_class] = self._find_run(spark, main_class)
        return self.entry_points[main_class]

    def _find_run(self, spark, main_class: str):
        jvm, gateway = spark._jvm, spark.sparkContext._gateway
        parameters = gateway.new_array(jvm.java.lang.Class, 2)
        parameters[0] = jvm.java.lang.Class.forName(
            "org.apache.spark.sql.SparkSession", True, self.loader
        )
        parameters[1] = jvm.java.lang.Class.forName("[Ljava.lang.String;")
        application = jvm.java.lang.Class.forName(main_class, True, self.loader)
        for method in application.getMethods():
            if method.getName() == RUN and list(method.getParameterTypes()) == list(parameters):
                return method
        return None

    def close(self) -> None:
        self.loader.close()


RUN = "run"  # the entry point an application offers for the runner's session


def run_in_session(spark, loaded: LoadedJar, entry, main_class: str, params: dict, log, where):
    """Call the application's `run` with the runner's session, the jar's classes visible to
    Spark while it runs (its encoders and closures find them through the thread's loader)."""
    jvm, gateway = spark._jvm, spark.sparkContext._gateway
    args = application_args(params)
    argv = gateway.new_array(jvm.java.lang.String, len(args))
    for i, arg in enumerate(args):
        argv[i] = arg
    call = gateway.new_array(jvm.java.lang.Object, 2)
    call[0], call[1] = spark._jsparkSession, argv
    thread = jvm.java.lang.Thread.currentThread()
    before = thread.getContextClassLoader()
    thread.setContextClassLoader(loaded.loader)
    log(f"running {main_class}.{RUN} in this run's Spark session")
    try:
        entry.invoke(None, call)
    except Exception as err:  # the application's exception, under InvocationTargetException
        raise SparkplateError(
            f"{main_class}.{RUN} failed: {spark_message(err)}",
            fix="see the application's message; `nox -s tests` runs its tests",
            **where,
        ) from None
    finally:
        thread.setContextClassLoader(before)


def check_main_class(wf: Workflow, job: Job) -> None:
    if not isinstance(job.spec.get("submit", False), bool):
        raise wf.error(
            f"submit must be true or false, not {job.spec['submit']!r}",
            key=f"{job.key}.submit",
            fix="write submit: true to spark-submit the jar, or leave it out",
        )
    if not JVM_CLASS.match(str(job.spec["class"])):
        raise wf.error(
            f"'{job.spec['class']}' is not a JVM class name",
            key=f"{job.key}.class",
            fix="give the application's main class with its package, e.g. "
            "com.example.toptitles.TopTitles",
        )


@job_type(
    "SparkSubmit",
    required=("jar", "class"),
    optional=("params", "pom", "table", "submit"),
    files=("pom",),
    built=("jar",),
    mappings=("params",),
    writes_on_branch=True,
    check=check_main_class,
)
def run_spark_submit(jr: JobRun) -> None:
    jar = jr.file("jar")
    if jr.spec.get("pom"):
        pom = jr.file("pom")
        check_scala(pom, jr.where)
        if stale(jar, pom):
            build(jar, pom, jr.log, jr.where)
    params = jr.spec.get("params") or {}
    main_class = str(jr.spec["class"])
    if not jr.spec.get("submit") and jar.is_file():
        loaded = jr.run.resources.get(f"jar {jar.resolve()}", lambda: LoadedJar(jr.spark, jar))
        entry = loaded.entry_point(jr.spark, main_class)
        if entry is not None:
            run_in_session(jr.spark, loaded, entry, main_class, params, jr.log, jr.where)
            return
    name = f"{jr.run.workflow.id}.{jr.job.id}"
    run_application(jr.spark, jar, main_class, params, name, jr.log, jr.where)
