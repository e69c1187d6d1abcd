"""A repository of pipelines: its root, its `deploy:` settings, its git facts, and what it holds.

    acme-pipelines/              the repository (its git root)
    ├── sparkplate.yaml          `deploy:` settings (`sparkplate project init` writes it)
    ├── top_titles/              a project: a folder with workflow files (*.sch.yaml)
    │   ├── main.sch.yaml
    │   ├── pom.xml              a Maven asset (a jar)
    │   └── ...
    └── hello/
        ├── daily.sch.yaml
        └── hello_world/pyproject.toml   a Python asset (a wheel), if it declares a build system

Every project is also a scripts asset (`sql`, or `r` when it holds R scripts): the files of its
folder that git tracks, which is what a deployed workflow reads at run time.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same module, as a package
    import tomli as tomllib

from sparkplate.errors import SparkplateError
from sparkplate.profiles import PROFILE_FILE, URI
from sparkplate.yamlfile import load_yaml

WORKFLOW_GLOB = "*.sch.yaml"
RENDERED_DIR = ".workflows"  # `project render` writes here
# Folders that hold outputs, caches or environments, never a project.
SKIPPED = {"target", "build", "dist", "warehouse", "spark-warehouse", "node_modules", "__pycache__"}
DEFAULTS = {
    "registry": "~/.local/share/sparkplate/registry",
    "bundles": "~/.local/share/sparkplate/bundles",
}
DEPLOY_KEYS = ("registry", "bundles", "airflow", "branches")
AIRFLOW_KEYS = ("dags_folder", "command", "env")
BRANCH_KEYS = ("default", "profiles")


def name_part(text: str) -> str:
    """`text` as one part of a dotted id: letters, digits, `_` and `-` only."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", text).strip("-") or "unnamed"


def shown(path: Path, root: Path) -> str:
    """`path` as the project commands print it: ./relative/to/the/root."""
    return "./" + path.relative_to(root).as_posix() if path != root else "."


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SparkplateError(
            f"git {' '.join(args)} failed in {root}: {done.stderr.strip()}",
            fix="run it in a git repository with at least one commit",
        )
    return done.stdout.strip()


@dataclass(frozen=True)
class GitFacts:
    owner: str
    repo: str
    branch: str
    commit: str  # the first 8 hex digits, as in the asset ids
    dirty: bool  # uncommitted changes: the commit does not say what would be built


def _owner_and_repo(root: Path) -> tuple[str, str]:
    """From the `origin` remote (git@host:owner/repo.git, https://host/owner/repo, a path);
    `local` and the folder's name when there is none."""
    done = subprocess.run(
        ["git", "-C", str(root), "remote", "get-url", "origin"], capture_output=True, text=True
    )
    url = done.stdout.strip().rstrip("/").removesuffix(".git") if done.returncode == 0 else ""
    parts = [p for p in re.split(r"[/:]", url) if p]
    if len(parts) >= 2:
        return name_part(parts[-2]), name_part(parts[-1])
    return "local", name_part(root.name)


def git_facts(root: Path, detached: str | None = None) -> GitFacts:
    """With `detached`, a detached HEAD (a CI checkout, say) counts as that branch."""
    branch = git(root, "rev-parse", "--abbrev-ref", "HEAD")
    if branch == "HEAD" and detached:
        branch = detached
    if branch == "HEAD":
        raise SparkplateError(
            f"{root} is on a detached HEAD: asset ids and sandboxes are named by branch",
            fix="check out a branch (git switch -c NAME)",
        )
    owner, repo = _owner_and_repo(root)
    return GitFacts(
        owner=owner,
        repo=repo,
        branch=name_part(branch),
        commit=git(root, "rev-parse", "HEAD")[:8],
        # .workflows/ is render output, not source
        dirty=bool(git(root, "status", "--porcelain", "--", ".", f":!{RENDERED_DIR}")),
    )


@dataclass(frozen=True)
class Source:
    """Something a deploy builds into an asset: its type, namespace and where it is."""

    type: str  # wheel, jar, sql or r (the registry's asset types)
    namespace: str
    path: Path  # pyproject.toml, pom.xml, or the project folder for scripts
    project: Project | None = None  # the project a scripts asset is

    def shown(self, root: Path) -> str:
        return shown(self.path, root)


@dataclass(frozen=True)
class Project:
    """A folder with workflow files."""

    folder: Path
    name: str  # its namespace: the folder's name, or the repository's for a root project
    workflows: tuple[Path, ...]
    files: tuple[Path, ...] = field(default=(), compare=False)  # tracked by git, relative

    @property
    def scripts(self) -> Source:
        kind = "r" if any(f.suffix in (".R", ".r") for f in self.files) else "sql"
        return Source(kind, self.name, self.folder, self)


@dataclass(frozen=True)
class Deploy:
    """The `deploy:` settings, paths made absolute."""

    registry: str
    bundles: Path
    dags_folder: Path | None
    command: tuple[str, ...] | None  # how Airflow tasks call sparkplate
    env: dict[str, str]  # for every deployed task
    default_branch: str
    branch_profiles: dict[str, str]
    file: Path | None

    def profile_for(self, branch: str) -> str | None:
        """The profile deployed runs of `branch` use; `*` stands for every sandbox branch."""
        if branch in self.branch_profiles:
            return self.branch_profiles[branch]
        return None if branch == self.default_branch else self.branch_profiles.get("*")


def _path(text: str, base: Path) -> Path:
    path = Path(os.path.expanduser(text))
    return path if path.is_absolute() else (base / path).resolve()


