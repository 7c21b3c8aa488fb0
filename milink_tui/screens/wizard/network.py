"""Network Checker (when connectivity troubleshooting is on): what must be open between SQL Server
and the managed instance, the network options the test uses, and the checker's prerequisites.

The real test runs as SQL Agent jobs on both sides (a TCP probe from this jump host would not
test the path that matters), so milink shows the prerequisites and the rules; it never blocks Next."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Static

from milink_tui.engine.checks import DOC_PREP, CheckResult

from .base import WizardPage
from .widgets import CheckTable, detail_renderable

HELP = """\
# Network Checker

The link needs, in both directions:
* **SQL Server → managed instance**: TCP **5022** and **11000–11999** (the instance redirects to
  its node's HADR port in that range) — outbound on every firewall on the SQL Server side.
* **Managed instance → SQL Server**: TCP **5022** — inbound on SQL Server's firewalls, and the
  instance subnet's NSG must allow 5022 and 11000–11999 from SQL Server's IP.

SSMS tests this with temporary SQL Agent jobs on both sides; that needs SQL Server Agent running
and is not possible from SQL Server on Linux (Agent cannot run PowerShell). A probe from this
jump host is *not* equivalent. Firewalls must also allow ICMP and the SQL Server UCS protocol.
"""

FIREWALL = ("New-NetFirewallRule -DisplayName \"Allow TCP port 5022 inbound\" -Direction inbound -Profile Any "
            "-Action Allow -LocalPort 5022 -Protocol TCP\n"
            "New-NetFirewallRule -DisplayName \"Allow TCP port 5022 outbound\" -Direction outbound -Profile Any "
            "-Action Allow -LocalPort 5022 -Protocol TCP")


def network_checks(state) -> list[CheckResult]:  # type: ignore[no-untyped-def]
    """The checker's prerequisites and the port rules, as check rows."""
    s = state.server
    out = []
    agent = s.agent_running if s else None
    out.append(CheckResult(
        "agent", "SQL Server Agent is running (runs the test job)",
        "pass" if agent else ("skip" if agent is None else "warn"),
        "Agent " + ("running" if agent else "unknown" if agent is None else "stopped"),
        "The connectivity test runs as a temporary SQL Agent job on SQL Server.",
        "" if agent else "Start SQL Server Agent (and set Agent XPs = 1).", tab="network", doc=DOC_PREP))
    if s is not None and s.platform == "Linux":
        out.append(CheckResult(
            "linux", "SQL Server on Linux cannot run the PowerShell test job", "warn", s.platform,
            "Agent on Linux has no PowerShell subsystem: test the ports with your network team instead.",
            tab="network", doc=DOC_PREP))
    host = state.sql_endpoint_host or "<SQL Server address>"
    mi = state.mi.fqdn if state.mi else "<managed instance FQDN>"
    out.append(CheckResult(
        "ports_out", "SQL Server → managed instance: TCP 5022 and 11000–11999", "skip",
        f"{host} → {mi}", "Outbound on every firewall on the SQL Server side (network and host OS).",
        FIREWALL, tab="network", doc=DOC_PREP))
    out.append(CheckResult(
        "ports_in", "Managed instance → SQL Server: TCP 5022", "skip", f"{mi} → {host}:{state.endpoint_port}",
        "Inbound on SQL Server's firewalls; the instance subnet's NSG must allow 5022 and 11000–11999 from "
        "SQL Server's IP and 5022 outbound to it.", FIREWALL, tab="network", doc=DOC_PREP))
    return out


class NetworkPage(WizardPage):
    KEY = "network"
    TITLE = "Network Checker"
    HELP = HELP

    def compose(self) -> ComposeResult:
        yield Static("", id="net-options")
        yield CheckTable(id="net-table")
        yield Static("", id="net-detail")

    def enter(self) -> None:
        s = self.state
        self.query_one("#net-options", Static).update(Text.assemble(
            ("Network options: ", "bold"),
            f"endpoint {s.endpoint_name} port {s.endpoint_port} · server "
            f"{s.server.server_name if s.server else '?'} at {s.sql_endpoint_host or '?'} · managed instance "
            f"{s.mi.fqdn if s.mi else '?'}"))
        self.query_one("#net-table", CheckTable).show(network_checks(s))

    @on(CheckTable.Chosen)
    def _chosen(self, event: CheckTable.Chosen) -> None:
        self.query_one("#net-detail", Static).update(detail_renderable(event.result))
