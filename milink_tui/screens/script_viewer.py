"""The plan as scripts — T-SQL (sqlcmd), Azure PowerShell, az CLI and a runbook — syntax
highlighted, and saved to files the user names. Scripts never contain a secret."""

from __future__ import annotations

from milink_tui.engine.plan import count_of

from pathlib import Path
from typing import TYPE_CHECKING

from rich.syntax import Syntax
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static, TabbedContent, TabPane

from milink_tui.actions import bindings

if TYPE_CHECKING:
    from milink_tui.engine.plan import LinkPlan

TABS = (  # (tab title, script name, pygments lexer, file suffix)
    ("T-SQL", "link.sql", "tsql", ".sql"),
    ("PowerShell", "link.ps1", "powershell", ".ps1"),
    ("az CLI", "link.azcli.sh", "bash", ".azcli.sh"),
    ("Runbook", "RUNBOOK.md", "markdown", ".RUNBOOK.md"),
)

HELP = """\
# Scripts

The same plan the wizard executes, as files you can review, run by hand or keep with your change
record: **T-SQL** (sqlcmd mode, with `IF NOT EXISTS` guards — pass the master key password with
`sqlcmd -v MasterKeyPassword=…`), **PowerShell** (Az.Sql 6+), **az CLI** (2.67+) and a
**Runbook** tying them together in order.

Type a path in *Save as* (a base name: `~/change-1234/milink` writes `milink.sql`, `milink.ps1`,
`milink.azcli.sh`, `milink.RUNBOOK.md`) and press Save (F6 / Ctrl+S).
"""


def save_scripts(scripts: dict[str, str], base: str) -> list[Path]:
    """Write every script next to ``base`` (a path without extension). Returns the files written."""
    root = Path(base).expanduser()
    if root.suffix in (".sql", ".ps1", ".sh", ".md"):
        root = root.with_suffix("")
    root.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for _title, name, _lexer, suffix in TABS:
        path = root.parent / (root.name + suffix)
        path.write_text(scripts[name], encoding="utf-8")
        written.append(path)
    return written


class ScriptViewer(ModalScreen[None]):
    BINDINGS = bindings("script")
    help_scope = "script"

    def __init__(self, plan: LinkPlan, default_base: str | None = None) -> None:
        super().__init__(classes="dialog-screen")
        from milink_tui.engine.scripts import all_scripts

        self.plan = plan
        self.scripts = all_scripts(plan)
        first = plan.links[0].link_name if plan.links else "link"
        self.default_base = default_base or f"./milink-{first}"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog script-dialog"):
            yield Label(f"Scripts — {count_of(len(self.plan.links), 'link')} to {self.plan.mi.name}", classes="dialog-title")
            with TabbedContent(id="script-tabs"):
                for title, name, lexer, _suffix in TABS:
                    with TabPane(title, id=f"script-{lexer}"):
                        with VerticalScroll(classes="script-body"):
                            yield Static(Syntax(self.scripts[name], lexer, line_numbers=True, word_wrap=False,
                                                theme="ansi_dark", background_color="default"))
            with Horizontal(classes="row"):
                yield Label("Save as ", classes="save-label")
                yield Input(self.default_base, id="script-path", compact=True)
                yield Button("Save", id="script-save", compact=True, variant="primary")
                yield Button("Close", id="script-close", compact=True)
            yield Static("", id="script-saved")
        yield Footer()

    @on(Button.Pressed, "#script-save")
    @on(Input.Submitted, "#script-path")
    def action_save_script(self) -> None:
        base = self.query_one("#script-path", Input).value.strip()
        if not base:
            self.query_one("#script-saved", Static).update(Text("✗ Type a file name first.", style="red"))
            return
        try:
            files = save_scripts(self.scripts, base)
        except OSError as e:
            self.query_one("#script-saved", Static).update(
                Text(f"✗ Could not save: {e.strerror or e} ({e.filename or base})", style="red"))
            return
        self.query_one("#script-saved", Static).update(
            Text(f"✓ Saved {len(files)} files: " + ", ".join(str(f) for f in files), style="green"))
        self.notify(f"✓ Saved {len(files)} script files")

    @on(Button.Pressed, "#script-close")
    def action_close(self) -> None:
        self.dismiss(None)

    def help_context(self) -> tuple[str, str]:
        return "Scripts", HELP
