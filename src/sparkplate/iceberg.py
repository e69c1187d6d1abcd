"""Iceberg table operations the runtime owns: WAP branches, publishing, table properties, HWM,
and what `sparkplate table show` reads (snapshots and refs).

Facts this relies on (Spark 3.5 and 4.1, Iceberg 1.5+):
- `spark.wap.branch` is only honoured when the table has `write.wap.enabled=true`; otherwise the
  write silently lands on main, so `enable_wap` sets the property before any branch write.
- The conf must be unset after the write, or later "main" reads in the session read the branch.
- A fast-forward moves main to the branch's snapshot and fails when main moved meanwhile.
- Metadata changes go through Iceberg's Java API (`updateProperties`, `manageSnapshots`): one
  table load, one commit, no SQL to plan. Sessions sparkplate starts do not cache tables (see
  session.py), so Spark's next read sees them.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pyspark.sql import DataFrame, SparkSession

from sparkplate import faults, locks
from sparkplate.errors import SparkplateError, spark_message
from sparkplate.profiles import local_path

WAP_PREFIX = "wap_"
HWM_PREFIX = "sparkplate.hwm."
HWM_KEYS = ("datetime", "timezone", "snapshot_id", "run_id")  # what set_hwm writes


def table_exists(spark: SparkSession, table: str) -> bool:
    return spark.catalog.tableExists(table)


def require_table(spark: SparkSession, table: str, job: str) -> None:
    if not table_exists(spark, table):
        raise SparkplateError(
            f"table {table} does not exist",
            key=job,
            fix="run the DDL job first (it creates the table)",
        )


def _java_table(spark: SparkSession, table: str):
    """The table's current state through Iceberg's Java API, in the driver.

    Reading refs or properties this way costs milliseconds, where SQL (`SHOW TBLPROPERTIES`, the
    `refs` metadata table) plans a query and, cold, costs about half a second; a run reads them
    several times.
    """
    jtable = spark._jvm.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(
        spark._jsparkSession, table
    )
    jtable.refresh()  # the catalog caches tables; another writer may have committed
    return jtable


def refresh(spark: SparkSession, table: str) -> None:
    """Forget what the session cached of `table`: another Spark application (a jar, an R job)
    may have committed to it. Sessions sparkplate starts do not cache tables; others may."""
    spark.catalog.refreshTable(table)


def _java_items(jcollection) -> list:
    """A Java collection's elements, read by index. Not with py4j's iterator: it learns that it
    has reached the end from a Java exception, which pyspark's error handler inspects with some
    twenty calls into the JVM, about 20 ms each time."""
    array = jcollection.toArray()
    return [array[i] for i in range(len(array))]


def _java_map(jmap, keys=None) -> dict:
    """A Java map as a dict: all of it, or only `keys` (those it holds), one call a key."""
    keys = _java_items(jmap.keySet()) if keys is None else keys
    return {key: value for key in keys if (value := jmap.get(key)) is not None}


def properties(spark: SparkSession, table: str) -> dict[str, str]:
    return _java_map(_java_table(spark, table).properties())


def _set_properties(jtable, props: dict[str, str]) -> dict[str, str]:
    """Set on the loaded table what differs from its properties, in one commit (none when
    nothing differs); returns what changed."""
    current = _java_map(jtable.properties(), props)
    changed = {k: str(v) for k, v in props.items() if current.get(k) != str(v)}
    if changed:
        update = jtable.updateProperties()
        for key, value in changed.items():
            update = update.set(key, value)
        update.commit()
    return changed


def set_properties(spark: SparkSession, table: str, props: dict[str, str]) -> dict[str, str]:
    """Set only what differs (each change is a metadata commit); returns what changed."""
    return _set_properties(_java_table(spark, table), props)


def enable_wap(spark: SparkSession, table: str) -> None:
    set_properties(spark, table, {"write.wap.enabled": "true"})


def _safe(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z_]", "", text.replace("-", ""))


def branch_prefix(partition: str) -> str:
    """What every WAP branch of one partition starts with: `wap_20240101_`."""
    return f"{WAP_PREFIX}{_safe(partition)}_"


def branch_name(partition: str, run_id: str) -> str:
    """Deterministic, so another Spark application (a jar, an R job) can write the same branch."""
    return branch_prefix(partition) + _safe(run_id)


def _refs(spark: SparkSession, table: str) -> dict:
    """{ref name: Iceberg SnapshotRef}, branches and tags, from the table's current metadata."""
    return _refs_of(_java_table(spark, table))


