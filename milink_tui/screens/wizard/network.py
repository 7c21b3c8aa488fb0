"""Network Checker (when connectivity troubleshooting is on): runs the documented SQL Agent tests
and shows, per port, what they found — with the firewall rules to open.

The test (``engine/network.py``) is a temporary Agent job: a TCP probe from this jump host would
not test the path that matters. With a T-SQL login to the managed instance (the Azure account's
Entra token, opened by the backend) both directions run and the redirect target is read there;
otherwise the SQL Server side runs with the typed node:port and the page says why. It runs in a
worker, shows its progress, always deletes the jobs, and never blocks Next."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, Input, Static

from milink_tui.engine.checks import DOC_PREP, CheckContext, CheckResult, check_network

from .base import WizardPage, explain_error
from .widgets import CheckTable, detail_renderable

HELP = """\
# Network Checker

The link needs, in both directions:
* **SQL Server → managed instance**: TCP **5022** and **11000–11999** (the instance redirects to
  its node's HADR port in that range) — outbound on every firewall on the SQL Server side.
* **Managed instance → SQL Server**: TCP **5022** — inbound on SQL Server's firewalls, and the
  instance subnet's NSG must allow 5022 and 11000–11999 from SQL Server's IP.

**Run test** (F5) does what SSMS does: it creates the SQL Agent job *TestMILinkConnection* on
SQL Server, whose PowerShell steps run `tnc <host> -port <n>`, waits for it (at most 90 s),
reads *TcpTestSucceeded* and *RemoteAddress*, and deletes the job — always. It needs SQL Server
Agent running and a sysadmin login; SQL Server on Linux cannot run it (Agent has no PowerShell).

When you are signed in to Azure, milink also logs in to the managed instance with T-SQL (your
Microsoft Entra account must be an admin there), reads the node hosting the primary and its HADR
port, tests the redirect range with them, and runs a *NetHelper* job on the managed instance
that probes SQL Server's endpoint (the address and port from the Replica page) — then deletes
it. If that login is not possible the page says why, tests SQL Server → managed instance only,
and you can type *node:port* (from the query shown on the redirect row) to test the range.

A TCP test can pass while the link fails if a firewall blocks the SQL Server UCS protocol or
inspects packets; blocked ICMP only adds ping warnings. Results never block Next.
"""


def _prerequisites(state) -> list[CheckResult]:  # type: ignore[no-untyped-def]
    """Before a run: what the test will need, from the facts already read."""
    s = state.server
    agent = s.agent_running if s else None
    out = [CheckResult(
        "net_agent", "SQL Server Agent runs the test job",
        "pass" if agent else ("skip" if agent is None else "fail"),
        "Agent " + ("running" if agent else "unknown" if agent is None else "stopped"),
        "The connectivity test runs as a temporary SQL Agent job on SQL Server (created, run, deleted).",
        "" if agent else "Start SQL Server Agent; starting it turns on Agent XPs.", tab="network", doc=DOC_PREP)]
    return out


def network_checks(state) -> list[CheckResult]:  # type: ignore[no-untyped-def]
    """The rows the page shows: the last test's results, or what a run will need and test."""
    from milink_tui.engine.network import not_tested_rows

    s = state.server
    mi = state.mi.fqdn if state.mi else "<managed instance FQDN>"
    if s is not None and (state.network_report is not None or s.platform == "Linux"):
        return check_network(CheckContext(server=s, network=state.network_report)) + (
            not_tested_rows(mi, None, "SQL Server on Linux", "warn") if state.network_report is None else [])
    return _prerequisites(state) + not_tested_rows(mi, None, "press Run test (F5)")


class NetworkPage(WizardPage):
    KEY = "network"
    TITLE = "Network Checker"
    HELP = HELP
    DEFAULT_CSS = """
    NetworkPage #net-run-row { height: 1; margin-top: 1; }
    NetworkPage #net-redirect { width: 1fr; margin-right: 1; }
    NetworkPage #net-status { height: auto; margin-top: 1; }
    """

    class Progress(Message):
        """The test's progress, posted from the worker; the page owns the widgets."""

        def __init__(self, fraction: float, text: str) -> None:
            super().__init__()
            self.fraction = fraction
            self.text = text

    def compose(self) -> ComposeResult:
        yield Static("", id="net-options")
        with Horizontal(id="net-run-row", classes="page-buttons"):
            yield Input(placeholder="redirect node:port (only without a managed instance login)",
                        id="net-redirect", compact=True)
            yield Button("Run test", id="net-run", compact=True)
        yield Static("", id="net-status")
        yield CheckTable(id="net-table")
        yield Static("", id="net-detail")

    def enter(self) -> None:
        s = self.state
        self.query_one("#net-options", Static).update(Text.assemble(
            ("Network options: ", "bold"),
            f"endpoint {s.endpoint_name} port {s.endpoint_port} · server "
            f"{s.server.server_name if s.server else '?'} at {s.sql_endpoint_host or '?'} · managed instance "
            f"{s.mi.fqdn if s.mi else '?'}"))
        self.query_one("#net-redirect", Input).value = s.mi_redirect
        self._summary()
        self._redraw()

    def leave(self) -> None:
        self.state.mi_redirect = self.query_one("#net-redirect", Input).value.strip()

    def _redraw(self) -> None:
        self.query_one("#net-table", CheckTable).show(network_checks(self.state))

    def _summary(self) -> None:
        report = self.state.network_report
        status = self.query_one("#net-status", Static)
        if "network" in self.busy:
            return
        if report is None and self.state.server is not None and self.state.server.platform == "Linux":
            status.update("▲ SQL Server on Linux: Agent cannot run the PowerShell test — the rows list what "
                          "to open.")
            return
        if report is None:
            status.update("Not tested yet — Run test (F5) creates, runs and deletes SQL Agent test jobs.")
            return
        counts = {k: sum(1 for r in report.results if r.status == k) for k in ("fail", "warn", "pass", "skip")}
        both = report.mi_note == ""
        deleted = ("jobs deleted" if both else "job deleted") if report.job_deleted else (
            "jobs NOT deleted" if both else "job NOT deleted")
        line = Text.assemble(
            (("✗ " if counts["fail"] else "✓ ") + f"Tested in {report.elapsed:.0f} s", "bold"),
            f" · ✗ {counts['fail']} · ▲ {counts['warn']} · ✓ {counts['pass']} · – {counts['skip']} not tested · "
            f"{deleted}")
        if both:
            line.append("\nBoth directions, with a T-SQL login to the managed instance.", style="dim")
        elif report.mi_note:
            line.append(f"\n▲ Managed instance side not tested: {report.mi_note}. SQL Server side only; type "
                        "node:port above to test the redirect range.", style="yellow")
        status.update(line)

    # ------------------------------------------------------------- the test

    def rerun(self) -> None:
        """F5 / Run test: run the Agent-job tests in a worker (Next stays available)."""
        from milink_tui.engine.network import RedirectTarget

        s = self.state
        if "network" in self.busy:
            return
        if s.mi is None:
            self.query_one("#net-status", Static).update("▲ Choose a managed instance first (previous page).")
            return
        text = self.query_one("#net-redirect", Input).value.strip()
        try:
            redirect = RedirectTarget.parse(text)
        except ValueError as exc:
            self.query_one("#net-status", Static).update(Text(f"✗ Redirect target: {exc}", style="red"))
            return
        s.mi_redirect = text
        fqdn = s.mi.fqdn
        self.query_one("#net-status", Static).update("◌ Starting the network test…")
        self.query_one("#net-run", Button).disabled = True

        sql_host = s.sql_endpoint_host.strip() or self.backend.default_endpoint_host()
        port = int(s.endpoint_port or 5022)

        async def work():  # type: ignore[no-untyped-def]
            return await self.backend.network_test(fqdn, redirect, self._post_progress, sql_host=sql_host, port=port)

        self.call("network", work, self._done, self._failed)

    def _post_progress(self, fraction: float, text: str) -> None:
        self.post_message(self.Progress(fraction, text))

    @on(Progress)
    def _progress(self, event: Progress) -> None:
        if "network" in self.busy:
            self.query_one("#net-status", Static).update(f"◌ {event.fraction:4.0%} {event.text}")

    def _done(self, report) -> None:  # type: ignore[no-untyped-def]
        self.state.network_report = report
        self.query_one("#net-run", Button).disabled = False
        self._summary()
        self._redraw()

    def _failed(self, exc: BaseException) -> None:
        self.query_one("#net-run", Button).disabled = False
        self.query_one("#net-status", Static).update(Text(explain_error(exc), style="red"))

    @on(Button.Pressed, "#net-run")
    def _run_pressed(self) -> None:
        self.rerun()

    @on(Input.Submitted, "#net-redirect")
    def _submitted(self) -> None:
        self.rerun()

    @on(CheckTable.Chosen)
    def _chosen(self, event: CheckTable.Chosen) -> None:
        self.query_one("#net-detail", Static).update(detail_renderable(event.result))
