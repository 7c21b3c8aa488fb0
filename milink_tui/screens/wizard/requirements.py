"""Requirements: the SSMS *Server readiness* and *Availability group readiness* tabs, live.

Each row opens its evidence, explanation and remediation; "Apply fix" where milink can fix it
safely (trace flags, the master key); in the lab, the Always On remediation a DBA does in
Configuration Manager is one button. Next stays disabled while a blocking check fails.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Static, TabbedContent, TabPane

from milink_tui.engine.checks import CheckContext, CheckResult, blocking, run_checks

from .base import WizardPage, explain_error
from .widgets import CheckTable, ConfirmDialog, PasswordDialog, detail_renderable

SETUP_FIXES = {"endpoint": "milink creates this during the link setup (Executing actions page).",
               "root_cas": "milink imports these during the link setup (Executing actions page)."}

HELP = """\
# Requirements

Two tabs, as in SSMS:

* **Server readiness** — version/CU, edition, Always On availability groups, sysadmin, the
  recommended trace flags 1800 and 9567 (warnings), trace flag 12381 (protects seeding from log
  backups), the Azure Connect pack (2016/2017).
* **Availability group readiness** — database master key, database mirroring endpoint, its
  certificate, the Azure root certificates. Warnings here are created by the link setup itself.

Select a row to see the evidence milink read, why it matters and the remediation.
**Apply fix** (F4) runs milink's fix where it is safe (trace flags for the running instance,
the master key). Enabling Always On restarts the SQL Server service: milink shows how and never
does it on a real server; in the lab, *Restart the lab SQL Server with Always On* does what a
DBA does in Configuration Manager. **Re-run validation** (F5) reads the server again.

