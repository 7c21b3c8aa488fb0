"""The page contract and the small plumbing every page shares.

A page renders :class:`WizardState`, writes what the user types back into it, and says what
blocks Next (``blocker``). Backend calls run in workers; their results come back through
``Worker.StateChanged`` (the worker posts, the page owns the widgets).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from textual.containers import VerticalScroll
from textual.message import Message
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from milink_tui.engine.steps import Secrets

    from .backend import WizardBackend
    from .state import WizardState


def explain_error(exc: BaseException) -> str:
    """An exception as "what happened — cause — fix" (clients' errors carry them), never a traceback."""
    cause = getattr(exc, "cause", "") or ""
    fix = getattr(exc, "fix", "") or getattr(exc, "hint", "") or ""
    text = str(exc) or type(exc).__name__
    parts = [f"✗ {text}"]
    if cause and isinstance(cause, str) and cause not in text:
        parts.append(f"Cause: {cause}")
    if fix and isinstance(fix, str):
        parts.append(f"Fix: {fix}")
    return "\n".join(parts)


class WizardPage(VerticalScroll):
    """One wizard page. Subclasses set the class attributes and override the hooks they need."""

    KEY = ""
    TITLE = ""
    HELP = ""
    FOCUS = ""  # selector of the widget that takes focus on entering (default: the first focusable)
    NEXT_LABEL = "Next"
    CAN_GO_BACK = True

    class NavChanged(Message):
        """Ask the wizard to recompute Next/Back (the page's blocker changed)."""

    def __init__(self, state: WizardState, backend: WizardBackend, secrets: Secrets, **kwargs: Any) -> None:
        super().__init__(id=f"page-{self.KEY}", classes="wizard-page", **kwargs)
        self.state = state
        self.backend = backend
        self.secrets = secrets
        self._callbacks: dict[str, tuple[Callable[[Any], None], Callable[[BaseException], None] | None]] = {}
        self.busy: set[str] = set()

    # ------------------------------------------------------------- hooks

    def focus_target(self) -> str:
        """Selector of the widget that takes focus on entering (empty: the first focusable)."""
        return self.FOCUS

    def enter(self) -> None:
        """Called every time the page becomes visible."""

    def leave(self) -> None:
        """Called before the page is hidden (Back or Next): copy inputs into the state."""

    def blocker(self) -> str | None:
        """Why Next is not possible yet, or None."""
        return None

    def help_text(self) -> str:
        return self.HELP

    # ------------------------------------------------------------- workers

    def call(self, name: str, work: Callable[[], Awaitable[Any]], done: Callable[[Any], None],
             failed: Callable[[BaseException], None] | None = None) -> None:
        """Run ``work`` in an exclusive worker named ``name``; ``done``/``failed`` run on the UI side."""
        self._callbacks[name] = (done, failed)
        self.busy.add(name)
        self.run_worker(work(), name=name, group=f"{self.KEY}.{name}", exclusive=True, exit_on_error=False)
        self.nav_changed()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        name = worker.name
        if name not in self._callbacks or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR,
                                                              WorkerState.CANCELLED):
            return
        event.stop()
        done, failed = self._callbacks.pop(name)
        self.busy.discard(name)
        if event.state == WorkerState.SUCCESS:
            done(worker.result)
        elif event.state == WorkerState.ERROR and worker.error is not None:
            if failed is not None:
                failed(worker.error)
            else:
                self.notify(explain_error(worker.error), severity="error", timeout=8)
        self.nav_changed()

    def nav_changed(self) -> None:
        self.post_message(self.NavChanged())
