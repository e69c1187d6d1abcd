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
    """Spark's message without the query plan or the echoed SQL that follow it."""
    text = str(err).strip()
    return re.split(r"\n\n== SQL ==|;\n'|\n[+':]", text, maxsplit=1)[0].strip() or repr(err)


class CheckFailed(SparkplateError):
    """The data did not pass a check (the command ran; the data is wrong)."""


class AuditFailed(CheckFailed):
    """A blocking audit failed."""
