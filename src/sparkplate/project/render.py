"""Rendering: a workflow file with every asset reference replaced by where the asset is.

    jar: ${sparkplate.jar.top_titles}                 the newest build (of this branch, else
                                                       of the default branch)
    jar: ${sparkplate.jar.top_titles.feature-x}       the newest build from a branch
    jar: ${sparkplate.jar.top_titles.acme.pipelines.main.39206ee8.3}   exactly that build
    script: ${sparkplate.sql.reports}/src/report.sql  a file inside a scripts asset

The same for `wheel`, `sql` and `r` assets. A reference becomes a local path: the asset as
fetched into the folder being rendered into (a deployment bundle, or `.workflows/assets`), so a
rendered workflow runs with `sparkplate run` and never reads the source tree for an asset.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from sparkplate.errors import SparkplateError
from sparkplate.files import write_atomically
from sparkplate.jobs import JOB_TYPES
from sparkplate.project.build import unpack
from sparkplate.project.registry import ASSET_TYPES, EXTENSIONS, AssetId, Deployed, Registry
from sparkplate.yamlfile import load_yaml

ASSET_REF = re.compile(r"\$\{(sparkplate\.[^}]*)\}")


class Assets:
    """Finds what references name in a registry, and fetches each asset once into `folder`."""

    def __init__(
        self, registry: Callable[[], Registry], folder: Path, branch: str, default_branch: str
    ):
        self._open_registry, self.folder = registry, folder
        self.branch, self.default_branch = branch, default_branch
        self.used: dict[str, Deployed] = {}  # by id: what the rendered files reference

    @cached_property
    def registry(self) -> Registry:
        """Opened when a reference first needs it: workflows without references render with
        no registry reachable."""
        return self._open_registry()

    def find(self, reference: str, file: Path, key: str) -> Deployed:
        parts = reference.split(".")
        if len(parts) > 1 and parts[1] == "egg":  # Dataflow's name for a Python asset
            parts[1] = "wheel"
        kind = parts[1] if len(parts) > 1 else ""
        if kind not in ASSET_TYPES or len(parts) not in (3, 4, 8):
            raise SparkplateError(
                f"${{{reference}}} is not an asset reference",
                file=file,
                key=key,
                fix=f"write ${{sparkplate.TYPE.NAMESPACE}}, ${{sparkplate.TYPE.NAMESPACE.BRANCH}} "
                f"or a full asset id; TYPE is one of {', '.join(ASSET_TYPES)}",
            )
        namespace = parts[2]
        builds = self.registry.deployed(type=kind, namespace=namespace)
        if len(parts) == 8:
            try:
                wanted = AssetId.parse(".".join(parts))
            except SparkplateError as err:
                raise SparkplateError(err.message, file=file, key=key, fix=err.fix) from None
            found = [d for d in builds if d.id == wanted]
        elif len(parts) == 4:
            found = [d for d in builds if d.id.branch == parts[3]]
        else:
            found = [d for d in builds if d.id.branch == self.branch] or [
                d for d in builds if d.id.branch == self.default_branch
            ]
        if not found:
            there = sorted(
                {
                    f"sparkplate.{d.id.type}.{d.id.namespace}"
                    for d in self.registry.deployed(type=kind)
                }
            )
            listed = ", ".join(there) or "none"
            raise SparkplateError(
                f"no deployed asset matches ${{{reference}}} in {self.registry.description}",
                file=file,
                key=key,
                fix=f"deploy it first (sparkplate project deploy); {kind} assets there: {listed}",
            )
        return self.use(found[0])

    def use(self, deployed: Deployed) -> Deployed:
        self.used[str(deployed.id)] = deployed
        return deployed

    def path(self, deployed: Deployed) -> Path:
        """The asset inside `folder`: the file, or a scripts zip unpacked into a folder."""
        name = str(deployed.id)
        if deployed.id.type in ("sql", "r"):
            target = self.folder / name
            if not target.is_dir():
                archive = self.registry.fetch(deployed, self.folder / (name + ".zip"))
                unpack(archive, self.folder / (name + ".partial"))
                (self.folder / (name + ".partial")).rename(target)
                archive.unlink()
            return target
        target = self.folder / (name + EXTENSIONS[deployed.id.type])
        if not target.is_file():
            self.registry.fetch(deployed, target)
        return target


# (job type, key, value, the job's keys) -> the value to write, or None to drop the key
Rewrite = Callable[[str, str, str, dict], Any]


def render(path: Path, assets: Assets, rewrite: Rewrite | None = None) -> dict:
    """The workflow at `path` as a document, its references replaced by local paths and each
    job's relative file keys passed through `rewrite`."""
    document = load_yaml(path)

    def fill(value: Any, key: str) -> Any:
        if isinstance(value, str):
            return ASSET_REF.sub(lambda m: str(assets.path(assets.find(m[1], path, key))), value)
        if isinstance(value, dict):
            return {k: fill(v, f"{key}.{k}".lstrip(".")) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v, f"{key}[{i}]") for i, v in enumerate(value)]
        return value

    document = fill(document, "")
    if rewrite is not None and isinstance(document.get("workflow"), dict):
        _rewrite_jobs(document["workflow"].get("jobs") or [], rewrite)
    return document


def _rewrite_jobs(entries: list, rewrite: Rewrite) -> None:
    for entry in entries:
        if not isinstance(entry, dict) or len(entry) != 1:
            continue  # validation names it
        spec = next(iter(entry.values()))
        kind = JOB_TYPES.get(str(spec.get("type"))) if isinstance(spec, dict) else None
        if kind is None:
            continue
        # Built keys first: their rewrite may read a key (the pom) that a later one drops.
        keys = (*kind.built, *kind.files, *([kind.calls] if kind.calls else []))
        for key in dict.fromkeys(keys):
            value = spec.get(key)
            if isinstance(value, str) and "${" not in value and not Path(value).is_absolute():
                spec[key] = rewrite(kind.name, key, value, spec)
        for key in [k for k, v in spec.items() if v is None]:
            del spec[key]  # a rewrite may drop a key (a pom, once the jar is an asset)
        _rewrite_jobs(spec.get("jobs") or [], rewrite)


def write_rendered(document: dict, target: Path, header: str) -> Path:
    """Write atomically: a reader sees the old file or the whole new one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=100)
    return write_atomically(target, "".join(f"# {line}\n" for line in header.splitlines()) + text)
