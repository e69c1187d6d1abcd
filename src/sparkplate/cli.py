"""The `sparkplate` command: run workflows, load and generate mocks, show a table's state."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException

from sparkplate import __version__
from sparkplate.errors import CheckFailed, SparkplateError, java_fix, os_error, spark_message

warehouse_option = click.option(
    "--warehouse",
    envvar="SPARKPLATE_WAREHOUSE",
    default=None,
    type=click.Path(file_okay=False),
    help="The Iceberg warehouse, overriding the profile's (default: ./warehouse). "
    "Env: SPARKPLATE_WAREHOUSE.",
)

project_dir_option = click.option(
    "--project-dir",
    default=".",
    type=click.Path(file_okay=False, exists=True),
    help="The generated project's folder: its src/mocks, and its sparkplate.yaml (profiles).",
)


def _param(ctx, option, values) -> dict[str, str]:
    params = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{value!r} is not NAME=VALUE", ctx=ctx, param=option)
        params[name] = text
    return params


def params_option(help: str):
    """`-p NAME=VALUE`, repeatable, as a dict."""
    return click.option(
        "-p",
        "--param",
        "params",
        multiple=True,
        callback=_param,
        metavar="NAME=VALUE",
        help=help,
    )


class Cli(click.Group):
    """Prints a SparkplateError as one clear message instead of a stack trace."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CheckFailed as err:
            click.secho(f"error: {err}", fg="red", err=True)
            sys.exit(1)
        except SparkplateError as err:
            click.secho(f"error: {err}", fg="red", err=True)
            sys.exit(2)
        except (PySparkException, Py4JJavaError) as err:
            message = spark_message(err)
            fix = java_fix(message)
            click.secho(
                f"error: Spark: {message}" + (f"\n  fix: {fix}" if fix else ""), fg="red", err=True
            )
            sys.exit(1)
        except OSError as err:  # a folder not writable, a full disk: name the path and the fix
            click.secho(f"error: {os_error(err)}", fg="red", err=True)
            sys.exit(2)


@click.group(cls=Cli)
@click.version_option(__version__, prog_name="sparkplate")
@click.option(
    "--profile",
    envvar="SPARKPLATE_PROFILE",
    default=None,
    help="The profile of sparkplate.yaml to run with (default: local). Env: SPARKPLATE_PROFILE.",
)
def main(profile: str | None) -> None:
    """Paved-path Spark + Iceberg pipelines."""
    if profile:  # the runtime, and the jobs it starts as other processes, read it from here
        os.environ["SPARKPLATE_PROFILE"] = profile


def _profile(folder: str | Path):
    """The chosen profile of the project around `folder`, checked before Spark starts."""
    from sparkplate.profiles import load_profile

    return load_profile(start=Path(folder))


@main.command(
    epilog="""\b
Examples:
  sparkplate run main.sch.yaml -p date=2024-01-01
  sparkplate run backfill.sch.yaml -p start_date=2024-01-01 -p end_date=2024-01-07
  sparkplate --profile cluster run daily.sch.yaml -p date=2024-01-07
  sparkplate run daily.sch.yaml -p date=2024-01-07 --job main --for-date 2024-01-05"""
)
@click.argument("workflow", type=click.Path(dir_okay=False))
@params_option("A workflow parameter; repeat for several.")
@warehouse_option
@click.option(
    "--job", "job_id", metavar="ID", help="Run only this top-level job (a scheduler task)."
)
@click.option(
    "--for-date",
    metavar="YYYY-MM-DD",
    help="With --job of a for_each_date Workflow job: run only this one of its dates.",
)
@click.option(
    "--spark-progress",
    is_flag=True,
    help="Turn on Spark's console progress bar and web UI (off by default), for runs that "
    "take minutes.",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="First say which profile, Spark and Java the run uses."
)
def run(
    workflow: str,
    params: dict[str, str],
    warehouse: str,
    job_id: str | None,
    for_date: str | None,
    spark_progress: bool,
    verbose: bool,
) -> None:
    """Run WORKFLOW, a workflow file (e.g. main.sch.yaml), on the chosen profile's Spark and
    catalog."""
    from sparkplate.engine import run_workflow

    if for_date and not job_id:
        raise click.UsageError("--for-date needs --job")
    profile = _profile(Path(workflow).resolve().parent)
    if verbose:
        from sparkplate.java import find_java
        from sparkplate.versions import spark_build, spark_home

        version, scala = spark_build()
        on_scala = f", Scala {scala}" if scala else ""
        click.echo(f"profile {profile.name} ({profile.master}); Spark {version}{on_scala} in "
                   f"{spark_home()}; {find_java().describe()}")  # fmt: skip
    run_workflow(
        Path(workflow),
        params,
        warehouse=warehouse,
        profile=profile,
        job_id=job_id,
        for_date=for_date,
        spark_progress=spark_progress,
    )


