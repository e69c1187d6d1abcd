"""`copier update`, as users run it for years: `nox -s update` runs these (marker `update`).

The template is a clone of this repository with the working tree committed on top. Only the
branch is published, not its tags: the clone tags each release commit (`Release X.Y.Z`) vX.Y.Z.
The project is rendered at the previous release (or, while there is none, a fixture tag at the
clone's HEAD), committed with git, then updated to the working tree with real Copier.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import copier
import jinja2
import pytest
import yaml
from helpers import RECIPES, REPO, TRANSFORM
from packaging.version import InvalidVersion, Version

pytestmark = pytest.mark.update

CONFLICT = re.compile(r"^(<{7}|>{7}) ", re.MULTILINE)
# A line a user adds to the transform, in its language's comment syntax.
USER_NOTE = {"py": "# kept by the user", "sql": "-- kept by the user",
             "scala": "// kept by the user", "R": "# kept by the user"}  # fmt: skip
TEMPLATE_NOTE = {"md": "Updated by the template.", "py": "# updated by the template",
                 "sql": "-- updated by the template", "scala": "// updated by the template",
                 "R": "# updated by the template"}  # fmt: skip


# Where the Scala recipe's files were before 0.2.0 moved them to the package's folder (its
# migration moves a project's copies), and where they are now for the default answers.
SCALA_PACKAGE_PATH = "com/example/sparkplatesample"
SCALA_MOVES = {
    "src/main/scala/ExampleApp.scala": f"src/main/scala/{SCALA_PACKAGE_PATH}/TopTitles.scala",
    "src/test/scala/ExampleAppSuite.scala": (
        f"src/test/scala/{SCALA_PACKAGE_PATH}/TopTitlesSuite.scala"
    ),
}


def transform_in(project: Path, recipe: str) -> Path:
    """The recipe's transform in a project rendered at some release: today's path, or the one
    before a move."""
    path = TRANSFORM[recipe]
    if not (project / path).exists():
        path = next((old for old, new in SCALA_MOVES.items() if new == path), path)
    return project / path


def template_of(recipe: str) -> str:
    """The path under templates/ of the recipe's transform: the one whose name renders to it
    (a recipe's own files are named to render empty, and so not at all, for other recipes)."""
    names = jinja2.Environment(undefined=jinja2.ChainableUndefined)
    for path in (REPO / "templates").rglob("*.jinja"):
        name = path.relative_to(REPO / "templates").as_posix()
        rendered = names.from_string(name.removesuffix(".jinja")).render(
            recipe=recipe, scala_package_path=SCALA_PACKAGE_PATH
        )
        if rendered == TRANSFORM[recipe]:
            return name
    raise AssertionError(f"no template renders to {TRANSFORM[recipe]}")


@pytest.fixture(autouse=True, scope="module")
def git_identity():
    names = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")
    saved = {name: os.environ.get(name) for name in names}
    for name in names:
        os.environ.setdefault(name, "sparkplate-tests" if "NAME" in name else "tests@example.com")
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def tag_releases(repo: Path) -> None:
    """Tag each release commit (subject `Release X.Y.Z`) vX.Y.Z, unless that tag exists."""
    tags = set(git(repo, "tag", "--list").split())
    for line in git(repo, "log", "--format=%H %s").splitlines():
        commit, _, subject = line.partition(" ")
        release = re.fullmatch(r"Release (\S+)", subject)
        if not release or f"v{release[1]}" in tags:
            continue
        try:
            Version(release[1])
        except InvalidVersion:
            continue
        git(repo, "tag", f"v{release[1]}", commit)


def next_release(previous: str) -> str:
    """The release the working tree becomes: the minor version after `previous` (v0.1.0 ->
    v0.2.0), so that migrations keyed on it run when a project updates to the working tree."""
    major, minor = Version(previous).release[:2]
    return f"v{major}.{minor + 1}.0"


def release_tags(repo: Path) -> list[str]:
    tags = []
    for tag in git(repo, "tag", "--list", "v*").split():
        try:
            tags.append((Version(tag), tag))
        except InvalidVersion:
            continue
    return [tag for _, tag in sorted(tags)]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, str]:
    """(a clone with the working tree committed on top, the tag to update from)."""
    clone = tmp_path_factory.mktemp("template") / "sparkplate"
    git(REPO, "clone", "-q", str(REPO), str(clone))
    tag_releases(clone)
    tags = release_tags(clone)
    previous = tags[-1] if tags else "v0.0.0"
    if not tags:
        git(clone, "tag", previous)  # the fixture tag: no release yet
    for name in git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split(
        "\0"
    ):
        source = REPO / name
        if name and source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
        elif name and not source.exists():
            (clone / name).unlink(missing_ok=True)  # deleted in the working tree
    # A template-side change in every transform and in the README, away from where the user
    # edits below: the update always has something to merge, even right after a release.
    readme = clone / "templates/README.md.jinja"
    readme.write_text(readme.read_text() + f"\n{TEMPLATE_NOTE['md']}\n")
    for recipe in RECIPES:
        path = clone / "templates" / template_of(recipe)
        line = TEMPLATE_NOTE[Path(TRANSFORM[recipe]).suffix.lstrip(".")]
        path.write_text(f"{line}\n" + path.read_text())
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "the working tree, and a template change")
    git(clone, "tag", next_release(previous))  # its migrations (`version: v0.2.0`) run on update
    return clone, previous


