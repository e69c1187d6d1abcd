"""The asset registry of `sparkplate project deploy`: built assets (a wheel, a Maven jar, a zip of
SQL or R scripts) are stored under an id and never overwritten.

An id is `sparkplate.<type>.<namespace>.<owner>.<repo>.<branch>.<commit>.<build>`. Under the
registry's root (a folder, or an S3 bucket and prefix) an asset takes three names:

    <type>/<namespace>/<owner>/<repo>/<branch>/<commit>/<build>.claim  the build number, taken
    <type>/<namespace>/<owner>/<repo>/<branch>/<commit>/<build><ext>   the file
    <type>/<namespace>/<owner>/<repo>/<branch>/<commit>/<build>.json   its record, written last

A publish claims a number with an atomic create-if-absent, uploads the file, then the record, so
a record always has its file. A claim without a record (a deploy killed halfway) keeps its number.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from sparkplate.errors import SparkplateError

ASSET_TYPES = ("wheel", "jar", "sql", "r")
EXTENSIONS = {"wheel": ".whl", "jar": ".jar", "sql": ".zip", "r": ".zip"}

_NAME = r"[A-Za-z0-9_-]+"  # no dots or slashes: one key segment each, and never `..`
_ID = re.compile(
    rf"sparkplate\.({'|'.join(ASSET_TYPES)})"
    + rf"\.({_NAME})" * 4
    + r"\.([0-9a-f]{7,40})\.(0|[1-9][0-9]*)"  # build 0: not numbered yet
)
SHAPE = "sparkplate.<type>.<namespace>.<owner>.<repo>.<branch>.<commit>.<build>"


@dataclass(frozen=True, order=True)
class AssetId:
    type: str
    namespace: str
    owner: str
    repo: str
    branch: str
    commit: str
    build: int  # 0 while unnumbered: publish() gives the number

    def __post_init__(self):
        if not _ID.fullmatch(str(self)) or not isinstance(self.build, int):
            raise _bad_id(str(self))

    def __str__(self) -> str:
        return ".".join(["sparkplate", *(str(getattr(self, f)) for f in self.__match_args__)])

    @classmethod
    def parse(cls, text: str) -> AssetId:
        found = _ID.fullmatch(text)
        if not found or int(found[7]) < 1:
            raise _bad_id(text)
        return cls(*found.groups()[:6], int(found[7]))

    @property
    def folder(self) -> str:
        return f"{self.type}/{self.namespace}/{self.owner}/{self.repo}/{self.branch}/{self.commit}"

    @property
    def key(self) -> str:
        return f"{self.folder}/{self.build}{EXTENSIONS[self.type]}"


def _bad_id(text: str) -> SparkplateError:
    return SparkplateError(
        f"{text!r} is not an asset id",
        fix=f"an id is {SHAPE}: type one of {', '.join(ASSET_TYPES)}; names of letters, digits,"
        " _ and -; commit 7-40 lowercase hex; build a positive number",
    )


@dataclass(frozen=True)
class Deployed:
    id: AssetId
    location: str  # an absolute path, or s3://bucket/prefix/key
    created: str  # ISO-8601 UTC with microseconds
    sha256: str
    source: str  # what it was built from (a relative path), for people


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Registry:
    """The shared logic; a subclass stores keys (relative, `/`-separated) somewhere."""

    description: str

    def publish(self, unnumbered: AssetId, file: Path, source: str) -> Deployed:
        file = Path(file)
        if not file.is_file():
            raise SparkplateError(f"{file} is not a file", fix="build the asset before deploying")
        sha256 = _sha256(file)  # before the claim: an unreadable file wastes no number
        # Every <n>.<ext> (claim, file or record) uses n. The scan only saves tries: the
        # create-if-absent claim is what makes a number ours.
        names = [key.rsplit("/", 1)[1] for key in self._keys(unnumbered.folder + "/")]
        used = [int(name.split(".")[0]) for name in names if re.match(r"[0-9]+\.", name)]
        build = max(used, default=0) + 1
        claimed_at = datetime.now(timezone.utc).isoformat(timespec="microseconds")
        while not self._claim(f"{unnumbered.folder}/{build}.claim", claimed_at.encode()):
            build += 1  # another deploy got there first
        asset = replace(unnumbered, build=build)
        self._put(asset.key, file)
        deployed = Deployed(
            asset, self._location(asset.key),
            datetime.now(timezone.utc).isoformat(timespec="microseconds"), sha256, source,
        )  # fmt: skip
        record = {"id": str(asset), **{k: v for k, v in vars(deployed).items() if k != "id"}}
        self._put(f"{asset.folder}/{build}.json", json.dumps(record, indent=2).encode())
        return deployed

    def deployed(
        self, type: str | None = None, namespace: str | None = None, branch: str | None = None
    ) -> list[Deployed]:
        if type is not None and type not in ASSET_TYPES:
            raise SparkplateError(f"unknown asset type {type!r}", fix=f"one of {ASSET_TYPES}")
        for value in (namespace, branch):
            if value is not None and not re.fullmatch(_NAME, value):
                raise SparkplateError(f"{value!r} is not a namespace or branch name")
        prefix = f"{type}/" if type else ""
        prefix += f"{namespace}/" if type and namespace else ""
        found = []
        for key in self._keys(prefix):
            if not key.endswith(".json"):
                continue
            try:
                record = json.loads(self._read(key))
                deployed = Deployed(AssetId.parse(record.pop("id")), **record)
            except (ValueError, TypeError, KeyError, AttributeError, SparkplateError) as err:
                raise SparkplateError(
                    f"unreadable record: {err}", file=self._location(key),
                    fix="delete the record: its build then counts as never published",
                ) from err  # fmt: skip
            wanted = {"type": type, "namespace": namespace, "branch": branch}
            if all(v is None or getattr(deployed.id, k) == v for k, v in wanted.items()):
                found.append(deployed)
        return sorted(found, key=lambda d: (d.created, d.id.build), reverse=True)

    def fetch(self, deployed: Deployed, dest: Path) -> Path:
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".partial")  # dest never holds an unchecked file
        self._download(deployed.id.key, partial)
        if (got := _sha256(partial)) != deployed.sha256:
            partial.unlink()
            raise SparkplateError(
                f"the file has sha256 {got}, its record says {deployed.sha256}",
                file=deployed.location, fix="it changed after it was published: deploy again",
            )  # fmt: skip
        os.replace(partial, dest)
        return dest

    # A subclass stores keys (relative, "/"-separated); _claim creates one only if absent.
    def _keys(self, prefix: str) -> Iterator[str]: ...
    def _claim(self, key: str, body: bytes) -> bool: ...
    def _put(self, key: str, data: Path | bytes) -> None: ...
    def _read(self, key: str) -> bytes: ...
    def _download(self, key: str, dest: Path) -> None: ...
    def _location(self, key: str) -> str: ...


class FolderRegistry(Registry):
    """A registry in a local or mounted folder; no server."""

    def __init__(self, root: Path):
        self.root = Path(root).expanduser().absolute()
        self.description = f"folder {self.root}"

    def _keys(self, prefix: str) -> Iterator[str]:
        start = self.root / prefix
        if start.is_dir():
            for path in start.rglob("*"):
                if path.is_file() and not path.name.startswith("."):  # temps start with a dot
                    yield path.relative_to(self.root).as_posix()

    def _claim(self, key: str, body: bytes) -> bool:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        return True

    def _put(self, key: str, data: Path | bytes) -> None:
        # A temp name then a rename: a reader sees the whole file or none; fsync so that after a
        # crash the record does not outlive its file.
        path = self.root / key
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, bytes):
                    out.write(data)
                else:
                    with open(data, "rb") as f:
                        shutil.copyfileobj(f, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def _read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def _download(self, key: str, dest: Path) -> None:
        if not (self.root / key).is_file():
            raise SparkplateError("the published file is missing", file=self.root / key)
        shutil.copyfile(self.root / key, dest)

    def _location(self, key: str) -> str:
        return str(self.root / key)


class S3Registry(Registry):
    """A registry in an S3 bucket; boto3 takes the endpoint and credentials from the environment
    (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ..., or a profile)."""

    def __init__(self, bucket: str, prefix: str = ""):
        try:
            import boto3
        except ImportError as err:
            raise SparkplateError("an s3:// registry needs boto3", fix="pip install boto3") from err
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.description = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self._client = boto3.client("s3")

    def _full(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextmanager
    def _errors(self):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except (BotoCoreError, ClientError) as err:
            raise SparkplateError(
                f"S3 failed: {err}", file=self.description,
                fix="check the bucket, the AWS credentials and AWS_ENDPOINT_URL",
            ) from err  # fmt: skip

    def _keys(self, prefix: str) -> Iterator[str]:
        skip = len(self._full(""))
        with self._errors():
            pages = self._client.get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=self.bucket, Prefix=self._full(prefix)):
                for item in page.get("Contents", []):
                    yield item["Key"][skip:]

    def _claim(self, key: str, body: bytes) -> bool:
        from botocore.exceptions import ClientError

        with self._errors():
            try:
                self._client.put_object(
                    Bucket=self.bucket, Key=self._full(key), Body=body, IfNoneMatch="*"
                )
            except ClientError as err:
                # 412: the key exists. 409: a concurrent conditional put of the same key; AWS
                # lets one win, so this number is skipped (a gap, never an overwrite).
                taken = ("PreconditionFailed", "ConditionalRequestConflict")
                if err.response["Error"]["Code"] in taken:
                    return False
                raise
        return True

    def _put(self, key: str, data: Path | bytes) -> None:
        with self._errors():
            if isinstance(data, bytes):  # a record: never over another
                self._client.put_object(
                    Bucket=self.bucket, Key=self._full(key), Body=data, IfNoneMatch="*"
                )
            else:  # may be multipart, which takes no IfNoneMatch; the claim owns the key
                self._client.upload_file(str(data), self.bucket, self._full(key))

    def _read(self, key: str) -> bytes:
        with self._errors():
            return self._client.get_object(Bucket=self.bucket, Key=self._full(key))["Body"].read()

    def _download(self, key: str, dest: Path) -> None:
        with self._errors():
            self._client.download_file(self.bucket, self._full(key), str(dest))

    def _location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._full(key)}"


def open_registry(location: str, base: Path) -> Registry:
    """The registry `location` names: s3://bucket/prefix, or a folder (relative to `base`)."""
    if location.startswith("s3://"):
        bucket, _, prefix = location[len("s3://") :].partition("/")
        if not bucket:
            raise SparkplateError(f"{location!r} names no bucket", fix="write s3://bucket/prefix")
        return S3Registry(bucket, prefix)
    if scheme := re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", location):
        raise SparkplateError(
            f"registry {location!r}: {scheme[1]}:// is not supported",
            fix="use s3://bucket/prefix or a folder path",
        )
    return FolderRegistry(Path(base) / Path(location).expanduser())