@main.command(
    epilog="""\b
Examples:
  sparkplate validate *.sch.yaml
  sparkplate validate daily.sch.yaml -p date=2024-01-07
  sparkplate --profile cluster validate main.sch.yaml"""
)
@click.argument("workflows", nargs=-1, required=True, type=click.Path(dir_okay=False))
@params_option(
    "A parameter as `run` gets it: each workflow is checked with the values that run would use "
    "(every required parameter then needs one); repeat for several."
)
def validate(workflows: tuple[str, ...], params: dict[str, str]) -> None:
    """Check WORKFLOWS, workflow files (and the workflows they call, and the profile), without
    Spark. Without -p, on the parameters' defaults."""
    from sparkplate.engine import validate as check

    for path in workflows:
        wf = check(Path(path), params or None)  # None: the defaults, some values unknown
        jobs = f"{len(wf.jobs)} job" + ("s" if len(wf.jobs) != 1 else "")
        click.echo(f"{path}: ok ({wf.id}, {jobs})")
    profile = _profile(Path(workflows[0]).resolve().parent)
    if profile.file:
        catalog = profile.catalog.get("type") or profile.catalog.get("catalog-impl")
        click.echo(f"{profile.file}: profile {profile.name} ok ({profile.master}, {catalog})")


@main.command(epilog="Example: sparkplate graph daily.sch.yaml --expand --format dot | dot -Tsvg")
@click.argument("workflow", type=click.Path(dir_okay=False))
@params_option("A workflow parameter, as for run (every required one then); repeat for several.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["mermaid", "dot"]),
    default="mermaid",
    show_default=True,
    help="A Mermaid flowchart (GitHub draws it in Markdown) or a Graphviz digraph.",
)
@click.option(
    "--expand", is_flag=True, help="Draw the workflows that Workflow jobs run inside them."
)
def graph(workflow: str, params: dict[str, str], output_format: str, expand: bool) -> None:
    """Print a diagram of WORKFLOW's jobs in run order, checked first as validate checks it,
    without Spark: the wap template's write, its audits (blocking or not) and the publish, and
    the workflows it runs."""
    from sparkplate.graph import to_dot, to_mermaid, workflow_graph

    drawn = workflow_graph(Path(workflow), params, expand=expand)
    click.echo(to_mermaid(drawn) if output_format == "mermaid" else to_dot(drawn), nl=False)


@main.group()
def mock() -> None:
    """Load, check, extract, validate or generate mock data."""


@mock.command("load")
@project_dir_option
@warehouse_option
def mock_load(project_dir: str, warehouse: str) -> None:
    """Create the source tables from src/mocks/*.yaml (role: source), replacing their rows."""
    from sparkplate.mocks import MockSet, write_table
    from sparkplate.session import local_session

    mocks = MockSet.find(Path(project_dir)).sources()  # checked before Spark starts
    spark = local_session(
        "sparkplate-mock-load", warehouse=warehouse, profile=_profile(project_dir)
    )
    for m in mocks:
        write_table(spark, m)
        click.echo(f"loaded {len(m.rows)} rows into {m.table} from {m.path}")


