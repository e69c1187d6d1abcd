"""The bare transform and write of one date, as one process: what a run costs without sparkplate's
DDL, metadata, WAP, audits and HWM steps. The bench compares it with `sparkplate run main.sch.yaml`.

    python benchmarks/bare_write.py PROJECT_DIR DATE
"""

from __future__ import annotations

import sys
from pathlib import Path

from sparkplate.jobs.pyspark_job import load_python_main
from sparkplate.session import local_session

project, date = Path(sys.argv[1]), sys.argv[2]
spark = local_session("sparkplate-bare-write")
spark.sql("CREATE NAMESPACE IF NOT EXISTS bench")
spark.sql(
    "CREATE TABLE IF NOT EXISTS bench.bare_process (title_id INT, country_code STRING, "
    "title_rank INT, view_hours DOUBLE, date DATE) USING iceberg PARTITIONED BY (date)"
)
main = load_python_main(project / "src" / "pyspark_write.py")
main({"date": date, "top_n": "100", "source_table": "some_db.source_table",
      "target_table": "bench.bare_process"}, spark)  # fmt: skip