✗ FAIL blocks Next; ▲ WARN does not.
"""


class RequirementsPage(WizardPage):
    KEY = "requirements"
    FOCUS = "#req-server"  # the checklist: arrow keys walk the rows straight away
    TITLE = "Requirements"
    HELP = HELP

    def compose(self) -> ComposeResult:
        yield Static("◌ Checking…", id="req-summary")
        with TabbedContent(id="req-tabs"):
            with TabPane("Server readiness", id="tab-server"):
                yield CheckTable(id="req-server")
            with TabPane("Availability group readiness", id="tab-ag"):
                yield CheckTable(id="req-ag")
        yield Static("", id="req-detail")
        with Horizontal(classes="page-buttons"):
            yield Button("Apply fix", id="req-fix", compact=True, disabled=True)
            yield Button("Restart the lab SQL Server with Always On", id="req-lab-hadr", compact=True)
            yield Button("Re-run validation", id="req-rerun", compact=True)
        self._selected: CheckResult | None = None

    def on_mount(self) -> None:
        self.query_one("#req-lab-hadr").display = False

    def enter(self) -> None:
        if not self.state.checks:
            self.rerun()
        else:
            self._redraw()

    def rerun(self) -> None:
        """Read the server again and re-evaluate every requirement."""
        self.query_one("#req-summary", Static).update("◌ Checking…")
        self.call("checks", self.backend.read_server, self._loaded, self._failed)

    def _loaded(self, facts) -> None:  # type: ignore[no-untyped-def]
        self.state.server = facts
        ctx = CheckContext(server=facts, direction=self.state.direction, two_way=self.state.two_way,
                           now=self.backend.now(), network=self.state.network_report)
        self.state.checks = [r for r in run_checks(ctx) if r.tab in ("server", "ag", "network")]
        self._redraw()

    def _failed(self, exc: BaseException) -> None:
        self.query_one("#req-summary", Static).update(Text(explain_error(exc), style="red"))

    def _redraw(self) -> None:
        checks = self.state.checks
        self.query_one("#req-server", CheckTable).show([r for r in checks if r.tab in ("server", "network")])
        self.query_one("#req-ag", CheckTable).show([r for r in checks if r.tab == "ag"])
        blocked = blocking(checks)
        warns = [r for r in checks if r.status == "warn"]
        passed = [r for r in checks if r.status == "pass"]
        if blocked:
            summary = Text.assemble((f"✗ {len(blocked)} blocking", "bold red"),
                                    f" · ▲ {len(warns)} warnings · ✓ {len(passed)} passed — "
                                    "select a row for the remediation.")
        else:
            summary = Text.assemble(("✓ Ready", "bold green"), f" · ▲ {len(warns)} warnings (not blocking) · "
                                    f"✓ {len(passed)} passed")
        self.query_one("#req-summary", Static).update(summary)
        self.nav_changed()

    @on(CheckTable.Chosen)
    def _chosen(self, event: CheckTable.Chosen) -> None:
        active = self.query_one("#req-tabs", TabbedContent).active
        if (active == "tab-server") != (event.table.id == "req-server"):
            return
        self._show(event.result)

    @on(TabbedContent.TabActivated)
    def _tab(self, event: TabbedContent.TabActivated) -> None:
        table = self.query_one("#req-server" if event.pane.id == "tab-server" else "#req-ag", CheckTable)
        if table.results:
            self._show(table.results[min(max(table.cursor_row, 0), len(table.results) - 1)])

    def _show(self, r: CheckResult) -> None:
        self._selected = r
        extra = SETUP_FIXES.get(r.fix or "", "") if r.status != "pass" else ""
        self.query_one("#req-detail", Static).update(detail_renderable(r, extra))
        fixable = r.status in ("fail", "warn") and r.fix is not None and r.fix not in SETUP_FIXES
        self.query_one("#req-fix", Button).disabled = not fixable
        self.query_one("#req-lab-hadr").display = self.backend.lab and r.id == "hadr" and r.status == "fail"

    @on(Button.Pressed, "#req-rerun")
    def _rerun_pressed(self) -> None:
        self.rerun()

    @on(Button.Pressed, "#req-fix")
    def apply_fix(self) -> None:
        r = self._selected
        if r is None or r.fix is None or r.fix in SETUP_FIXES or r.status == "pass":
            self.notify("Select a requirement milink can fix.", severity="warning")
            return
        from milink_tui.engine.fixes import describe

        fix = r.fix
        if fix == "master_key":
            def got_password(pw: str | None) -> None:
                if pw:
                    self.secrets.master_key_password = pw
                    self._apply(fix)
            self.app.push_screen(PasswordDialog(
                "Database master key password",
                "The master key protects the endpoint certificate's private key. Choose a strong password and "
                "keep it in your password manager: milink does not store it."), got_password)
            return

        def confirmed(ok: bool | None) -> None:
            if ok:
                self._apply(fix)
        self.app.push_screen(ConfirmDialog(f"Apply fix: {r.title}", describe(fix)), confirmed)

    def _apply(self, fix: str) -> None:
        async def work():  # type: ignore[no-untyped-def]
            return await self.backend.apply_fix(fix, self.secrets)

        def done(outcome) -> None:  # type: ignore[no-untyped-def]
            self.notify(("✓ " if outcome.applied else "▲ ") + outcome.message,
                        severity="information" if outcome.applied else "warning")
            self.rerun()
        self.call("fix", work, done)

    @on(Button.Pressed, "#req-lab-hadr")
    def lab_enable_hadr(self) -> None:
        def confirmed(ok: bool | None) -> None:
            if not ok:
                return

            def done(message: str) -> None:
                self.notify("✓ " + message)
                self.rerun()
            self.query_one("#req-summary", Static).update("◌ Restarting the lab SQL Server…")
            self.call("hadr", self.backend.lab_enable_hadr, done)
        self.app.push_screen(ConfirmDialog(
            "Enable Always On and restart (lab)",
            "On a real server this is SQL Server Configuration Manager → the SQL Server service → Always On "
            "Availability Groups → Enable, then a service restart (Linux: mssql-conf set hadr.hadrenabled 1 and "
            "systemctl restart mssql-server). In the lab milink does it for you.", yes="Restart"), confirmed)

    def blocker(self) -> str | None:
        if not self.state.checks:
            return "Checking requirements…"
        blocked = blocking(self.state.checks)
        if blocked:
            return f"{len(blocked)} blocking: " + ", ".join(r.title.split(': ')[-1] for r in blocked)
        return None
