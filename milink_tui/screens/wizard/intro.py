"""Introduction: what the wizard does, and which way the link goes (disabled with the reason when
this SQL Server cannot take that direction)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import RadioSet, Static

from milink_tui.engine.versions import MAJOR_NAMES, fmt, support_for
from milink_tui.screens.controls import Choice

from .base import WizardPage, explain_error

INTRO = (
    "This wizard links databases on this SQL Server to an Azure SQL Managed Instance with a distributed "
    "availability group, the way SSMS's New Managed Instance link wizard does — and every step can be "
    "resumed if it is interrupted.\n\n"
    "You will: choose link options · check the server's readiness (and fix what milink can) · pick "
    "databases · sign in to Azure and pick the managed instance · validate · review the plan and its "
    "scripts · create the link and watch it seed."
)

HELP = """\
# Introduction

Choose the direction of the link:

* **SQL Server → managed instance** (SQL Server is the initial primary): SQL Server 2016 SP3+
  (with the Azure Connect pack on 2016/2017), 2019 CU20+, 2022, 2025. The usual migration / DR
  setup.
* **Managed instance → SQL Server** (the managed instance is the initial primary): SQL Server
  2022 CU10 (16.0.4095.4) or later, or 2025, and a managed instance whose *update policy*
  matches the SQL Server version (SQL Server 2022 / 2025).

A direction this server cannot take is shown disabled with the reason.
"""


class IntroPage(WizardPage):
    KEY = "intro"
    TITLE = "Introduction"
    HELP = HELP

    def compose(self) -> ComposeResult:
        yield Static(INTRO, id="intro-text")
        yield Static("◌ Reading SQL Server…", id="intro-server")
        with RadioSet(id="direction"):
            yield Choice("SQL Server → managed instance", value=not self.state.mi_first, id="dir-sql-first")
            yield Choice("Managed instance → SQL Server", value=self.state.mi_first, id="dir-mi-first")
        yield Static(Text("The first is the initial primary: SQL Server first is the usual migration / DR "
                          "setup; managed instance first seeds a copy onto SQL Server 2022 CU10+.", style="dim"),
                     id="intro-direction-note")
        yield Static("", id="intro-reason")

    def enter(self) -> None:
        if self.state.server is None and "server" not in self.busy:
            self.call("server", self.backend.read_server, self._loaded, self._failed)
        else:
            self._render_server()

    def _loaded(self, facts) -> None:  # type: ignore[no-untyped-def]
        self.state.server = facts
        self._render_server()

    def _failed(self, exc: BaseException) -> None:
        self.query_one("#intro-server", Static).update(Text(explain_error(exc), style="red"))

    def mi_first_reason(self) -> str | None:
        s = self.state.server
        if s is None:
            return "SQL Server not read yet."
        sup = support_for(s.version)
        if sup is None or sup.minimum_mi_first is None:
            return (f"{MAJOR_NAMES.get(s.major, 'This version')} cannot receive a link from a managed instance: "
                    "it needs SQL Server 2022 CU10 (16.0.4095.4) or later.")
        if s.version < sup.minimum_mi_first:
            return f"Needs {sup.name} build {fmt(sup.minimum_mi_first)} or later; this is {fmt(s.version)}."
        return None

    def _render_server(self) -> None:
        s = self.state.server
        if s is None:
            return
        name = MAJOR_NAMES.get(s.major, f"major {s.major}")
        self.query_one("#intro-server", Static).update(Text.assemble(
            ("SQL Server: ", "bold"), f"{s.server_name} — {name} {fmt(s.version)} {s.update_level or ''} "
            f"{s.edition}, {s.platform}"))
        reason = self.mi_first_reason()
        mi_button = self.query_one("#dir-mi-first", Choice)
        mi_button.disabled = reason is not None
        if reason and self.state.mi_first:
            self.state.direction = "sql-first"
            self.query_one("#dir-sql-first", Choice).value = True
        self.query_one("#intro-reason", Static).update(
            Text(f"Managed instance → SQL Server is unavailable: {reason}", style="dim") if reason else "")

    @on(RadioSet.Changed, "#direction")
    def _direction(self, event: RadioSet.Changed) -> None:
        self.state.direction = "mi-first" if event.pressed.id == "dir-mi-first" else "sql-first"
        if self.state.mi_first:
            self.state.two_way = True
        self.nav_changed()

    def blocker(self) -> str | None:
        if self.state.server is None:
            return "Reading SQL Server…" if "server" in self.busy else "SQL Server could not be read."
        return None
