"""Benchmarks of generated projects on this machine; prints figures, asserts nothing.

    nox -s bench          (or: python benchmarks/bench.py [--rows-per-day N] [--json PATH])
    nox -s bench -- --compare    also main on a cluster, without class-data sharing, on Spark 4.1
    nox -s bench -- --scale 1000000,4000000,16000000    main against a bare write, by size

Each figure is printed with its target and the command that reproduces it by hand in the
rendered project. Timings are wall-clock seconds. A short run's (up to some 15 s on 2 cores: the
unit tests, `main` and the bare write, Scala's `main`, each on Spark 3.5 and 4.1, the warm runs)
is the median of SHORT_RUNS runs, and a ratio of two such runs the median of as many alternating
pairs; a longer run's (`daily`, sparklyr's, `mvn test`, `main` on a cluster) is one run's. The
machine is noisy, so compare figures from the same bench. `--json PATH` also writes every figure
under a stable name (FIGURES).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import wap_overhead  # benchmarks/wap_overhead.py

from sparkplate.jobs import spark_submit as submit
from sparkplate.jobs.sparklyr_check import sparklyr_installed
from sparkplate.sample import Source, spark_here
from sparkplate.versions import installed_spark_line

REPO = Path(__file__).resolve().parents[1]
# Every figure by a stable name, for `--json`: seconds end in `_s`, memory in `_gib`, ratios are
# plain numbers (1.16: 16 % more); `.<recipe>` or `.<rows>` ends a name measured for several.
FIGURES: dict[str, float] = {}
SOURCE = "some_db.source_table"
TARGET = "sample_db.sparkplate_sample_results"
SHORT_RUNS = 3  # a short run's figure is the median of this many


class Watch:
    """Runs a command, sampling its process tree: wall time, peak total RSS, JVMs started."""

    def __init__(self, cmd: list[str], cwd: Path, env: dict[str, str], sparklyr: bool = False):
        self.cmd, self.cwd, self.env = cmd, cwd, env
        self.sparklyr = sparklyr  # also watch sparklyr's JVM, which leaves the process tree
        self.jvms: set[int] = set()  # of all its runs
        self.times: list[float] = []  # every run's wall time; `seconds` is the last one's
        # Every run's peak RSS. The JVM grows its heap towards -Xmx as the collector decides, so
        # one run's peak may be twice another's for the same work: `peak_rss` is their median.
        self.peaks: list[int] = []

    def _detached(self) -> list[psutil.Process]:
        """sparklyr starts its JVM in the background: the JVM leaves the process tree."""
        found = []
        for p in psutil.process_iter(["name", "create_time"]):
            if p.info["name"] == "java" and (p.info["create_time"] or 0) >= self.started_at:
                try:
                    if any("sparklyr" in part for part in p.cmdline()):
                        found.append(p)
                except psutil.Error:
                    pass
        return found

    def _sample(self, proc: psutil.Process, done: threading.Event) -> None:
        while not done.is_set():
            try:
                tree = [proc, *proc.children(recursive=True)]
                if self.sparklyr:  # a scan of every process: only where it is needed
                    tree += self._detached()
                total = 0
                for p in tree:
                    try:
                        total += p.memory_info().rss
                        # spark-submit first runs a short launcher JVM; count Spark drivers only.
                        cmdline = p.cmdline() if p.name() == "java" else []
                        if "org.apache.spark.deploy.SparkSubmit" in cmdline and (
                            "org.apache.spark.launcher.Main" not in cmdline
                        ):
                            self.jvms.add(p.pid)
                    except psutil.Error:
                        pass
                self.peaks[-1] = max(self.peaks[-1], total)
            except psutil.Error:
                pass
            time.sleep(0.1)

    def run(self) -> float:
        self.started_at = time.time()
        self.peaks.append(0)
        started = time.perf_counter()
        proc = subprocess.Popen(
            self.cmd,
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        done = threading.Event()
        sampler = threading.Thread(target=self._sample, args=(psutil.Process(proc.pid), done))
        sampler.start()
        self.output, _ = proc.communicate()
        done.set()
        sampler.join()
        self.seconds = time.perf_counter() - started
        self.times.append(self.seconds)
        if proc.returncode != 0:
            sys.exit(f"benchmark command failed: {' '.join(self.cmd)}\n{self.output[-3000:]}")
        return self.seconds

    def median_of(self, runs: int = SHORT_RUNS) -> float:
        """Run it `runs` times; the median wall time."""
        for _ in range(runs):
            self.run()
        return self.median

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def peak_rss(self) -> float:
        return statistics.median(self.peaks)


def render(dest: Path, recipe: str = "pyspark", spark: str | None = None) -> Path:
    """The recipe on `spark` (default: the Spark line installed here, which runs it)."""
    import copier

    line = (
        {"spark_version": spark} if spark else spark_here(Source(str(REPO), "HEAD", True), recipe)
    )
    copier.run_copy(
        str(REPO),
        dest,
        data={"recipe": recipe, **line},
        defaults=True,
        unsafe=True,
        quiet=True,
        vcs_ref="HEAD",
    )
    return dest


def built_scala(dest: Path, spark: str | None = None) -> Path:
    """The Scala recipe rendered, its jar built as the runner builds it (the sources recorded),
    so a run of it only submits."""
    project = render(dest, "scala", spark)
    submit.build(project / "target" / "sparkplate_sample.jar", project / "pom.xml",
                 lambda line: None, {})  # fmt: skip
    return project


def alternate(one: Watch, other: Watch, pairs: int = SHORT_RUNS) -> float:
    """Run both `pairs` times, side by side, the one that goes first changing from pair to pair:
    the median of the pairs' ratios (one / other), each of two runs that saw the same noise."""
    ratios = []
    for pair in range(pairs):
        for watch in (one, other) if pair % 2 == 0 else (other, one):
            watch.run()
        ratios.append(one.seconds / other.seconds)
    return statistics.median(ratios)


