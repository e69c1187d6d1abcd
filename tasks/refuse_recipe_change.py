"""A `copier update` migration: refuse to change a project's recipe.

    python refuse_recipe_change.py NEW_RECIPE     (run by Copier in the project, before updating)

Each recipe has its own files: updating a PySpark project as a Scala one would delete the user's
transform, or leave it beside a new one that the workflow does not run. Copier's 3-way update
cannot carry an edited file to a file of another language, so it is refused before anything
changes. Start a new project with `copier copy` and move the logic over instead.
"""

import sys
from pathlib import Path

import yaml

answers = yaml.safe_load(Path(".copier-answers.yml").read_text()) or {}
before, after = answers.get("recipe"), sys.argv[1]
if before and before != after:
    sys.exit(
        f"refused: this project uses the {before} recipe; `copier update` cannot change it to "
        f"{after}.\n  fix: run `copier update` without `-d recipe=...`, or render a new project "
        f"with `copier copy -d recipe={after}` and move your transform over."
    )
