"""`sparkplate project deploy`: build and publish every asset, bundle every workflow, switch.

1. Each asset (wheels, jars, each project's scripts) is built and published to the registry
   under a new id: sparkplate.TYPE.NAMESPACE.OWNER.REPO.BRANCH.COMMIT.BUILD.
2. Each workflow gets a new bundle version: the project's scripts as just published, its
   workflow files rendered against the registry (a SparkSubmit job's `pom`-built jar becomes
   the jar just published), the assets they reference, and its Airflow DAG.
3. Only when every bundle is complete does each `current` switch, so a failure before that
   leaves every deployed workflow as it was.

A branch other than the default deploys sandboxes: `sandbox.BRANCH.WORKFLOW_ID`, with bundles
of their own and the profile `deploy.branches.profiles` names for the branch.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sparkplate.engine import validate
from sparkplate.errors import SparkplateError
from sparkplate.profiles import (
    DEFAULT_PROFILE,
    PROFILE_FILE,
    find_profile_file,
    is_local_path,
    load_profile,
)
from sparkplate.project import bundle as bundles
from sparkplate.project.airflow import dag_file
from sparkplate.project.build import build, unpack
from sparkplate.project.registry import AssetId, Deployed, Registry, open_registry
from sparkplate.project.render import Assets, render, write_rendered
from sparkplate.project.repo import (
    Deploy,
    GitFacts,
    Project,
    Repository,
    Source,
    git_facts,
    shown,
)
from sparkplate.workflow import ID, parse_workflow
from sparkplate.yamlfile import load_yaml

SPARKPLATE = (sys.executable, "-m", "sparkplate.cli")  # what tasks run, unless airflow.command


@dataclass(frozen=True)
class Deployment:
    dag_id: str
    bundle: bundles.Bundle
    dag_link: Path | None


def dag_id_for(workflow_id: str, facts: GitFacts, default_branch: str) -> str:
    if facts.branch == default_branch:
        return workflow_id
    return f"sandbox.{facts.branch}.{workflow_id}"


def publish_assets(repo: Repository, facts: GitFacts, registry, say) -> dict[Source, Deployed]:
    published = {}
    with tempfile.TemporaryDirectory(prefix="sparkplate-build-") as scratch:
        groups = (
            ("Python Assets", repo.python),
            ("Maven Assets", repo.maven),
            ("Script Assets", repo.scripts),
        )
        for title, sources in groups:
            if not sources:
                continue
            built = {}
            say(f"Building {title}:")
            for source in sources:
                built[source] = build(source, Path(scratch) / source.type, say)
                say(f"-> {source.shown(repo.root)}... CREATED {built[source].name}")
            say(f"Summary: {len(built)} successful, 0 failed.")
            say(f"Deploying {title}:")
            for source, file in built.items():
                unnumbered = AssetId(
                    source.type,
                    source.namespace,
                    facts.owner,
                    facts.repo,
                    facts.branch,
                    facts.commit,
                    0,
                )
                published[source] = registry.publish(unnumbered, file, source.shown(repo.root))
                say(f"-> {source.shown(repo.root)}... DEPLOYED AS {published[source].id}")
            say(f"Summary: {len(built)} successful, 0 failed.")
    return published


# What a sandbox's tasks must not take from the worker's environment: its profile alone decides.
PRODUCTION_ONLY = ("SPARKPLATE_WAREHOUSE",)


@dataclass(frozen=True)
class RunSettings:
    """How the deployed tasks of a branch run: with which profile, and what environment."""

    profile: str
    env: dict[str, str]
    sandbox: bool

    def command(self, sparkplate: list[str]) -> list[str]:
        unset = [arg for name in PRODUCTION_ONLY for arg in ("-u", name)] if self.sandbox else []
        return [*(["env", *unset] if unset else []), *sparkplate, "--profile", self.profile]


def run_settings(deploy: Deploy, branch: str) -> RunSettings:
    sandbox = branch != deploy.default_branch
    profile = deploy.profile_for(branch)
    if sandbox and profile is None:
        raise SparkplateError(
            f"branch {branch} deploys sandboxes, but no profile says where they write, so they "
            "would write production's tables",
            file=deploy.file,
            key="deploy.branches.profiles",
            fix='name one: deploy.branches.profiles: {"*": sandbox} (a profile with its own '
            "warehouse or catalog)",
        )
    env = {k: v for k, v in deploy.env.items() if not (sandbox and k in PRODUCTION_ONLY)}
    return RunSettings(profile or DEFAULT_PROFILE, env, sandbox)


def _where_runs_write(project_dir: Path, settings: RunSettings) -> str | None:
    """The warehouse (or catalog server) deployed runs write to, as one comparable text."""
    profile = load_profile(settings.profile, start=project_dir)
    if profile.catalog.get("type") == "rest":
        return f"{profile.catalog.get('uri')} {profile.catalog.get('warehouse', '')}".strip()
    location = settings.env.get("SPARKPLATE_WAREHOUSE") or profile.catalog.get("warehouse")
    if location and is_local_path(location):
        path = location.removeprefix("file://").removeprefix("file:")
        return os.path.normpath(path) if os.path.isabs(path) else location
    return location.rstrip("/") if location else None


def check_warehouse(project_dir: Path, settings: RunSettings, deploy: Deploy) -> None:
    """Deployed runs write outside the bundle (every version the same place), and a sandbox's
    never where production's do."""
    writes = _where_runs_write(project_dir, settings)
    if not writes or (is_local_path(writes) and not os.path.isabs(writes)):
        raise SparkplateError(
            f"deployed runs of profile '{settings.profile}' have no fixed warehouse "
            f"({writes or 'the default ./warehouse'} would be inside each bundle)",
            file=deploy.file,
            key="deploy.branches.profiles",
            fix="give the profile a catalog.warehouse that is an absolute path or a URI (or, "
            "for production, set deploy.airflow.env.SPARKPLATE_WAREHOUSE)",
        )
    if settings.sandbox:
        production = run_settings(deploy, deploy.default_branch)
        try:
            shared = writes == _where_runs_write(project_dir, production)
        except SparkplateError:  # production's profile is not in this project: nothing shared
            shared = False
        if shared:
            raise SparkplateError(
                f"the sandbox profile '{settings.profile}' writes where production's "
                f"'{production.profile}' does: {writes}",
                file=deploy.file,
                key="deploy.branches.profiles",
                fix="give the sandbox profile a warehouse (or catalog) of its own",
            )


