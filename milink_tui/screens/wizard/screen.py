"""The wizard frame: the page list (SSMS order), Back/Next that keep what was typed, F1 help per
page, and a resume mode that opens straight on *Executing actions* for a journaled run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, ContentSwitcher, Footer, Static

from milink_tui.actions import bindings
from milink_tui.engine.steps import Secrets

from .base import WizardPage
from .state import WizardState

if TYPE_CHECKING:
    from milink_tui.engine.journal import Journal

    from .backend import WizardBackend


def page_classes() -> dict[str, type[WizardPage]]:
    from .databases import DatabasesPage
    from .execute import ExecutePage
    from .intro import IntroPage
    from .login_azure import LoginAzurePage
    from .network import NetworkPage
    from .options import OptionsPage
    from .replica import ReplicaPage
    from .requirements import RequirementsPage
    from .results import ResultsPage
    from .summary import SummaryPage
    from .validation import ValidationPage

    return {c.KEY: c for c in (IntroPage, OptionsPage, RequirementsPage, DatabasesPage, ReplicaPage,
                               LoginAzurePage, NetworkPage, ValidationPage, SummaryPage, ExecutePage, ResultsPage)}


def flow(state: WizardState, resume: bool = False) -> list[str]:
    """Page keys in SSMS order for the chosen direction and options."""
    if resume:
        return ["execute", "results"]
    pages = ["intro", "options", "requirements"]
    if state.mi_first:
        pages += ["login_azure", "databases", "replica"]
    else:
        pages += ["databases", "replica"]
    if state.troubleshooting:
        pages.append("network")
    return pages + ["validation", "summary", "execute", "results"]


class WizardScreen(Screen[None]):
    """New Managed Instance link. ``resume`` (a journal) opens on Executing actions for that run."""

    BINDINGS = bindings("wizard")
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    CSS_PATH = "wizard.tcss"
    help_scope = "wizard"

    def __init__(self, backend: WizardBackend, secrets: Secrets | None = None, state: WizardState | None = None,
                 resume: Journal | None = None, rollback: bool = False, start_at: str | None = None) -> None:
        super().__init__()
        self.start_at = start_at  # open on this page (state already filled: snapshots, the gallery)
        self.backend = backend
        self.secrets = secrets or Secrets()
        self.state = state or WizardState()
        self.resume_journal = resume
        self.resume_rollback = rollback
        self.pages: dict[str, WizardPage] = {}
        self.current = ""
        self.visited: set[str] = set()
        if resume is not None:
            from milink_tui.engine.plan import LinkPlan

            self.state.run_plan = LinkPlan.from_json(resume.plan())
            self.state.run_id = resume.run_id

    # ------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        yield Static("", id="wiz-title")
        with Horizontal(id="wiz-body"):
            yield Static("", id="wiz-steps")
            yield ContentSwitcher(id="wiz-pages")
        with Horizontal(id="wiz-nav"):
            yield Static("", id="wiz-blocker")
            yield Button("< Back", id="wiz-back", compact=True)
            yield Button("Next >", id="wiz-next", compact=True, variant="primary")
            yield Button("Close", id="wiz-close", compact=True)
        yield Footer()

    async def on_mount(self) -> None:
        keys = flow(self.state, self.resume_journal is not None)
        if self.start_at in keys:
            self.visited.update(keys[:keys.index(self.start_at)])
        await self.show_page(self.start_at if self.start_at in keys else keys[0])

    def page(self, key: str) -> WizardPage:
        return self.pages[key]

    @property
    def current_page(self) -> WizardPage | None:
        return self.pages.get(self.current)

    async def show_page(self, key: str) -> None:
        old = self.current_page
        if old is not None:
            old.leave()
        if key not in self.pages:
            page = page_classes()[key](self.state, self.backend, self.secrets)
            if key == "execute" and self.resume_journal is not None:
                page.resume_journal = self.resume_journal  # type: ignore[attr-defined]
                page.resume_rollback = self.resume_rollback  # type: ignore[attr-defined]
            self.pages[key] = page
            await self.query_one("#wiz-pages", ContentSwitcher).mount(page)
        self.current = key
        self.visited.add(key)
        self.query_one("#wiz-pages", ContentSwitcher).current = f"page-{key}"
        page = self.pages[key]
        page.enter()
        self._render_nav()
        self.call_after_refresh(self._focus_page)

    def _focus_page(self) -> None:
        page = self.current_page
        if page is None:
            return
        target = page.focus_target()
        if target:
            found = page.query(target)
            wanted = found.first() if found else None
            if wanted is not None and wanted.focusable and wanted.display:
                wanted.focus()
                return
        for widget in page.query("*"):
            if widget.focusable and widget.display and not widget.disabled:
                widget.focus()
                return
        self.query_one("#wiz-next", Button).focus()

    # ------------------------------------------------------------- navigation

    def keys(self) -> list[str]:
        return flow(self.state, self.resume_journal is not None)

    def _render_nav(self) -> None:
        keys = self.keys()
        classes = page_classes()
        page = self.current_page
        if page is None:
            return
        pos = keys.index(self.current) + 1 if self.current in keys else 0
        self.query_one("#wiz-title", Static).update(Text.assemble(
            ("New Managed Instance link", "bold"), f" · {pos}/{len(keys)} ", (page.TITLE, "bold"),
            f" · {'MI → SQL Server' if self.state.mi_first else 'SQL Server → MI'}"))
        lines = []
        for k in keys:
            mark = "▶" if k == self.current else ("✓" if k in self.visited else "·")
            lines.append(Text(f"{mark} {classes[k].TITLE}", style="bold" if k == self.current else ""))
        self.query_one("#wiz-steps", Static).update(Text("\n").join(lines))
        blocker = page.blocker()
        self.query_one("#wiz-blocker", Static).update(Text(f"▲ {blocker}" if blocker else "", style="dim"))
        nxt = self.query_one("#wiz-next", Button)
        nxt.label = page.NEXT_LABEL + (" >" if page.NEXT_LABEL == "Next" else "")
        nxt.disabled = blocker is not None
        back = self.query_one("#wiz-back", Button)
        back.disabled = not page.CAN_GO_BACK or pos <= 1
        self.query_one("#wiz-close").display = self.current != "results"

    @on(WizardPage.NavChanged)
    def _nav_changed(self, event: WizardPage.NavChanged) -> None:
        event.stop()
        self._render_nav()

    @on(Button.Pressed, "#wiz-next")
    async def action_next(self) -> None:
        page = self.current_page
        if page is None:
            return
        blocker = page.blocker()
        if blocker:
            self.notify(blocker, severity="warning")
            return
        keys = self.keys()
        if self.current == "results":
            self.dismiss(None)
            return
        if self.current == "summary":
            self.state.run_plan = self.state.plan()
            self.state.run_outcome = ""
        idx = keys.index(self.current)
        if idx + 1 < len(keys):
            await self.show_page(keys[idx + 1])

    @on(Button.Pressed, "#wiz-back")
    async def action_back(self) -> None:
        page = self.current_page
        if page is None or not page.CAN_GO_BACK:
            return
        keys = self.keys()
        idx = keys.index(self.current)
        if idx > 0:
            await self.show_page(keys[idx - 1])

    @on(Button.Pressed, "#wiz-close")
    def action_cancel_wizard(self) -> None:
        if self.state.run_outcome == "running":
            from .widgets import ConfirmDialog

            def confirmed(ok: bool | None) -> None:
                if ok:
                    execute = self.pages.get("execute")
                    if execute is not None:
                        execute.cancel()  # type: ignore[attr-defined]
                    self.notify("The setup stops after the current step; the journal keeps it for Resume.")
            self.app.push_screen(ConfirmDialog(
                "Stop the running setup?", "The current step finishes (nothing is left half-made), then the run "
                "stops. Resume or roll back later from here or from the home screen.", yes="Stop"), confirmed)
            return
        self.dismiss(None)

    # ------------------------------------------------------------- page actions (F-keys, palette)

    def action_rerun(self) -> None:
        page = self.current_page
        if page is not None and hasattr(page, "rerun"):
            page.rerun()

    def action_apply_fix(self) -> None:
        page = self.current_page
        if page is not None and hasattr(page, "apply_fix"):
            page.apply_fix()
        else:
            self.notify("Apply fix works on the Requirements page.", severity="warning")

    def action_script(self) -> None:
        from milink_tui.engine.plan import PlanError
        from milink_tui.screens.script_viewer import ScriptViewer

        try:
            plan = self.state.run_plan or self.state.plan()
        except PlanError as e:
            self.notify(f"No plan yet: {e}", severity="warning")
            return
        self.app.push_screen(ScriptViewer(plan))

    def help_context(self) -> tuple[str, str]:
        """(title, markdown) for F1: the current page's guidance."""
        page = self.current_page
        if page is None:
            return "New Managed Instance link", ""
        return f"Wizard — {page.TITLE}", page.help_text()

    def check_action(self, action: str, parameters: tuple[Any, ...]) -> bool | None:
        if action == "back":
            page = self.current_page
            return bool(page and page.CAN_GO_BACK)
        return True