@mock.command("check")
@click.argument("table")
@project_dir_option
@warehouse_option
def mock_check(table: str, project_dir: str, warehouse: str) -> None:
    """Compare TABLE in the warehouse with its expected mock (on the partitions the mock has)."""
    from sparkplate.mocks import MockSet, differences
    from sparkplate.session import local_session

    expected = MockSet.find(Path(project_dir)).get(table)
    if expected.role != "expected":
        raise SparkplateError(
            f"the mock of {table} is a {expected.role} mock",
            file=expected.path,
            key="role",
            fix="check a table whose mock has `role: expected`",
        )
    spark = local_session(
        "sparkplate-mock-check", warehouse=warehouse, profile=_profile(project_dir)
    )
    if not spark.catalog.tableExists(table):
        raise SparkplateError(
            f"table {table} does not exist in {_warehouse(spark)}",
            fix="run the main workflow first",
        )
    missing, unexpected = differences(spark, expected, table)
    for label, rows in (("missing", missing), ("unexpected", unexpected)):
        for row in rows[:20]:
            click.echo(f"  {label}: {row.asDict()}")
    if missing or unexpected:
        raise CheckFailed(
            f"{table} differs from {expected.path}: {len(missing)} expected rows "
            f"missing, {len(unexpected)} rows not expected",
            fix="compare the transform's output with the mock (nox -s tests)",
        )
    click.echo(f"{table} matches {expected.path} ({len(expected.rows)} rows)")


@mock.command(
    "generate",
    epilog="""\b
Examples:
  sparkplate mock generate some_db.source_table --start-date 2024-01-01 --end-date 2024-01-07
  sparkplate mock generate some_db.source_table --start-date 2024-01-01 \\
      --end-date 2024-01-31 --rows-per-day 1000000 --seed 7 --date-column date""",
)
@click.argument("table")
@click.option(
    "--start-date",
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help="The first date to fill (YYYY-MM-DD).",
)
@click.option(
    "--end-date",
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help="The last date to fill (YYYY-MM-DD), included.",
)
@click.option(
    "--rows-per-day",
    default=100_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many rows each date gets.",
)
@click.option(
    "--seed",
    default=42,
    show_default=True,
    type=int,
    help="Seed of the random values: the same seed gives the same rows.",
)
@click.option(
    "--titles",
    default=5000,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many distinct titles a title_id column draws from.",
)
@click.option(
    "--date-column",
    metavar="NAME",
    help="The DATE column the dates go in (default: a DATE partition column, else the first "
    "DATE column).",
)
@click.option(
    "--project-dir",
    default=".",
    type=click.Path(file_okay=False, exists=True),
    help="Where src/mocks is: a table that does not exist yet is created from its mock.",
)
@warehouse_option
def mock_generate(
    table: str,
    start_date,
    end_date,
    rows_per_day: int,
    seed: int,
    titles: int,
    date_column: str | None,
    project_dir: str,
    warehouse: str,
) -> None:
    """Fill TABLE with synthetic rows typed by its schema, replacing the partitions written.

    The columns are the table's, or, if it does not exist yet, those of its mock in src/mocks
    (its `columns:` or `ddl:`), which then creates it. The sample's viewing columns (title_id,
    country_code, view_hours) get realistic, skewed values; other columns plain values of their
    type. Large runs print their progress.
    """
    from sparkplate.mocks.generate import generate
    from sparkplate.session import local_session

    start, end = start_date.date(), end_date.date()
    if start > end:
        raise SparkplateError(f"--start-date {start} is after --end-date {end}")
    spark = local_session(
        "sparkplate-mock-generate", warehouse=warehouse, profile=_profile(project_dir)
    )
    generated = generate(
        spark,
        table,
        start,
        end,
        rows_per_day,
        seed,
        titles=titles,
        project_root=Path(project_dir),
        date_column=date_column,
        echo=click.echo,
    )
    click.echo(f"generated {generated:,} rows in {table} for {start}..{end}")


