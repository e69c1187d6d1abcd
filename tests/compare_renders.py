"""Render every recipe from two versions of the template and show where the projects differ.

    python tests/compare_renders.py                 # base commit 1ba7b91 against the working tree
    python tests/compare_renders.py --base REF      # another base (a commit, branch or tag)
    python tests/compare_renders.py --head REF      # a commit instead of the working tree
                                                    # (HEAD, the default, includes its edits)

A restructuring of the template tree must not change a generated project: this renders each recipe
with the default answers and with a few variants from both versions (real Copier, which renders
each version from a temporary clone of this repository), then compares the projects path by path and
byte by byte. The `_commit` and `_src_path` lines of `.copier-answers.yml` name the version and
are left out. Prints each difference; exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import difflib
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import copier
import yaml

REPO = Path(__file__).resolve().parents[1]
BASE = "1ba7b91"  # the commit before the template tree became one tree
ANSWERS = ".copier-answers.yml"
VERSION_LINES = ("_commit:", "_src_path:")
# Answers that change names, paths and optional parts of the project.
CUSTOM = {
    "workflow_shortname": "top_titles",
    "workflow_id": "team.top_titles",
    "owner": "analytics-team",
    "target_database": "analytics",
    "target_table": "daily_top",
    "source_table": "raw.playbacks",
    "top_n": 25,
    "daily_lookback_days": 5,
    "timezone": "America/Los_Angeles",
}


def recipes(ref: str) -> list[str]:
    """The recipes `ref` offers, from its copier.yml (older versions list them as choices)."""
    shown = subprocess.run(["git", "show", f"{ref}:copier.yml"], cwd=REPO, capture_output=True,
                           text=True, check=True)  # fmt: skip
    config = yaml.safe_load(shown.stdout)
    if "recipes" in config:
        return list(config["recipes"]["default"])
    return list(config["recipe"]["choices"].values())


def cases(names: list[str]) -> dict[str, dict]:
    found = {}
    for recipe in names:
        found[recipe] = {"recipe": recipe}
        found[f"{recipe}, use_wap=false"] = {"recipe": recipe, "use_wap": False}
        custom = {"recipe": recipe, **CUSTOM}
        if recipe == "scala":
            custom["scala_package"] = "org.acme.top_titles"
        found[f"{recipe}, custom names"] = custom
    return found


def render(ref: str, dest: Path, answers: dict) -> Path:
    """Render `ref` ("HEAD" with uncommitted edits = the working tree); Copier clones it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DirtyLocalWarning: the working tree on purpose
        copier.run_copy(
            str(REPO), dest, data=answers, defaults=True, unsafe=True, quiet=True, vcs_ref=ref
        )
    return dest


def contents(project: Path) -> dict[str, bytes | None]:
    """Every path under `project`: a file's bytes, None for a folder."""
    found: dict[str, bytes | None] = {}
    for path in sorted(project.rglob("*")):
        name = path.relative_to(project).as_posix()
        if path.is_dir():
            found[name + "/"] = None
            continue
        data = path.read_bytes()
        if name == ANSWERS:
            lines = data.decode().splitlines(keepends=True)
            data = "".join(x for x in lines if not x.startswith(VERSION_LINES)).encode()
        found[name] = data
    return found


def differences(base: Path, head: Path) -> list[str]:
    old, new = contents(base), contents(head)
    found = []
    for name in sorted(old.keys() - new.keys()):
        found.append(f"only in base: {name}")
    for name in sorted(new.keys() - old.keys()):
        found.append(f"only in head: {name}")
        if new[name] is not None:
            start = new[name].decode(errors="replace").splitlines()[:5]
            found.extend("    " + line for line in start)
            found.append("    ...")
    for name in sorted(old.keys() & new.keys()):
        if old[name] != new[name]:
            diff = difflib.unified_diff(
                old[name].decode(errors="replace").splitlines(),
                new[name].decode(errors="replace").splitlines(),
                f"base/{name}",
                f"head/{name}",
                lineterm="",
            )
            found.append(f"differs: {name}")
            found.extend("    " + line for line in diff)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default=BASE, help=f"git ref to render first (default {BASE})")
    parser.add_argument("--head", default="HEAD", help="git ref to compare (default: work tree)")
    args = parser.parse_args()
    different = 0
    with tempfile.TemporaryDirectory(prefix="sparkplate-compare-") as tmp:
        work = Path(tmp)
        every = cases(recipes(args.base))
        for label, answers in every.items():
            case = work / label.replace(", ", "-").replace("=", "-").replace(" ", "-")
            base = render(args.base, case / "base", answers)
            head = render(args.head, case / "head", answers)
            found = differences(base, head)
            print(f"{label}: {'identical' if not found else 'DIFFERENT'} "
                  f"({len(contents(head))} paths)")  # fmt: skip
            for line in found:
                print("  " + line)
            different += bool(found)
    print(f"{different} of {len(every)} renders differ"
          if different else "every render is identical")  # fmt: skip
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