def read_deploy(file: Path | None, root: Path) -> Deploy:
    spec = {}
    if file is not None:
        document = load_yaml(file)
        spec = (document.get("deploy") if isinstance(document, dict) else None) or {}
    where = {"file": file}

    def mapping(value, key: str, allowed: tuple[str, ...]) -> dict:
        value = value or {}
        if not isinstance(value, dict):
            raise SparkplateError(f"'{key}' must be a mapping", key=key, **where)
        for name in value:
            if name not in allowed:
                raise SparkplateError(
                    f"unknown key '{name}'",
                    key=f"{key}.{name}",
                    fix="use: " + ", ".join(allowed),
                    **where,
                )
        return value

    spec = mapping(spec, "deploy", DEPLOY_KEYS)
    airflow = mapping(spec.get("airflow"), "deploy.airflow", AIRFLOW_KEYS)
    branches = mapping(spec.get("branches"), "deploy.branches", BRANCH_KEYS)
    profiles = branches.get("profiles") or {}
    if not isinstance(profiles, dict):
        raise SparkplateError(
            "'profiles' must map branch names to profile names",
            key="deploy.branches.profiles",
            **where,
        )
    if not isinstance(airflow.get("env") or {}, dict):
        raise SparkplateError("'env' must map variable names to values",
                              key="deploy.airflow.env", **where)  # fmt: skip
    dags = airflow.get("dags_folder")
    command = airflow.get("command")
    if isinstance(command, str):
        command = command.split()
    base = file.parent if file else root
    registry = str(spec.get("registry") or DEFAULTS["registry"])
    return Deploy(
        registry=registry if URI.match(registry) else str(_path(registry, base)),
        bundles=_path(str(spec.get("bundles") or DEFAULTS["bundles"]), base),
        dags_folder=_path(str(dags), base) if dags else None,
        command=tuple(str(c) for c in command) if command else None,
        env={str(k): str(v) for k, v in (airflow.get("env") or {}).items()},
        default_branch=str(branches.get("default") or "main"),
        branch_profiles={str(k): str(v) for k, v in profiles.items()},
        file=file,
    )


@dataclass
class Repository:
    root: Path
    deploy: Deploy
    projects: list[Project]
    python: list[Source]
    maven: list[Source]

    @property
    def scripts(self) -> list[Source]:
        return [p.scripts for p in self.projects]

    @property
    def workflows(self) -> list[Path]:
        return [wf for p in self.projects for wf in p.workflows]


def find_root(start: Path) -> Path:
    """The git repository around `start`."""
    done = subprocess.run(
        ["git", "-C", str(start), "rev-parse", "--show-toplevel"], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SparkplateError(
            f"{start.resolve()} is not in a git repository: asset ids name the repository, "
            "branch and commit",
            fix="git init, commit the pipelines, and run again",
        )
    return Path(done.stdout.strip()).resolve()


def deploy_file(root: Path, projects: list[Project]) -> Path | None:
    """The root's sparkplate.yaml, else a single project's own one."""
    if (root / PROFILE_FILE).is_file():
        return root / PROFILE_FILE
    own = [p.folder / PROFILE_FILE for p in projects if (p.folder / PROFILE_FILE).is_file()]
    return own[0] if len(own) == 1 else None


def _walk(root: Path):
    """Every folder under `root` that is not hidden or an output, top down."""
    for folder, subfolders, _files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".") and d not in SKIPPED)
        yield Path(folder)


def _is_python_package(pyproject: Path) -> str | None:
    """The project's name when the pyproject builds a distribution (has a build system)."""
    try:
        document = tomllib.loads(pyproject.read_text())
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise SparkplateError(f"cannot read it: {err}", file=pyproject) from None
    if "build-system" not in document:
        return None  # tool settings only, like a generated project's
    return str(document.get("project", {}).get("name") or pyproject.parent.name)


def _artifact_id(pom: Path) -> str:
    try:
        tree = ElementTree.parse(pom)
    except (OSError, ElementTree.ParseError) as err:
        raise SparkplateError(f"cannot read it: {err}", file=pom) from None
    for child in tree.getroot():
        if child.tag.rsplit("}", 1)[-1] == "artifactId" and child.text:
            return child.text.strip()
    raise SparkplateError("no <artifactId> in the pom", file=pom)


def open_repository(start: Path) -> Repository:
    root = find_root(start)
    tracked = git(root, "ls-files", "-z").split("\0")
    projects, python, maven = [], [], []
    for folder in _walk(root):
        if folder.is_relative_to(root / RENDERED_DIR):
            continue
        workflows = tuple(sorted(folder.glob(WORKFLOW_GLOB)))
        if workflows:
            prefix = "" if folder == root else folder.relative_to(root).as_posix() + "/"
            files = tuple(Path(t[len(prefix) :]) for t in tracked if t and t.startswith(prefix))
            projects.append(Project(folder, name_part(folder.name), workflows, files))
        if (folder / "pyproject.toml").is_file():
            name = _is_python_package(folder / "pyproject.toml")
            if name:
                python.append(
                    Source("wheel", name_part(name.replace("-", "_")), folder / "pyproject.toml")
                )
        if (folder / "pom.xml").is_file():
            maven.append(
                Source("jar", name_part(_artifact_id(folder / "pom.xml")), folder / "pom.xml")
            )
    for found in (projects, python, maven):
        names = [s.name if isinstance(s, Project) else (s.type, s.namespace) for s in found]
        twice = sorted({str(n) for n in names if names.count(n) > 1})
        if twice:
            raise SparkplateError(
                f"two assets in {root} share the namespace {twice[0]}",
                fix="rename one of the folders (projects) or packages (artifactId, name)",
            )
    return Repository(root, read_deploy(deploy_file(root, projects), root), projects, python, maven)