def against_bare(main_cmd: list, project: Path, env: dict, date: str) -> tuple[Watch, Watch, float]:
    """`main` against the bare transform and write of the same date, as a user pays for each: one
    process each, in alternating pairs. (main, bare, the median of the pairs' ratios)."""
    main_run = Watch(main_cmd, project, env)
    bare = Watch([sys.executable, str(Path(__file__).with_name("bare_write.py")), str(project),
                  date], project, env)  # fmt: skip
    return main_run, bare, alternate(main_run, bare)


def unit_tests(
    recipe: str,
    project: Path,
    env: dict,
    pytest: list,
    target: str,
    what: str = "unit tests",
    ratio_target: str = "<= 2 x",
) -> None:
    """A recipe's pytest run, cold (its JVM's start included), against a pytest run in the same
    project whose one test only takes the `spark` fixture: the floor of any such run, on this
    machine. The issue's 8 s is twice that start on the machine it was set on."""
    start_only = project / ".bench" / "test_session_start.py"
    start_only.parent.mkdir(exist_ok=True)
    start_only.write_text("def test_session_start(spark):\n    pass\n")
    tests, start = Watch(pytest, project, env), Watch([*pytest, str(start_only)], project, env)
    ratio = alternate(tests, start)
    where = "" if recipe == "pyspark" else f"   (in {project})"
    report(f"{recipe}: {what}, cold (JVM included)", f"{tests.median:.1f} s", target,
           f"python -m pytest -q{where}", key=f"unit_tests_cold_s.{recipe}",
           number=tests.median)  # fmt: skip
    report("  pytest that only starts the session", f"{start.median:.1f} s", "",
           f"python -m pytest -q {start_only.relative_to(project)}{where}",
           key=f"session_start_cold_s.{recipe}", number=start.median)  # fmt: skip
    report("  ratio to only the session start", f"{ratio:.2f} x", ratio_target,
           "the median of the pairs above", key=f"unit_tests_vs_session_start.{recipe}",
           number=ratio)  # fmt: skip


