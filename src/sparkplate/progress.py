"""Progress of long work: a Workflow job running another workflow for each date of a range.

    7 dates, 2024-01-01..2024-01-07, each a run of main.sch.yaml
    [1/7] 2024-01-01 ...
    [2/7] 2024-01-02 ... about 40 s left
    ...
    date        rows written  audits passed  audits warned  time
    2024-01-01            10              6              0  4.1 s

What each date did comes from the run's `Tally`, which the jobs add to as they go (the `wap`
template the rows each publish added, the audits their results), so nothing is read again.
Pure Python: no Spark here.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Tally:
    """What a run's jobs did, shared by a run and the workflows it calls. Only ever added to, so
    what one part of the run did is the difference of the tally after it and before it."""

    publishes: int = 0
    rows: int = 0  # rows the publishes added
    audits: Counter = field(default_factory=Counter)  # results by severity: ok, warning, error

    def published(self, rows: int) -> None:
        self.publishes += 1
        self.rows += rows

    def audited(self, results: Iterable[Any]) -> None:
        """Count audit results (anything with a `severity`: see audits.record.AuditResult)."""
        self.audits.update(result.severity for result in results)

    def copy(self) -> Tally:
        return Tally(self.publishes, self.rows, Counter(self.audits))

    def __sub__(self, before: Tally) -> Tally:
        return Tally(
            self.publishes - before.publishes, self.rows - before.rows, self.audits - before.audits
        )


def duration(seconds: float) -> str:
    """`4.1 s`, `2 min 5 s`, `1 h 3 min`: as precise as a person reading a log needs."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def estimate_left(done: Sequence[float], remaining: int) -> float | None:
    """Seconds the `remaining` dates will take, judged by the times of the dates `done` (None
    before any is done). The first date also starts Spark and warms the JVM up, so once later
    dates are done it no longer counts."""
    if not done:
        return None
    typical = done[1:] or done
    return sum(typical) / len(typical) * remaining


def about(seconds: float) -> str:
    """A rough estimate in words: `about 40 s left`, `about 3 min left`."""
    if seconds < 60:
        return f"about {max(1, round(seconds))} s left"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min left"
    return f"about {int(seconds // 3600)} h {round(seconds % 3600 / 60)} min left"


def aligned(rows: Sequence[Sequence[str]], right: Iterable[int] = ()) -> list[str]:
    """`rows` as lines of columns two spaces apart, the columns in `right` right-aligned (numbers);
    a row may have one more cell than the header, left as it is (a note at the end)."""
    right = set(right)
    columns = len(rows[0])
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(columns)]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row[:columns])
        ]
        lines.append("  ".join([*cells, *row[columns:]]).rstrip())
    return lines


@dataclass(frozen=True)
class DateDone:
    day: str
    did: Tally
    seconds: float
    outcome: str = ""  # empty when it succeeded; else "failed..." or "stopped"


HEADER = ("date", "rows written", "audits passed", "audits warned", "time")


def summary(dates: Sequence[DateDone]) -> list[str]:
    """One aligned row per date, then the totals. Rows are `-` where no publish happened (a date
    that failed before publishing, or a workflow that writes without the `wap` template)."""

    def rows(did: Tally) -> str:
        return str(did.rows) if did.publishes else "-"

    total = Tally()
    table = [list(HEADER)]
    for date in dates:
        total.publishes += date.did.publishes
        total.rows += date.did.rows
        total.audits.update(date.did.audits)
        table.append(
            [date.day, rows(date.did), str(date.did.audits["ok"]),
             str(date.did.audits["warning"]), duration(date.seconds)]
            + ([date.outcome] if date.outcome else [])
        )  # fmt: skip
    spent = sum(date.seconds for date in dates)
    table.append(
        ["total", rows(total), str(total.audits["ok"]),
         str(total.audits["warning"]), duration(spent)]
    )  # fmt: skip
    return aligned(table, right=(1, 2, 3, 4))


def _outcome(err: BaseException, did: Tally) -> str:
    if not isinstance(err, Exception):  # Ctrl-C, or the process told to stop
        return "stopped"
    blocking = did.audits["error"]
    return f"failed: {blocking} blocking audit{'s' * (blocking > 1)}" if blocking else "failed"


class DateProgress:
    """Says how a run of each date of a range goes: what it is about to do, each date as it
    starts with the time left, and, however it ends, what each date did."""

    def __init__(
        self,
        dates: Sequence[str],
        tally: Tally,
        log: Callable[[str], None],
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.dates, self.tally, self.log, self.clock = dates, tally, log, clock
        self.done: list[DateDone] = []

    def begin(self, what: str) -> None:
        """The first line, before any work: how many dates and which."""
        n = len(self.dates)
        span = self.dates[0] if n == 1 else f"{self.dates[0]}..{self.dates[-1]}"
        self.log(f"{n} date{'s' * (n > 1)}, {span}, each {what}")

    @contextmanager
    def date(self, day: str) -> Iterator[None]:
        """Runs one date: its `[i/n]` line first, and what it did is kept when it ends."""
        n, i = len(self.dates), len(self.done) + 1
        left = estimate_left([d.seconds for d in self.done], n - i + 1)
        self.log(f"[{i}/{n}] {day} ..." + (f" {about(left)}" if left is not None else ""))
        before, started = self.tally.copy(), self.clock()
        try:
            yield
        except BaseException as err:
            did = self.tally - before
            self.done.append(DateDone(day, did, self.clock() - started, _outcome(err, did)))
            raise
        self.done.append(DateDone(day, self.tally - before, self.clock() - started))

    def end(self) -> None:
        """The summary of the dates run so far (all of them, or up to the one that failed)."""
        if self.done:
            for line in summary(self.done):
                self.log(line)
