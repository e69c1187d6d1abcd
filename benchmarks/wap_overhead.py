"""What WAP, audits and HWM cost on top of the bare transform and write, in one JVM.

    python benchmarks/wap_overhead.py PROJECT_DIR   (the source table must hold 2024-01-01)

Runs the bare write (the transform's main(), straight to a table) and the whole main workflow
alternately, three times each after a warm-up, and compares the median times of each. The median
main run is also split into its steps, timed around the functions that do them, to show where the
fixed cost goes.
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from sparkplate import iceberg
from sparkplate.engine import run_workflow
from sparkplate.jobs import audit
from sparkplate.jobs.base import JOB_TYPES
from sparkplate.jobs.pyspark_job import load_python_main
from sparkplate.session import local_session

ROUNDS = 3  # of each, after a warm-up round; the figures are their medians

# The steps of main, by what does them: each job type's runner, and the parts of `wap` that
# are not a job (the audits' Spark jobs, the commit of their results, the publish commit).
JOB_STEPS = {"Spark": "ddl", "Metadata": "metadata", "PySpark": "transform_write", "HWM": "hwm"}
PART_STEPS = {(audit, "run_audits"): "audits", (audit, "record"): "audit_record",
              (iceberg, "publish"): "publish"}  # fmt: skip


@contextmanager
def step_timer():
    """Time the steps of the workflows run inside; yields {step: seconds}, filled as they run."""
    spent: Counter = Counter()

    def timed(function, step):
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[step] += time.perf_counter() - started

        return run

    jobs = {name: JOB_TYPES[name] for name in JOB_STEPS}
    parts = {where: getattr(*where) for where in PART_STEPS}
    for name, kind in jobs.items():
        JOB_TYPES[name] = replace(kind, runner=timed(kind.runner, JOB_STEPS[name]))
    for (module, name), function in parts.items():
        setattr(module, name, timed(function, PART_STEPS[module, name]))
    try:
        yield spent
    finally:
        JOB_TYPES.update(jobs)
        for (module, name), function in parts.items():
            setattr(module, name, function)


def measure(project: Path, date: str = "2024-01-01") -> tuple[float, float, dict[str, float]]:
    """(median bare transform + write, median whole main workflow, that run's seconds by step)."""
    spark = local_session("sparkplate-bench")
    write = load_python_main(project / "src" / "pyspark_write.py")
    spark.sql("CREATE NAMESPACE IF NOT EXISTS bench")
    spark.sql(
        "CREATE TABLE IF NOT EXISTS bench.bare (title_id INT, country_code STRING, "
        "title_rank INT, view_hours DOUBLE, date DATE) USING iceberg PARTITIONED BY (date)"
    )
    args = {"date": date, "top_n": "100", "source_table": "some_db.source_table"}

    def bare() -> None:
        write({**args, "target_table": "bench.bare"}, spark)

    def workflow() -> None:
        params = {"date": date, "target_table": "bench.full"}
        run_workflow(project / "main.sch.yaml", params, out=io.StringIO())

    timings: dict[str, list[float]] = {"bare": [], "workflow": []}
    steps: list[dict[str, float]] = []
    for round_ in range(ROUNDS + 1):
        for name, step in (("bare", bare), ("workflow", workflow)):
            with step_timer() as spent:
                started = time.perf_counter()
                step()
                seconds = time.perf_counter() - started
            if round_:  # the first round warms up the JVM and creates the tables
                timings[name].append(seconds)
                if name == "workflow":
                    steps.append({**spent, "other": seconds - sum(spent.values())})
    # median_low: a run's own time (ROUNDS is odd, so it is the median), whose steps are shown
    middle = timings["workflow"].index(statistics.median_low(timings["workflow"]))
    return statistics.median_low(timings["bare"]), timings["workflow"][middle], steps[middle]


def report(project: Path) -> tuple[float, float, dict[str, float]]:
    """Print the figures; return (bare, whole main workflow, its steps), medians, in seconds."""
    bare, full, steps = measure(project)
    print(f"{f'bare transform + write (one JVM, median of {ROUNDS})':<44} {bare:>12.1f} s")
    print(f"{'main: ddl, metadata, WAP, audits, HWM':<44} {full:>12.1f} s")
    for step, seconds in sorted(steps.items(), key=lambda item: -item[1]):
        print(f"{'  of which ' + step:<44} {seconds:>12.2f} s")
    print(
        f"{'WAP + audits + HWM overhead, warm JVM':<44} {100 * (full / bare - 1):>12.0f} %"
        f"   target: <= 30 %\n{'':<44} repeat: python benchmarks/wap_overhead.py {project}",
        flush=True,
    )
    return bare, full, steps


if __name__ == "__main__":
    report(Path(sys.argv[1]))
