"""Deployment bundles: everything one deployed workflow runs with, switched in atomically.

    <bundles>/<dag id>/
    ├── current -> versions/3       the one switch: a symlink replaced in a single rename
    ├── history.jsonl               every switch, in order: what a rollback goes back to
    └── versions/
        ├── 2/ ...
        └── 3/
            ├── project/            the project's scripts asset, unpacked; its workflow files
            │                       rendered (asset references replaced by paths below)
            ├── assets/             every other asset the rendered files reference
            ├── sparkplate.yaml     the repository's profiles, when the project has none
            ├── dag.py              the Airflow DAG of this version
            └── bundle.json         written last: a version without it is a deploy that died

A version's number is claimed by creating its folder, so two deploys never share one and a
failed deploy's number is not reused. Nothing is visible until `current` moves; a rollback moves
it back, to a version that was current before (one a failed deploy completed but never switched
to is not one). The DAGs folder links to `current/dag.py`, so the DAG, its workflows and its
assets change together.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sparkplate.errors import SparkplateError
from sparkplate.files import write_atomically

COMPLETE = "bundle.json"


@dataclass(frozen=True)
class Bundle:
    dag_id: str
    version: int
    folder: Path

    @property
    def project(self) -> Path:
        return self.folder / "project"

    @property
    def assets(self) -> Path:
        return self.folder / "assets"

    def record(self) -> dict:
        return json.loads((self.folder / COMPLETE).read_text())


def dag_folder(bundles: Path, dag_id: str) -> Path:
    return bundles / dag_id


def claim(bundles: Path, dag_id: str) -> Bundle:
    """A new, empty version folder: the next number nobody has used."""
    versions = dag_folder(bundles, dag_id) / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    number = max((int(p.name) for p in versions.iterdir() if p.name.isdigit()), default=0) + 1
    while True:
        try:
            (versions / str(number)).mkdir()
            return Bundle(dag_id, number, versions / str(number))
        except FileExistsError:  # another deploy took it
            number += 1


def complete(bundle: Bundle, record: dict) -> None:
    """Mark the bundle whole (the last write before the switch)."""
    record = {
        "dag_id": bundle.dag_id,
        "version": bundle.version,
        "created": datetime.now(timezone.utc).isoformat(),
        **record,
    }
    write_atomically(bundle.folder / COMPLETE, json.dumps(record, indent=2) + "\n")


def _complete(bundles: Path, dag_id: str) -> dict[int, Bundle]:
    folder = dag_folder(bundles, dag_id) / "versions"
    return {
        int(p.name): Bundle(dag_id, int(p.name), p)
        for p in (folder.iterdir() if folder.is_dir() else ())
        if p.name.isdigit() and (p / COMPLETE).is_file()
    }


def history(bundles: Path, dag_id: str) -> list[int]:
    """The versions made current, in the order they were."""
    log = dag_folder(bundles, dag_id) / "history.jsonl"
    lines = log.read_text().splitlines() if log.is_file() else []
    return [json.loads(line)["version"] for line in lines if line.strip()]


def versions(bundles: Path, dag_id: str) -> list[Bundle]:
    """The versions that have been current, oldest first: what a rollback may go back to."""
    complete = _complete(bundles, dag_id)
    now = current(bundles, dag_id)
    been = set(history(bundles, dag_id)) | ({now.version} if now else set())
    return [complete[n] for n in sorted(been) if n in complete]


def current(bundles: Path, dag_id: str) -> Bundle | None:
    link = dag_folder(bundles, dag_id) / "current"
    if not link.is_symlink():
        return None
    folder = (link.parent / os.readlink(link)).resolve()
    return Bundle(dag_id, int(folder.name), folder)


def _link(target: str, link: Path) -> None:
    """Point `link` at `target` in one rename: readers see the old target or the new one."""
    partial = link.with_name(f".{link.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    partial.symlink_to(target)
    partial.replace(link)


def switch(bundle: Bundle) -> None:
    if not (bundle.folder / COMPLETE).is_file():
        raise SparkplateError(
            f"bundle {bundle.folder} is not complete; it cannot be made current",
            fix="deploy again (a deploy that failed or was killed leaves such a bundle)",
        )
    root = bundle.folder.parent.parent
    _link(f"versions/{bundle.version}", root / "current")
    line = {"version": bundle.version, "at": datetime.now(timezone.utc).isoformat()}
    with (root / "history.jsonl").open("a") as log:
        log.write(json.dumps(line) + "\n")


def link_dag(bundles: Path, dag_id: str, dags_folder: Path) -> Path:
    """The DAGs folder's file for `dag_id`: a link to the current version's DAG."""
    dags_folder.mkdir(parents=True, exist_ok=True)
    link = dags_folder / f"{dag_id}.py"
    target = str(dag_folder(bundles, dag_id) / "current" / "dag.py")
    if not (link.is_symlink() and os.readlink(link) == target):
        _link(target, link)
    return link


def rollback(bundles: Path, dag_id: str, to: int | None = None) -> Bundle:
    """Make version `to` (default: the one current before the current one) current again."""
    been = versions(bundles, dag_id)
    if not been:
        raise SparkplateError(
            f"{dag_id} has no deployed bundle in {bundles}",
            fix="check the workflow id (sparkplate project list workflows --deployed)",
        )
    now = current(bundles, dag_id)
    numbers = [b.version for b in been]
    if to is None:
        earlier = [n for n in reversed(history(bundles, dag_id)) if now is None or n != now.version]
        if not earlier:
            raise SparkplateError(
                f"{dag_id} has had no other bundle than {now.version if now else 'none'}",
                fix=f"versions: {', '.join(map(str, numbers))}",
            )
        to = earlier[0]
    if to not in numbers:
        raise SparkplateError(
            f"{dag_id} has no deployed version {to}",
            fix=f"versions: {', '.join(map(str, numbers))}",
        )
    target = next(b for b in been if b.version == to)
    switch(target)
    return target
