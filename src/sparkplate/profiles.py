"""Profiles: where a project's workflows run, chosen by name from the project's `sparkplate.yaml`.

    profiles:
      local: {}                            # local[*] and a Hadoop catalog in ./warehouse
      cluster:
        master: spark://spark-master:7077
        catalog:                           # Iceberg catalog properties, passed to Spark as is
          type: jdbc
          uri: jdbc:postgresql://catalog-db:5432/iceberg
          jdbc.user: iceberg
          jdbc.password: ${env:PGPASSWORD} # from the environment: no secret in the file
          warehouse: s3://bucket/warehouse
        packages: [org.postgresql:postgresql:42.7.8]
        spark_conf: {spark.executor.memory: 4g}

`sparkplate --profile NAME` or SPARKPLATE_PROFILE picks one; `local` is the default. A project
without the file runs as `local`. The SPARKPLATE_* variables (and `--warehouse`) still override.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sparkplate.errors import SparkplateError
from sparkplate.yamlfile import load_yaml

PROFILE_FILE = "sparkplate.yaml"
DEFAULT_PROFILE = "local"
KEYS = ("master", "catalog", "spark_conf", "packages", "jars")
ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
# Masters whose executors share the driver's file system, so a warehouse path on it is safe.
SAME_HOST_MASTER = re.compile(
    r"^(local(\[.*\])?|local-cluster\[.*\]|spark://(127\.0\.0\.1|localhost)(:\d+)?)$"
)


@dataclass(frozen=True)
class Profile:
    name: str = DEFAULT_PROFILE
    master: str = "local[*]"
    catalog: dict[str, str] = field(default_factory=lambda: {"type": "hadoop"})
    spark_conf: dict[str, str] = field(default_factory=dict)
    packages: tuple[str, ...] = ()
    jars: tuple[str, ...] = ()
    file: Path | None = None  # the sparkplate.yaml it came from

    @property
    def base_dir(self) -> Path:
        """What relative paths in the profile (a warehouse, a jar) are relative to."""
        return self.file.parent if self.file else Path.cwd()

    def error(self, message: str, key: str, fix: str | None = None) -> SparkplateError:
        return SparkplateError(message, file=self.file, key=f"profiles.{self.name}.{key}", fix=fix)


def find_profile_file(start: Path | None = None) -> Path | None:
    """The nearest sparkplate.yaml in `start` (default: the working folder) or a folder above."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / PROFILE_FILE).is_file():
            return candidate / PROFILE_FILE
    return None


def load_profile(name: str | None = None, start: Path | None = None) -> Profile:
    """The profile `name` (else SPARKPLATE_PROFILE, else `local`) from the nearest file."""
    name = name or os.environ.get("SPARKPLATE_PROFILE") or DEFAULT_PROFILE
    path = find_profile_file(start)
    if path is None:
        if name != DEFAULT_PROFILE:
            raise SparkplateError(
                f"profile '{name}' asked for, but there is no {PROFILE_FILE} here or above",
                fix=f"run in the project folder, or add the profile to its {PROFILE_FILE}",
            )
        return Profile()
    document = load_yaml(path)
    profiles = document.get("profiles") if isinstance(document, dict) else None
    if profiles is None and isinstance(document, dict) and "deploy" in document:
        profiles = {}  # a repository's file with deploy settings only
    if not isinstance(profiles, dict):
        raise SparkplateError(
            "expected a mapping `profiles:` of profile names to their settings",
            file=path,
            key="profiles",
        )
    if name not in profiles:
        if name == DEFAULT_PROFILE:  # a file with only other profiles: local stays as it is
            return Profile(file=path)
        raise SparkplateError(
            f"unknown profile '{name}'",
            file=path,
            key="profiles",
            fix="use one of: " + ", ".join(profiles),
        )
    return parse_profile(name, profiles[name] or {}, path)


def parse_profile(name: str, spec: Any, path: Path) -> Profile:
    where = Profile(name=name, file=path)
    if not isinstance(spec, dict):
        raise where.error("a profile must be a mapping of settings", key="")
    for key in spec:
        if key not in KEYS:
            raise where.error(f"unknown key '{key}'", key=str(key), fix="use: " + ", ".join(KEYS))
    spec = _fill_env(spec, where, "")
    mappings = {key: spec.get(key) or {} for key in ("catalog", "spark_conf")}
    lists = {key: spec.get(key) or [] for key in ("packages", "jars")}
    for key, value in mappings.items():
        if not isinstance(value, dict):
            raise where.error(f"'{key}' must be a mapping", key=key)
    for key, value in lists.items():
        if not isinstance(value, list):
            raise where.error(f"'{key}' must be a list", key=key)
    catalog = {str(k): _text(v) for k, v in mappings["catalog"].items()} or {"type": "hadoop"}
    if "type" not in catalog and "catalog-impl" not in catalog:
        raise where.error(
            "the catalog has no 'type'",
            key="catalog",
            fix="set type: hadoop, jdbc, rest, hive or glue (or catalog-impl: a class name)",
        )
    profile = Profile(
        name=name,
        master=str(spec.get("master") or "local[*]"),
        catalog=catalog,
        spark_conf={str(k): _text(v) for k, v in mappings["spark_conf"].items()},
        packages=tuple(str(p) for p in lists["packages"]),
        jars=tuple(str(j) for j in lists["jars"]),
        file=path,
    )
    check_warehouse(profile, profile.catalog.get("warehouse"), profile.master)
    return profile


def check_warehouse(profile: Profile, warehouse: str | None, master: str) -> None:
    """A warehouse on the driver's own disk is lost to executors on other hosts: refuse it.
    A REST catalog's server owns its warehouse (some servers take a catalog name there)."""
    if profile.catalog.get("type") == "rest":
        return
    if warehouse and is_local_path(warehouse) and not SAME_HOST_MASTER.match(master):
        raise profile.error(
            f"the warehouse {warehouse} is a path on this host, but master {master} runs "
            "executors on other hosts, which would write files this driver cannot read",
            key="catalog.warehouse",
            fix="use storage every host reaches (s3://..., hdfs://...), or a local master",
        )


URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/")  # s3://, hdfs://, file:/ ...


def is_local_path(location: str) -> bool:
    return location.startswith("file:") or not URI.match(location)


def local_path(location: str) -> Path | None:
    """The local folder a warehouse or table location names (`file:` URIs too), or None for
    object storage and other remote file systems."""
    if not is_local_path(location):
        return None
    return Path(re.sub(r"^file:(//)?", "", location))


def _text(value: Any) -> str:
    """A YAML value as Spark wants it: booleans lower case, as Spark writes them."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _fill_env(value: Any, profile: Profile, key: str) -> Any:
    if isinstance(value, dict):
        return {k: _fill_env(v, profile, f"{key}.{k}".lstrip(".")) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_env(v, profile, f"{key}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def lookup(match: re.Match) -> str:
        variable = match.group(1)
        if variable not in os.environ:
            raise profile.error(
                f"environment variable {variable} is not set",
                key=key,
                fix=f"export {variable} before the run",
            )
        return os.environ[variable]

    return ENV_REF.sub(lookup, value)
