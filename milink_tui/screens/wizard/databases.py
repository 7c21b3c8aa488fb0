"""Select Databases: size, recovery model and eligibility; ineligible rows say why and cannot be
chosen. Several databases make several links (suffixed names)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from milink_tui.engine.eligibility import evaluate_all
from milink_tui.engine.plan import PlanError

from .base import WizardPage

HELP = """\
# Select Databases

Space or Enter ticks a database. Only eligible databases can be chosen; the *Status* column
says ✓ Ready, ▲ Ready (see notes) or ✗ Not eligible, and the line under the table says why.

Rules (SQL Server as initial primary): a user database, ONLINE and read-write, FULL recovery
with a full backup that started the log chain (not COPY_ONLY — error 1475), one log file, no
FILESTREAM/FileTable, In-Memory OLTP only towards Business Critical. Notes (TDE, replication,
CDC, an existing AG) do not block but need attention.

With the managed instance as initial primary the list shows the managed instance's databases;
one already linked, or whose name exists on SQL Server, cannot be chosen.

Each database gets its own link: several databases make several links (`<name>_<database>`).
"""


class DatabasesPage(WizardPage):
    KEY = "databases"
    TITLE = "Select Databases"
    HELP = HELP
    BINDINGS = [Binding("space", "toggle", "Tick", show=False)]

    def compose(self) -> ComposeResult:
        yield Static("◌ Reading databases…", id="db-summary")
        yield DataTable(id="db-table", cursor_type="row")
        yield Static("", id="db-why")
        yield Static("", id="db-links")

    def on_mount(self) -> None:
        t = self.query_one("#db-table", DataTable)
        t.add_column("", width=3, key="tick")
        t.add_column("Database", width=14, key="name")
        t.add_column("Size MB", width=8, key="size")
        t.add_column("Recovery", width=8, key="recovery")
        t.add_column("Status", key="status")

    def enter(self) -> None:
        if self.state.mi_first:
            self._redraw()
        elif not self.state.eligibility:
            self.call("dbs", self.backend.read_databases, self._loaded)
        else:
            self._redraw()

    def rerun(self) -> None:
        if not self.state.mi_first:
            self.call("dbs", self.backend.read_databases, self._loaded)

    def _loaded(self, dbs) -> None:  # type: ignore[no-untyped-def]
        self.state.databases = list(dbs)
        self.state.eligibility = sorted(evaluate_all(self.state.databases, None),
                                        key=lambda e: (not e.eligible, e.database.name.lower()))
        ok = set(self.state.eligible_names())
        self.state.selected = [n for n in self.state.selected if n in ok]
        self._redraw()

    def rows(self) -> list[tuple[str, str, str, str, str, list[str], list[str]]]:
        """(name, size, recovery, status word, status kind, reasons, notes) per database."""
        out = []
        if self.state.mi_first:
            for r in self.state.mi_databases:
                out.append((r.name, "—", "—", r.status, "fail" if r.reasons else "pass", r.reasons, []))
        else:
            for e in self.state.eligibility:
                d = e.database
                kind = "fail" if e.reasons else ("warn" if e.warnings else "pass")
                out.append((d.name, f"{d.size_mb:,.0f}", d.recovery_model, e.status, kind, e.reasons, e.warnings))
        return out

    def _redraw(self) -> None:
        from .widgets import STATUS_STYLE

        t = self.query_one("#db-table", DataTable)
        keep = t.cursor_row
        t.clear()
        rows = self.rows()
        for name, size, recovery, status, kind, _reasons, _notes in rows:
            tick = "[x]" if name in self.state.selected else ("[ ]" if kind != "fail" else " - ")
            t.add_row(Text(tick), Text(name), Text(size, justify="right"), Text(recovery),
                      Text(status, style=STATUS_STYLE[kind]), key=name)
        if rows:
            t.move_cursor(row=min(max(keep, 0), len(rows) - 1))
        ready = sum(1 for r in rows if r[4] != "fail")
        where = "on the managed instance" if self.state.mi_first else "on SQL Server"
        self.query_one("#db-summary", Static).update(
            f"{len(rows)} databases {where} · {ready} eligible · {len(self.state.selected)} chosen "
            "(Space to tick)")
        self._why()
        self._links()
        self.nav_changed()

    @on(DataTable.RowHighlighted, "#db-table")
    def _why(self) -> None:
        rows = self.rows()
        t = self.query_one("#db-table", DataTable)
        if not rows or not 0 <= t.cursor_row < len(rows):
            self.query_one("#db-why", Static).update("")
            return
        name, *_rest, reasons, notes = rows[t.cursor_row]
        if reasons:
            text = Text.assemble((f"✗ {name} cannot be linked: ", "bold red"), " ".join(reasons))
        elif notes:
            text = Text.assemble((f"▲ {name}: ", "bold dark_orange"), " ".join(notes))
        else:
            text = Text(f"✓ {name} is ready to link.")
        self.query_one("#db-why", Static).update(text)

    def _links(self) -> None:
        try:
            specs = self.state.specs() if self.state.selected else []
        except PlanError as e:
            self.query_one("#db-links", Static).update(Text(f"✗ {e}", style="red"))
            return
        text = ("Links to create: " + ", ".join(s.link_name for s in specs)) if specs else ""
        self.query_one("#db-links", Static).update(text)

    @on(DataTable.RowSelected, "#db-table")
    def _selected(self) -> None:
        self.action_toggle()

    def action_toggle(self) -> None:
        rows = self.rows()
        t = self.query_one("#db-table", DataTable)
        if not rows or not 0 <= t.cursor_row < len(rows):
            return
        name, *_rest, reasons, _notes = rows[t.cursor_row]
        if reasons:
            self.notify(f"{name} cannot be linked: {reasons[0]}", severity="warning")
            return
        if name in self.state.selected:
            self.state.selected.remove(name)
        else:
            self.state.selected.append(name)
        self._redraw()

    def blocker(self) -> str | None:
        if not self.state.selected:
            return "Choose at least one database."
        return None
