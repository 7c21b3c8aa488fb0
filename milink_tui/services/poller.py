"""Polite polling: each source on its own schedule, next poll only after the last one finished.

Lessons from Dolphie and k9s (style.md): a poll is never started while one is running for the
same source; a failing source backs off exponentially (capped) while the others keep their
interval; ``refresh_now`` wakes every source; pausing stops all polling. No Textual here: the
screen passes an ``on_report`` callback that posts a message.

Healthy sources are due on one shared grid (``epoch + k × interval``) rather than "interval
after my last answer": otherwise their schedules drift apart by their answer times and every
refresh is merged and repainted once per source instead of once (measured: twice the CPU at
500 links).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from milink_tui.engine.dashboard import SourceReport, failure

log = logging.getLogger("milink.poller")

# ARM refills a bucket of 250 read tokens at 25 a second, per subscription and principal (Learn,
# "request limits and throttling", since 2024; free and trial subscriptions may get less). The
# dashboard allows itself 80 % of the refill: other tools read with the same identity too.
ARM_READS_PER_SECOND = 25.0
READ_BUDGET = 0.8 * ARM_READS_PER_SECOND


class Source(Protocol):
    """One thing to ask: a SQL Server (one batch) or a managed instance (one link list)."""

    name: str
    kind: str

    async def fetch(self) -> SourceReport: ...

    async def close(self) -> None: ...


def _budget_key(source: Source) -> str | None:
    """The read budget a source spends (an ARM source: its subscription), None if it spends none."""
    return getattr(source, "budget_key", None)


def _reads(source: Source) -> int:
    """Requests one poll of ``source`` makes (ARM: the pages of its last list)."""
    return max(1, int(getattr(source, "reads_per_poll", 1) or 1))


def backoff_delay(interval: float, failures: int, cap: float = 60.0) -> float:
    """Seconds until the next try after ``failures`` failures in a row (interval, 2x, 4x … cap)."""
    if failures <= 0:
        return interval
    return min(cap, max(interval, interval * (2 ** failures)))


@dataclass
class SourceSchedule:
    source: Source
    failures: int = 0
    busy: bool = False
    next_due: float = 0.0
    polls: int = 0
    skipped: int = 0


class Poller:
    """Runs every source's loop; ``on_report`` gets each SourceReport (failures included)."""

    def __init__(self, sources: list[Source], on_report: Callable[[SourceReport], None], *,
                 interval: float = 2.0, min_interval: float = 1.0, max_interval: float = 60.0,
                 timeout: float = 15.0, backoff_cap: float = 60.0, read_budget: float | None = READ_BUDGET,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.schedules = [SourceSchedule(s) for s in sources]
        self.on_report = on_report
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.interval = max(min_interval, interval)
        self.timeout = timeout
        self.backoff_cap = backoff_cap
        self.read_budget = read_budget  # reads a second per budget key (ARM subscription); None: no limit
        self.monotonic = monotonic
        self.paused = False
        self.epoch = monotonic()  # the shared grid's origin: sources are due at epoch + k * interval
        self._wake = asyncio.Event()
        self._stop = False
        self._closed = False

    # -------------------------------------------------------------- controls

    def set_interval(self, seconds: float) -> float:
        self.interval = min(self.max_interval, max(self.min_interval, seconds))
        now = self.monotonic()
        self.epoch = now
        for s in self.schedules:  # a shorter interval takes effect now, not after the old one
            if s.failures == 0:
                s.next_due = min(s.next_due, now + self.period(s))
        self._wake.set()
        return self.interval

    def refresh_now(self) -> None:
        """Poll every source at once (a failing one too: the user asked)."""
        self.epoch = self.monotonic()
        for s in self.schedules:
            s.next_due = 0.0
        self._wake.set()

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self._wake.set()

    def stop(self) -> None:
        self._stop = True
        self._wake.set()

    def period(self, sched: SourceSchedule, reads: dict[str, int] | None = None) -> float:
        """Seconds between a healthy source's polls: the interval, or longer when the reads of
        every source on its ARM subscription would overspend the read budget at the interval
        (30 instances of two pages each at 1 s would be 60 reads a second: throttled in seconds).
        ``reads``: :meth:`reads_by_budget`, when asking for many sources at once."""
        key = _budget_key(sched.source)
        if key is None or not self.read_budget:
            return self.interval
        total = (reads if reads is not None else self.reads_by_budget()).get(key, 0)
        return max(self.interval, total / self.read_budget)

    def reads_by_budget(self) -> dict[str, int]:
        """Requests a round of polls makes, per read budget (ARM subscription)."""
        totals: dict[str, int] = {}
        for s in self.schedules:
            key = _budget_key(s.source)
            if key is not None:
                totals[key] = totals.get(key, 0) + _reads(s.source)
        return totals

    def periods(self) -> dict[str, float]:
        """Every source's period by name (one pass)."""
        reads = self.reads_by_budget()
        return {s.source.name: self.period(s, reads) for s in self.schedules}

    def paced(self) -> float | None:
        """The longest period of a source slowed by the read budget (None when none is)."""
        longest = max(self.periods().values(), default=self.interval)
        return longest if longest > self.interval + 1e-9 else None

    # -------------------------------------------------------------- polling

    async def poll(self, sched: SourceSchedule) -> SourceReport:
        """One fetch of one source, never two at a time; failures become reports."""
        if sched.busy:
            sched.skipped += 1
            raise RuntimeError("busy")
        sched.busy = True
        src = sched.source
        retry_after = 0.0
        try:
            report = await asyncio.wait_for(src.fetch(), self.timeout)
            sched.failures = 0
        except asyncio.CancelledError:
            raise
        except Exception as e:  # every failure is data: shown stale, retried with backoff
            sched.failures += 1
            retry_after = getattr(e, "retry_after", None) or 0.0  # Azure's own "wait this long"
            text = str(e) or type(e).__name__
            if isinstance(e, asyncio.TimeoutError):
                text = f"no answer within {self.timeout:.0f} s"
            log.info("source %s failed (%d in a row): %s", src.name, sched.failures, text)
            report = failure(src.name, src.kind, text)
        finally:
            sched.busy = False
            sched.polls += 1
        delay = max(backoff_delay(self.period(sched), sched.failures, self.backoff_cap), retry_after)
        sched.next_due = self.next_slot(self.monotonic(), delay)
        return report

    def next_slot(self, finished: float, delay: float) -> float:
        """The first grid time at least ``delay - interval/2`` after ``finished``.

        A source that answered within half an interval is due on the next grid time with the
        others; a slower one skips a round rather than hitting the server again at once.
        """
        earliest = finished + delay - 0.5 * self.interval
        return self.epoch + self.interval * max(1, math.ceil((earliest - self.epoch) / self.interval - 1e-9))

    async def poll_once(self) -> list[SourceReport]:
        """Every source once, concurrently (for tests and the bench); reports in source order."""
        reports = await asyncio.gather(*(self.poll(s) for s in self.schedules))
        for r in reports:
            self.on_report(r)
        return list(reports)

    async def _loop(self, sched: SourceSchedule) -> None:
        while not self._stop:
            now = self.monotonic()
            if self.paused or now < sched.next_due:
                wait = None if self.paused else sched.next_due - now
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except asyncio.TimeoutError:
                    pass
                continue
            report = await self.poll(sched)
            if not self._stop:
                self.on_report(report)

    async def run(self) -> None:
        """Poll until stopped (run it in a worker); closes the sources at the end."""
        self._stop = False
        try:
            await asyncio.gather(*(self._loop(s) for s in self.schedules))
        finally:
            await self.close()

    async def close(self) -> None:
        """Close every source once (a second call does nothing)."""
        if self._closed:
            return
        self._closed = True
        for s in self.schedules:
            try:
                await s.source.close()
            except Exception:  # closing a dead connection must not hide the real problem
                log.debug("closing %s failed", s.source.name, exc_info=True)

