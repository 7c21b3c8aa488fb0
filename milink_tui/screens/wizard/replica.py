"""Specify Secondary Replica: sign in to Azure, pick the managed instance, and the values SSMS
shows on its *Endpoints*, *Backups* and *Link endpoint* tabs — editable.

With the managed instance as initial primary, the secondary is SQL Server: the instance was
chosen on *Login to Azure*, and this page only holds the tabs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Select, Static, TabbedContent, TabPane

from milink_tui.engine.plan import PlanError

from .base import WizardPage
from .widgets import AzurePickPage, AzureSignIn, MiPicker

if TYPE_CHECKING:
    from milink_tui.clients.azure import ManagedInstanceInfo

HELP = """\
# Specify Secondary Replica

**Sign in to Azure** here: *Device code* shows a URL and a code on this screen (open it in any
browser — it works over SSH); *Azure CLI login* reuses `az login`; a *service principal* uses a
tenant, client id and secret (kept in memory only).

Then pick **subscription → resource group → managed instance**. Each picker has a filter box:
type part of a name (any case) to narrow its list, ↑/↓ to move, Enter to pick; Tab goes to the
next picker. Picking a subscription loads its resource groups, picking a group its managed
instances. Instances that cannot be used are listed disabled with the reason. Back and Next keep
the picks.

