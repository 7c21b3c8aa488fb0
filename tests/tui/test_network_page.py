"""The wizard's Network Checker page against the lab, driven with Pilot at 80×24: Run test (F5)
runs the Agent-job test in a worker, shows progress then per-port rows (glyph + word) with the
evidence and remediation in the detail pane, and never blocks Next."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import Button, Input, Static

from milink_tui.app import MilinkApp
from milink_tui.services.lab_process import LabProcess, control
from milink_tui.services.session import Session

from . import driver as d
from .conftest import LAB_SPEED

SIZE = (80, 24)


async def to_network_page(pilot) -> object:  # type: ignore[no-untyped-def]
    await d.home_ready(pilot)
    await pilot.press("n")
    await d.until(pilot, lambda: type(pilot.app.screen).__name__ == "WizardScreen", 5, "wizard")
    w = d.wizard(pilot)
    await d.until(pilot, lambda: w.state.server is not None, 20, "server facts")
    await d.next_page(pilot, "options")
    await pilot.click("#troubleshooting")
    assert w.state.troubleshooting
    await d.next_page(pilot, "requirements")
    await d.fix_requirements(pilot)
    await d.next_page(pilot, "databases")
    await d.choose_databases(pilot, ["SalesDb"])
    await d.next_page(pilot, "replica")
    await d.pick_instance(pilot, "sqlmi-lab-gp")
    return await d.next_page(pilot, "network")


async def test_run_test_shows_pass_then_a_blocked_redirect_range_fails() -> None:
    lab = LabProcess("ready-windows", speed=LAB_SPEED)
    lab.start()
    try:
        mi = control(lab.info.control_url, "/state")["managed_instances"]["sqlmi-lab-gp"]
        app = MilinkApp(lab_info=lab.info, session=Session(persist=False))
        async with app.run_test(size=SIZE) as pilot:
            w = await to_network_page(pilot)
            page = w.current_page
            status = page.query_one("#net-status", Static)
            assert "Not tested yet" in str(status.render())
            assert not w.query_one("#wiz-next", Button).disabled  # never blocks Next, even untested
            page.query_one("#net-redirect", Input).value = f"{mi['node_name']}:{mi['hadr_port']}"
            await pilot.press("f5")
            await d.until(pilot, lambda: "network" in page.busy, 5, "the test worker")
            assert page.query_one("#net-run", Button).disabled
            await d.until(pilot, lambda: w.state.network_report is not None and "network" not in page.busy, 30,
                          "the network test")
            table = page.query_one("#net-table")
            assert [str(table.get_row(k)[0]) for k in ("net_agent", "net_5022", "net_redirect", "net_inbound")] == [
                "✓ PASS", "✓ PASS", "✓ PASS", "– SKIP"]
            assert "job deleted" in str(status.render())
            assert not w.query_one("#wiz-next", Button).disabled

            control(lab.info.control_url, "/network", {"block": [{"low": 11000, "high": 11999}]})
            await pilot.click("#net-run")
            await d.until(pilot, lambda: "network" not in page.busy and w.state.network_report is not None
                          and w.state.network_report.status == "fail", 30, "the second run")
            assert str(table.get_row("net_redirect")[0]) == "✗ FAIL"
            table.focus()
            table.move_cursor(row=[r.id for r in table.results].index("net_redirect"))
            await pilot.pause()
            detail = page.query_one("#net-detail", Static)
            console = Console(width=76, record=True, file=io.StringIO())
            console.print(detail.content)
            text = console.export_text()
            assert "TcpTestSucceeded False" in text and "11000-11999" in text
            assert not w.query_one("#wiz-next", Button).disabled
            await d.next_page(pilot, "validation")  # a failing test explains, it does not block
        assert control(lab.info.control_url, "/state")["sql_servers"]["SQLLAB01"]["agent_running"]
    finally:
        lab.stop()


async def test_bad_redirect_target_is_refused_before_anything_runs(fresh_lab) -> None:
    app = MilinkApp(lab_info=fresh_lab.info, session=Session(persist=False))
    async with app.run_test(size=SIZE) as pilot:
        w = await to_network_page(pilot)
        page = w.current_page
        page.query_one("#net-redirect", Input).value = "node; Remove-Item C:\\:11002"
        await pilot.click("#net-run")
        await pilot.pause()
        assert "Redirect target" in str(page.query_one("#net-status", Static).render())
        assert "network" not in page.busy and w.state.network_report is None