@mock.command("extract")
@click.argument("table")
@click.option(
    "--columns",
    metavar="A,B,...",
    help="The columns to keep, in this order (default: all).",
)
@click.option("--where", metavar="SQL", help="A Spark SQL condition the rows must meet.")
@click.option(
    "--limit",
    default=10,
    show_default=True,
    type=click.IntRange(min=0),
    help="At most this many rows (only these reach the driver).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="The mock file to write (default: PROJECT_DIR/src/mocks/TABLE.yaml).",
)
@click.option("--force", is_flag=True, help="Replace the file if it exists.")
@click.option(
    "--role",
    type=click.Choice(["source", "expected"]),
    default="source",
    show_default=True,
    help="The mock's role: input of the transform, or its expected output.",
)
@project_dir_option
@warehouse_option
def mock_extract(
    table: str,
    columns: str | None,
    where: str | None,
    limit: int,
    out: str | None,
    force: bool,
    role: str,
    project_dir: str,
    warehouse: str,
) -> None:
    """Write a YAML mock of TABLE from a few of its rows, typed by the table's schema."""
    from sparkplate.files import write_atomically
    from sparkplate.mocks import MOCKS_DIR, mock_paths_of, read_mock
    from sparkplate.mocks.extract import extract, refuse_overwrite
    from sparkplate.mocks.tables import require_table
    from sparkplate.session import local_session

    path = Path(out) if out else Path(project_dir) / MOCKS_DIR / f"{table}.yaml"
    refuse_overwrite(path, force)  # before Spark starts
    wanted = [name.strip() for name in columns.split(",") if name.strip()] if columns else None
    spark = local_session(
        "sparkplate-mock-extract", warehouse=warehouse, profile=_profile(project_dir)
    )
    require_table(spark, table, _warehouse(spark))
    found = extract(spark, table, wanted, where, limit)
    comment = (
        f"{len(found.rows)} rows of {table}, extracted by `sparkplate mock extract` "
        f"(--limit {limit})"
        + (f"\nwhere {' '.join(where.split())}" if where else "")
        + ".\nEdit freely; `sparkplate mock validate` checks it, `sparkplate mock load` loads it."
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, found.text(role, comment))
    mock = read_mock(path, Path(project_dir))  # what every reader of the file will get
    click.echo(f"wrote {len(mock.rows)} rows of {table} ({len(mock.columns)} columns) to {path}")
    others = [p for p in mock_paths_of(Path(project_dir), table) if p.resolve() != path.resolve()]
    if others:
        click.echo(
            f"note: {', '.join(map(str, others))} is a mock of {table} too: keep one "
            "(the tests and `sparkplate mock load` refuse two mocks of a table)"
        )


@mock.command("validate")
@click.argument(
    "project_dir", default=".", required=False, type=click.Path(file_okay=False, exists=True)
)
def mock_validate(project_dir: str) -> None:
    """Check every mock of the project in PROJECT_DIR (default: here), src/mocks/*.yaml,
    against its columns or DDL, without Spark: columns, types and every value."""
    from sparkplate.mocks import check_mocks

    results = check_mocks(Path(project_dir))
    problems = 0
    for path, result in results:
        if isinstance(result, SparkplateError):
            problems += 1
            click.echo(str(result) if result.file else f"{path}: {result}")
        else:
            rows = f"{len(result.rows)} row" + ("s" if len(result.rows) != 1 else "")
            click.echo(f"{path}: ok ({result.table}, {result.role}, {rows})")
    if problems:
        raise CheckFailed(
            f"{problems} of {len(results)} mocks have problems",
            fix="correct the files named above, then run `sparkplate mock validate` again",
        )


def _recipes_help() -> str:
    from sparkplate import sample

    try:
        return "RECIPE is one of: " + ", ".join(sample.recipes()) + "."
    except SparkplateError:
        return "RECIPE: see the template's copier.yml (no template found here)."


class RecipeChoice(click.Choice):
    """The recipes of the template --source-path names, else of the one sparkplate was installed
    from, read when needed (parsing, completion): each template offers its own. --source-path is
    eager, so it is known before RECIPE is parsed."""

    def __init__(self) -> None:
        super().__init__(())

    def _read_recipes(self, ctx: click.Context | None) -> None:
        from sparkplate import sample

        given = ctx.params.get("source_path") if ctx else None
        try:  # not given, ctx.params holds click's own "unset" marker
            source = sample.template_source(given if isinstance(given, str) else None)
            self.choices = tuple(sample.recipes(source))
        except SparkplateError:  # the command itself names the problem
            self.choices = ()

    def convert(self, value, param, ctx):
        self._read_recipes(ctx)
        if not self.choices:  # a git URL (Copier checks the answer), or no template
            return value
        return super().convert(value, param, ctx)

    def shell_complete(self, ctx, param, incomplete):
        self._read_recipes(ctx)
        return super().shell_complete(ctx, param, incomplete)


