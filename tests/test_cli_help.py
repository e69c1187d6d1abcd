"""The `sparkplate` command's help (issue 14, item 9): every option has help text and every
argument is named in its command's help, the examples in the epilogs parse, the recipes are a
choice (checked and completed), and `validate` takes `-p`. No Spark."""

from __future__ import annotations

import shlex

import click
import pytest
from click.testing import CliRunner
from helpers import RECIPES

from sparkplate.cli import main


def walk(command: click.Command, path: tuple[str, ...] = ()):
    """(path, command) of `command` and of every command under it."""
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from walk(sub, (*path, name))


COMMANDS = list(walk(main))
IDS = [" ".join(path) or "sparkplate" for path, _ in COMMANDS]
WITH_EXAMPLES = [("run",), ("validate",), ("mock", "generate"), ("table", "show"), ("do",)]


@pytest.mark.parametrize("path, command", COMMANDS, ids=IDS)
def test_every_option_has_help_and_every_argument_is_explained(path, command):
    # click arguments take no help text: the command's own help must name them instead.
    ctx = click.Context(command, info_name=" ".join(("sparkplate", *path)))
    for param in command.get_params(ctx):
        if isinstance(param, click.Option):
            assert (param.help or "").strip(), f"{ctx.info_name}: {param.opts[0]} has no help"
        else:
            name = param.human_readable_name
            assert name in (command.help or ""), f"{ctx.info_name}: its help never names {name}"
    assert (command.help or "").strip(), f"{ctx.info_name} has no help"


def examples(command: click.Command) -> list[list[str]]:
    """The epilog's example command lines, continuation lines joined, as arguments."""
    text = (command.epilog or "").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("sparkplate")]
    return [shlex.split(line.split("|")[0])[1:] for line in lines]


@pytest.mark.parametrize("path", WITH_EXAMPLES, ids=" ".join)
def test_the_epilog_has_examples_that_parse(path, monkeypatch):
    command = dict(COMMANDS)[path]
    found = examples(command)
    assert found, f"sparkplate {' '.join(path)} has no examples in its epilog"
    calls = []
    # The real parsing, up to the command's own code: it records what it would run with.
    monkeypatch.setattr(command, "callback", lambda **kwargs: calls.append(kwargs))
    monkeypatch.setenv("SPARKPLATE_PROFILE", "local")  # restored after; `--profile` sets it
    for args in found:
        assert tuple(arg for arg in args if arg in path) == path, args
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, f"{shlex.join(args)}: {result.output}"
    assert len(calls) == len(found)


def test_help_shows_the_examples():
    result = CliRunner().invoke(main, ["table", "show", "--help"])
    assert "Examples:\n    sparkplate table show sample_db." in result.output


# --- RECIPE is a click.Choice of the template's recipes ------------------------------------------


def test_an_unknown_recipe_is_refused_with_the_recipes_there_are(tmp_path):
    result = CliRunner().invoke(main, ["sample", "workflow", "cobol", str(tmp_path / "p")])
    assert result.exit_code == 2
    assert "Invalid value for 'RECIPE': 'cobol' is not one of " in result.output
    assert ", ".join(map(repr, RECIPES)) in result.output
    assert not (tmp_path / "p").exists()


def test_the_shell_completes_the_recipes():
    done = CliRunner().invoke(
        main,
        [],
        prog_name="sparkplate",
        env={"_SPARKPLATE_COMPLETE": "bash_complete",
             "COMP_WORDS": "sparkplate sample workflow ", "COMP_CWORD": "3"},
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert done.output.split() == [f"plain,{recipe}" for recipe in RECIPES]


# --- validate -p ---------------------------------------------------------------------------------

WORKFLOW = """\
workflow:
  id: t.main
  params:
    date: null
    timezone: UTC
  jobs:
    - job:
        id: hwm
        type: HWM
        table: db.results
        hwm_datetime: ${date}T23:59:59
        hwm_timezone: ${timezone}
"""


@pytest.fixture
def workflow(tmp_path):
    path = tmp_path / "main.sch.yaml"
    path.write_text(WORKFLOW)
    return str(path)


def validate(*args: str):
    return CliRunner().invoke(main, ["validate", *args])


def test_validate_without_p_checks_the_defaults(workflow):
    result = validate(workflow)
    assert result.exit_code == 0, result.output
    assert f"{workflow}: ok (t.main, 1 job)" in result.output


def test_validate_checks_the_values_p_gives(workflow):
    assert validate(workflow, "-p", "date=2024-01-01").exit_code == 0

    not_a_date = validate(workflow, "-p", "date=2024-13-45")
    bad_timezone = validate(workflow, "-p", "date=2024-01-01", "-p", "timezone=Mars/Olympus")
    misspelt = validate(workflow, "--param", "dat=2024-01-01")
    not_name_value = validate(workflow, "-p", "date")

    assert not_a_date.exit_code == 2
    assert "parameter date='2024-13-45' is not a date" in not_a_date.output
    assert bad_timezone.exit_code == 2
    assert "Mars/Olympus" in bad_timezone.output
    assert misspelt.exit_code == 2
    assert "unknown parameter(s) dat" in misspelt.output
    assert "did you mean 'date'" in misspelt.output
    assert not_name_value.exit_code == 2
    assert "'date' is not NAME=VALUE" in not_name_value.output