def _refs_of(jtable) -> dict:
    return _java_map(jtable.refs())


@dataclass(frozen=True)
class Ref:
    name: str
    kind: str  # branch or tag
    snapshot_id: int


def table_refs(spark: SparkSession, table: str) -> list[Ref]:
    """Every branch (main included) and tag: main first, then by name."""
    found = [
        Ref(name, "branch" if ref.isBranch() else "tag", ref.snapshotId())
        for name, ref in _refs(spark, table).items()
    ]
    return sorted(found, key=lambda ref: (ref.name != "main", ref.name))


def branch_snapshots(spark: SparkSession, table: str) -> dict[str, int]:
    """{branch name: snapshot id}, main included."""
    return {name: ref.snapshotId() for name, ref in _refs(spark, table).items() if ref.isBranch()}


def branches(spark: SparkSession, table: str) -> list[str]:
    return sorted(branch_snapshots(spark, table))


def main_snapshot_id(spark: SparkSession, table: str) -> int | None:
    return _main_of(_java_table(spark, table))


def _main_of(jtable) -> int | None:
    ref = jtable.refs().get("main")
    return ref.snapshotId() if ref is not None else None


def branch_snapshot_id(spark: SparkSession, table: str, branch: str) -> int | None:
    return branch_snapshots(spark, table).get(branch)


def drop_branch(spark: SparkSession, table: str, branch: str) -> None:
    spark.sql(f"ALTER TABLE {table} DROP BRANCH IF EXISTS `{branch}`")


def qualified_name(spark: SparkSession, table: str) -> str:
    """`db.t` as `catalog.db.t`, so that both spellings of one table share its lock."""
    name = table.replace("`", "").lower()
    return name if name.count(".") >= 2 else f"{spark.catalog.currentCatalog()}.{name}"


def _catalog_conf(spark: SparkSession, table: str, key: str) -> str | None:
    catalog = qualified_name(spark, table).split(".")[0]
    return spark.conf.get(f"spark.sql.catalog.{catalog}.{key}", None)


def check_location(spark: SparkSession, table: str, jtable) -> None:
    """Refuse a table of a Hadoop catalog whose files live outside the catalog's warehouse.

    Iceberg keeps absolute paths: a project copied with its warehouse (`cp -a`) still points at
    the original's files, and a write would land in the original project.
    """
    warehouse = _catalog_conf(spark, table, "warehouse")
    if _catalog_conf(spark, table, "type") != "hadoop" or not warehouse:
        return  # a metastore, REST or JDBC catalog may place tables anywhere
    ours, theirs = local_path(warehouse), local_path(str(jtable.location()))
    if ours is None or theirs is None:
        inside = str(jtable.location()).rstrip("/").startswith(warehouse.rstrip("/") + "/")
    else:
        inside = theirs.resolve().is_relative_to(ours.resolve())
    if not inside:
        raise SparkplateError(
            f"table {table} in warehouse {warehouse} keeps its files in {jtable.location()}, "
            "outside that warehouse (a warehouse copied from another project still points at "
            "the original's files); nothing was written",
            fix=f"delete this warehouse ({warehouse}) and run the workflow again to rebuild "
            "its tables here, or run from the project that owns those files",
        )


