"""A `copier update` migration to 0.2.0: the Scala recipe's sources move to their package's folder.

    python move_scala_sources.py ANSWERS_FILE TEMPLATE_CLONE --before
    python move_scala_sources.py ANSWERS_FILE TEMPLATE_CLONE --after

0.2.0 puts the Scala sources in their package's folder and names the application for what it
does: src/main/scala/ExampleApp.scala becomes src/main/scala/<package path>/TopTitles.scala,
src/test/scala/ExampleAppSuite.scala src/test/scala/<package path>/TopTitlesSuite.scala, and
src/test/scala/Mock.scala src/test/scala/<package path>/Mock.scala. Copier drops a file that the
template no longer renders, edits and all, and merges a file new to the template against
nothing (every user edit a conflict), so this migration moves the files itself:

- before the update, for each old file of the project: a 3-way merge of the project's copy
  (ours), the file as the project's template version rendered it (the base) and the new
  template's file (theirs), with `ExampleApp` renamed `TopTitles` in ours and the base (the
  rename is the template's change; a user's own `ExampleApp.transform(...)` follows it). The
  result waits in the git directory; the old file is removed from the index (`git rm`), and
  Copier writes the new template's file at the new place.
- after the update, the merged files replace those: the user's edits are in them, or show as
  conflict markers (labelled as Copier labels its own) where the template changed the same lines.

Other recipes, and files already at their new place, have nothing to move. The project's git
history keeps the old files either way (Copier updates only a committed work tree).
"""

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

OLD = {
    "src/main/scala/ExampleApp.scala": "src/main/scala/{package}/TopTitles.scala",
    "src/test/scala/ExampleAppSuite.scala": "src/test/scala/{package}/TopTitlesSuite.scala",
    "src/test/scala/Mock.scala": "src/test/scala/{package}/Mock.scala",
}
# The names 0.2.0 changes, as whole words.
RENAMES = re.compile(r"\b(ExampleAppSuite|ExampleApp)\b")
NEW_NAME = {"ExampleAppSuite": "TopTitlesSuite", "ExampleApp": "TopTitles"}
LABELS = ("before updating", "last update", "after updating")  # Copier's own conflict labels


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def renamed(text: str) -> str:
    return RENAMES.sub(lambda name: NEW_NAME[name[0]], text)


def render(template: str, ref: str, answers: dict, dest: Path) -> Path:
    import copier  # the Copier running this migration

    data = {key: value for key, value in answers.items() if not key.startswith("_")}
    copier.run_copy(template, dest, data=data, vcs_ref=ref, defaults=True, unsafe=True,
                    quiet=True)  # fmt: skip
    return dest


answers_file, template, stage = sys.argv[1], sys.argv[2], sys.argv[3]
answers = yaml.safe_load(Path(answers_file).read_text()) or {}
if answers.get("recipe") != "scala" or not answers.get("scala_package"):
    sys.exit(0)
package = "/".join(str(answers["scala_package"]).split("."))
moves = {Path(old): Path(new.format(package=package)) for old, new in OLD.items()}
waiting = Path(git("rev-parse", "--git-path", "sparkplate-0.2.0-moves").strip())

if stage == "--before":
    todo = {old: new for old, new in moves.items() if old.is_file() and not new.exists()}
    if not todo:
        sys.exit(0)
    with tempfile.TemporaryDirectory(prefix="sparkplate-0.2.0.") as tmp:
        base_tree = render(template, str(answers.get("_commit") or "HEAD"), answers,
                           Path(tmp) / "base")  # fmt: skip
        theirs_tree = render(template, "HEAD", answers, Path(tmp) / "theirs")
        for old, new in todo.items():
            ours = Path(tmp) / "ours"
            ours.write_text(renamed(old.read_text(encoding="utf-8")), encoding="utf-8")
            base = Path(tmp) / "base-file"
            before = base_tree / old
            base.write_text(renamed(before.read_text(encoding="utf-8")) if before.is_file() else "",
                            encoding="utf-8")  # fmt: skip
            theirs = theirs_tree / new
            if not theirs.is_file():  # the template does not render it: keep the user's copy
                theirs = ours
            merged = subprocess.run(
                ["git", "merge-file", "-p", *[arg for label in LABELS for arg in ("-L", label)],
                 str(ours), str(base), str(theirs)],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if merged.returncode < 0 or merged.returncode > 127:
                sys.exit(f"sparkplate 0.2.0: cannot merge {old}: {merged.stderr}")
            (waiting / new).parent.mkdir(parents=True, exist_ok=True)
            (waiting / new).write_text(merged.stdout, encoding="utf-8")
            git("rm", "-q", "--", str(old))
            print(f"sparkplate 0.2.0: {old} moves to {new}", file=sys.stderr)
elif stage == "--after" and waiting.is_dir():
    for path in sorted(p for p in waiting.rglob("*") if p.is_file()):
        new = path.relative_to(waiting)
        new.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, new)
        text = new.read_text(encoding="utf-8")
        if re.search(r"^<{7} ", text, re.MULTILINE):
            print(f"sparkplate 0.2.0: {new} has conflict markers: your edits and the template's "
                  "touch the same lines; resolve them", file=sys.stderr)  # fmt: skip
        else:
            print(f"sparkplate 0.2.0: your edits are in {new}", file=sys.stderr)
    shutil.rmtree(waiting)
