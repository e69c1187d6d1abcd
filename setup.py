"""Ships the Copier template (copier.yml, templates/ and tasks/) inside the sparkplate package, so that
`sparkplate sample workflow` can render a recipe wherever sparkplate is installed. Everything
else is in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithTemplate(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "sparkplate" / "template"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        shutil.copy2("copier.yml", target / "copier.yml")
        shutil.copytree("templates", target / "templates")
        shutil.copytree("tasks", target / "tasks")


setup(cmdclass={"build_py": BuildWithTemplate})
