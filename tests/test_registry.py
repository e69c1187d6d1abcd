"""The asset registry of `sparkplate project deploy`, on a real folder and on moto's S3 server."""

from __future__ import annotations

import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from servers import moto_s3

from sparkplate.errors import SparkplateError
from sparkplate.project.registry import AssetId, FolderRegistry, S3Registry, open_registry

JAR = AssetId("jar", "top_titles", "acme", "pipelines", "main", "39206ee8", 0)


@pytest.fixture(scope="module")
def s3():
    with moto_s3() as server:  # one server per module: starting moto takes seconds
        yield server


@pytest.fixture(params=["folder", "s3"])
def registry(request, tmp_path, monkeypatch):
    if request.param == "folder":
        return open_registry("registry", tmp_path)
    s3 = request.getfixturevalue("s3")  # only S3 tests start the server
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", s3.region)
    # The bucket outlives the test: each test gets its own prefix.
    return open_registry(f"s3://{s3.bucket}/{uuid.uuid4().hex}/assets", tmp_path)


def write(registry, key: str, data: bytes) -> None:
    """Writes under the root behind the registry's back, as a killed deploy or a stray copy."""
    if isinstance(registry, FolderRegistry):
        (registry.root / key).parent.mkdir(parents=True, exist_ok=True)
        (registry.root / key).write_bytes(data)
    else:
        registry._client.put_object(
            Bucket=registry.bucket, Key=f"{registry.prefix}/{key}", Body=data
        )


def stored_keys(registry) -> list[str]:
    return sorted(registry._keys(""))


def asset_file(tmp_path: Path, content: bytes, name: str = "app.jar") -> Path:
    path = tmp_path / "build" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_id_round_trip():
    text = "sparkplate.jar.top_titles.acme.pipelines.main.39206ee8.3"
    asset = AssetId.parse(text)
    assert asset == AssetId("jar", "top_titles", "acme", "pipelines", "main", "39206ee8", 3)
    assert str(asset) == text
    assert asset.key == "jar/top_titles/acme/pipelines/main/39206ee8/3.jar"
    assert AssetId.parse("sparkplate.wheel.n.o.r.feat-x.abcdef0.1").key.endswith("/1.whl")
    assert AssetId.parse("sparkplate.sql.n.o.r.b.abcdef0.12").key.endswith("/12.zip")
    assert AssetId.parse("sparkplate.r.n.o.r.b.abcdef0.2").key.endswith("/2.zip")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sparkplate.jar.top_titles.acme.pipelines.main.39206ee8",  # no build
        "sparkplate.jar.top_titles.acme.pipelines.main.39206ee8.0",  # builds start at 1
        "sparkplate.jar.top_titles.acme.pipelines.main.39206ee8.x",
        "sparkplate.exe.top_titles.acme.pipelines.main.39206ee8.1",  # unknown type
        "sparkplate.jar.top_titles.acme.pipelines.main.39206EE8.1",  # uppercase commit
        "sparkplate.jar.top_titles.acme.pipelines.main.39206e.1",  # commit too short
        "sparkplate.jar.top/titles.acme.pipelines.main.39206ee8.1",  # a slash in a name
        "sparkplate.jar.top_titles.acme.pipelines.release.1.0.39206ee8.1",  # a dot in the branch
        "other.jar.top_titles.acme.pipelines.main.39206ee8.1",
    ],
)
def test_parse_errors_name_the_text_and_the_shape(text):
    with pytest.raises(SparkplateError) as raised:
        AssetId.parse(text)
    assert text in str(raised.value)
    assert "sparkplate.<type>.<namespace>.<owner>.<repo>.<branch>.<commit>.<build>" in str(
        raised.value
    )


def test_publish_twice_gives_builds_1_and_2_and_keeps_both(registry, tmp_path):
    first = registry.publish(JAR, asset_file(tmp_path, b"first build"), "target/app.jar")
    second = registry.publish(JAR, asset_file(tmp_path, b"second build"), "target/app.jar")
    assert (first.id.build, second.id.build) == (1, 2)
    assert first.id == AssetId.parse("sparkplate.jar.top_titles.acme.pipelines.main.39206ee8.1")
    assert first.source == "target/app.jar"
    assert first.location.endswith("jar/top_titles/acme/pipelines/main/39206ee8/1.jar")
    if isinstance(registry, S3Registry):
        assert first.location.startswith(f"s3://{registry.bucket}/{registry.prefix}/")
    else:
        assert Path(first.location).is_absolute() and Path(first.location).is_file()
    folder = "jar/top_titles/acme/pipelines/main/39206ee8"
    assert stored_keys(registry) == [
        f"{folder}/{name}" for name in ("1.claim", "1.jar", "1.json", "2.claim", "2.jar", "2.json")
    ]
    assert registry.fetch(first, tmp_path / "got" / "1.jar").read_bytes() == b"first build"
    assert registry.fetch(second, tmp_path / "got" / "2.jar").read_bytes() == b"second build"
    assert registry.deployed() == [second, first]  # the records read back as published