def render_project(template_dir: Path, ref: str, dest: Path, **answers) -> Path:
    config = yaml.safe_load(git(template_dir, "show", f"{ref}:copier.yml"))
    # The recipes `ref` offers: the keys of its `recipes` facts (0.1.0: its `recipe` choices).
    facts = config.get("recipes", {}).get("default")
    offered = list(facts) if facts else list(config["recipe"]["choices"].values())
    if answers.get("recipe", "pyspark") not in offered:
        pytest.skip(f"the {answers['recipe']} recipe is newer than {ref}: nothing to update")
    copier.run_copy(
        str(template_dir), dest, data=answers, defaults=True, unsafe=True, vcs_ref=ref, quiet=True
    )
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", f"rendered at {ref}")
    return dest


def update(project: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "copier", "update", "--trust", "--defaults", *args]
    return subprocess.run(command, cwd=project, capture_output=True, text=True)


def leftovers(project: Path) -> list[str]:
    """Files with conflict markers, and .rej files."""
    found = []
    for path in project.rglob("*"):
        if ".git" in path.parts or not path.is_file():
            continue
        if path.suffix == ".rej" or CONFLICT.search(path.read_text(errors="replace")):
            found.append(path.relative_to(project).as_posix())
    return found


def tree(project: Path) -> dict[str, str]:
    """{path: content} of a project's files, without git's and Copier's own records."""
    return {
        path.relative_to(project).as_posix(): path.read_text(errors="replace")
        for path in project.rglob("*")
        if path.is_file() and ".git" not in path.parts and path.name != ".copier-answers.yml"
    }


@pytest.mark.parametrize("recipe", RECIPES)
def test_an_updated_project_is_the_project_copier_copy_makes_today(template, tmp_path, recipe):
    # `nox -s e2e` runs a fresh copy's own nox (lint, tests, workflows) for each recipe; an
    # update that ends with the same files passes it too, without running it twice.
    template_dir, previous = template
    project = render_project(template_dir, previous, tmp_path / "p", recipe=recipe)

    done = update(project, "--vcs-ref", "HEAD")

    assert done.returncode == 0, done.stderr
    assert leftovers(project) == []
    assert TEMPLATE_NOTE["md"] in (project / "README.md").read_text()
    # Made before the spark_version question, so on Spark 3.5: it stays there.
    assert answers_of(project)["spark_version"] == "3.5"
    fresh = tmp_path / "fresh"
    copier.run_copy(str(template_dir), fresh, data={"recipe": recipe, "spark_version": "3.5"},
                    defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True)  # fmt: skip
    assert_same_files(project, fresh)


