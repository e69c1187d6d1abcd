"""The one error type users see: it names the file, the key and the fix."""

from __future__ import annotations

import errno
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


# What to do about the failures a disk or a folder causes, by errno.
_OS_FIXES = {
    errno.EACCES: "make it writable (and readable) by the user running sparkplate, "
    "or point --warehouse somewhere that is",
    errno.EPERM: "make it writable (and readable) by the user running sparkplate, "
    "or point --warehouse somewhere that is",
    errno.EROFS: "the file system is read-only: point --warehouse at a writable one",
    errno.ENOSPC: "free some disk space (or give the warehouse a larger disk), then run again; "
    "a run publishes all of a date or nothing",
    errno.EDQUOT: "the disk quota is used up: free some space, then run again",
    errno.ENOENT: "check the path (a folder that does not exist?)",
}
# The same causes, as Java says them in an exception's message.
_JAVA_FIXES = {
    "No space left on device": _OS_FIXES[errno.ENOSPC],
    "Permission denied": _OS_FIXES[errno.EACCES],
    "Read-only file system": _OS_FIXES[errno.EROFS],
    "Disk quota exceeded": _OS_FIXES[errno.EDQUOT],
}


def os_error(err: OSError, doing: str = "") -> SparkplateError:
    """An OSError as a SparkplateError naming the path, what failed and the fix."""
    path = err.filename if err.filename is not None else None
    reason = err.strerror or str(err)
    message = f"could not {doing}: {reason}" if doing else reason
    return SparkplateError(
        message, file=path, fix=_OS_FIXES.get(err.errno, "check the path and its permissions")
    )


def java_fix(message: str) -> str | None:
    """The fix for a Spark failure whose cause is the disk or a folder, if it is one of those."""
    return next((fix for said, fix in _JAVA_FIXES.items() if said in message), None)


class CheckFailed(SparkplateError):
    """The data did not pass a check (the command ran; the data is wrong)."""


class AuditFailed(CheckFailed):
    """A blocking audit failed."""
