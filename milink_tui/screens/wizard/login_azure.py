"""Login to Azure (managed instance as initial primary): sign in and choose the managed instance
that holds the databases. Instances whose update policy does not match SQL Server are listed
disabled with the reason."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Static

from milink_tui.engine.versions import MATCHING_POLICY

from .base import WizardPage
from .state import MiDatabaseRow
from .widgets import AzurePickPage, AzureSignIn, MiPicker

if TYPE_CHECKING:
    from milink_tui.clients.azure import ManagedInstanceInfo

HELP = """\
# Login to Azure (managed instance as initial primary)

Sign in (device code works over SSH), then choose the managed instance that holds the databases
to link to SQL Server. It must be **Ready** and its **update policy must match SQL Server**
(SQL Server 2022 ↔ *SQL Server 2022* policy, 2025 ↔ *SQL Server 2025*); an *Always-up-to-date*
instance cannot be a link's initial primary towards SQL Server. Such instances are listed
disabled with the reason.
"""


class LoginAzurePage(AzurePickPage):
    KEY = "login_azure"
    TITLE = "Login to Azure"
    HELP = HELP

    def compose(self) -> ComposeResult:
        yield Static("The managed instance is the initial primary: choose it here.", id="login-intro")
        yield AzureSignIn(self.backend, id="login-sign-in")
        yield MiPicker(self.backend, self.state, self.reason, id="login-picker")
        yield Static("", id="login-dbs")

    def reason(self, mi: ManagedInstanceInfo) -> str | None:
        if mi.state != "Ready":
            return f"state {mi.state}"
        s = self.state.server
        wanted = MATCHING_POLICY.get(s.major) if s else None
        if wanted is None:
            return "needs SQL Server 2022 or 2025"
        if mi.database_format != wanted:
            return f"update policy {mi.database_format}; needs {wanted}"
        return None

    def enter(self) -> None:
        if self.backend.identity() is not None and not self.state.subscriptions:
            self.query_one(MiPicker).load()

    @on(MiPicker.Chosen)
    def _chosen(self, event: MiPicker.Chosen) -> None:
        mi = event.mi
        self.state.mi_databases, self.state.selected, self.state.validation = [], [], []
        self.query_one("#login-dbs", Static).update("◌ Reading the instance's databases…")

        async def work():  # type: ignore[no-untyped-def]
            facts = await self.backend.instance_facts(mi.ref())
            linked = await self.backend.linked_databases(mi.ref())
            sql_dbs = await self.backend.read_databases()
            return facts, linked, sql_dbs

        self.call("mi-dbs", work, self._loaded)

    def _loaded(self, result) -> None:  # type: ignore[no-untyped-def]
        facts, linked, sql_dbs = result
        self.state.mi_facts = facts
        on_sql = {d.name.lower() for d in sql_dbs}
        rows = []
        for name in facts.database_names:
            reasons = []
            if name.lower() in ("master", "model", "msdb", "tempdb"):
                continue
            if name.lower() in linked:
                reasons.append("Already replicated by a link.")
            if name.lower() in on_sql:
                reasons.append(f"A database named {name} already exists on SQL Server.")
            rows.append(MiDatabaseRow(name, reasons))
        self.state.mi_databases = rows
        ready = [r.name for r in rows if r.eligible]
        self.query_one("#login-dbs", Static).update(Text(
            f"{len(rows)} databases on {facts.name}; {len(ready)} can be linked: {', '.join(ready) or 'none'}."))
        self.nav_changed()

    def blocker(self) -> str | None:
        if self.backend.identity() is None:
            return "Sign in to Azure."
        if self.state.mi is None:
            return "Choose the managed instance."
        if self.state.mi_facts is None:
            return "Reading the managed instance…"
        return None