def on_a_cluster(
    work: Path, project: Path, env: dict, generate_cmd: list, main_cmd: list, main_date: str
) -> Watch | None:
    """`main` on local-cluster[2,1,1024] (two executor JVMs) with Iceberg's JDBC catalog on a
    real PostgreSQL, its date's source generated as the local one was; the profile is the only
    change."""
    sys.path.insert(0, str(REPO / "tests"))
    from servers import postgres, postgres_bin  # the tests' PostgreSQL on 127.0.0.1, by PID

    if postgres_bin() is None:
        return None

    cluster = Path(shutil.copytree(project, work / "cluster-pipeline"))
    env = {k: v for k, v in env.items() if k != "SPARKPLATE_WAREHOUSE"}
    env["SPARKPLATE_PROFILE"] = "cluster"
    with postgres() as db:
        (cluster / "sparkplate.yaml").write_text(
            "profiles:\n  cluster:\n    master: local-cluster[2,1,1024]\n"
            f"    catalog: {{type: jdbc, uri: '{db.jdbc_url}', jdbc.user: {db.user},\n"
            f"              jdbc.schema-version: V1, warehouse: {work / 'cluster-warehouse'}}}\n"
            "    packages: [org.postgresql:postgresql:42.7.8]\n"
        )
        # Only the date the run reads (the local runs had the whole week, from that date on):
        # rows are numbered from the start date, so that date's rows are the same.
        one_date = list(generate_cmd)
        for option in ("--start-date", "--end-date"):
            one_date[one_date.index(option) + 1] = main_date
        Watch(one_date, cluster, env).run()
        run = Watch(main_cmd, cluster, env)
        run.run()
    return run


def report_cluster(cluster_main: Watch, main_run: Watch, main_cmd: list) -> None:
    report(
        "main on local-cluster[2,1,1024] + JDBC catalog",
        f"{cluster_main.seconds:.1f} s",
        "",
        f"SPARKPLATE_PROFILE=cluster {' '.join(main_cmd[1:])}   (in {cluster_main.cwd})",
        key="cluster_main_s",
        number=cluster_main.seconds,
    )
    report(
        "  ratio to main on local[*] + Hadoop catalog",
        f"{cluster_main.seconds / main_run.median:.2f} x",
        "",
        "this one run against the median local main",
        key="cluster_main_vs_local",
        number=cluster_main.seconds / main_run.median,
    )


def without_cds(
    project: Path, env: dict, bare: Watch, main_run: Watch, main_cmd: list, date: str
) -> None:
    """The bare write and `main` without the class-data sharing archive, measured as the runs
    with it were: what the archive saves each start."""
    no_cds = {**env, "SPARKPLATE_CDS": "off"}
    main_off, bare_off, per_run_off = against_bare(main_cmd, project, no_cds, date)
    report("bare transform + write, CDS off", f"{bare_off.median:.1f} s", "", "SPARKPLATE_CDS=off "
           f"python benchmarks/bare_write.py {project} {date}", key="bare_write_cds_off_s",
           number=bare_off.median)  # fmt: skip
    report("main, CDS off", f"{main_off.median:.1f} s", "", f"SPARKPLATE_CDS=off "
           f"{' '.join(main_cmd[1:])}", key="main_cds_off_s", number=main_off.median)  # fmt: skip
    report("main: time saved by class-data sharing", f"{main_off.median / main_run.median:.2f} x",
           "", "main's median, CDS off against on", key="cds_speedup.main",
           number=main_off.median / main_run.median)  # fmt: skip
    FIGURES["cds_speedup.bare"] = round(bare_off.median / bare.median, 3)
    report("WAP + audits + HWM overhead, CDS off", f"{per_run_off:.2f} x", "",
           "the median of the pairs above", key="wap_overhead_per_run_cds_off",
           number=per_run_off)  # fmt: skip


