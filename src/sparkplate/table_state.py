"""What `sparkplate table show` prints: a table's snapshots, refs, unpublished WAP branches,
high-water mark and last audit results, as aligned text or as one JSON object.

Its existence check comes first and, for the local Hadoop catalog, without Spark: such a table
is a folder `<warehouse>/<namespace...>/<table>` whose `metadata/` holds a `*.metadata.json`, the
test Iceberg's HadoopCatalog itself makes (`isTableDir`). A `version-hint.text` alone is no
table: Iceberg loads the metadata file the hint names, and without one finds no table.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from sparkplate import iceberg
from sparkplate.errors import SparkplateError
from sparkplate.profiles import Profile, local_path

UNPUBLISHED_NOTE = (
    "WAP branches not published (a run in progress, or one that was killed; the next run on "
    "the table drops a killed run's):"
)
MISSING_FIX = "run the workflow first, or pass --warehouse (or --profile) of the table's warehouse"

# `db.t`, `` `my db`.t ``: Spark's multi-part names, a backtick quoting a part (`` doubled).
NAME_PART = re.compile(r"`((?:[^`]|``)+)`|([^.`\s]+)")


def name_parts(name: str) -> list[str] | None:
    """The parts of a Spark table name, or None when it is not one this module can read."""
    parts, at = [], 0
    while True:
        match = NAME_PART.match(name, at)
        if match is None:
            return None
        parts.append(match.group(2) or match.group(1).replace("``", "`"))
        at = match.end()
        if at == len(name):
            return parts
        if name[at] != ".":
            return None
        at += 1


def hadoop_table_folder(
    name: str, warehouse: str | None, profile: Profile
) -> tuple[Path, Path] | None:
    """The local Hadoop catalog's warehouse and the folder it keeps table `name` in, or None
    when only Spark can tell:
    another kind of catalog, a warehouse on object storage, a session already running (it is
    used as it is), or a name whose first part may be another catalog or with no namespace
    (the catalog's default namespace then applies)."""
    from sparkplate.session import settings_from_env  # pyspark's session module, no JVM

    if SparkSession.getActiveSession() is not None:
        return None
    if profile.catalog.get("type") != "hadoop" or profile.catalog.get("catalog-impl"):
        return None
    settings = settings_from_env(warehouse, profile)
    location, catalog = settings["warehouse"], settings["catalog"]
    root = local_path(location) if location else None
    if root is None:
        return None
    if profile.spark_conf.get("spark.sql.defaultCatalog", catalog) != catalog:
        return None
    parts = name_parts(name)
    if parts is None:
        return None
    # Spark reads a first part naming a catalog as that catalog, whatever the name's length.
    catalogs = {catalog, "spark_catalog"} | {
        key.split(".")[3] for key in profile.spark_conf if key.count(".") == 3 and
        key.startswith("spark.sql.catalog.")
    }  # fmt: skip
    if parts[0] == catalog:
        parts = parts[1:]
    elif parts[0].lower() in {name.lower() for name in catalogs}:
        return None
    if len(parts) < 2:
        return None
    return root, root.joinpath(*parts)


def is_hadoop_table(folder: Path) -> bool:
    try:
        names = os.listdir(folder / "metadata")
    except (FileNotFoundError, NotADirectoryError):
        return False
    return any(name.endswith(".metadata.json") for name in names)


def require_table_without_spark(name: str, warehouse: str | None, profile: Profile) -> None:
    """Refuse a table of the local Hadoop catalog that is not there, before Spark starts (it
    takes seconds); for other catalogs, Spark checks once started."""
    found = hadoop_table_folder(name, warehouse, profile)
    if found is None or is_hadoop_table(found[1]):
        return
    root, folder = found
    if not root.is_dir():
        raise SparkplateError(
            f"table {name} does not exist: there is no warehouse {root}", fix=MISSING_FIX
        )
    raise SparkplateError(
        f"table {name} does not exist in the warehouse {root} "
        f"(no {folder / 'metadata' / '*.metadata.json'})",
        fix=MISSING_FIX,
    )


def _utc(moment: datetime | None) -> datetime | None:
    """pyspark hands timestamps over as naive local time: the same instant, in UTC."""
    return moment.astimezone(timezone.utc) if moment is not None else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z") if moment else None


def table_state(spark: SparkSession, name: str, limit: int) -> dict[str, Any]:
    """The facts `table show` prints, under stable keys (its --json output)."""
    from sparkplate.audits.record import last_results

    refs = iceberg.table_refs(spark, name)
    results = last_results(spark, name)
    hwm = iceberg.read_hwm(spark, name)
    return {
        "table": name,
        "snapshots": [
            {
                "committed_at": _iso(_utc(s.committed_at)),
                "snapshot_id": s.snapshot_id,
                "operation": s.operation,
                "added_records": s.added_records,
                "deleted_records": s.deleted_records,
            }
            for s in iceberg.latest_snapshots(spark, name, limit)
        ],
        "refs": [{"name": r.name, "kind": r.kind, "snapshot_id": r.snapshot_id} for r in refs],
        "unpublished_wap_branches": [
            r.name for r in refs if r.kind == "branch" and r.name.startswith(iceberg.WAP_PREFIX)
        ],
        # As the table's properties keep it: datetime, timezone, snapshot_id, run_id.
        "high_water_mark": dict(sorted(hwm.items())) or None,
        "last_audits": {
            "run_id": results[0].run_id,
            "ref": results[0].ref,
            "snapshot_id": results[0].snapshot_id,
            "audited_at": _iso(_utc(results[0].audited_at)),
            "results": [
                {
                    "audit": r.audit,
                    "function": r.function,
                    "blocking": r.blocking,
                    "severity": r.severity,
                    "expected": r.expected,
                    "actual": r.actual,
                }
                for r in results
            ],
        }
        if results
        else None,
    }


def aligned(rows: list[tuple[Any, ...]], right: tuple[int, ...] = ()) -> list[str]:
    """Rows as lines of columns two spaces apart, columns in `right` (numbers) right-aligned."""
    texts = [["" if value is None else str(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in texts) for i in range(len(texts[0]))] if texts else []
    lines = []
    for row in texts:
        cells = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())  # no padding after the last column
    return lines


def _indented(rows: list[tuple[Any, ...]], right: tuple[int, ...] = ()) -> list[str]:
    return ["  " + line for line in aligned(rows, right)] if rows else ["  none"]


def text_lines(state: dict[str, Any]) -> list[str]:
    """`state` as `table show` prints it, each part under a heading, columns aligned."""
    lines = [f"table {state['table']}", "", "snapshots (newest first, UTC):"]
    snapshots = [
        (
            (s["committed_at"] or "").replace("T", " ").removesuffix("Z"),
            s["snapshot_id"],
            s["operation"],
            s["added_records"],
            s["deleted_records"],
        )
        for s in state["snapshots"]
    ]
    header = ("committed", "snapshot id", "operation", "added rows", "deleted rows")
    lines += _indented([header, *snapshots] if snapshots else [], right=(1, 3, 4))
    lines += ["", "refs:"]
    lines += _indented([(r["name"], r["kind"], r["snapshot_id"]) for r in state["refs"]], (2,))
    if state["unpublished_wap_branches"]:
        lines += ["", UNPUBLISHED_NOTE]
        lines += ["  " + branch for branch in state["unpublished_wap_branches"]]
    hwm = state["high_water_mark"]
    lines += ["", "high-water mark:" if hwm else "high-water mark: not set"]
    if hwm:
        lines += _indented(list(hwm.items()))
    audits = state["last_audits"]
    lines.append("")
    if not audits:
        return [*lines, "last audit results: none recorded"]
    audited = (audits["audited_at"] or "").replace("T", " ").replace("Z", " UTC")
    lines.append(f"last audit results (run {audits['run_id']}, on {audits['ref']}, {audited}):")
    header = ("result", "audit", "blocking", "expected", "got")
    results = [
        (r["severity"], r["audit"], "yes" if r["blocking"] else "no", r["expected"], r["actual"])
        for r in audits["results"]
    ]
    return lines + _indented([header, *results])
