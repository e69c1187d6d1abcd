"""Fault points, a test hook: stop a run at a named step as a `kill -9` or a lost node would.

    SPARKPLATE_FAULT=after_publish sparkplate run main.sch.yaml   # killed there (SIGKILL)
    SPARKPLATE_FAULT=in_hwm:wait=/tmp/go sparkplate run main.sch.yaml  # paused there until
                                                               # /tmp/go exists (5 minutes at most)

The fault-injection tests (tests/test_faults.py) kill runs at every step of write-audit-publish
and check that nothing is lost or published twice. Never set it outside tests.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from sparkplate.errors import SparkplateError

ENV = "SPARKPLATE_FAULT"
POINTS = (
    "before_branch_write",  # the branch is named, nothing is written yet
    "after_branch_write",  # the branch holds the new data; no audit has run
    "while_recording_audits",  # audits ran; their results are not recorded yet
    "after_publish",  # main is published and the branch dropped (one commit); no HWM yet
    "in_hwm",  # the HWM was read and compared; the new one is not written yet
)


def point(name: str) -> None:
    """Kill (or pause) this process here if SPARKPLATE_FAULT names this point."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    where, _, action = spec.partition(":")
    if where not in POINTS:
        raise SparkplateError(
            f"{ENV}={spec!r} names no fault point", fix="use one of: " + ", ".join(POINTS)
        )
    if where != name:
        return
    if action.startswith("wait="):  # until the test has seen what it waits for
        release, deadline = Path(action.removeprefix("wait=")), time.monotonic() + 300
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        return
    os.kill(os.getpid(), signal.SIGKILL)
