"""What WAP, audits and HWM cost on top of the bare transform and write, in one JVM.

    python benchmarks/wap_overhead.py PROJECT_DIR   (the source table must hold 2024-01-01)

Runs the bare write (the transform's main(), straight to a table) and the whole main workflow
alternately, twice each after a warm-up, and compares the best times of each.
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

from sparkplate.engine import run_workflow
from sparkplate.jobs.pyspark_job import load_python_main
from sparkplate.session import local_session


def measure(project: Path, date: str = "2024-01-01") -> tuple[float, float]:
    """(best bare transform + write, best whole main workflow), in seconds."""
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
    for round_ in range(3):
        for name, step in (("bare", bare), ("workflow", workflow)):
            started = time.perf_counter()
            step()
            if round_:  # the first round warms up the JVM and creates the tables
                timings[name].append(time.perf_counter() - started)
    return min(timings["bare"]), min(timings["workflow"])


def report(project: Path) -> tuple[float, float]:
    """Print the figures; return (bare, whole main workflow), best of 2, in seconds."""
    bare, full = measure(project)
    print(f"{'bare transform + write (in one JVM, best of 2)':<44} {bare:>12.1f} s")
    print(f"{'main: ddl, metadata, WAP, audits, HWM':<44} {full:>12.1f} s")
    print(
        f"{'WAP + audits + HWM overhead, warm JVM':<44} {100 * (full / bare - 1):>12.0f} %"
        f"   target: <= 30 %\n{'':<44} repeat: python benchmarks/wap_overhead.py {project}",
        flush=True,
    )
    return bare, full


if __name__ == "__main__":
    report(Path(sys.argv[1]))