def test_a_claim_without_a_record_keeps_its_number(registry, tmp_path):
    write(registry, f"{JAR.folder}/1.claim", b"")  # a deploy killed after claiming
    deployed = registry.publish(JAR, asset_file(tmp_path, b"jar"), "target/app.jar")
    assert deployed.id.build == 2
    assert [d.id.build for d in registry.deployed()] == [2]


def test_an_upload_that_fails_leaves_no_record(registry, tmp_path, monkeypatch):
    put = registry._put

    def upload_fails(key, data):
        if isinstance(data, Path):
            raise OSError("connection reset")
        put(key, data)

    monkeypatch.setattr(registry, "_put", upload_fails)
    with pytest.raises(OSError):
        registry.publish(JAR, asset_file(tmp_path, b"jar"), "target/app.jar")
    monkeypatch.undo()
    assert registry.deployed() == []
    assert registry.publish(JAR, asset_file(tmp_path, b"jar"), "target/app.jar").id.build == 2


def test_deployed_filters_and_lists_newest_first(registry, tmp_path):
    sql = AssetId("sql", "top_titles", "acme", "pipelines", "main", "39206ee8", 0)
    other = AssetId("jar", "billing", "acme", "pipelines", "main", "39206ee8", 0)
    dev = AssetId("jar", "top_titles", "acme", "pipelines", "dev", "0123abc", 0)
    assert registry.deployed() == []
    published = [
        registry.publish(asset, asset_file(tmp_path, str(asset).encode()), "build/out")
        for asset in (JAR, sql, other, dev, JAR)
    ]
    ids = [str(d.id).removeprefix("sparkplate.") for d in registry.deployed()]
    assert ids == [
        "jar.top_titles.acme.pipelines.main.39206ee8.2",
        "jar.top_titles.acme.pipelines.dev.0123abc.1",
        "jar.billing.acme.pipelines.main.39206ee8.1",
        "sql.top_titles.acme.pipelines.main.39206ee8.1",
        "jar.top_titles.acme.pipelines.main.39206ee8.1",
    ]
    assert registry.deployed() == published[::-1]
    assert registry.deployed(type="sql") == [published[1]]
    assert registry.deployed(namespace="billing") == [published[2]]
    assert registry.deployed(branch="dev") == [published[3]]
    assert registry.deployed(type="jar", namespace="top_titles", branch="main") == [
        published[4],
        published[0],
    ]
    assert registry.deployed(type="wheel") == []
    with pytest.raises(SparkplateError, match="unknown asset type"):
        registry.deployed(type="egg")


def test_fetch_detects_a_changed_file(registry, tmp_path):
    deployed = registry.publish(JAR, asset_file(tmp_path, b"the real jar"), "target/app.jar")
    write(registry, deployed.id.key, b"something else")
    dest = tmp_path / "got" / "app.jar"
    with pytest.raises(SparkplateError, match="sha256") as raised:
        registry.fetch(deployed, dest)
    assert deployed.location in str(raised.value)
    assert not dest.exists() and list(dest.parent.iterdir()) == []  # nothing unchecked is left


def test_concurrent_publishes_get_distinct_builds(tmp_path):
    # Folder only: moto checks If-None-Match and then stores, with no lock between, so two
    # simultaneous claims can both win there (S3 itself is atomic).
    registry = FolderRegistry(tmp_path / "registry")
    files = [asset_file(tmp_path, f"build {n}".encode(), f"{n}.jar") for n in range(6)]
    with ThreadPoolExecutor(6) as pool:
        published = list(pool.map(lambda f: registry.publish(JAR, f, f.name), files))
    assert sorted(d.id.build for d in published) == [1, 2, 3, 4, 5, 6]
    for deployed in published:
        got = registry.fetch(deployed, tmp_path / "got" / deployed.source)
        assert got.read_bytes() == (tmp_path / "build" / deployed.source).read_bytes()


def test_open_registry_locations(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    relative = open_registry("../assets", tmp_path / "project")
    assert isinstance(relative, FolderRegistry)
    assert relative.root == tmp_path / "project" / ".." / "assets"
    assert open_registry("~/assets", tmp_path).root == tmp_path / "home" / "assets"
    assert open_registry("/srv/assets", tmp_path).description == "folder /srv/assets"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    s3 = open_registry("s3://lake/deploy/assets/", tmp_path)
    assert (s3.bucket, s3.prefix, s3.description) == (
        "lake",
        "deploy/assets",
        "s3://lake/deploy/assets",
    )
    assert open_registry("s3://lake", tmp_path).description == "s3://lake"


@pytest.mark.parametrize("location", ["gs://lake/assets", "http://example.com/assets", "s3://"])
def test_open_registry_refuses_other_schemes(location, tmp_path):
    with pytest.raises(SparkplateError) as raised:
        open_registry(location, tmp_path)
    assert location in str(raised.value) and "s3://bucket/prefix" in raised.value.fix


def test_s3_without_boto3_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "boto3", None)  # `import boto3` fails
    with pytest.raises(SparkplateError) as raised:
        open_registry("s3://lake/assets", tmp_path)
    assert raised.value.fix == "pip install boto3"