@dataclass
class Deploying:
    """One deploy: what every bundle of it is made from."""

    repo: Repository
    facts: GitFacts
    registry: Registry
    published: dict[Source, Deployed]  # this deploy's builds
    settings: RunSettings

    def header(self) -> str:
        facts = self.facts
        return (
            f"Rendered by `sparkplate project deploy` from {facts.owner}/{facts.repo} "
            f"{facts.branch}@{facts.commit}; deploy again rather than edit it."
        )


def make_bundle(ctx: Deploying, project: Project, workflow: Path, dag_id: str) -> bundles.Bundle:
    """A complete new version of `dag_id`'s bundle (not yet current)."""
    deploy, facts, registry = ctx.repo.deploy, ctx.facts, ctx.registry
    made = bundles.claim(deploy.bundles, dag_id)
    scripts = ctx.published[project.scripts]
    assets = Assets(lambda: registry, made.assets, facts.branch, deploy.default_branch)
    assets.use(scripts)
    made.assets.mkdir()
    unpack(registry.fetch(scripts, made.folder / "project.zip"), made.project)
    (made.folder / "project.zip").unlink()
    profiles = find_profile_file(project.folder)
    if profiles is not None and not (made.project / PROFILE_FILE).is_file():
        shutil.copyfile(profiles, made.folder / PROFILE_FILE)  # the repository's profiles
    jars = {s.path.resolve(): d for s, d in ctx.published.items() if s.type == "jar"}

    def built_jar(kind: str, key: str, value: str, spec: dict):
        """A SparkSubmit job's jar built from a pom: the jar this deploy published."""
        if kind != "SparkSubmit" or not spec.get("pom"):
            return value
        if key == "pom":
            return None  # built already: the bundle has no sources to build from
        pom = (project.folder / spec["pom"]).resolve()
        if pom not in jars:
            raise SparkplateError(
                f"{pom} is not one of the repository's Maven assets",
                file=workflow,
                fix="give the job its jar as an asset reference",
            )
        return str(assets.path(assets.use(jars[pom])))

    for source in project.workflows:
        write_rendered(render(source, assets, built_jar), made.project / source.name, ctx.header())
    rendered = made.project / workflow.name
    validate(rendered)  # every file a job names is in the bundle; no reference is left
    check_warehouse(made.project, ctx.settings, deploy)
    wf = parse_workflow(rendered)
    dag = dag_file(
        dag_id=dag_id,
        wf=wf,
        trigger=wf.trigger,
        notifications=wf.notifications,
        workflow_file=rendered,
        bundle=made.folder,
        version=made.version,
        source=f"{facts.owner}/{facts.repo} {facts.branch}@{facts.commit}",
        run=ctx.settings.command(list(deploy.command or SPARKPLATE)),
        env=ctx.settings.env,
    )
    (made.folder / "dag.py").write_text(dag)
    record = {
        "workflow_id": wf.id,
        "workflow": workflow.relative_to(ctx.repo.root).as_posix(),
        "owner": facts.owner,
        "repo": facts.repo,
        "branch": facts.branch,
        "commit": facts.commit,
        "profile": ctx.settings.profile,
        "assets": sorted(assets.used),
    }
    bundles.complete(made, record)
    return made


