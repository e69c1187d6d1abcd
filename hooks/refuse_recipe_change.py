"""A `copier update` migration: refuse to change a project's recipe.

    python refuse_recipe_change.py ANSWERS_FILE --before NEW_RECIPE   (`-d recipe=...`: stop early)
    python refuse_recipe_change.py ANSWERS_FILE --after                (a recipe chosen at a prompt)

Each recipe has its own files: updating a PySpark project as a Scala one would delete the user's
transform, or leave it beside a new one that the workflow does not run. Copier's 3-way update
cannot carry an edited file to a file of another language, so it is refused: before anything
changes when the recipe comes from `-d`, else right after the update (whose changes `git` can
undo: Copier updates only a clean work tree). Start a new project with `copier copy` instead.
"""

import subprocess
import sys
from pathlib import Path

import yaml


def recipe_in(text: str) -> str | None:
    return (yaml.safe_load(text) or {}).get("recipe")


answers, stage = sys.argv[1], sys.argv[2]
if stage == "--before":
    before, after = recipe_in(Path(answers).read_text()), sys.argv[3]
    undo = ""
else:  # the answers file as committed before the update, and as the update left it
    committed = subprocess.run(
        ["git", "show", f"HEAD:./{answers}"], capture_output=True, text=True, check=False
    )
    before, after = recipe_in(committed.stdout), recipe_in(Path(answers).read_text())
    undo = "\n  undo this update: git checkout -- . && git clean -fd"
if before and after and before != after:
    sys.exit(
        f"refused: this project uses the {before} recipe; `copier update` cannot change it to "
        f"{after}.{undo}\n  fix: update without changing the recipe, or render a new project "
        f"with `copier copy -d recipe={after}` and move your transform over."
    )