@main.group()
def sample() -> None:
    """Start a pipeline from a sample recipe."""


@sample.command("workflow", help=(
    "Render a sample pipeline of RECIPE into TARGET_PATH (default: ./WORKFLOW_SHORTNAME, else "
    "./sparkplate_sample_RECIPE) with "
    "Copier, from the template sparkplate was installed from (or --source-path), then print what "
    "was made and what to run next.\n\n" + _recipes_help()
))  # fmt: skip
@click.argument("recipe", type=RecipeChoice(), metavar="RECIPE")
@click.argument("target_path", required=False, type=click.Path(file_okay=False))
@click.option("--workflow-shortname", help="Short name of the workflow (names files and tables).")
@click.option("--workflow-id", help="Workflow id in the scheduler.")
@click.option(
    "--source-path",
    is_eager=True,  # RECIPE is checked against this template's recipes
    help="A sparkplate checkout or git URL to render from.",
)
@click.option("--skip-info", is_flag=True, help="Print nothing after rendering.")
def sample_workflow(recipe, target_path, workflow_shortname, workflow_id, source_path, skip_info):
    from sparkplate import sample as samples

    source = samples.template_source(source_path)
    answers = {"workflow_shortname": workflow_shortname, "workflow_id": workflow_id}
    answers = {k: v for k, v in answers.items() if v}
    target = Path(target_path or workflow_shortname or f"sparkplate_sample_{recipe}")
    if target.exists() and any(target.iterdir()):
        raise SparkplateError(
            f"{target} exists and is not empty",
            fix="choose a new directory; to bring an existing project up to date, run "
            "`copier update --trust` in it",
        )
    try:
        samples.render(source, recipe, target, answers)
    except ValueError as err:  # a refused answer: Copier names the question
        raise SparkplateError(str(err).strip(), fix="change the option and run again") from None
    if skip_info:
        return
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    click.echo(f"created {target}/ ({recipe} recipe, from {source.path}):")
    for name in files:
        click.echo(f"  {name}")
    click.echo(
        f"\nnext:\n  cd {target}\n"
        "  nox                                   # its checks: tests and main/daily/backfill\n"
        "  sparkplate mock load                  # or step by step: the mocks into ./warehouse\n"
        "  sparkplate run main.sch.yaml -p date=2024-01-01"
    )
    if source.path == str(samples.PACKAGED):
        click.echo(
            "\nnote: rendered from the template inside the installed sparkplate. Its nox needs "
            "SPARKPLATE_REQUIREMENT (where this sparkplate came from: a checkout, a git URL or a "
            "wheel); for `copier update`, set _src_path in .copier-answers.yml to the sparkplate "
            f"repository and _commit to v{__version__}."
        )
    elif not source.updatable:
        click.echo(f"\nnote: {source.path} is not a git repository: Copier cannot update from it.")


@main.group()
def project() -> None:
    """Manage a repository of pipelines: list, test, render, deploy, roll back."""


def _repository():
    from sparkplate.project.repo import open_repository

    return open_repository(Path.cwd())


@project.command("init")
def project_init() -> None:
    """Write a sparkplate.yaml with `deploy:` settings at the repository's root."""
    from sparkplate.project.commands import init

    init(Path.cwd(), click.echo)