def deploy(repo: Repository, say, allow_dirty: bool = False) -> list[Deployment]:
    if repo.deploy.file is None:
        raise SparkplateError(
            f"{repo.root} has no sparkplate.yaml with deploy settings (several projects have "
            "their own, and none is at the root)",
            fix="write one at the root: sparkplate project init",
        )
    facts = git_facts(repo.root)
    if facts.dirty and not allow_dirty:
        raise SparkplateError(
            f"{repo.root} has uncommitted changes: the asset ids would name commit "
            f"{facts.commit}, which does not hold them",
            fix="commit (or stash) them first, or pass --allow-dirty",
        )
    settings = run_settings(repo.deploy, facts.branch)  # before anything is built
    if repo.deploy.dags_folder is not None:  # before anything switches
        repo.deploy.dags_folder.mkdir(parents=True, exist_ok=True)
        if not os.access(repo.deploy.dags_folder, os.W_OK):
            raise SparkplateError(
                f"cannot write to {repo.deploy.dags_folder}",
                file=repo.deploy.file,
                key="deploy.airflow.dags_folder",
            )
    registry = open_registry(repo.deploy.registry, repo.root)
    ctx = Deploying(repo, facts, registry, publish_assets(repo, facts, registry, say), settings)
    say("Building Scheduler Workflows:")
    made = []
    for project in repo.projects:
        for workflow in project.workflows:
            dag_id = dag_id_for(parse_workflow_id(workflow), facts, repo.deploy.default_branch)
            made.append(make_bundle(ctx, project, workflow, dag_id))
            say(f"-> {shown(workflow, repo.root)}... CREATED bundle {made[-1].version} of {dag_id}")
    say(f"Summary: {len(made)} successful, 0 failed.")
    # Only now, with every bundle whole, does anything change: one switch per workflow.
    say("Deploying Scheduler Workflows:")
    done = []
    for bundle in made:
        bundles.switch(bundle)
        link = None
        if repo.deploy.dags_folder is not None:
            link = bundles.link_dag(repo.deploy.bundles, bundle.dag_id, repo.deploy.dags_folder)
        done.append(Deployment(bundle.dag_id, bundle, link))
        say(
            f"-> {bundle.dag_id}... DEPLOYED AS bundle {bundle.version}"
            + (f" (DAG {link})" if link else "")
        )
    say(f"Summary: {len(done)} successful, 0 failed.")
    return done


def parse_workflow_id(path: Path) -> str:
    """The id of a source workflow, read without refusing its asset references."""
    document = load_yaml(path)
    spec = document.get("workflow") if isinstance(document, dict) else None
    if not isinstance(spec, dict) or not spec.get("id"):
        raise SparkplateError("missing key 'id'", file=path, key="workflow.id")
    workflow_id = str(spec["id"])
    if not ID.match(workflow_id) or ".." in workflow_id:
        parse_workflow(path)  # names the id and the fix
    return workflow_id
