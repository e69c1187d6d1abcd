"""Build a repository's assets into files: a wheel (pip), a jar (Maven), a zip of a project's
scripts. The zip is reproducible: the same files give the same bytes, whenever it is built."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from sparkplate.errors import SparkplateError
from sparkplate.jobs.spark_submit import build as maven_package
from sparkplate.jobs.spark_submit import maven
from sparkplate.project.repo import Source

ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: no build time in the bytes


def build(source: Source, out: Path, log) -> Path:
    """Build `source` into a file in the folder `out`; return it."""
    out.mkdir(parents=True, exist_ok=True)
    if source.type == "wheel":
        return build_wheel(source.path.parent, out, log)
    if source.type == "jar":
        return build_jar(source.path, log)
    return build_scripts(source, out)


def build_wheel(folder: Path, out: Path, log) -> Path:
    with tempfile.TemporaryDirectory(dir=out) as scratch:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "--quiet",
                "-w",
                scratch,
                str(folder),
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SparkplateError(
                f"pip could not build a wheel: {(done.stderr or done.stdout).strip()[-800:]}",
                file=folder / "pyproject.toml",
                fix=f"check it with `pip wheel --no-deps {folder}`",
            )
        wheels = list(Path(scratch).glob("*.whl"))
        if len(wheels) != 1:
            raise SparkplateError(
                f"pip made {len(wheels)} wheels, not one",
                file=folder / "pyproject.toml",
                fix="a Python asset is one distribution: check its build settings",
            )
        return wheels[0].rename(out / wheels[0].name)


def _tag(element) -> str:
    return element.tag.rsplit("}", 1)[-1]  # without the POM's namespace


def _child_text(element, tag: str) -> str | None:
    found = [child.text.strip() for child in element if _tag(child) == tag and child.text]
    return found[0] if found else None


def _pom_jar(pom: Path) -> Path:
    """The jar `mvn package` makes: target/<finalName>.jar, or <artifactId>-<version>.jar (the
    project's own, not its parent's; the version may come from the parent). Only the build's own
    <finalName> names it: a plugin's (a shaded or assembled jar) names another file."""
    project = ElementTree.parse(pom).getroot()
    parents = [child for child in project if _tag(child) == "parent"]
    builds = [child for child in project if _tag(child) == "build"]
    properties = [child for child in project if _tag(child) == "properties"]
    values = {f"project.{key}": _child_text(project, key) for key in ("artifactId", "version")}
    if not values["project.version"] and parents:
        values["project.version"] = _child_text(parents[0], "version")
    values.update((_tag(e), (e.text or "").strip()) for e in (properties[0] if properties else []))
    name = (_child_text(builds[0], "finalName") if builds else None) or (
        "${project.artifactId}-${project.version}"
    )
    for _ in range(10):  # a property may name another one
        name = re.sub(r"\$\{([^}]+)\}", lambda m: values.get(m[1]) or m[0], name)
    if "${" in name:
        raise SparkplateError(
            f"cannot tell the name of the jar the pom makes: <finalName> is {name}",
            file=pom,
            fix="write the jar's name in <build><finalName>, or with ${project.artifactId}, "
            "${project.version} and <properties> of this pom",
        )
    return pom.parent / "target" / f"{name}.jar"


def build_jar(pom: Path, log) -> Path:
    if maven(pom.parent) is None:  # a jar lying in target/ may be from any commit
        raise SparkplateError(
            "`mvn` is not on PATH and the project has no Maven Wrapper (mvnw): a deploy builds "
            "the jar from the commit it names",
            file=pom,
            fix="install Maven 3.6+ (Debian/Ubuntu: apt install maven), or add the wrapper",
        )
    jar = _pom_jar(pom)
    maven_package(jar, pom, log, {"file": pom})
    return jar


def build_scripts(source: Source, out: Path) -> Path:
    """A zip of the project's tracked files, in name order with fixed times."""
    project = source.project
    archive = out / f"{source.namespace}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for relative in sorted(project.files, key=lambda p: p.as_posix()):
            path = project.folder / relative
            if not path.is_file():  # tracked, but deleted in the working tree
                continue
            if not path.resolve().is_relative_to(project.folder.resolve()):
                raise SparkplateError(
                    f"{relative} links to {path.resolve()}, outside the project",
                    file=project.folder,
                    fix="copy the file into the project instead of linking to it",
                )
            info = zipfile.ZipInfo(relative.as_posix(), ZIP_TIME)
            info.external_attr = (0o755 if path.stat().st_mode & 0o111 else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zipped.writestr(info, path.read_bytes())
    return archive


def unpack(archive: Path, folder: Path) -> Path:
    """A scripts zip into `folder`, refusing names that would land outside it."""
    with zipfile.ZipFile(archive) as zipped:
        for name in zipped.namelist():
            target = (folder / name).resolve()
            if not target.is_relative_to(folder.resolve()):
                raise SparkplateError(f"{archive} holds {name}, outside its folder")
        zipped.extractall(folder)
        for info in zipped.infolist():  # zipfile drops the executable bit
            mode = info.external_attr >> 16
            if mode:
                (folder / info.filename).chmod(mode)
    return folder
