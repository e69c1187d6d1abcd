"""Why this file exists: `sparkplate sample workflow` renders a recipe wherever sparkplate is
installed, so a wheel carries the Copier template (copier.yml, templates/ and hooks/) as
sparkplate/template/. They live at the repository's top level, where Copier needs them, outside
the package; this build step copies them in. Editable installs skip it (they render from the
checkout). Everything else is declared in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

NOT_SHIPPED = shutil.ignore_patterns("__pycache__", "*.py[co]")


class BuildWithTemplate(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "sparkplate" / "template"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        shutil.copy2("copier.yml", target / "copier.yml")
        shutil.copytree("templates", target / "templates", ignore=NOT_SHIPPED)
        shutil.copytree("hooks", target / "hooks", ignore=NOT_SHIPPED)


setup(cmdclass={"build_py": BuildWithTemplate})