@project.command("list")
@click.argument("what", required=False)
@click.option("--namespace", help="With --deployed: only this namespace.")
@click.option("--deployed", is_flag=True, help="List what is deployed, not what is here.")
def project_list(what: str | None, namespace: str | None, deployed: bool) -> None:
    """List the repository's assets and workflows (WHAT: assets or workflows), or with
    --deployed the deployed builds of a kind (jars, wheels, sqls, rs) or the deployed workflows."""
    from sparkplate.project.commands import list_deployed, list_project

    if deployed:
        list_deployed(_repository(), what or "", namespace, click.echo)
    elif what not in (None, "assets", "workflows"):
        raise click.BadParameter(f"{what!r}: use assets or workflows (or --deployed)")
    else:
        list_project(_repository(), what, click.echo)


@project.command("render")
def project_render() -> None:
    """Render every workflow into .workflows/ with asset references filled in."""
    from sparkplate.project.commands import render_all

    render_all(_repository(), click.echo)


@project.command("test")
def project_test() -> None:
    """Run every project's unit tests, then render and validate every workflow."""
    from sparkplate.project.commands import test

    if not test(_repository(), click.echo):
        raise CheckFailed("project test failed", fix="see the FAILED lines above")


@project.command("deploy")
@click.option("--allow-dirty", is_flag=True, help="Deploy uncommitted changes (ids lie).")
def project_deploy(allow_dirty: bool) -> None:
    """Build and publish every asset, bundle every workflow and switch them in."""
    from sparkplate.project.deploy import deploy

    deploy(_repository(), click.echo, allow_dirty=allow_dirty)


@project.command("rollback")
@click.argument("workflow_id")
@click.option("--to", "version", type=int, help="The bundle version (default: the previous).")
def project_rollback(workflow_id: str, version: int | None) -> None:
    """Make an earlier bundle of WORKFLOW_ID (its DAG id) current again."""
    from sparkplate.project.commands import rollback

    rollback(_repository(), workflow_id, version, click.echo)


def _warehouse(spark) -> str:
    catalog = spark.conf.get("spark.sql.defaultCatalog")
    return spark.conf.get(f"spark.sql.catalog.{catalog}.warehouse", None) or f"catalog {catalog}"


@main.group()
def table() -> None:
    """Look at a table's state."""


