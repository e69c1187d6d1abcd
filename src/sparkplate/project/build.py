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
from sparkplate.jobs.spark_submit import maven, stale
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


def _pom_jar(pom: Path) -> Path:
    """The jar `mvn package` makes: target/<finalName>.jar, or <artifactId>-<version>.jar."""
    values: dict[str, str] = {}
    finals = []
    for element in ElementTree.parse(pom).getroot().iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag in ("artifactId", "version") and tag not in values and element.text:
            values[tag] = element.text.strip()
        if tag == "finalName" and element.text:
            finals.append(element.text.strip())
    name = finals[0] if finals else "${project.artifactId}-${project.version}"
    name = re.sub(r"\$\{project\.(artifactId|version)\}", lambda m: values.get(m[1], ""), name)
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
    if stale(jar, pom):
        maven_package(jar, pom, log, {"file": pom})
    else:  # sparkplate built it from these very sources (their digest is recorded beside it)
        log(f"{jar.name} was built from these sources already: not built again")
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
