"""Results: what was done, each link's state, and what to do next (first log backup once seeding
completes; the dashboard)."""

from __future__ import annotations

from milink_tui.engine.plan import count_of

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Static

from milink_tui.engine.steps import is_synchronizing  # the executor's own definition of "in sync"

from .base import WizardPage

HELP = """\
# Results

What the run did, and the state of each link as the managed instance reports it:
◌ SEEDING nn% while the initial copy runs, ✓ SYNCHRONIZED once seeding finished and the link is
CONNECTED and HEALTHY. F5 refreshes.

Next steps:
1. **Take the first log backup** on SQL Server once seeding completes (log backups *during*
   seeding can break it unless trace flag 12381 is on) — then keep your normal log backups.
2. **Open the dashboard** to watch lag, queues and certificates.
3. Keep the exported scripts with your change record.
"""


def link_word(link: dict | None) -> tuple[str, str]:
    """A link's state as glyph + word (and a style hint)."""
    if not link:
        return "✗ MISSING", "bold red"
    if is_synchronizing(link):
        return "✓ SYNCHRONIZED", "bold green"
    dbs = link.get("databases") or [{}]
    d = dbs[0]
    state = d.get("replicaState") or "?"
    if state in ("Seeding", "CreatingLink"):
        return f"◌ SEEDING {d.get('seedingProgress') or ''}".strip(), "bold"
    return f"▲ {state.upper()}", "bold dark_orange"


class ResultsPage(WizardPage):
    KEY = "results"
    TITLE = "Results"
    HELP = HELP
    NEXT_LABEL = "Close"
    CAN_GO_BACK = False

    def compose(self) -> ComposeResult:
        yield Static("", id="res-summary")
        yield DataTable(id="res-links", cursor_type="row")
        yield Static("", id="res-next")
        with Horizontal(classes="page-buttons"):
            yield Button("Open the dashboard", id="res-dashboard", compact=True, variant="primary")
            yield Button("Refresh", id="res-refresh", compact=True)

    def on_mount(self) -> None:
        t = self.query_one("#res-links", DataTable)
        t.add_column("Link", width=18, key="link")
        t.add_column("Database", width=12, key="db")
        t.add_column("State", width=16, key="state")
        t.add_column("Health", key="health")

    def enter(self) -> None:
        plan = self.state.run_plan
        counts = self.state.step_counts
        done, present = counts.get("done", 0), counts.get("skipped", 0)
        if plan is not None:
            head = (f"✓ {count_of(len(plan.links), 'link')} between SQL Server {plan.sql_server_name} and "
                    f"{plan.mi.name}. {count_of(done, 'step')} done, {present} already in place.")
            self.query_one("#res-summary", Static).update(Text(head))
            first = plan.links[0].database if plan.links else "<db>"
            where = "SQL Server" if plan.direction == "sql-first" else plan.mi.name
            self.query_one("#res-next", Static).update(Text.assemble(
                ("Next:\n", "bold"),
                f"1. Once seeding completes, take the first log backup on {where}, e.g. "
                f"BACKUP LOG [{first}] TO DISK = N'…' WITH CHECKSUM — then keep your log backup schedule.\n"
                "2. Open the dashboard to watch lag, queues and certificates.\n"
                "3. Keep the exported scripts (Summary → Script) with your change record."))
        self.rerun()

    def rerun(self) -> None:
        plan = self.state.run_plan
        if plan is None:
            return

        async def work():  # type: ignore[no-untyped-def]
            return {s.link_name: await self.backend.link_state(plan.mi, s.link_name) for s in plan.links}
        self.call("links", work, self._loaded)

    def _loaded(self, states) -> None:  # type: ignore[no-untyped-def]
        self.state.link_states = dict(states)
        plan = self.state.run_plan
        t = self.query_one("#res-links", DataTable)
        t.clear()
        for spec in plan.links if plan else []:
            link = states.get(spec.link_name)
            word, style = link_word(link)
            d = ((link or {}).get("databases") or [{}])[0]
            health = f"{d.get('connectedState', '?')} · {d.get('synchronizationHealth', '?')}" if link else ""
            t.add_row(Text(spec.link_name), Text(spec.database), Text(word, style=style), Text(health),
                      key=spec.link_name)

    @on(Button.Pressed, "#res-refresh")
    def _refresh(self) -> None:
        self.rerun()

    @on(Button.Pressed, "#res-dashboard")
    def _dashboard(self) -> None:
        self.app.action_dashboard()  # type: ignore[attr-defined]
