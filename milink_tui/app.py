"""The Textual application: screens render state; work happens in workers and services."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

from milink_tui.screens.home import HomeScreen


class MilinkApp(App[None]):
    """milink. With ``lab_scenario`` it launches the lab as a child process and stops it on exit."""

    TITLE = "milink"
    SUB_TITLE = "Managed Instance link"
    CSS_PATH = "screens/home.tcss"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("f1", "help", "Help"),
    ]

    def __init__(self, lab_scenario: str | None = None) -> None:
        super().__init__()
        self.lab_scenario = lab_scenario
        self.lab = None

    def on_mount(self) -> None:
        self.push_screen(HomeScreen(lab_scenario=self.lab_scenario))

    def action_help(self) -> None:
        self.screen.action_help() if hasattr(self.screen, "action_help") else None

    def on_unmount(self) -> None:
        if self.lab is not None:
            self.lab.stop()