@table.command(
    "show",
    epilog="""\b
Examples:
  sparkplate table show sample_db.sparkplate_sample_results
  sparkplate table show sample_db.sparkplate_sample_results --json | jq .high_water_mark
  sparkplate --profile cluster table show sample_db.sparkplate_sample_results --snapshots 3""",
)
@click.argument("name")
@click.option(
    "--snapshots",
    "limit",
    default=10,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many of the newest snapshots to list.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object (table, snapshots, refs, unpublished_wap_branches, "
    "high_water_mark, last_audits) instead of text.",
)
@warehouse_option
def table_show(name: str, limit: int, as_json: bool, warehouse: str) -> None:
    """Print the state of table NAME (db.table): its latest snapshots, its branches and tags,
    WAP branches not published, its high-water mark and its last audit results."""
    import json

    from sparkplate import iceberg
    from sparkplate.session import local_session
    from sparkplate.table_state import (
        MISSING_FIX,
        require_table_without_spark,
        table_state,
        text_lines,
    )

    profile = _profile(".")
    require_table_without_spark(name, warehouse, profile)  # Spark takes seconds to start
    spark = local_session("sparkplate-table-show", warehouse=warehouse, profile=profile)
    if not iceberg.table_exists(spark, name):
        raise SparkplateError(
            f"table {name} does not exist in {_warehouse(spark)}", fix=MISSING_FIX
        )
    state = table_state(spark, name, limit)
    click.echo(json.dumps(state, indent=2) if as_json else "\n".join(text_lines(state)))


@main.command(
    epilog="Example: sparkplate schema > workflow.schema.json, then in a workflow file: "
    "# yaml-language-server: $schema=workflow.schema.json"
)
def schema() -> None:
    """Print the JSON Schema of workflow files (*.sch.yaml), for editors.

    It is built from this sparkplate's job types and audit functions; generated projects carry
    a copy in .sparkplate/workflow.schema.json.
    """
    from sparkplate.schema import dumps

    click.echo(dumps(), nl=False)


# Options a step of `sparkplate do` may not set: every step runs on the one session the first
# step starts, whose catalog and warehouse are fixed by then.
CHAIN_FIXED = ("--warehouse", "--project-dir", "--profile")


@main.command(
    "do",
    epilog="""\b
Example (a project's checks on the mocks: one JVM start instead of three):
  sparkplate do "mock load" "run main.sch.yaml -p date=2024-01-01" \\
    "mock check sample_db.sparkplate_sample_results\"""",
)
@click.argument("steps", nargs=-1, required=True)
@warehouse_option
def do(steps: tuple[str, ...], warehouse: str | None) -> None:
    """Run STEPS, several sparkplate commands, in this one process and in order; each step is one
    command line without `sparkplate`, quoted. The first step that starts Spark starts its JVM;
    the others reuse it, each on a Spark session of its own (its own SQL settings, temporary views
    and functions).
    The chain stops at the first step that fails, with that step's exit code. Every step runs
    in this folder's project, on its profile and catalog.

    For a developer's loop and a project's own checks: a scheduler runs each workflow in a
    process of its own, so that a killed run loses only itself."""
    import shlex

    if warehouse:  # every step's --warehouse defaults to it
        os.environ["SPARKPLATE_WAREHOUSE"] = str(warehouse)
    commands = [shlex.split(step) for step in steps]
    for step, args in zip(steps, commands, strict=True):
        fixed = [arg.split("=")[0] for arg in args if arg.split("=")[0] in CHAIN_FIXED]
        if not args or args[0] == "do" or fixed:
            raise click.UsageError(
                f"step {step!r}: "
                + (f"{fixed[0]} is set once for the whole chain" if fixed
                   else "a step is one sparkplate command, other than do")
                + "; give --warehouse to `do` itself, --profile before `do`, and run `do` in "
                "the project's folder"
            )  # fmt: skip
    _refuse_other_projects(steps, commands)
    for number, (step, args) in enumerate(zip(steps, commands, strict=True), start=1):
        click.echo(f"[{number}/{len(steps)}] sparkplate {step}")
        _fresh_session()
        code = _run_step(args)
        if code:
            click.secho(f"error: step {number} (sparkplate {step}) failed; the steps after it "
                        "did not run", fg="red", err=True)  # fmt: skip
            sys.exit(code)


def _refuse_other_projects(steps: tuple[str, ...], commands: list[list[str]]) -> None:
    """A workflow of another project (another sparkplate.yaml) would run on this chain's Spark
    session, whose catalog is this folder's: refused, before any step runs."""
    from sparkplate.profiles import PROFILE_FILE, find_profile_file

    here = find_profile_file(Path.cwd())
    for step, args in zip(steps, commands, strict=True):
        if args[0] != "run":
            continue
        parsed = run.make_context("run", args[1:], resilient_parsing=True).params
        workflow = parsed.get("workflow")
        if workflow and find_profile_file(Path(workflow).resolve().parent) != here:
            raise click.UsageError(
                f"step {step!r}: {workflow} belongs to another project (another "
                f"{PROFILE_FILE}), and every step runs on the Spark session and catalog of this "
                "folder's; run it in a `do` of its own, in that project's folder"
            )


def _fresh_session() -> None:
    """Make the next step's session a new one on the running SparkContext, if there is one."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is None:
        return
    activate(active.newSession())


def activate(session) -> None:
    """Make `session` the one SparkSession.getActiveSession() (and so local_session) returns."""
    from pyspark.sql import SparkSession

    # pyspark answers from its own record once a session exists, and from the JVM's before: both
    # are set, as pyspark's createDataFrame does.
    SparkSession._activeSession = session
    session._jvm.SparkSession.setActiveSession(session._jsparkSession)


def _run_step(args: list[str]) -> int:
    """One command of a chain, in this process; its exit code."""
    try:
        main.main(args, prog_name="sparkplate", standalone_mode=False)
    except SystemExit as exit:  # Cli.invoke ends a failed command so; None is success
        return 0 if exit.code is None else exit.code if isinstance(exit.code, int) else 1
    except click.ClickException as err:  # a usage error
        err.show()
        return err.exit_code
    except click.Abort:
        return 1
    return 0


if __name__ == "__main__":
    main()