def answers_of(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def assert_same_files(project: Path, expected_project: Path) -> None:
    updated, expected = tree(project), tree(expected_project)
    assert sorted(updated) == sorted(expected)
    assert [name for name in expected if updated[name] != expected[name]] == []


@pytest.mark.parametrize("recipe", ["pyspark", "scala"])
def test_a_project_moves_to_spark_4_1_when_asked_and_its_tests_pass(template, tmp_path, recipe):
    """A project from before the question updates to 3.5; `-d spark_version=4.1` then moves its
    pyspark, Scala and CI to 4.1, as a fresh 4.1 copy has them, and its own tests pass there."""
    template_dir, previous = template
    project = render_project(template_dir, previous, tmp_path / "p", recipe=recipe)
    assert update(project, "--vcs-ref", "HEAD").returncode == 0
    assert answers_of(project)["spark_version"] == "3.5"
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "updated, on Spark 3.5")

    done = update(project, "--vcs-ref", "HEAD", "-d", "spark_version=4.1")

    assert done.returncode == 0, done.stderr
    assert leftovers(project) == []
    assert answers_of(project)["spark_version"] == "4.1"
    fresh = tmp_path / "fresh"
    copier.run_copy(str(template_dir), fresh, data={"recipe": recipe, "spark_version": "4.1"},
                    defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True)  # fmt: skip
    assert_same_files(project, fresh)
    tests = subprocess.run([sys.executable, "-m", "nox", "-s", "tests"], cwd=project,
                           capture_output=True, text=True)  # fmt: skip
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-3000:]


@pytest.mark.parametrize("recipe", RECIPES)
def test_user_edits_survive_an_update_or_show_as_a_conflict(template, tmp_path, recipe):
    template_dir, previous = template
    project = render_project(template_dir, previous, tmp_path / "p", recipe=recipe)
    edited = transform_in(project, recipe)
    note = USER_NOTE[edited.suffix.lstrip(".")]
    edited.write_text(edited.read_text() + f"{note}\n")
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("## Run it", "Our team runs it.\n\n## Run it", 1))
    git(project, "commit", "-q", "-am", "the user's edits")

    done = update(project, "--vcs-ref", "HEAD")

    assert done.returncode == 0, done.stderr
    transform = project / TRANSFORM[recipe]  # moved there, if it moves, with the user's note
    assert note in transform.read_text()
    assert "Our team runs it." in readme.read_text()
    # Here the two sides touch different lines: the template's change merges in cleanly too.
    assert TEMPLATE_NOTE[transform.suffix.lstrip(".")] in transform.read_text()
    assert TEMPLATE_NOTE["md"] in readme.read_text()
    assert leftovers(project) == []


# A test a user adds to the Scala suite, between two of the template's tests.
USER_SCALA_TEST = """  test("our own check: top_n = 2 keeps ranks 1 and 2 only") {
    val top2 = ExampleApp.transform(source.frame(spark), "2024-01-01", 2)
    top2.where("title_rank > 2").count() shouldBe 0
  }

"""
SUITE_0_1_0, SUITE = (
    "src/test/scala/ExampleAppSuite.scala",
    SCALA_MOVES["src/test/scala/ExampleAppSuite.scala"],
)
MOCK = f"src/test/scala/{SCALA_PACKAGE_PATH}/Mock.scala"


