"""Exclusive locks between processes on one machine: a lock file per resource, held with
`flock`, which the OS releases when its process ends however it ends (no stale locks to clean).

The holder writes who it is into the file, so a run that waits (or gives up waiting) can say
which run, process and host it waits for. A process may take a lock it already holds (a job
inside a `wap` template that holds its table's lock): only the outermost release unlocks.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sparkplate.errors import SparkplateError, os_error

TIMEOUT_ENV = "SPARKPLATE_LOCK_TIMEOUT"
DEFAULT_TIMEOUT_S = 3600.0  # a run waits up to an hour for another run of the same table
POLL_S = 0.2


@dataclass
class _Held:
    fd: int
    depth: int


_HELD: dict[Path, _Held] = {}  # the locks this process holds, by lock file


def timeout_s() -> float:
    text = os.environ.get(TIMEOUT_ENV)
    if text is None:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise SparkplateError(
            f"{TIMEOUT_ENV}={text!r} is not a number of seconds",
            fix=f"set {TIMEOUT_ENV} to the seconds a run may wait for a table's lock, e.g. 600",
        )
    return value


def holder(path: Path) -> str:
    """Who holds the lock at `path`, as its holder wrote it ("unknown" before it has)."""
    try:
        said = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        said = {}
    if not said:
        return "an unknown process"
    run = f"run {said.get('run_id')} of {said.get('workflow')} " if said.get("run_id") else ""
    return f"{run}(pid {said.get('pid')} on {said.get('host')}, since {said.get('since')})"


def _open(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Not O_TRUNC: a waiter must not erase what the holder wrote.
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as err:
        raise os_error(err, doing="create the lock file") from None


@contextmanager
def exclusive(
    path: Path,
    what: str,
    *,
    about: dict[str, str] | None = None,
    on_wait: Callable[[str], None] = print,
    timeout: float | None = None,
) -> Iterator[bool]:
    """Hold the lock at `path` (for `what`, as messages call it). Yields True when this is the
    process's outermost hold of it, False when it already held it."""
    path = Path(os.path.abspath(path))
    held = _HELD.get(path)
    if held is not None:
        held.depth += 1
        try:
            yield False
        finally:
            held.depth -= 1
        return
    fd = _open(path)
    try:
        _acquire(fd, path, what, on_wait, timeout_s() if timeout is None else timeout)
        _write_holder(fd, about or {})
        _HELD[path] = _Held(fd, 1)
        try:
            yield True
        finally:
            del _HELD[path]
            os.ftruncate(fd, 0)  # nobody holds it now
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, path: Path, what: str, on_wait: Callable[[str], None], timeout: float):
    started = time.monotonic()
    said = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        waited = time.monotonic() - started
        if waited >= timeout:
            raise SparkplateError(
                f"gave up after {waited:.0f} s waiting for {what}: it is held by {holder(path)}",
                fix="let that run finish, or stop it; a lock is released when its process "
                f"ends, so nothing needs deleting. To wait longer set {TIMEOUT_ENV} (seconds)",
            )
        if not said:
            on_wait(f"waiting for {what}, held by {holder(path)} ...")
            said = True
        time.sleep(POLL_S)


def _write_holder(fd: int, about: dict[str, str]) -> None:
    said = {
        **about,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(said).encode(), 0)