def _lock_file(spark: SparkSession, name: str) -> tuple[Path, bool]:
    """Where `name`'s lock lives, and whether every run of the table sees the same file: a
    local warehouse keeps its locks; other warehouses lock on this machine only."""
    warehouse = _catalog_conf(spark, name, "warehouse")
    folder = local_path(warehouse) if warehouse else None
    if folder is not None:
        return folder / ".sparkplate-locks" / f"{name}.lock", True
    scope = hashlib.sha1((warehouse or name).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / "sparkplate-locks" / f"{name}-{scope}.lock", False


# Where runs on other machines may share a table, only branches older than this are stray.
STRAY_AFTER = timedelta(days=1)


def drop_stray_branches(
    spark: SparkSession, table: str, jtable, every_run_locks: bool, log: Callable[[str], None]
) -> None:
    """Drop the WAP branches of runs that died before publishing (a `kill -9`, a lost node).

    Called with the table's lock held: where every run of the table takes that lock, no other
    run is writing a branch now, so every `wap_` branch is a dead run's. Where runs on other
    machines may share the table, only branches with no commit for a day are taken as dead.
    """
    now_ms = int(datetime.now().timestamp() * 1000)
    for name, ref in sorted(_refs_of(jtable).items()):
        if not (ref.isBranch() and name.startswith(WAP_PREFIX)):
            continue
        age_ms = now_ms - jtable.snapshot(ref.snapshotId()).timestampMillis()
        if every_run_locks or age_ms > STRAY_AFTER.total_seconds() * 1000:
            log(f"dropping branch {name} left by an interrupted run")
            drop_branch(spark, table, name)


@contextmanager
def table_lock(
    spark: SparkSession,
    table: str,
    *,
    about: dict[str, str] | None = None,
    log: Callable[[str], None] = print,
) -> Iterator[None]:
    """Hold `table`'s lock: one run at a time writes a table, its properties or its HWM.

    The Hadoop catalog is not safe for concurrent commits, and an HWM's read-compare-write must
    not interleave with another's. On first taking it, a run checks where the table's files are
    and drops branches left by dead runs.
    """
    name = qualified_name(spark, table)
    path, every_run_locks = _lock_file(spark, name)
    with locks.exclusive(path, f"the lock of table {name}", about=about, on_wait=log) as first:
        run = (about or {}).get("run_id")
        checked = (str(path), run) in _CHECKED
        if first and not checked and table_exists(spark, table):
            jtable = _java_table(spark, table)
            check_location(spark, table, jtable)
            drop_stray_branches(spark, table, jtable, every_run_locks, log)
            if run:
                _CHECKED.add((str(path), run))
        yield


# (lock file, run id) of the tables a run has checked: its later jobs on the table skip the
# check (the table's files stay where they are; a branch a run dies leaving in between is the
# next run's to drop), which would otherwise load the table once more per job.
_CHECKED: set[tuple[str, str]] = set()


def forget_checks(run_id: str) -> None:
    """Drop a finished run's entries: a process that runs workflow after workflow (a scheduler's
    worker, a notebook) keeps none of them."""
    _CHECKED.difference_update({entry for entry in _CHECKED if entry[1] == run_id})


@contextmanager
def writes_to_branch(spark: SparkSession, branch: str) -> Iterator[None]:
    spark.conf.set("spark.wap.branch", branch)
    try:
        yield
    finally:
        spark.conf.unset("spark.wap.branch")


def read_branch(spark: SparkSession, table: str, branch: str) -> DataFrame:
    return spark.read.option("branch", branch).table(table)


@dataclass(frozen=True)
class Published:
    snapshot_id: int  # main's new head
    added_records: int  # the rows the published commits added


def publish(spark: SparkSession, table: str, branch: str, since: int | None) -> Published:
    """Fast-forward main to the branch and drop the branch, in one commit: main is published
    with its branch gone, or nothing changed. `since` is main's snapshot before the write."""
    jtable = _java_table(spark, table)
    try:
        jtable.manageSnapshots().fastForwardBranch("main", branch).removeBranch(branch).commit()
    except Exception as err:  # py4j errors: keep Iceberg's message, drop the trace
        drop_branch(spark, table, branch)
        message = spark_message(err)
        moved = "ancestor" in message or "descendant" in message
        raise SparkplateError(
            f"could not publish branch {branch} to main of {table}: {message}",
            fix="main changed while this run was auditing (another writer?); run again"
            if moved
            else "nothing was published; see Iceberg's message above",
        ) from None
    faults.point("after_publish")
    head = jtable.currentSnapshot().snapshotId()  # the commit left the table at its result
    return Published(head, _added_records(jtable, head, since))


def _added_records(jtable, head: int, since: int | None) -> int:
    """Rows the commits after snapshot `since` up to `head` added (e.g. a publish's), from their
    snapshot summaries: table metadata, read in the driver, no data."""
    total, snapshot_id = 0, head
    while snapshot_id is not None and snapshot_id != since:
        snapshot = jtable.snapshot(snapshot_id)
        if snapshot is None:  # expired: older commits are not this write's
            break
        total += int(snapshot.summary().get("added-records") or 0)
        snapshot_id = snapshot.parentId()
    return total


@dataclass(frozen=True)
class Snapshot:
    committed_at: datetime
    snapshot_id: int
    operation: str
    added_records: int
    deleted_records: int


def latest_snapshots(spark: SparkSession, table: str, limit: int) -> list[Snapshot]:
    """The table's `limit` newest snapshots, newest first."""
    rows = spark.sql(
        f"SELECT committed_at, snapshot_id, operation, summary FROM {table}.snapshots"
        f" ORDER BY committed_at DESC LIMIT {int(limit)}"
    ).collect()
    return [
        Snapshot(
            r.committed_at,
            r.snapshot_id,
            r.operation,
            int((r.summary or {}).get("added-records", 0)),
            int((r.summary or {}).get("deleted-records", 0)),
        )
        for r in rows
    ]


# --- high-water mark ------------------------------------------------------------------------------


def _aware(value: str, tz: str, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(tz))
    except (ValueError, KeyError, ZoneInfoNotFoundError) as err:
        raise SparkplateError(
            f"{what} {value!r} in {tz!r} is not a time: {err}",
            fix="use an ISO datetime (2024-01-31T23:59:59) and an IANA timezone "
            "(UTC, America/Los_Angeles)",
        ) from None


def read_hwm(spark: SparkSession, table: str) -> dict[str, str]:
    return _hwm_of(properties(spark, table))


def _hwm_of(props: dict[str, str]) -> dict[str, str]:
    return {k[len(HWM_PREFIX) :]: v for k, v in props.items() if k.startswith(HWM_PREFIX)}


def set_hwm(
    spark: SparkSession, table: str, valid_through: str, tz: str, run_id: str
) -> tuple[bool, dict[str, str]]:
    """Move the HWM forward to `valid_through`; never back. Returns (moved, the HWM now)."""
    new = _aware(valid_through, tz, "the new high-water mark")
    jtable = _java_table(spark, table)  # one load: the HWM, main's head and the commit
    current = _hwm_of(_java_map(jtable.properties(), [HWM_PREFIX + key for key in HWM_KEYS]))
    if current.get("datetime"):
        stored = _aware(current["datetime"], current.get("timezone", "UTC"), f"{table}'s HWM")
        if stored >= new:
            return False, current
    faults.point("in_hwm")
    hwm = {
        # Stored as wall-clock time in `tz`, whatever offset the value came with.
        "datetime": new.astimezone(ZoneInfo(tz)).replace(tzinfo=None).isoformat(),
        "timezone": tz,
        "snapshot_id": str(_main_of(jtable)),
        "run_id": run_id,
    }
    _set_properties(jtable, {HWM_PREFIX + k: v for k, v in hwm.items()})
    return True, hwm
