"""F1 help: the guidance for the screen (or wizard page) on top, and every key that works there —
taken from the action registry, so help and bindings cannot disagree."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from milink_tui.actions import for_scopes, key_label


def keys_table(scopes: tuple[str, ...]) -> Table:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False, expand=True)
    table.add_column("Key", no_wrap=True)
    table.add_column("Action", no_wrap=True)
    table.add_column("What it does", ratio=1)
    for a in for_scopes(*scopes):
        table.add_row(key_label(a.keys), a.title, a.help)
    return table


class HelpScreen(ModalScreen[None]):
    """Guidance + keys. Esc, F1 or q closes."""

    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def __init__(self, title: str, markdown: str, scopes: tuple[str, ...]) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text, self.markdown, self.scopes = title, markdown, scopes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help-dialog"):
            yield Label(f"Help — {self.title_text}", classes="dialog-title")
            with VerticalScroll(id="help-body"):
                if self.markdown:
                    from rich.markdown import Markdown  # rich's renderer: one Static, fast to build

                    yield Static(Markdown(self.markdown), id="help-guidance")
                yield Static(Text("Keys", style="bold"))
                yield Static(keys_table(self.scopes), id="help-keys")
                yield Static(Text("Status is always a glyph and a word: ✓ PASS / ▲ WARN / ✗ FAIL / – SKIP. "
                                  "Everything works without a mouse; Tab moves between fields.", style="dim"))
            yield Static(Text("Esc / F1 closes", style="dim"))

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()
