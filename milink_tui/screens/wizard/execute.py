"""Executing actions: each step with its state (glyph + word), elapsed time and log; cancel safely;
resume or roll back after a failure — the journal makes both exact."""

from __future__ import annotations

from milink_tui.engine.plan import count_of

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, DataTable, Static
from textual.worker import Worker, WorkerState

from milink_tui.engine.steps import build_steps

from .base import WizardPage, explain_error
from .widgets import PasswordDialog

if TYPE_CHECKING:
    from milink_tui.engine.executor import Executor, StepEvent
    from milink_tui.engine.journal import Journal
    from milink_tui.engine.plan import LinkPlan

HELP = """\
# Executing actions

Each step checks first and acts only when needed; what was already in place is marked
✓ PRESENT and is never undone. The state column is glyph + word: · PENDING, ◌ RUNNING,
✓ DONE, ✓ PRESENT, ✗ FAILED, ↺ UNDONE. Select a step to see its log.

* **Cancel** stops safely: the running step finishes (no half-made objects), then the run stops.
  Waiting for seeding is cancelled at once (nothing is being changed then).
* After a failure or a cancel, **Resume** continues from the failed step (fix the cause first —
  the log says what went wrong), and **Roll back** undoes, newest first, only what this run created.
* If milink or the SSH session dies, the journal keeps the run: the home screen offers Resume or
  Roll back at the next start.
"""

STATE_WORDS = {
    "pending": ("· PENDING", "dim"), "running": ("◌ RUNNING", "bold"), "done": ("✓ DONE", "bold green"),
    "skipped": ("✓ PRESENT", "green"), "failed": ("✗ FAILED", "bold red"), "undoing": ("◌ UNDOING", "bold"),
    "undone": ("↺ UNDONE", "dark_orange"), "cancelled": ("– CANCELLED", "dim"),
}


@dataclass
class StepRow:
    id: str
    title: str
    state: str = "pending"
    started: float | None = None
    ended: float | None = None
    fraction: float | None = None
    log: list[str] = field(default_factory=list)


