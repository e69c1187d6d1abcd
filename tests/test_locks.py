"""sparkplate.locks: one holder at a time across processes, re-entrant in one, released by the OS
when the holder dies, and a wait that gives up naming who holds the lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sparkplate import locks
from sparkplate.errors import SparkplateError

# A process that takes the lock, says so on stdout, and holds it until it is killed.
HOLDER = textwrap.dedent(
    """
    import sys, time
    from sparkplate import locks
    with locks.exclusive(sys.argv[1], "the test lock", about={"run_id": "r-42", "workflow": "w"}):
        print("held", flush=True)
        time.sleep(600)
    """
)


@pytest.fixture
def held_elsewhere(tmp_path):
    """The lock file, held by another process until the test ends (or kills it)."""
    path = tmp_path / "t.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "held"
    yield path, holder
    holder.kill()
    holder.wait()


def test_a_process_may_take_a_lock_it_holds_and_only_the_outermost_release_frees_it(tmp_path):
    path = tmp_path / "t.lock"
    with locks.exclusive(path, "t") as outer:
        with locks.exclusive(path, "t") as inner:
            assert (outer, inner) == (True, False)
        assert locks._HELD  # still held after the inner release
    assert not locks._HELD
    assert locks.holder(path) == "an unknown process"  # released: nobody is named


def test_the_holder_is_written_into_the_lock_file(tmp_path):
    path = tmp_path / "t.lock"
    with locks.exclusive(path, "t", about={"run_id": "r-1", "workflow": "main.sch.yaml"}):
        said = locks.holder(path)
    assert said.startswith("run r-1 of main.sch.yaml (pid ")
    assert str(os.getpid()) in said


def test_a_wait_that_times_out_names_the_holder(held_elsewhere):
    path, holder = held_elsewhere
    waits: list[str] = []
    started = time.monotonic()
    with pytest.raises(SparkplateError) as caught:
        with locks.exclusive(path, "the test lock", on_wait=waits.append, timeout=0.5):
            pytest.fail("took a lock another process holds")
    assert time.monotonic() - started >= 0.5
    said = str(caught.value)
    assert "gave up after" in said and "waiting for the test lock" in said
    assert f"run r-42 of w (pid {holder.pid} on " in said
    assert "SPARKPLATE_LOCK_TIMEOUT" in said
    assert waits == [f"waiting for the test lock, held by {locks.holder(path)} ..."]


def test_a_holder_killed_with_sigkill_releases_the_lock(held_elsewhere):
    path, holder = held_elsewhere
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with locks.exclusive(path, "the test lock", timeout=5) as first:
        assert first
        assert "r-42" not in locks.holder(path)  # the dead holder's words are replaced


def test_the_timeout_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(locks.TIMEOUT_ENV, "12.5")
    assert locks.timeout_s() == 12.5
    monkeypatch.delenv(locks.TIMEOUT_ENV)
    assert locks.timeout_s() == locks.DEFAULT_TIMEOUT_S


@pytest.mark.parametrize("value", ["soon", "-1"])
def test_a_timeout_that_is_not_seconds_is_refused(monkeypatch, tmp_path, value):
    monkeypatch.setenv(locks.TIMEOUT_ENV, value)
    with pytest.raises(SparkplateError, match="is not a number of seconds") as caught:
        with locks.exclusive(tmp_path / "t.lock", "t"):
            pass
    assert "fix: set SPARKPLATE_LOCK_TIMEOUT" in str(caught.value)


def test_a_lock_that_cannot_be_created_names_its_path(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SparkplateError, match="could not create the lock file") as caught:
        with locks.exclusive(blocker / "locks" / "t.lock", "t"):
            pass
    assert str(blocker) in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_two_spellings_of_one_path_are_one_lock(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with locks.exclusive(Path("t.lock"), "t") as outer:
        with locks.exclusive(tmp_path / "t.lock", "t") as inner:
            assert (outer, inner) == (True, False)
