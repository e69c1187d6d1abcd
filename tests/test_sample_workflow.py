"""`sparkplate sample workflow`: Dataflow's command, rendering with real Copier."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

import pytest
from click.testing import CliRunner
from helpers import RECIPES, REPO

from sparkplate import sample
from sparkplate.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_help_lists_the_recipes():
    result = run("sample", "workflow", "--help")
    assert result.exit_code == 0
    assert "RECIPE is one of: " + ", ".join(RECIPES) + "." in result.output


def test_version():
    assert run("--version").output.startswith("sparkplate, version ")


@pytest.mark.render
def test_renders_a_recipe_and_says_what_to_run_next(tmp_path):
    target = tmp_path / "top"
    result = run("sample", "workflow", "pyspark", str(target), "--source-path", str(REPO),
                 "--workflow-shortname", "top_titles", "--workflow-id", "team.top")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (target / "src/pyspark_write.py").is_file()
    assert "id: team.top.main" in (target / "main.sch.yaml").read_text()
    assert f"created {target}/ (pyspark recipe" in result.output
    assert "  main.sch.yaml\n" in result.output
    assert f"cd {target}\n  nox" in result.output


@pytest.mark.render
def test_skip_info_prints_nothing(tmp_path):
    result = run("sample", "workflow", "sparksql", str(tmp_path / "p"), "--skip-info",
                 "--source-path", str(REPO))  # fmt: skip
    assert result.exit_code == 0
    assert "created" not in result.output and "next:" not in result.output


def test_without_copier_it_names_the_extra_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "copier", None)  # `import copier` raises ImportError
    result = run("sample", "workflow", "pyspark", str(tmp_path / "p"), "--source-path", str(REPO))
    assert result.exit_code != 0
    assert "pip install 'sparkplate[sample]'" in result.output
    assert not (tmp_path / "p").exists()


@pytest.mark.render  # Copier validates the shortname
@pytest.mark.parametrize(
    "args, message",
    [
        (["cobol"], "'cobol' is not one of " + ", ".join(map(repr, RECIPES))),
        (["pyspark", "--workflow-shortname", "Bad Name"], "workflow_shortname"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(tmp_path, args, message):
    target = tmp_path / "p"
    result = run("sample", "workflow", args[0], str(target), *args[1:], "--source-path", str(REPO))
    assert result.exit_code == 2
    assert message in result.output
    assert not target.exists()


def test_a_non_empty_target_is_refused(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = run("sample", "workflow", "pyspark", str(tmp_path), "--source-path", str(REPO))
    assert result.exit_code == 2
    assert "exists and is not empty" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_without_source_path_it_renders_from_where_sparkplate_was_installed(tmp_path):
    source = sample.template_source(None)  # the tests install this checkout (pip install -e)
    assert (source.path, source.updatable) == (str(REPO), True)


@pytest.mark.render
def test_the_template_inside_the_package_renders_and_says_it_cannot_update(tmp_path, monkeypatch):
    packaged = tmp_path / "site-packages" / "sparkplate" / "template"
    packaged.mkdir(parents=True)
    shutil.copy2(REPO / "copier.yml", packaged / "copier.yml")
    shutil.copytree(REPO / "templates", packaged / "templates")
    monkeypatch.setattr(sample, "PACKAGED", packaged)
    monkeypatch.setattr(sample, "installed_from", lambda: None)

    result = run("sample", "workflow", "scala", str(tmp_path / "p"))

    assert result.exit_code == 0, result.output
    assert (tmp_path / "p" / "pom.xml").is_file()
    assert "Its nox needs SPARKPLATE_REQUIREMENT" in result.output
    assert "for `copier update`, set _src_path" in result.output


def test_the_wheel_ships_the_template(tmp_path):
    build = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "-w",
        str(tmp_path),
        str(REPO),
    ]
    subprocess.run(build, check=True, cwd=tmp_path)
    (wheel,) = tmp_path.glob("sparkplate-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "sparkplate/template/copier.yml" in names
    assert "sparkplate/template/templates/.gitignore.jinja" in names
    for recipe in RECIPES:
        assert f"sparkplate/template/templates/_partials/README/{recipe}.md.jinja" in names
