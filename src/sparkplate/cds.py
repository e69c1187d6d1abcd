"""A faster start for the driver JVM: class-data sharing (CDS) of the classes Spark loads.

Each run's JVM loads and checks some 16,000 classes from Spark's and Iceberg's jars; mapped from
a CDS archive instead, a short run takes about a quarter less time (`nox -s bench -- --compare`
prints `cds_speedup.main`).
The archive fits one Java and one class path, so there is one per Java and Spark install:

1. The first run on them (no archive yet) has its JVM write the list of classes it loads.
2. When that run ends, a background process (`python -m sparkplate.cds`, at idle priority)
   builds the archive from the list with `java -Xshare:dump`: about 20 s of CPU, about 170 MB
   in the cache. Only one builds at a time; the run does not wait for it.
3. Later runs map the archive. The JVM checks it against its own version and class path and
   starts without it when they differ; such an archive is deleted, and the next run lists
   its classes again.

The archives live in the cache (`cache_dir()/cds/`), the 4 last used are kept.
SPARKPLATE_CDS=off turns this off; it is off on CI runners unless SPARKPLATE_CDS=on. Nothing
here may fail a run: a cache that cannot be written only means a start without CDS.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sparkplate import locks
from sparkplate.cache import cache_dir
from sparkplate.errors import SparkplateError
from sparkplate.files import write_atomically
from sparkplate.java import Java

SWITCH = "SPARKPLATE_CDS"
KEEP = 4  # archives kept, the most recently used (a project has two: tests, runs)
ARCHIVE = "classes.jsa"
FAILED = "build-failed"  # java -Xshare:dump failed here once: not tried again
CLASSPATH = "classpath.txt"  # the class path the JVM reported, which the archive is built for
WAIT_FOR_JVM_S = 120.0


@dataclass(frozen=True)
class Plan:
    """What one JVM start does about CDS: map the archive in `folder` when it is there, else
    write the list of the classes it loads there, for the archive to be built (with the Java
    and heap size the JVM runs with)."""

    folder: Path
    maps_archive: bool
    java_home: Path
    memory: str

    @property
    def archive(self) -> Path:
        return self.folder / ARCHIVE

    @property
    def options(self) -> tuple[str, ...]:
        if self.maps_archive:
            return (f"-XX:SharedArchiveFile={self.archive}", "-Xshare:auto")
        return (f"-XX:DumpLoadedClassList={_class_list(self.folder, os.getpid())}",)


def enabled() -> bool:
    """On, except with SPARKPLATE_CDS=off, off POSIX, and on CI runners (CI is set): their cache
    ends with the job, so an archive built there would only take CPU from the job's own runs.
    SPARKPLATE_CDS=on turns it on there too (a runner that keeps its cache)."""
    said = os.environ.get(SWITCH, "").lower()
    if said in ("off", "0", "false") or os.name != "posix":
        return False
    on_ci = os.environ.get("CI", "").lower() not in ("", "0", "false")
    return said in ("on", "1", "true") or not on_ci


def spark_conf_dir(spark_home: Path) -> Path:
    """The folder Spark's launcher puts first on the driver's class path (its settings)."""
    return Path(os.environ.get("SPARK_CONF_DIR") or spark_home / "conf")


def folder_for(java: Java, spark_home: Path, jars: list[str], memory: str) -> Path:
    """One folder per Java, Spark install, settings folder, extra jars and heap size (the heap
    size decides how the JVM packs object pointers, which an archive must match)."""
    try:
        spark_jars = sorted(os.listdir(spark_home / "jars"))
    except OSError:
        spark_jars = []
    key = "\n".join(
        [java.version, str(java.home.resolve()), str(spark_home.resolve()), memory,
         str(spark_conf_dir(spark_home)), *jars, *spark_jars]
    )  # fmt: skip
    return cache_dir() / "cds" / hashlib.sha256(key.encode()).hexdigest()[:16]


def plan(java: Java, spark_home: Path, jars: list[str], memory: str) -> Plan | None:
    """The JVM options for this start, or None when CDS is off."""
    if not enabled():
        return None
    try:  # Java archives no class path with a folder that has files (spark-defaults.conf...)
        if any(spark_conf_dir(spark_home).iterdir()):
            return None
    except OSError:  # no such folder: nothing on the class path
        pass
    folder = folder_for(java, spark_home, jars, memory)
    if (folder / FAILED).is_file():
        return None
    if (folder / ARCHIVE).is_file():
        return Plan(folder, True, java.home, memory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return Plan(folder, False, java.home, memory)


def _class_list(folder: Path, pid: int) -> Path:
    return folder / f"classes-{pid}.lst"


def after_start(cds: Plan | None, spark) -> None:
    """Once the JVM runs: if it was to map the archive but did not (its Java or class path
    changed), drop the archive; if it lists its classes, build the archive when this process
    ends."""
    if cds is None:
        return
    jvm = spark._jvm
    if cds.maps_archive:
        try:
            if "sharing" in str(jvm.System.getProperty("java.vm.info")):
                os.utime(cds.archive)  # recently used: kept
            else:
                cds.archive.unlink(missing_ok=True)
        except OSError:
            pass
        return
    try:
        write_atomically(cds.folder / CLASSPATH, str(jvm.System.getProperty("java.class.path")))
    except OSError:
        return
    jvm_pid = int(jvm.ProcessHandle.current().pid())
    command = [sys.executable, "-m", "sparkplate.cds", str(cds.folder), str(cds.java_home),
               cds.memory, str(os.getpid()), str(jvm_pid)]  # fmt: skip
    atexit.register(_start_builder, command, cds.folder)


def _start_builder(command: list[str], folder: Path) -> None:
    try:
        with open(folder / "build.log", "ab") as log:
            subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
    except OSError:  # the folder was pruned meanwhile: a later run lists again
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # an ended process nobody has reaped yet (a zombie) has ended too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def build(folder: Path, java_home: Path, memory: str, run_pid: int, jvm_pid: int) -> int:
    """Build `folder`'s archive from the class lists of the runs there, once run `run_pid` (which
    started this) and its JVM have ended: their lists are complete then."""
    try:
        with locks.exclusive(folder / "build.lock", "the CDS build", timeout=0):
            if not (folder / ARCHIVE).is_file():
                _wait_for_exit(run_pid, jvm_pid)
                _dump(folder, java_home, memory)
    except SparkplateError:  # another process is building it
        return 0
    if (folder / ARCHIVE).is_file():  # the lists are in it, or came too late: never needed
        for listed in folder.glob("classes-*.lst"):
            if not _alive(_pid_of(listed)):
                listed.unlink(missing_ok=True)
    prune(folder.parent)
    return 0


def _pid_of(class_list: Path) -> int:
    pid = class_list.stem.removeprefix("classes-")
    return int(pid) if pid.isdigit() else 0


def _wait_for_exit(*pids: int) -> None:
    deadline = time.monotonic() + WAIT_FOR_JVM_S
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)


def merged_list(folder: Path) -> list[str]:
    """Every class the runs that have ended listed, each once, in the order first loaded. The
    lists' ids are dropped: they number one run's classes, and the classes of Java's built-in
    class loaders (all of Spark's are) are found by name."""
    seen: dict[str, None] = {}
    for listed in sorted(folder.glob("classes-*.lst"), key=lambda f: f.stat().st_mtime):
        if _alive(_pid_of(listed)):
            continue  # still running: its list is not complete
        for line in listed.read_text(errors="replace").splitlines():
            if line and not line.startswith("#"):
                seen.setdefault(re.sub(r" id: \d+$", "", line))
    return list(seen)


def _dump(folder: Path, java_home: Path, memory: str) -> None:
    classes = merged_list(folder)
    if not classes:
        return
    _yield_to_everything_else()  # nobody waits for this: a run going on meanwhile goes first
    partial = folder / f"{ARCHIVE}.{os.getpid()}.partial"
    class_list = folder / f"merged.{os.getpid()}.lst"
    class_list.write_text("\n".join(classes) + "\n")
    done = subprocess.run(
        [str(java_home / "bin" / "java"), "-Xshare:dump", f"-Xmx{memory}",
         f"-XX:SharedClassListFile={class_list}", f"-XX:SharedArchiveFile={partial}",
         "-Xlog:all=error", "-cp", (folder / CLASSPATH).read_text()],
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    class_list.unlink(missing_ok=True)
    if done.returncode == 0 and partial.is_file():
        partial.replace(folder / ARCHIVE)  # whole or not at all: later runs map it
        return
    partial.unlink(missing_ok=True)
    # Not again on every run: this Java and Spark start without CDS from now on.
    (folder / FAILED).write_text(f"java -Xshare:dump exited with {done.returncode}\n")
    print(f"java -Xshare:dump failed ({done.returncode}): runs start without CDS", flush=True)


def _yield_to_everything_else() -> None:
    """Run only on CPU time nothing else wants (Linux's SCHED_IDLE), else at the lowest nice."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.nice(19)


def prune(root: Path) -> None:
    """Keep the KEEP most recently used archives, and the folders of the last day's runs that
    have none yet."""
    built = [f for f in root.iterdir() if (f / ARCHIVE).is_file()]
    built.sort(key=lambda f: (f / ARCHIVE).stat().st_mtime, reverse=True)
    day_ago = time.time() - 86400
    unbuilt = [f for f in root.iterdir() if f.is_dir() and f not in built]
    for stale in built[KEEP:] + [f for f in unbuilt if f.stat().st_mtime < day_ago]:
        shutil.rmtree(stale, ignore_errors=True)


if __name__ == "__main__":
    folder, home, memory, run_pid, jvm_pid = sys.argv[1:6]
    sys.exit(build(Path(folder), Path(home), memory, int(run_pid), int(jvm_pid)))