def sparkplate_on(work: Path, line: str, pyspark: str) -> Path | None:
    """`sparkplate` in an environment of its own on another Spark line (uv when there is one,
    from the same wheel folders nox uses); None if it cannot be made here."""
    venv = work / f"venv-{line}"
    uv = shutil.which("uv")
    if uv:
        made = [uv, "venv", "-q", "--python", sys.executable, str(venv)]
        install = [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
    else:
        made = [sys.executable, "-m", "venv", str(venv)]
        install = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    for command in (made, [*install, "-e", str(REPO), pyspark]):
        if subprocess.run(command).returncode != 0:
            return None
    return venv / "bin" / "sparkplate"


def spark_lines(work: Path, project: Path, env: dict, main_cmd: list, pyspark_main: Watch,
                scala_main: Watch) -> None:  # fmt: skip
    """`main` on Spark 4.1 against the same `main` on 3.5, for PySpark and Scala: the same
    project folder and warehouse (the table and the date already there, as in the 3.5 runs it
    is compared with), run by sparkplate installed with pyspark 4.1."""
    import yaml

    if installed_spark_line() != "3.5":
        print("SKIPPED: Spark 4.1 against 3.5 is measured from a 3.5 environment\n")
        return
    facts = yaml.safe_load((REPO / "copier.yml").read_text())["spark_versions"]["default"]
    sparkplate41 = sparkplate_on(work, "4.1", facts["4.1"]["pyspark"])
    if sparkplate41 is None:
        print("SKIPPED: no environment with pyspark 4.1 could be made; 4.1 was not measured\n")
        return
    on41 = [str(sparkplate41), *main_cmd[1:]]
    # Compared as the 3.5 runs were made: with a class-data sharing archive for this Spark,
    # which builds after this first run while the Scala 2.13 jar is built.
    Watch(on41, project, env).run()
    scala41 = built_scala(work / "scala-pipeline-4.1", "4.1")
    print(f"(Spark 4.1's CDS archive ready: waited {wait_for_cds_builds():.0f} s more)\n",
          flush=True)  # fmt: skip
    pyspark41 = Watch(on41, project, env)
    report("pyspark: main on Spark 4.1", f"{pyspark41.median_of():.1f} s", "",
           f"{' '.join(main_cmd[1:])}   (pyspark 4.1: {sparkplate41})",
           key="spark41_main_s.pyspark", number=pyspark41.median)  # fmt: skip
    ratio = pyspark41.median / pyspark_main.median
    report("  ratio to the same main on Spark 3.5", f"{ratio:.2f} x", "",
           "same warehouse, the medians", key="spark41_vs_35.pyspark", number=ratio)  # fmt: skip
    scala_run = Watch(on41, scala41, env)
    report("scala: main on Spark 4.1 (Scala 2.13)", f"{scala_run.median_of():.1f} s", "",
           f"{' '.join(on41)}   (in {scala41})", key="spark41_main_s.scala",
           number=scala_run.median)  # fmt: skip
    ratio = scala_run.median / scala_main.median
    report("  ratio to the same main on Spark 3.5", f"{ratio:.2f} x", "",
           "same warehouse, the medians", key="spark41_vs_35.scala", number=ratio)  # fmt: skip


def wait_for_cds_builds(timeout_s: float = 300) -> float:
    """Wait until no class-data sharing archive is being built; the seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s and any(
        "sparkplate.cds" in (p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"])
    ):
        time.sleep(0.5)
    return time.perf_counter() - started


def report(
    name: str,
    value: str,
    target: str,
    command: str,
    key: str | None = None,
    number: float | None = None,
) -> None:
    """Print a figure; with `key`, keep `number` under that name for `--json`."""
    if key is not None and number is not None:
        FIGURES[key] = round(number, 3)
    aim = f"   target: {target}" if target else ""
    print(f"{name:<44} {value:>14}{aim}\n{'':<44} repeat: {command}", flush=True)


def rows_label(rows: int) -> str:
    """1000000 -> '1m', 16000000 -> '16m', 500000 -> '500k': the rows in a figure's name."""
    for size, suffix in ((1_000_000, "m"), (1_000, "k")):
        if rows >= size and rows % size == 0:
            return f"{rows // size}{suffix}"
    return str(rows)


def ci_times() -> None:
    """Under `.ci/run`: the template's CI time up to now, set-up included (the bench is its last
    session, so this is all of it), and each nox session's time before the bench."""
    started, times = os.environ.get("SPARKPLATE_CI_STARTED"), os.environ.get("SPARKPLATE_CI_TIMES")
    if not started:
        return
    FIGURES["template_ci_s"] = round(time.time() - int(started))
    if times and Path(times).is_file():
        for line in Path(times).read_text().splitlines():
            entry = json.loads(line)
            FIGURES[f"ci_session_s.{entry['session']}"] = entry["s"]
    minutes = FIGURES["template_ci_s"] / 60
    report("template CI: .ci/run to the bench's end", f"{minutes:.1f} min", "<= 45 min",
           "time .ci/run   (a clean clone)")  # fmt: skip


def write_json(path: Path, args: argparse.Namespace) -> None:
    sizes = (
        {"scale": args.scale}
        if args.scale
        else {"rows_per_day": args.rows_per_day, "days": args.days, "compare": args.compare}
    )
    record = {**sizes, "cores": os.cpu_count(), "figures": dict(sorted(FIGURES.items()))}
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"figures written to {path}", flush=True)


