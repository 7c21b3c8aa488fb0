"""Home: where the user lands. Today it shows the lab's endpoints and says plainly what is
not built yet; the link wizard and the dashboard arrive in their own issues."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

WELCOME = (
    "[b]milink[/b] links a SQL Server database to an Azure SQL Managed Instance and keeps the link "
    "healthy, from a terminal."
)
NOT_BUILT = (
    "[b]⚠ Not built yet[/b]\n"
    "• New Managed Instance link wizard (issue 5)\n"
    "• Live link dashboard (issue 6)\n"
    "• Connect to your own SQL Server and Azure subscription (issues 4 and 5)\n"
    "What works today: the lab itself. Connect any SQL Server client to the endpoint above, "
    "or the Azure SDK / az CLI to the ARM endpoint."
)
HELP = (
    "[b]Help[/b]  q quits (and stops the lab). F1 toggles this help. "
    "Start the lab from a shell with `milink lab serve --scenario linked` to use it from other tools."
)


class HomeScreen(Screen[None]):
    """Landing screen; starts the lab (when asked) in a worker so the first paint is instant."""

    def __init__(self, lab_scenario: str | None = None) -> None:
        super().__init__()
        self.lab_scenario = lab_scenario

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(WELCOME, id="welcome")
        status = "◌ Starting the lab…" if self.lab_scenario else (
            "No connection yet. Run [b]milink --lab[/b] to try every screen against the built-in lab."
        )
        yield Static(status, id="lab-status")
        yield Static(NOT_BUILT, id="not-built")
        yield Static(HELP, id="help")
        yield Footer()

    def on_mount(self) -> None:
        if self.lab_scenario:
            self.start_lab()

    @work(thread=True, exclusive=True, group="lab")
    def start_lab(self) -> None:
        from milink_tui.services.lab_process import LabProcess, LabStartError

        lab = LabProcess(self.lab_scenario or "fresh")
        try:
            info = lab.start()
        except LabStartError as e:
            self.app.call_from_thread(self._show_status, f"✗ The lab failed to start: {e}")
            return
        self.app.lab = lab
        sql, arm = info.sql, info.arm
        text = (
            f"[b]✓ Lab running[/b] — scenario [b]{self.lab_scenario}[/b] (ready in {lab.ready_seconds:.1f} s)\n"
            f"SQL Server [b]{sql['server_name']}[/b]  tcp:{sql['host']},{sql['port']}  login {sql['user']}\n"
            f"Azure ARM  {arm['base_url']}  subscription {arm['subscription_id']}\n"
            f"Lab CA     {info.ca_file}"
        )
        self.app.call_from_thread(self._show_status, text)

    def _show_status(self, text: str) -> None:
        self.query_one("#lab-status", Static).update(text)

    def action_help(self) -> None:
        self.query_one("#help", Static).toggle_class("visible")
