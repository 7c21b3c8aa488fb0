"""Specify Link Options: link name, connectivity troubleshooting, two-way disaster recovery."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Checkbox, Input, Label, Static

from milink_tui.engine.plan import LINK_NAME
from milink_tui.engine.versions import support_for
from milink_tui.screens.controls import Tick

from .base import WizardPage

HELP = """\
# Specify Link Options

* **Link name** — the name of the distributed availability group on SQL Server *and* of the
  link resource on the managed instance. Letters, digits, `-` and `_`. Leave it empty for
  `DAG_<database>`. With several databases, each link gets the database name appended
  (`name_SalesDb`, `name_Orders`): one link per database.
* **Enable connectivity troubleshooting** adds the *Network Checker* page: what must be open
  between SQL Server and the managed instance (TCP 5022 both ways, 11000–11999 from SQL Server),
  and a test you can run.
* **Two-way disaster recovery** keeps the way back open: failover mode *Manual*, so you can fail
  over to the managed instance and back. Needs SQL Server 2022 or 2025 (and a managed instance
  whose update policy matches). One-way links (2016–2019) end when you fail over.
"""


class OptionsPage(WizardPage):
    KEY = "options"
    TITLE = "Specify Link Options"
    HELP = HELP

    def compose(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Label("Link name  ", classes="field-label")
            yield Input(self.state.link_name, placeholder="DAG_<database> (default)", id="link-name", compact=True,
                        max_length=128)
        yield Static("", id="link-name-note")
        yield Tick("Enable connectivity troubleshooting", value=self.state.troubleshooting, id="troubleshooting",
                   compact=True)
        yield Static(Text("Adds the Network Checker page: the ports to open, and a test run from SQL Server.",
                          style="dim"), classes="option-note")
        yield Tick("Two-way disaster recovery", value=self.state.two_way, id="two-way", compact=True)
        yield Static(Text("Fail over to the managed instance and back (failover mode Manual).", style="dim"),
                     classes="option-note")
        yield Static("", id="two-way-reason")

    def enter(self) -> None:
        s = self.state.server
        cb = self.query_one("#two-way", Checkbox)
        reason = None
        if self.state.mi_first:
            reason = "A link with the managed instance as initial primary is always two-way."
            self.state.two_way = True
        elif s is not None:
            sup = support_for(s.version)
            if sup is None or not sup.two_way:
                reason = (f"Requires SQL Server 2022 or later ({sup.name if sup else 'this version'} links are "
                          "one-way: a failover to the managed instance ends the link).")
                self.state.two_way = False
        cb.value = self.state.two_way
        cb.disabled = reason is not None
        self.query_one("#two-way-reason", Static).update(Text(reason or "", style="dim"))
        self._note()

    @on(Input.Changed, "#link-name")
    def _name(self, event: Input.Changed) -> None:
        self.state.link_name = event.value.strip()
        self._note()
        self.nav_changed()

    def _note(self) -> None:
        name = self.state.link_name
        if name and not LINK_NAME.match(name):
            text = Text("✗ Use letters, digits, '-' and '_' (starting with a letter or digit).", style="red")
        elif name:
            text = Text(f"Several databases make several links: {name}_<database>.", style="dim")
        else:
            text = Text("Each link will be named DAG_<database>.", style="dim")
        self.query_one("#link-name-note", Static).update(text)

    @on(Checkbox.Changed, "#troubleshooting")
    def _troubleshooting(self, event: Checkbox.Changed) -> None:
        self.state.troubleshooting = event.value
        self.nav_changed()

    @on(Checkbox.Changed, "#two-way")
    def _two_way(self, event: Checkbox.Changed) -> None:
        if not event.checkbox.disabled:
            self.state.two_way = event.value

    def blocker(self) -> str | None:
        if self.state.link_name and not LINK_NAME.match(self.state.link_name):
            return "Fix the link name."
        return None