def scale(sizes: list[int]) -> None:
    """`main` against the bare transform and write of the same date, one process each, at each
    size (rows in the date): wall time and the process tree's peak memory. Each size is a date of
    its own in one warehouse, so every run reads and writes only its date's rows."""
    work = Path(tempfile.mkdtemp(prefix="sparkplate-scale-"))
    project = render(work / "pipeline")
    env = {**os.environ, "SPARKPLATE_WAREHOUSE": str(work / "warehouse")}
    sparkplate = str(Path(sys.executable).parent / "sparkplate")
    print(f"project: {project}  ({os.cpu_count()} cores; each figure the median of "
          f"{SHORT_RUNS} alternating pairs of main and the bare write)\n", flush=True)  # fmt: skip
    for day, rows in enumerate(sizes, start=1):
        date, label = f"2024-02-{day:02d}", rows_label(rows)
        generate = Watch([sparkplate, "mock", "generate", SOURCE, "--start-date", date,
                          "--end-date", date, "--rows-per-day", str(rows), "--seed", "7"],
                         project, env)  # fmt: skip
        generate.run()
        print(f"(generated {rows:,} rows for {date} in {generate.seconds:.1f} s)", flush=True)
        main_cmd = [sparkplate, "run", "main.sch.yaml", "-p", f"date={date}"]
        main_run, bare, ratio = against_bare(main_cmd, project, env, date)
        report(f"{rows:,} rows: bare transform + write", f"{bare.median:.1f} s", "",
               f"benchmarks/bare_write.py {project} {date}", key=f"bare_{label}_s",
               number=bare.median)  # fmt: skip
        report(f"{rows:,} rows: main", f"{main_run.median:.1f} s", "", " ".join(main_cmd[1:]),
               key=f"main_{label}_s", number=main_run.median)  # fmt: skip
        report(f"{rows:,} rows: main against the bare write", f"{ratio:.2f} x", "<= 1.1 x",
               "main / the bare write beside it, the median of the pairs",
               key=f"main_{label}_vs_bare", number=ratio)  # fmt: skip
        report(f"{rows:,} rows: main's peak memory (process tree RSS)",
               f"{main_run.peak_rss / 2**30:.2f} GiB", "flat", "the median of its runs' peaks",
               key=f"main_peak_gib.{rows}", number=main_run.peak_rss / 2**30)  # fmt: skip
        report(f"{rows:,} rows: the bare write's peak memory", f"{bare.peak_rss / 2**30:.2f} GiB",
               "", "the median of its runs' peaks", key=f"bare_peak_gib.{rows}",
               number=bare.peak_rss / 2**30)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows-per-day", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write every figure here, by name")
    parser.add_argument(
        "--scale",
        metavar="ROWS,...",
        type=lambda text: [int(rows) for rows in text.split(",")],
        help="only main against the bare write at these sizes, e.g. 1000000,4000000,16000000",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also the same main on a local cluster with a JDBC catalog, without class-data "
        "sharing, and on Spark 4.1 (some five minutes more on 2 cores: not in CI's nox)",
    )
    args = parser.parse_args()
    if args.scale:
        scale(args.scale)
        if args.json:
            write_json(args.json, args)
        return
    rows = rows_label(args.rows_per_day)
    # Measured as a developer's machine runs, a CI runner too: with class-data sharing.
    os.environ["SPARKPLATE_CDS"] = "on"

    work = Path(tempfile.mkdtemp(prefix="sparkplate-bench-"))
    project = render(work / "pipeline")
    env = {**os.environ, "SPARKPLATE_WAREHOUSE": str(work / "warehouse")}
    bin_dir = Path(sys.executable).parent
    sparkplate = str(bin_dir / "sparkplate")
    print(f"project: {project}  ({os.cpu_count()} cores; a short run's figure is the median of "
          f"{SHORT_RUNS})\n", flush=True)  # fmt: skip

    end_day = f"2024-01-{args.days:02d}"
    generate_cmd = [sparkplate, "mock", "generate", SOURCE, "--start-date", "2024-01-01",
                    "--end-date", end_day, "--rows-per-day", str(args.rows_per_day),
                    "--seed", "7"]  # fmt: skip
    generate = Watch(generate_cmd, project, env)
    generate.run()
    print(
        f"(generated {args.days} x {args.rows_per_day:,} source rows in "
        f"{generate.seconds:.1f} s)\n",
        flush=True,
    )
    # The first JVM on this Java and Spark lists its classes for the class-data sharing archive,
    # built in the background (sparkplate/cds.py), and so do the first unit tests (a session
    # without Iceberg has an archive of its own): every figure below is of runs that map one.
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    Watch(pytest, project, env).run()
    # What needs no timing is made while the archives build: the other recipes' projects, and
    # the Scala jar (its Maven build also fills the Maven cache for `mvn test` below).
    sql_project = render(work / "sql-pipeline", "sparksql")
    r_project = render(work / "r-pipeline", "sparklyr")
    scala_project = built_scala(work / "scala-pipeline")
    print(f"(class-data sharing archives ready: waited {wait_for_cds_builds():.0f} s more)\n",
          flush=True)  # fmt: skip

    unit_tests("pyspark", project, env, pytest, "<= 8 s")
    unit_tests("sparksql", sql_project, env, pytest, "<= 8 s")
    lint = Watch([str(bin_dir / "sqlfluff"), "lint", "src", "ddl"], sql_project, env)
    report("sparksql: sqlfluff lint src ddl", f"{lint.median_of():.1f} s", "<= 10 s",
           f"sqlfluff lint src ddl   (in {sql_project})", key="sqlfluff_lint_s.sparksql",
           number=lint.median)  # fmt: skip
    testthat = "testthat::test_dir('tests/testthat', stop_on_failure = TRUE)"
    r_tests = Watch(["Rscript", "-e", testthat], r_project, env)
    report("sparklyr: testthat on local tibbles", f"{r_tests.median_of():.1f} s", "<= 10 s",
           f'Rscript -e "{testthat}"   (in {r_project})', key="testthat_s.sparklyr",
           number=r_tests.median)  # fmt: skip
    unit_tests("sparklyr", r_project, env, pytest, "<= 20 s", "dbplyr's SQL", ratio_target="")

    main_date = "2024-01-01"
    main_cmd = [sparkplate, "run", "main.sch.yaml", "-p", f"date={main_date}"]
    main_run, bare, per_run = against_bare(main_cmd, project, env, main_date)
    report(
        f"main, one date, {args.rows_per_day:,} rows: wall",
        f"{main_run.median:.1f} s",
        "<= 60 s",
        " ".join(main_cmd[1:]),
        key=f"main_{rows}_s",
        number=main_run.median,
    )
    report("bare transform + write, one process", f"{bare.median:.1f} s", "",
           f"python benchmarks/bare_write.py {project} {main_date}", key="bare_write_s",
           number=bare.median)  # fmt: skip
    report("WAP + audits + HWM overhead, per run", f"{per_run:.2f} x", "<= 1.1 x",
           "main / the bare write beside it, the median of the pairs", key="wap_overhead_per_run",
           number=per_run)  # fmt: skip
    report(
        "main: peak memory (process tree RSS)",
        f"{main_run.peak_rss / 2**30:.2f} GiB",
        "< 4 GiB",
        "the median of its runs' peaks",
        key=f"main_{rows}_peak_gib",
        number=main_run.peak_rss / 2**30,
    )
    FIGURES[f"main_peak_gib.{args.rows_per_day}"] = FIGURES[f"main_{rows}_peak_gib"]

    if args.compare:  # the same main by configuration only: executor JVMs, a shared catalog
        cluster_main = on_a_cluster(work, project, env, generate_cmd, main_cmd, main_date)
        if cluster_main is None:
            print("SKIPPED: PostgreSQL is not installed; main on a cluster was not measured\n")
        else:
            report_cluster(cluster_main, main_run, main_cmd)

    # The Scala recipe on the same source table, its jar built above. Its tests run in a copy,
    # where `clean` leaves that jar alone.
    scala_tests = Path(shutil.copytree(scala_project, work / "scala-tests",
                                       ignore=shutil.ignore_patterns("target")))  # fmt: skip
    mvn_test = Watch(["mvn", "-B", "-q", "clean", "test"], scala_tests, env)  # compiles too
    report("scala: mvn test, warm Maven cache", f"{mvn_test.run():.1f} s", "<= 60 s",
           f"mvn -B -q clean test   (in {scala_tests})", key="unit_tests_cold_s.scala",
           number=mvn_test.seconds)  # fmt: skip
    scala_main = Watch(main_cmd, scala_project, env)
    scala_main.median_of()
    report(
        f"scala: main, one date, {args.rows_per_day:,} rows",
        f"{scala_main.median:.1f} s",
        f"<= 1.15x pyspark main ({1.15 * main_run.median:.0f} s)",
        f"{' '.join(main_cmd[1:])}   (in {scala_project})",
        key="scala_main_s",
        number=scala_main.median,
    )
    report(
        "scala: main, ratio to the pyspark main run",
        f"{scala_main.median / main_run.median:.2f} x",
        "<= 1.15 x",
        "the two medians",
        key="scala_main_vs_pyspark",
        number=scala_main.median / main_run.median,
    )
    report("scala: main peak memory (one JVM)", f"{scala_main.peak_rss / 2**30:.2f} GiB",
           "< 4 GiB", "the median of its runs' peaks", key="scala_main_peak_gib",
           number=scala_main.peak_rss / 2**30)  # fmt: skip

    daily_cmd = [
        sparkplate,
        "run",
        "daily.sch.yaml",
        "-p",
        f"date={end_day}",
        "-p",
        f"lookback_days={args.days}",
    ]
    daily = Watch(daily_cmd, project, env)
    daily.run()
    report(
        f"daily over {args.days} dates: wall",
        f"{daily.seconds:.1f} s",
        f"<= 1.5x main ({1.5 * main_run.median:.0f} s)",
        " ".join(daily_cmd[1:]),
        key=f"daily{args.days}_s",
        number=daily.seconds,
    )
    report(
        "daily: ratio to one main run",
        f"{daily.seconds / main_run.median:.2f} x",
        "<= 1.5 x",
        "this one run against main's median",
        key=f"daily{args.days}_vs_main",
        number=daily.seconds / main_run.median,
    )
    report("daily: JVMs started", str(len(daily.jvms)), "1", "same run", key="daily_jvms",
           number=len(daily.jvms))  # fmt: skip

    # The sparklyr recipe on the same source table: its R jobs share one sparklyr connection.
    if sparklyr_installed():
        r_main = Watch(main_cmd, r_project, env, sparklyr=True)
        r_main.run()
        report(
            f"sparklyr: main, one date, {args.rows_per_day:,} rows",
            f"{r_main.seconds:.1f} s",
            "",
            f"{' '.join(main_cmd[1:])}   (in {r_project})",
            key="sparklyr_main_s",
            number=r_main.seconds,
        )
        r_daily = Watch(daily_cmd, r_project, env, sparklyr=True)
        r_daily.run()
        report(
            f"sparklyr: daily over {args.days} dates, ratio to its main",
            f"{r_daily.seconds / r_main.seconds:.2f} x",
            "<= 3 x",
            f"{' '.join(daily_cmd[1:])}   (in {r_project})",
            key=f"sparklyr_daily{args.days}_vs_main",
            number=r_daily.seconds / r_main.seconds,
        )
        report("sparklyr: daily, JVMs started", str(len(r_daily.jvms)), "2 (runner, sparklyr)",
               "same run", key="sparklyr_daily_jvms", number=len(r_daily.jvms))  # fmt: skip
    else:
        print("SKIPPED: sparklyr is not installed; its main and daily were not measured\n")

    if args.compare:
        without_cds(project, env, bare, main_run, main_cmd, main_date)
        # The same main on Spark 4.1, in the same warehouse, against the runs above on 3.5.
        spark_lines(work, project, env, main_cmd, main_run, scala_main)
    else:
        print("(not run: main on a cluster, without class-data sharing and on Spark 4.1, "
              "against the runs above: `nox -s bench -- --compare`)\n", flush=True)  # fmt: skip

    # Last, in this process: it starts the bench's own JVM on the same warehouse.
    os.environ["SPARKPLATE_WAREHOUSE"] = env["SPARKPLATE_WAREHOUSE"]
    bare_warm, main_warm, steps = wap_overhead.report(project)
    FIGURES.update({"wap_bare_warm_s": round(bare_warm, 3), "wap_main_warm_s": round(main_warm, 3),
                    "wap_fixed_cost_warm_s": round(main_warm - bare_warm, 3),
                    "wap_overhead_warm": round(main_warm / bare_warm, 3)})  # fmt: skip
    FIGURES.update({f"main_warm_step_s.{step}": round(s, 3) for step, s in steps.items()})
    ci_times()
    if args.json:
        write_json(args.json, args)


if __name__ == "__main__":
    main()
