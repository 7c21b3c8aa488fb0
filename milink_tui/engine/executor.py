"""The executor: ordered steps, each with check / apply / undo, journaled so any run can resume.

Rules that make it safe to re-run after a crash:
- every step checks before it acts; a step already done is recorded as ``present`` and
  counted as *not created by this run* (so rollback leaves it alone);
- ``started`` is journaled before ``apply``: if the process dies (or the step fails) in
  between and the object exists on the next run, this run made it (created=True) — the check
  before the interrupted apply had found nothing;
- rollback undoes, in reverse order, only steps this run created — never a user database,
  never an object that was there before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .journal import Journal

log = logging.getLogger("milink.executor")


@dataclass
class StepEvent:
    """Progress for the UI: one step's state, a fraction for long steps, and a message."""

    step: str
    title: str
    state: str  # running / done / skipped / failed / undoing / undone
    fraction: float | None = None
    message: str = ""


@dataclass
class Step:
    id: str
    title: str
    side: str  # "sql" or "azure"
    check: Callable[[Any], Awaitable[bool]]  # True: the result is already there
    apply: Callable[[Any], Awaitable[None]]
    undo: Callable[[Any], Awaitable[None]] | None = None


class StepFailed(Exception):
    def __init__(self, step: Step, cause: BaseException) -> None:
        super().__init__(f"{step.title}: {cause}")
        self.step = step
        self.cause = cause


class Executor:
    def __init__(self, steps: list[Step], journal: Journal, ctx: Any,
                 on_event: Callable[[StepEvent], None] | None = None) -> None:
        ids = [s.id for s in steps]
        if len(set(ids)) != len(ids):
            raise ValueError("step ids must be unique")
        self.steps = steps
        self.journal = journal
        self.ctx = ctx
        self.on_event = on_event or (lambda e: None)
        self.cancelled = False

    def _emit(self, step: Step, state: str, message: str = "", fraction: float | None = None) -> None:
        self.on_event(StepEvent(step.id, step.title, state, fraction, message))

    def cancel(self) -> None:
        """Stop before the next step (the running one finishes: no half-made objects)."""
        self.cancelled = True

    async def run(self) -> None:
        """Run (or resume) every step in order. Raises StepFailed at the first failure."""
        records = self.journal.steps()
        self.journal.append({"event": "run-started"})
        for step in self.steps:
            if self.cancelled:
                self.journal.append({"event": "run-cancelled"})
                raise asyncio.CancelledError("cancelled by the user")
            rec = records.get(step.id)
            if rec and rec.state in ("applied", "present"):
                self._emit(step, "done", "done in an earlier run")
                continue
            interrupted = bool(rec and rec.state in ("started", "failed"))
            self._emit(step, "running")
            try:
                if await step.check(self.ctx):
                    # it did not exist when the interrupted attempt checked, so that attempt made it
                    created = interrupted
                    self.journal.append({"step": step.id, "event": "applied" if created else "present",
                                         "created": created})
                    self._emit(step, "skipped" if not created else "done",
                               "already in place" if not created else "finished by the interrupted run")
                    continue
                self.journal.append({"step": step.id, "event": "started"})
                await step.apply(self.ctx)
                self.journal.append({"step": step.id, "event": "applied", "created": True})
                self._emit(step, "done")
            except asyncio.CancelledError:
                raise
            except Exception as e:  # recorded, reported, and the run stops here
                log.warning("step %s failed: %s", step.id, e)
                self.journal.append({"step": step.id, "event": "failed", "detail": str(e)})
                self._emit(step, "failed", str(e))
                raise StepFailed(step, e) from e
        self.journal.append({"event": "run-completed"})

    async def rollback(self) -> list[str]:
        """Undo what this run created, newest first. Returns the step ids undone."""
        records = self.journal.steps()
        undone = []
        for step in reversed(self.steps):
            rec = records.get(step.id)
            if rec is None:
                continue
            uncertain = rec.state in ("started", "failed")  # died or failed mid-apply: look first
            if not (rec.created or uncertain) or step.undo is None:
                continue
            self._emit(step, "undoing")
            try:
                if uncertain and not await step.check(self.ctx):
                    self.journal.append({"step": step.id, "event": "undone", "detail": "was never made"})
                    continue
                await step.undo(self.ctx)
            except Exception as e:
                self.journal.append({"step": step.id, "event": "undo-failed", "detail": str(e)})
                self._emit(step, "failed", f"undo failed: {e}")
                raise StepFailed(step, e) from e
            self.journal.append({"step": step.id, "event": "undone"})
            self._emit(step, "undone")
            undone.append(step.id)
        self.journal.append({"event": "rolled-back"})
        return undone