def test_the_scala_mock_reader_leaves_the_suite_and_the_users_test_stays(template, tmp_path):
    """0.1.0's ExampleAppSuite.scala held the YAML mock reader; now Mock.scala does (and 0.2.0
    moved both to the package's folder, the suite renamed TopTitlesSuite). Updated from 0.1.0, a
    project gets Mock.scala, its suite loses the reader and keeps the test the user added, which
    follows the rename (the changes touch other lines: they merge without a conflict), and
    `mvn test` passes, the user's test included."""
    template_dir, _ = template
    assert "v0.1.0" in release_tags(template_dir), "no `Release 0.1.0` commit in the history"
    project = render_project(template_dir, "v0.1.0", tmp_path / "p", recipe="scala")
    suite = project / SUITE_0_1_0
    assert "object ExampleAppSuite" in suite.read_text()  # 0.1.0: the reader is in the suite
    anchor = "  private val goodArgs = Seq("
    suite.write_text(suite.read_text().replace(anchor, USER_SCALA_TEST + anchor, 1))
    git(project, "commit", "-q", "-am", "the user's test")

    done = update(project, "--vcs-ref", "HEAD")

    assert done.returncode == 0, done.stderr
    assert leftovers(project) == []
    assert (project / MOCK).is_file()
    assert not suite.exists()
    edited = (project / SUITE).read_text()
    assert USER_SCALA_TEST.replace("ExampleApp.", "TopTitles.") in edited
    assert "ExampleApp" not in edited and "snakeyaml" not in edited
    if shutil.which("mvn") is None:
        pytest.fail("Maven (mvn) is needed to test the Scala recipe; .ci/run installs it")
    tests = subprocess.run(["mvn", "-B", "-q", "test"], cwd=project, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    assert tests.returncode == 0, tests.stdout[-4000:]
    assert "- our own check: top_n = 2 keeps ranks 1 and 2 only" in tests.stdout


def test_an_edit_inside_the_old_scala_mock_reader_shows_as_a_conflict(template, tmp_path):
    """The template deletes the reader from the suite; a user who changed it there sees both
    sides as conflict markers in the suite (pre-commit refuses them) and moves the change to
    Mock.scala by hand. Copier never drops the edit silently."""
    template_dir, _ = template
    project = render_project(template_dir, "v0.1.0", tmp_path / "p", recipe="scala")
    suite = project / SUITE_0_1_0
    mine = "=> v.toString.trim // ours"
    suite.write_text(suite.read_text().replace("=> v.toString\n", f"{mine}\n", 1))
    git(project, "commit", "-q", "-am", "the user's change to the reader")

    done = update(project, "--vcs-ref", "HEAD")

    assert done.returncode == 0, done.stderr
    assert leftovers(project) == [SUITE]
    before_updating = (project / SUITE).read_text().split("<<<<<<< before updating\n", 1)[1]
    assert mine in before_updating.split("\n=======\n", 1)[0]
    assert (project / MOCK).is_file()


def test_changing_the_recipe_on_update_is_refused_and_changes_nothing(template, tmp_path):
    template_dir, previous = template
    project = render_project(template_dir, previous, tmp_path / "p", recipe="pyspark")

    done = update(project, "--vcs-ref", "HEAD", "-d", "recipe=scala")

    assert done.returncode != 0
    assert "refused: this project uses the pyspark recipe" in done.stdout + done.stderr
    assert git(project, "status", "--porcelain") == ""
    assert update(project, "--vcs-ref", "HEAD", "-d", "recipe=pyspark").returncode == 0


RENAME_MIGRATION = """_migrations:
  # v1000.0.1 renamed src/pyspark_write.py: move the project's own copy before updating, so the
  # user's edits go with it.
  - version: v1000.0.1
    when: "{{ _stage == 'before' }}"
    command: >-
      if [ -f src/pyspark_write.py ]; then git mv src/pyspark_write.py src/top_titles.py; fi
"""


def test_a_renamed_file_takes_the_users_edits_along(template, tmp_path):
    """Between two fixture tags the template renames the PySpark transform and ships a
    before-stage migration; the user's edited copy moves to the new name."""
    template_dir, _ = template
    renaming = tmp_path / "template"
    git(template_dir, "clone", "-q", str(template_dir), str(renaming))
    git(renaming, "tag", "v1000.0.0")
    old, new = "pyspark_write", "top_titles"
    template = "templates/src/{{ 'NAME.py' if recipe == 'pyspark' }}.jinja"
    git(renaming, "mv", template.replace("NAME", old), template.replace("NAME", new))
    for name in ("copier.yml", template.replace("NAME", "test_pyspark_write")):
        path = renaming / name
        path.write_text(path.read_text().replace(f"src/{old}.py", f"src/{new}.py")
                        .replace(f"from {old} import", f"from {new} import"))  # fmt: skip
    config = renaming / "copier.yml"
    config.write_text(config.read_text().replace("_migrations:\n", RENAME_MIGRATION, 1))
    git(renaming, "commit", "-q", "-am", "rename the PySpark transform")
    git(renaming, "tag", "v1000.0.1")
    project = render_project(renaming, "v1000.0.0", tmp_path / "p", recipe="pyspark")
    edited = project / f"src/{old}.py"
    edited.write_text(edited.read_text() + "# kept by the user\n")
    git(project, "commit", "-q", "-am", "the user's edit")

    done = update(project, "--vcs-ref", "v1000.0.1")

    assert done.returncode == 0, done.stderr
    assert not edited.exists()
    moved = (project / f"src/{new}.py").read_text()
    assert "# kept by the user" in moved
    assert f"script: src/{new}.py" in (project / "main.sch.yaml").read_text()


def test_the_scala_sources_move_to_their_package_with_the_users_edits(template, tmp_path):
    """0.2.0 moved src/main/scala/ExampleApp.scala to src/main/scala/<package>/TopTitles.scala
    (the class renamed TopTitles) and the suite likewise; its migration carries a project's
    copies there: the user's edits, merged with the template's changes (the rename, a line the
    fixture adds), in the new files, and the old ones gone."""
    template_dir, previous = template
    project = render_project(template_dir, previous, tmp_path / "p", recipe="scala")
    old_app = project / "src/main/scala/ExampleApp.scala"
    if not old_app.is_file():
        pytest.skip(f"{previous} has the Scala sources in their package's folder already")
    mine = "  // kept by the user: the source as the platform names it\n"
    anchor = "  def readSourceTable("
    old_app.write_text(old_app.read_text().replace(anchor, mine + anchor, 1))
    old_suite = project / SUITE_0_1_0
    goodargs = "  private val goodArgs = Seq("
    old_suite.write_text(old_suite.read_text().replace(goodargs, USER_SCALA_TEST + goodargs, 1))
    git(project, "commit", "-q", "-am", "the user's edits")

    done = update(project, "--vcs-ref", "HEAD")

    assert done.returncode == 0, done.stderr
    assert leftovers(project) == []
    assert not old_app.exists() and not old_suite.exists()
    app = (project / TRANSFORM["scala"]).read_text()
    assert TRANSFORM["scala"] == SCALA_MOVES["src/main/scala/ExampleApp.scala"]
    assert mine + anchor in app
    assert TEMPLATE_NOTE["scala"] in app  # the template's own change merged in too
    assert "object TopTitles {" in app and "usage: TopTitles " in app
    suite = (project / SUITE).read_text()
    assert USER_SCALA_TEST.replace("ExampleApp.", "TopTitles.") in suite
    assert "class TopTitlesSuite " in suite
    for path in (project / "src").rglob("*.scala"):
        assert "ExampleApp" not in path.read_text(), path
    assert (
        "class: com.example.sparkplatesample.TopTitles\n" in (project / "main.sch.yaml").read_text()
    )
    # Updating again (nothing left to move) changes nothing more.
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "updated")
    again = update(project, "--vcs-ref", "HEAD")
    assert again.returncode == 0, again.stderr
    assert git(project, "status", "--porcelain") == ""


def test_a_recipe_chosen_at_the_prompt_is_refused_after_the_update(template, tmp_path):
    """The after-stage check (a prompt answer is not known before the update starts)."""
    template_dir, previous = template
    project = render_project(template_dir, previous, tmp_path / "p", recipe="pyspark")
    answers = project / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace("recipe: pyspark", "recipe: scala"))
    check = [sys.executable, str(REPO / "hooks/refuse_recipe_change.py"), answers.name, "--after"]

    done = subprocess.run(check, cwd=project, capture_output=True, text=True)

    assert done.returncode != 0
    assert "refused: this project uses the pyspark recipe" in done.stderr
    assert "git checkout -- . && git clean -fd" in done.stderr
