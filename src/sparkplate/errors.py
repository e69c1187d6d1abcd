"""The one error type users see: it names the file, the key and the fix."""

from __future__ import annotations

import re


class SparkplateError(Exception):
    """A problem the user can fix; printed without a stack trace by the CLI."""

    def __init__(
        self, message: str, *, file: object = None, key: str | None = None, fix: str | None = None
    ):
        self.message = message
        self.file = str(file) if file is not None else None
        self.key = key
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f" [{self.key}]" if self.key else "") + ": "
        elif self.key:
            where = f"[{self.key}]: "
        return where + self.message + (f"\n  fix: {self.fix}" if self.fix else "")


def spark_message(err: BaseException) -> str:
    """Spark's message without the query plan or the echoed SQL that follow it.

    A failure on the Java side comes through py4j as "An error occurred while calling o54.sql.",
    which says nothing: the Java exception, and its root cause when there is one, say what.
    """
    java = getattr(err, "java_exception", None)
    if java is not None:
        try:
            return _java_message(java)
        except Exception:  # the JVM is gone: fall back to py4j's text
            pass
    text = str(err).strip()
    return re.split(r"\n\n== SQL ==|;\n'|\n[+':]", text, maxsplit=1)[0].strip() or repr(err)


def _java_message(java) -> str:
    first, root = java, java
    for _ in range(20):  # a cause chain is short; a cycle must not hang the error report
        cause = root.getCause()
        if cause is None or cause.equals(root):
            break
        root = cause
    said = _first_line(first.toString())
    if root is not first:
        said += f" (caused by {_first_line(root.toString())})"
    return said


def _first_line(text: str) -> str:
    return re.split(r"\n\n== SQL ==|;\n'|\n", text.strip(), maxsplit=1)[0].strip()


class CheckFailed(SparkplateError):
    """The data did not pass a check (the command ran; the data is wrong)."""


class AuditFailed(CheckFailed):
    """A blocking audit failed."""