Tabs:
* **Endpoints** — SQL Server's database mirroring endpoint: name, port (5022 by default) and the
  address the managed instance uses to reach SQL Server (an IP or DNS name reachable from the
  instance's virtual network; for an existing multi-node AG, the listener IP).
* **Backups** — where the full backup that starts the log chain goes, when a database needs one
  (`NUL` / `/dev/null` discards it).
* **Link endpoint** — the managed instance side: its FQDN and listener URL, the availability
  group names on both sides, and the replication mode (asynchronous is recommended).
"""


def sql_first_reason(mi: ManagedInstanceInfo) -> str | None:
    return None if mi.state == "Ready" else f"state {mi.state}"


class EndpointTabs(Vertical):
    """The three SSMS tabs, bound to the wizard state."""

    def __init__(self, page: WizardPage) -> None:
        super().__init__(id="replica-tabs-box")
        self.page = page

    def compose(self) -> ComposeResult:
        s = self.page.state
        with TabbedContent(id="replica-tabs"):
            with TabPane("Endpoints", id="tab-endpoints"):
                with Horizontal(classes="row"):
                    yield Label("Endpoint name  ", classes="field-label")
                    yield Input(s.endpoint_name, id="ep-name", compact=True)
                with Horizontal(classes="row"):
                    yield Label("Port           ", classes="field-label")
                    yield Input(str(s.endpoint_port), id="ep-port", type="integer", compact=True)
                with Horizontal(classes="row"):
                    yield Label("SQL Server addr", classes="field-label")
                    yield Input(s.sql_endpoint_host, placeholder="IP or DNS name reachable from the instance",
                                id="ep-host", compact=True)
                yield Static("", id="ep-url")
            with TabPane("Backups", id="tab-backups"):
                with Horizontal(classes="row"):
                    yield Label("Backup to      ", classes="field-label")
                    yield Input(s.backup_path, id="bk-path", compact=True)
                yield Static("", id="bk-note")
            with TabPane("Link endpoint", id="tab-link"):
                yield Static("", id="le-mi")
                with Horizontal(classes="row"):
                    yield Label("Replication    ", classes="field-label")
                    yield Select([("Asynchronous (recommended)", "Async"), ("Synchronous", "Sync")],
                                 value=s.replication_mode, allow_blank=False, id="le-mode", compact=True)
                yield Static("", id="le-ags")

    def refresh_values(self) -> None:
        s = self.page.state
        if s.mi_first:
            self.query_one("#bk-note", Static).update(
                "No backup on SQL Server: the managed instance is the primary and seeds SQL Server.")
            self.query_one("#bk-path", Input).disabled = True
        else:
            self.query_one("#bk-note", Static).update(Text(
                "Only a database whose log chain has not started gets a full backup (WITH CHECKSUM, COMPRESSION). "
                "NUL (or /dev/null on Linux) discards the file; give a path to keep it.", style="dim"))
        self.query_one("#ep-url", Static).update(Text(
            f"Endpoint URL: TCP://{s.sql_endpoint_host or '<address>'}:{s.endpoint_port}", style="dim"))
        if s.mi is not None:
            lines = [f"Managed instance: {s.mi.name}  FQDN {s.mi.fqdn}",
                     f"Listener URL: tcp://{s.mi.fqdn}:5022;Server=[{s.mi.name}]"
                     + (";Database=[<db>]" if s.mi_first else "")]
        else:
            lines = ["Managed instance: not chosen yet"]
        self.query_one("#le-mi", Static).update(Text("\n".join(lines)))
        try:
            specs = s.specs() if s.selected else []
        except PlanError:
            specs = []
        ags = "\n".join(f"{sp.link_name}: SQL Server AG {sp.sql_ag} ⇄ managed instance AG {sp.mi_ag}"
                        for sp in specs)
        self.query_one("#le-ags", Static).update(Text(ags or "Availability groups: AG_<db> and AG_<db>_MI."))

    @on(Input.Changed, "#ep-name")
    def _name(self, e: Input.Changed) -> None:
        self.page.state.endpoint_name = e.value

    @on(Input.Changed, "#ep-port")
    def _port(self, e: Input.Changed) -> None:
        try:
            self.page.state.endpoint_port = int(e.value)
        except ValueError:
            self.page.state.endpoint_port = 0
        self.refresh_values()
        self.page.nav_changed()

    @on(Input.Changed, "#ep-host")
    def _host(self, e: Input.Changed) -> None:
        self.page.state.sql_endpoint_host = e.value.strip()
        self.refresh_values()
        self.page.nav_changed()

    @on(Input.Changed, "#bk-path")
    def _backup(self, e: Input.Changed) -> None:
        self.page.state.backup_path = e.value

    @on(Select.Changed, "#le-mode")
    def _mode(self, e: Select.Changed) -> None:
        if e.value is not Select.NULL:
            self.page.state.replication_mode = str(e.value)


def prefill_endpoint(page: WizardPage) -> None:
    """SSMS's defaults: the existing endpoint's name and port, the host SQL Server was reached at."""
    s = page.state
    if s.server is not None and s.server.endpoints and s.endpoint_name == "database_mirroring_endpoint":
        s.endpoint_name = s.server.endpoints[0].name
        s.endpoint_port = s.server.endpoints[0].port or 5022
    if not s.sql_endpoint_host:
        s.sql_endpoint_host = page.backend.default_endpoint_host()
    if s.backup_path == "NUL" and s.server is not None and s.server.platform == "Linux":
        s.backup_path = "/dev/null"


class ReplicaPage(AzurePickPage):
    KEY = "replica"
    TITLE = "Specify Secondary Replica"
    HELP = HELP

    def compose(self) -> ComposeResult:
        prefill_endpoint(self)
        if self.state.mi_first:
            yield Static("", id="replica-heading")
        else:
            yield AzureSignIn(self.backend, id="replica-sign-in")
            yield MiPicker(self.backend, self.state, sql_first_reason, id="replica-picker")
        yield EndpointTabs(self)

    def enter(self) -> None:
        if self.state.mi_first:
            s = self.state
            self.query_one("#replica-heading", Static).update(Text.assemble(
                ("Secondary replica: ", "bold"), f"SQL Server {s.server.server_name if s.server else ''} — it "
                f"receives {', '.join(s.selected) or 'the databases'} from {s.mi.name if s.mi else 'the instance'}."))
        elif self.backend.identity() is not None and not self.state.subscriptions:
            self.query_one(MiPicker).load()
        self.query_one(EndpointTabs).refresh_values()

    @on(MiPicker.Chosen)
    def _chosen(self, event: MiPicker.Chosen) -> None:
        self.state.mi_facts = None
        self.state.validation = []
        self.query_one(EndpointTabs).refresh_values()
        self.nav_changed()

    def blocker(self) -> str | None:
        s = self.state
        if not s.mi_first and self.backend.identity() is None:
            return "Sign in to Azure."
        if s.mi is None:
            return "Choose a managed instance."
        if not s.sql_endpoint_host:
            return "Enter the SQL Server address the managed instance reaches (Endpoints tab)."
        if not 1 <= s.endpoint_port <= 65535:
            return "The endpoint port must be between 1 and 65535."
        return None
