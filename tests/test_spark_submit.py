"""The SparkSubmit job on the Scala recipe: real Maven, real spark-submit, real Iceberg branches.

The project is rendered and built once per test run (conftest's `built_scala`); each test copies
it.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from helpers import SCALA_CLASS as MAIN_CLASS
from helpers import SCALA_JAR as JAR
from helpers import TRANSFORM, add_to_wap, branches, execute, main_snapshot

from sparkplate.errors import AuditFailed, SparkplateError
from sparkplate.jobs import spark_submit as submit
from sparkplate.mocks import MockSet, differences
from sparkplate.project.build import _pom_jar

# No module-wide marker: conftest marks each test by the fixtures it uses (spark, built_scala).
APP = TRANSFORM["scala"]
WHERE = {"file": "main.sch.yaml", "key": "write"}


@pytest.fixture
def scala_project(built_scala, tmp_path) -> Path:
    return Path(shutil.copytree(built_scala, tmp_path / "pipeline"))


def test_params_become_dashed_options():
    args = submit.application_args({"date": "2024-01-01", "top_n": 3, "source_table": "a.b"})
    assert args == ["--date", "2024-01-01", "--top-n", "3", "--source-table", "a.b"]


def test_the_runners_settings_go_in_a_file_only_its_owner_reads(spark, tmp_path):
    """Not on spark-submit's command line, which `ps` shows every user: a catalog's password."""
    conf = {
        "spark.sql.catalog.local.jdbc.password": "pa ss=wo:rd\\x#1",
        "spark.driver.extraJavaOptions": "-Da=1 -Db=2",
        "odd key=:": "value",
    }
    path = submit.write_properties(conf, tmp_path / "spark.properties")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    read = spark._jvm.java.util.Properties()  # as spark-submit reads --properties-file
    stream = spark._jvm.java.io.FileInputStream(str(path))
    read.load(spark._jvm.java.io.InputStreamReader(stream, "UTF-8"))
    stream.close()
    assert {key: read.getProperty(key) for key in conf} == conf
    command = submit.submit_command(spark, Path("app.jar"), "a.B", {}, "n", tmp_path / "s.conf")
    assert "--conf" not in command
    assert command[command.index("--properties-file") + 1] == str(tmp_path / "s.conf")


def test_a_jar_is_stale_when_its_sources_differ_from_its_build(scala_project):
    jar, pom, app = scala_project / JAR, scala_project / "pom.xml", scala_project / APP
    assert not submit.stale(jar, pom)  # copied with its sources: times changed, contents did not
    source = app.read_text()
    app.write_text(source + "// an edit\n")
    assert submit.stale(jar, pom)
    app.write_text(source)
    assert not submit.stale(jar, pom)
    extra = app.with_name("Extra.scala")
    extra.write_text("object Extra\n")
    assert submit.stale(jar, pom)
    extra.unlink()
    config = scala_project / ".mvn" / "maven.config"  # Maven's settings for the project
    config.write_text("-Dmaven.compiler.release=17\n")
    assert submit.stale(jar, pom)
    config.unlink()
    assert not submit.stale(jar, pom)
    built = jar.read_bytes()
    jar.write_bytes(built + b"\0")  # another build (`mvn package`, an IDE) replaced the jar
    assert submit.stale(jar, pom)
    jar.write_bytes(built)
    assert not submit.stale(jar, pom)
    jar.unlink()
    assert submit.stale(jar, pom)


def test_a_build_makes_a_new_jar_where_another_build_left_one(scala_project, monkeypatch, tmp_path):
    """Maven keeps a jar newer than its classes: a jar another build or a copy left in target/
    would be kept and recorded as built from these sources, then run and deployed."""
    fake = tmp_path / "bin" / "mvn"  # fails where a jar is still there, else makes one
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\n[ -e {JAR} ] && exit 3\necho built-now > {JAR}\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    jar, pom = scala_project / JAR, scala_project / "pom.xml"
    jar.write_bytes(b"from another branch")

    submit.build(jar, pom, print, WHERE)

    assert jar.read_text() == "built-now\n"
    assert not submit.stale(jar, pom)  # recorded: this jar, from these sources


def test_the_sources_digest_reads_linked_folders_each_once(tmp_path):
    shared = tmp_path / "shared-code"  # sources a project links to: Maven compiles them too
    (shared / "deep").mkdir(parents=True)
    (shared / "deep" / "Util.scala").write_text("object Util")
    (shared / "deep" / "up").symlink_to(shared)  # a link back up the tree
    project = tmp_path / "project"
    (project / "src" / "main").mkdir(parents=True)
    (project / "pom.xml").write_text("<project/>")
    (project / "src" / "main" / "scala").symlink_to(shared)
    before = submit.sources_digest(project / "pom.xml")

    (shared / "deep" / "Util.scala").write_text("object Util { val changed = 1 }")

    assert submit.sources_digest(project / "pom.xml") != before


def test_the_jar_a_pom_makes_is_named_from_its_own_artifact_id(tmp_path):
    pom = tmp_path / "pom.xml"
    pom.write_text(
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<parent><groupId>g</groupId><artifactId>parent</artifactId><version>2.1</version>"
        "</parent><artifactId>top-titles</artifactId></project>"
    )
    assert _pom_jar(pom) == tmp_path / "target" / "top-titles-2.1.jar"  # the parent's version


def test_the_jar_a_pom_makes_is_named_by_its_builds_final_name_not_a_plugins(tmp_path):
    pom = tmp_path / "pom.xml"
    plugin = (
        "<plugin><artifactId>maven-shade-plugin</artifactId>"
        "<configuration><finalName>uber</finalName></configuration></plugin>"
    )
    pom.write_text(
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<artifactId>top-titles</artifactId><version>1.0</version>"
        "<properties><revision>2.${patch}</revision><patch>3</patch></properties>"
        f"<build><plugins>{plugin}</plugins>"
        "<finalName>${project.artifactId}-${revision}</finalName></build></project>"
    )
    assert _pom_jar(pom) == tmp_path / "target" / "top-titles-2.3.jar"

    pom.write_text(pom.read_text().replace("${revision}", "${env.BUILD}"))
    with pytest.raises(SparkplateError, match=r"<finalName> is top-titles-\$\{env.BUILD\}"):
        _pom_jar(pom)


def test_without_mvn_the_projects_maven_wrapper_is_chosen(scala_project, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no mvn
    assert submit.maven(scala_project) == str((scala_project / "mvnw").resolve())
    assert os.access(scala_project / "mvnw", os.X_OK)  # as Copier rendered it: executable


def test_without_any_maven_an_existing_jar_is_used_as_it_is(scala_project, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    (scala_project / "mvnw").unlink()
    said = []
    submit.build(scala_project / JAR, scala_project / "pom.xml", said.append, WHERE)
    assert "Maven is not installed: using sparkplate_sample.jar as it is" in said[0]


def test_missing_maven_says_what_to_install(scala_project, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no mvn, and the project has lost its mvnw
    (scala_project / "mvnw").unlink()
    (scala_project / JAR).unlink()
    with pytest.raises(SparkplateError) as error:
        submit.build(scala_project / JAR, scala_project / "pom.xml", print, WHERE)
    assert "`mvn` is not on the PATH" in str(error.value) and "no Maven Wrapper" in str(error.value)
    assert "apt install maven" in error.value.fix and "mvn wrapper:wrapper" in error.value.fix


def test_a_compile_error_fails_the_run_with_mavens_message(spark, scala_project, warehouse):
    app = scala_project / APP
    app.write_text(app.read_text().replace(".groupBy(", ".groupByy(", 1))
    table = "sample_db.t_scala_broken"
    with pytest.raises(SparkplateError) as error:
        execute(scala_project, warehouse, table, date="2024-01-01")
    message = str(error.value)
    assert "the Maven build failed" in message
    assert "TopTitles.scala" in message and "groupByy" in message
    assert main_snapshot(spark, table) is None  # nothing was written
    assert branches(spark, table) == []


def test_an_application_error_names_its_first_error_line(scala_project, spark):
    args = {"date": "2024-13-01", "top_n": 3, "source_table": "a.b", "target_table": "c.d"}
    with pytest.raises(SparkplateError) as error:
        submit.run_application(spark, scala_project / JAR, MAIN_CLASS, args, "bad", print, WHERE)
    assert "exited with 2: --date must be YYYY-MM-DD, got 2024-13-01" in str(error.value)


def test_run_in_the_runners_session_names_a_bad_argument_and_leaves_the_session(
    scala_project, spark
):
    """`run` gets the runner's own session: an error is an exception (not an exit of the JVM
    both share), and the session goes on."""
    loaded = submit.LoadedJar(spark, scala_project / JAR)
    entry = loaded.entry_point(spark, MAIN_CLASS)
    assert entry is not None
    args = {"date": "2024-13-01", "top_n": 3, "source_table": "a.b", "target_table": "c.d"}
    with pytest.raises(SparkplateError) as error:
        submit.run_in_session(spark, loaded, entry, MAIN_CLASS, args, print, WHERE)
    assert "TopTitles.run failed" in str(error.value)
    assert "--date must be YYYY-MM-DD, got 2024-13-01" in str(error.value)
    assert spark.sql("SELECT 1 AS one").first().one == 1
    loaded.close()


@pytest.mark.parametrize("submitted", [False, True], ids=["in_session", "spark_submit"])
def test_the_jar_writes_the_branch_and_the_runner_publishes_it(
    spark, scala_project, warehouse, submitted, capsys
):
    table = f"sample_db.t_scala_{'submitted' if submitted else 'in_session'}"
    if submitted:  # the job's `submit: true`: its own Spark application
        workflow = scala_project / "main.sch.yaml"
        text = workflow.read_text()
        pom = next(line for line in text.splitlines() if line.strip() == "pom: pom.xml")
        workflow.write_text(
            text.replace(pom, f"{pom}\n{pom.replace('pom: pom.xml', 'submit: true')}")
        )
    execute(scala_project, warehouse, table, date="2024-01-01")
    said = capsys.readouterr().out
    assert ("in this run's Spark session" in said) is not submitted
    expected = MockSet.find(scala_project, spark).get("sample_db.sparkplate_sample_results")
    assert differences(spark, expected, table) == ([], [])
    assert branches(spark, table) == ["main"]


def test_a_failing_audit_on_the_jars_branch_publishes_nothing(spark, scala_project, warehouse):
    table = "sample_db.t_scala_blocked"
    execute(scala_project, warehouse, table, date="2024-01-01")
    before = main_snapshot(spark, table)
    add_to_wap(
        scala_project, audit="{function: row_count_should_be_between, blocking: true, max: 1}"
    )

    with pytest.raises(AuditFailed):
        execute(scala_project, warehouse, table, date="2024-01-01")

    assert main_snapshot(spark, table) == before
    assert branches(spark, table) == ["main"]


def test_a_pom_for_another_scala_is_refused_before_the_build(tmp_path, monkeypatch):
    """A Spark 4.1 project's jar (Scala 2.13) on a Spark 3.5 runner (Scala 2.12), or the reverse."""
    home = tmp_path / "spark"
    (home / "jars").mkdir(parents=True)
    (home / "jars" / "spark-core_2.12-3.5.9.jar").touch()
    monkeypatch.setenv("SPARK_HOME", str(home))
    pom = tmp_path / "pom.xml"
    pom.write_text("<properties>\n  <scala.binary.version>2.13</scala.binary.version>\n")
    with pytest.raises(SparkplateError) as raised:
        submit.check_scala(pom, {"file": "main.sch.yaml"})
    message = str(raised.value)
    assert "builds for Scala 2.13" in message and "(3.5.9, " in message and "Scala 2.12" in message
    assert "copier update -d spark_version=3.5" in message
    pom.write_text("<scala.binary.version>2.12</scala.binary.version>")
    submit.check_scala(pom, {})  # the same Scala: nothing to say
