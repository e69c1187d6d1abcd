"""`sparkplate sample workflow`: render a recipe with Copier, Dataflow's `sample workflow`.

Where the template comes from, first found:
1. `--source-path` (a checkout or a git URL);
2. the source this sparkplate was installed from, as pip records it (PEP 610): a local checkout,
   or a git URL at the installed commit. Projects rendered from it can `copier update`;
3. the copy of the template inside the installed package. Copier cannot update from it (it is not
   a git repository), so the project's answers file should then be pointed at the template's
   repository.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from sparkplate.errors import SparkplateError
from sparkplate.yamlfile import load_yaml

PACKAGED = Path(__file__).with_name("template")


@dataclass(frozen=True)
class Source:
    path: str  # what Copier gets: a directory or a git URL
    ref: str | None  # a git ref (the installed commit) or None for what is there
    updatable: bool  # a git repository or URL: `copier update` can pull later versions


def installed_from() -> Source | None:
    """Where pip installed sparkplate from, when that was a checkout or a git URL."""
    try:
        recorded = metadata.distribution("sparkplate").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not recorded:
        return None
    origin = json.loads(recorded)
    url = origin.get("url", "")
    if "vcs_info" in origin and origin["vcs_info"].get("vcs") == "git":
        return Source(url, origin["vcs_info"].get("commit_id"), True)
    if url.startswith("file://"):
        checkout = Path(url.removeprefix("file://"))
        if (checkout / "copier.yml").is_file():
            return _local(checkout)
    return None


def _local(checkout: Path) -> Source:
    """A checkout renders as it is (HEAD, edits included), like the runtime installed from it."""
    is_git = (checkout / ".git").exists()
    return Source(str(checkout.resolve()), "HEAD" if is_git else None, is_git)


def template_source(source_path: str | None) -> Source:
    if source_path:
        local = Path(source_path).expanduser()
        if local.exists():
            if not (local / "copier.yml").is_file():
                raise SparkplateError(
                    f"{local} has no copier.yml", fix="give a sparkplate checkout or git URL"
                )
            return _local(local)
        return Source(source_path, None, True)  # a URL: Copier clones it, at its latest release
    found = installed_from()
    if found:
        return found
    if (PACKAGED / "copier.yml").is_file():
        return Source(str(PACKAGED), None, False)
    raise SparkplateError(
        "this sparkplate has no template: it was not installed from a checkout, a git URL or a "
        "wheel built with the template",
        fix="pass --source-path <a sparkplate checkout or git URL>",
    )


def recipe_facts(copier_yml: Path) -> dict[str, dict[str, str]]:
    """Each recipe the template offers and its facts (`label`, `title`, `write_job_type`,
    `transform`), in the order offered: copier.yml's `recipes`, whose keys are the `recipe`
    question's choices."""
    return dict(load_yaml(copier_yml)["recipes"]["default"])


def recipes(source: Source | None = None) -> list[str]:
    """The recipes the template offers."""
    root = Path((source or template_source(None)).path)
    if not (root / "copier.yml").is_file():  # a git URL: Copier validates the answer
        return []
    return list(recipe_facts(root / "copier.yml"))


def spark_here(source: Source, recipe: str) -> dict[str, str]:
    """`spark_version` for the Spark installed here, when the template offers it for `recipe`:
    a sample is made to run with this sparkplate (a Scala jar built for another Spark would not
    load). Otherwise nothing, and the template's default stands."""
    from sparkplate.versions import installed_spark_line

    copier_yml = Path(source.path) / "copier.yml"
    if not copier_yml.is_file():  # a git URL
        return {}
    lines = load_yaml(copier_yml).get("spark_versions", {}).get("default", {})
    here = installed_spark_line()
    if here in lines and recipe not in lines[here].get("unsupported", {}):
        return {"spark_version": here}
    return {}


def render(source: Source, recipe: str, target: Path, answers: dict[str, str]) -> Path:
    try:
        import copier
    except ImportError:  # an extra: a cluster install of the runtime has no use for Copier
        raise SparkplateError(
            "`sparkplate sample workflow` renders with Copier, which is not installed",
            fix="pip install 'sparkplate[sample]'",
        ) from None

    copier.run_copy(
        source.path,
        target,
        data={"recipe": recipe, **spark_here(source, recipe), **answers},
        defaults=True,
        unsafe=True,  # our own template; its tasks are in this repository
        vcs_ref=source.ref,
        quiet=True,
    )
    return target
