"""A `copier update` migration: a project made before the `spark_version` question stays on 3.5.

    python keep_spark_version.py ANSWERS_FILE

Every project rendered before sparkplate offered Spark 4.1 is on Spark 3.5, and its answers file
has no `spark_version`. Without one, the update would take the question's default (4.1) and move
the project's pyspark, Scala and Iceberg runtime under its users. This records
`spark_version: '3.5'` before the update renders (Copier reads the answers file again after its
before-stage migrations), so the project moves only when asked: `copier update -d
spark_version=4.1`.
"""

import sys
from pathlib import Path

import yaml

answers = Path(sys.argv[1])
text = answers.read_text(encoding="utf-8")
if "spark_version" not in (yaml.safe_load(text) or {}):
    answers.write_text(text.rstrip("\n") + "\nspark_version: '3.5'\n", encoding="utf-8")
