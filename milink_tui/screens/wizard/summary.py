"""Summary: a tree of everything that will be created on each side, and the scripts (F9)."""

from __future__ import annotations

from milink_tui.engine.plan import count_of

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Static, Tree

from milink_tui.engine.plan import LinkPlan, PlanError
from milink_tui.engine.steps import build_steps

from .base import WizardPage

HELP = """\
# Summary

Everything **Finish** will do, grouped by side, in order. Each step first checks whether its
object already exists (then it is left alone and never rolled back), and every step is journaled
so an interrupted run can be resumed or rolled back.

**Script** (F9) shows the same plan as T-SQL (sqlcmd mode), Azure PowerShell, az CLI and a
Markdown runbook, and saves them to files you name. Scripts never contain a secret: the master
key password is the sqlcmd variable `$(MasterKeyPassword)`.
"""


def plan_tree(tree: Tree, plan: LinkPlan) -> None:
    """Fill ``tree`` with the plan: SQL Server steps, managed instance steps, then the links."""
    tree.clear()
    tree.root.set_label(Text(f"{count_of(len(plan.links), 'link')}: SQL Server {plan.sql_server_name} "
                             f"{'←' if plan.direction == 'mi-first' else '→'} {plan.mi.name}", style="bold"))
    steps = build_steps(plan)
    sql_role = "secondary" if plan.direction == "mi-first" else "initial primary"
    mi_role = "initial primary" if plan.direction == "mi-first" else "secondary"
    sql = tree.root.add(f"SQL Server {plan.sql_server_name} ({sql_role}) — endpoint {plan.sql_endpoint_url}",
                        expand=True)
    mi = tree.root.add(f"Managed instance {plan.mi.name} ({mi_role}) — {plan.mi.fqdn}", expand=True)
    for step in steps:
        (sql if step.side == "sql" else mi).add_leaf(step.title)
    links = tree.root.add("Links", expand=True)
    for spec in plan.links:
        links.add_leaf(f"{spec.link_name}: {spec.database} · {spec.sql_ag} ⇄ {spec.mi_ag} · "
                       f"{plan.replication_mode} · failover {plan.failover_mode}")
    tree.root.expand()


class SummaryPage(WizardPage):
    KEY = "summary"
    TITLE = "Summary"
    HELP = HELP
    NEXT_LABEL = "Finish"

    def compose(self) -> ComposeResult:
        yield Static("", id="sum-intro")
        yield Tree("Plan", id="sum-tree")
        with Horizontal(classes="page-buttons"):
            yield Button("Script…", id="sum-script", compact=True)

    def enter(self) -> None:
        try:
            plan = self.state.plan()
        except PlanError as e:
            self.state.plan_error = str(e)
            self.query_one("#sum-intro", Static).update(Text(f"✗ {e}", style="red"))
            return
        self.state.plan_error = ""
        self.query_one("#sum-intro", Static).update(
            "Review, then Finish (F8) to create. Script (F9) exports the same plan.")
        plan_tree(self.query_one("#sum-tree", Tree), plan)

    @on(Button.Pressed, "#sum-script")
    def script(self) -> None:
        from milink_tui.screens.script_viewer import ScriptViewer

        try:
            plan = self.state.plan()
        except PlanError as e:
            self.notify(str(e), severity="error")
            return
        self.app.push_screen(ScriptViewer(plan))

    def blocker(self) -> str | None:
        return self.state.plan_error or None