def fmt_elapsed(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(seconds)
    return f"{s // 60:02d}:{s % 60:02d}"


class ExecutePage(WizardPage):
    KEY = "execute"
    TITLE = "Executing actions"
    HELP = HELP
    CAN_GO_BACK = False

    class StepUpdate(Message):
        """The executor reports (posted from its worker; the page owns the table)."""

        def __init__(self, event: StepEvent) -> None:
            super().__init__()
            self.event = event

    def compose(self) -> ComposeResult:
        yield Static("", id="ex-status")
        yield DataTable(id="ex-steps", cursor_type="row")
        yield Static("", id="ex-log")
        with Horizontal(classes="page-buttons"):
            yield Button("Cancel", id="ex-cancel", compact=True, disabled=True)
            yield Button("Resume", id="ex-resume", compact=True, variant="primary")
            yield Button("Roll back", id="ex-rollback", compact=True, variant="error")
            yield Button("Set master key password", id="ex-mk", compact=True)
        self.rows: dict[str, StepRow] = {}
        self.order: list[str] = []
        self.executor: Executor | None = None
        self.journal: Journal | None = None
        self.plan: LinkPlan | None = None
        self.run_started: float | None = None
        self.failed_step: str | None = None
        self.resume_journal: Journal | None = None  # set by the wizard for a run found in the journal
        self.resume_rollback = False

    def on_mount(self) -> None:
        t = self.query_one("#ex-steps", DataTable)
        t.add_column("State", width=12, key="state")
        t.add_column("Step", key="title")
        t.add_column("Time", width=5, key="time")
        self._buttons()
        self.set_interval(1.0, self._tick)

    # ------------------------------------------------------------- starting

    def enter(self) -> None:
        """Start the run on first entry; with ``resume_journal`` set, resume (or roll back) that run."""
        if self.plan is not None or self.state.run_plan is None:
            return
        if self.resume_journal is not None and self.resume_rollback:
            self.load(self.state.run_plan, self.resume_journal)
            self.state.run_outcome = "failed"
            self.rollback()
        else:
            self.start(self.state.run_plan, self.resume_journal)

    def load(self, plan: LinkPlan, journal: Journal | None) -> None:
        """Show the plan's steps (and what an earlier run's journal says about them)."""
        self.plan, self.journal = plan, journal
        records = journal.steps() if journal is not None else {}
        self.rows, self.order = {}, []
        for step in build_steps(plan):
            row = StepRow(step.id, step.title)
            rec = records.get(step.id)
            if rec is not None:
                row.state = {"applied": "done", "present": "skipped", "failed": "failed", "undone": "undone",
                             "started": "failed"}.get(rec.state, "pending")
                if rec.detail:
                    row.log.append(f"earlier run: {rec.state} — {rec.detail}")
            self.rows[step.id] = row
            self.order.append(step.id)
        t = self.query_one("#ex-steps", DataTable)
        t.clear()
        for sid in self.order:
            row = self.rows[sid]
            t.add_row(self._state_cell(row), Text(row.title), Text(""), key=sid)

    def start(self, plan: LinkPlan, journal: Journal | None = None) -> None:
        """Run (or, with an earlier run's journal, resume) the plan."""
        if self.plan is None or self.plan is not plan:
            self.load(plan, journal)
        self.executor = self.backend.executor(plan, self.secrets, self._on_event, journal)
        self.journal = self.executor.journal
        self.state.run_id = self.journal.run_id
        self.state.run_outcome = "running"
        self.failed_step = None
        self.run_started = self.backend.clock()
        for row in self.rows.values():
            if row.state in ("failed", "cancelled", "pending"):
                row.state, row.fraction = "pending", None
        self._refresh_all()
        executor = self.executor

        async def work() -> None:
            await executor.run()
        self.run_worker(work(), name="run", group="execute", exclusive=True, exit_on_error=False)
        self._buttons()
        self._status()
        self.nav_changed()

    def _on_event(self, event: StepEvent) -> None:
        self.post_message(self.StepUpdate(event))

    # ------------------------------------------------------------- events

    @on(StepUpdate)
    def _update(self, message: StepUpdate) -> None:
        e = message.event
        row = self.rows.get(e.step)
        if row is None:
            return
        now = self.backend.clock()
        if e.state == "progress":
            row.fraction = e.fraction
            if e.message and (not row.log or row.log[-1] != e.message):
                row.log.append(e.message)
        else:
            if e.state in ("running", "undoing"):
                row.started, row.ended, row.fraction = now, None, None
            elif row.started is not None:
                row.ended = now
            row.state = e.state
            row.log.append(e.state.upper() + (f": {e.message}" if e.message else ""))
            if e.state == "failed":
                self.failed_step = e.step
            if e.state in ("running", "undoing"):
                self._follow(e.step)
        self._refresh_row(row)
        self._show_log()
        self._status()

    def _follow(self, step_id: str) -> None:
        t = self.query_one("#ex-steps", DataTable)
        try:
            t.move_cursor(row=self.order.index(step_id))
        except ValueError:
            pass

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        name = event.worker.name
        if name not in ("run", "rollback") or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR,
                                                                   WorkerState.CANCELLED):
            return
        event.stop()
        if name == "rollback":
            if event.state == WorkerState.SUCCESS:
                self.state.run_outcome = "rolled-back"
                self.notify(f"↺ Rolled back {count_of(len(event.worker.result or []), 'step')} this run created.")
            else:
                self.state.run_outcome = "failed"
                self.notify(explain_error(event.worker.error or Exception("rollback failed")), severity="error")
        elif event.state == WorkerState.SUCCESS:
            self.state.run_outcome = "done"
        elif event.state == WorkerState.CANCELLED:
            self.state.run_outcome = "cancelled"
            for row in self.rows.values():
                if row.state == "running":
                    row.state, row.ended = "cancelled", self.backend.clock()
                    row.log.append("CANCELLED (waiting stopped; nothing was half-made)")
            self._refresh_all()
        else:
            self.state.run_outcome = "failed"
        counts: dict[str, int] = {}
        for row in self.rows.values():
            counts[row.state] = counts.get(row.state, 0) + 1
        self.state.step_counts = counts
        self._buttons()
        self._status()
        self.nav_changed()

    # ------------------------------------------------------------- buttons

    @on(Button.Pressed, "#ex-cancel")
    def cancel(self) -> None:
        """Stop after the running step; a seeding wait is cancelled at once (it changes nothing)."""
        if self.executor is None or self.state.run_outcome != "running":
            return
        self.executor.cancel()
        running = [r for r in self.rows.values() if r.state == "running"]
        if running and running[0].id.endswith(".seeding"):
            self.workers.cancel_group(self, "execute")
        self.notify("Cancelling after the current step…")

    @on(Button.Pressed, "#ex-resume")
    def resume(self) -> None:
        if self.plan is None or self.state.run_outcome == "running":
            return
        self.start(self.plan, self.journal)

    @on(Button.Pressed, "#ex-rollback")
    def rollback(self) -> None:
        if self.plan is None or self.journal is None or self.state.run_outcome == "running":
            return
        executor = self.backend.executor(self.plan, self.secrets, self._on_event, self.journal)
        self.executor = executor
        self.state.run_outcome = "running"

        async def work() -> list[str]:
            return await executor.rollback()
        self.run_worker(work(), name="rollback", group="execute", exclusive=True, exit_on_error=False)
        self._buttons()
        self._status()
        self.nav_changed()

    @on(Button.Pressed, "#ex-mk")
    def _master_key(self) -> None:
        def got(pw: str | None) -> None:
            if pw:
                self.secrets.master_key_password = pw
                self._buttons()
        self.app.push_screen(PasswordDialog("Database master key password",
                                            "Needed to create the master key (never stored)."), got)

    def _buttons(self) -> None:
        outcome = self.state.run_outcome
        stopped = outcome in ("failed", "cancelled")
        self.query_one("#ex-cancel", Button).disabled = outcome != "running"
        self.query_one("#ex-cancel").display = outcome in ("running", "")
        self.query_one("#ex-resume").display = stopped
        self.query_one("#ex-rollback").display = stopped
        self.query_one("#ex-mk").display = (stopped and self.failed_step == "sql.master_key"
                                            and not self.secrets.master_key_password)

    # ------------------------------------------------------------- rendering

    def _state_cell(self, row: StepRow) -> Text:
        word, style = STATE_WORDS.get(row.state, (row.state.upper(), ""))
        if row.state == "running" and row.fraction is not None:
            word = f"◌ {row.fraction * 100:3.0f}%"
        return Text(word, style=style)

    def _elapsed(self, row: StepRow) -> str:
        if row.started is None:
            return ""
        end = row.ended if row.ended is not None else self.backend.clock()
        return fmt_elapsed(end - row.started)

    def _refresh_row(self, row: StepRow) -> None:
        t = self.query_one("#ex-steps", DataTable)
        try:
            t.update_cell(row.id, "state", self._state_cell(row))
            t.update_cell(row.id, "time", Text(self._elapsed(row)))
        except Exception:  # the row may not exist yet (first paint)
            pass

    def _refresh_all(self) -> None:
        for row in self.rows.values():
            self._refresh_row(row)

    def _tick(self) -> None:
        """Once a second: elapsed time of running steps (text only — no animation)."""
        for row in self.rows.values():
            if row.state in ("running", "undoing"):
                self._refresh_row(row)
        if self.state.run_outcome == "running":
            self._status()

    @on(DataTable.RowHighlighted, "#ex-steps")
    def _show_log(self) -> None:
        t = self.query_one("#ex-steps", DataTable)
        if not self.order or not 0 <= t.cursor_row < len(self.order):
            return
        row = self.rows[self.order[t.cursor_row]]
        lines = row.log[-6:] or ["(no log yet)"]
        self.query_one("#ex-log", Static).update(Text.assemble((f"{row.title}\n", "bold"), "\n".join(lines)))

    def _status(self) -> None:
        done = sum(r.state in ("done", "skipped") for r in self.rows.values())
        total = len(self.rows)
        elapsed = fmt_elapsed(self.backend.clock() - self.run_started) if self.run_started is not None else ""
        outcome = self.state.run_outcome
        if outcome == "running":
            text = Text(f"◌ Running — {done}/{total} steps done · {elapsed}")
        elif outcome == "done":
            text = Text.assemble(("✓ Done", "bold green"), f" — {total} steps ({done} done or present) · {elapsed}")
        elif outcome == "failed":
            row = self.rows.get(self.failed_step or "")
            why = row.log[-1] if row and row.log else ""
            text = Text.assemble(("✗ Stopped", "bold red"), f" at “{row.title if row else '?'}”: {why}\n"
                                 "Fix the cause, then Resume — or Roll back what this run created.")
        elif outcome == "cancelled":
            text = Text.assemble(("– Cancelled", "bold"), f" — {done}/{total} steps done. Resume continues; "
                                 "Roll back undoes what this run created.")
        elif outcome == "rolled-back":
            text = Text.assemble(("↺ Rolled back", "bold dark_orange"), " — what this run created was removed.")
        else:
            text = Text(f"{total} steps ready.")
        self.query_one("#ex-status", Static).update(text)

    def blocker(self) -> str | None:
        outcome = self.state.run_outcome
        if outcome == "done":
            return None
        if outcome == "running":
            return "Setup is running…"
        if outcome in ("failed", "cancelled"):
            return "Resume or roll back."
        if outcome == "rolled-back":
            return "Rolled back: close the wizard."
        return "Starting…"
