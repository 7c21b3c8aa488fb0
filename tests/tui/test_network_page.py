"""The wizard's Network Checker page against the lab, driven with Pilot at 80×24: Run test (F5)
runs the Agent-job tests in a worker — both directions when the Azure sign-in can log in to the
managed instance with T-SQL, else the SQL Server side with the typed node:port and the reason —
shows per-port rows (glyph + word) with evidence and remediation in the detail pane, and never
blocks Next."""

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


def row_statuses(table) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(table.get_row(k)[0]) for k in ("net_agent", "net_5022", "net_redirect", "net_inbound")]


def detail_text(page) -> str:  # type: ignore[no-untyped-def]
    console = Console(width=76, record=True, file=io.StringIO())
    console.print(page.query_one("#net-detail", Static).content)
    return console.export_text()


async def run_and_wait(pilot, page, w, what: str) -> None:  # type: ignore[no-untyped-def]
    w.state.network_report = None
    # a long detail pane can scroll the button off an 80x24 page: bring it back, as a user would
    page.query_one("#net-run", Button).scroll_visible(animate=False, immediate=True)
    await pilot.pause()
    await pilot.click("#net-run")
    await d.until(pilot, lambda: "network" in page.busy or w.state.network_report is not None, 5, "the worker")
    await d.until(pilot, lambda: w.state.network_report is not None and "network" not in page.busy, 40, what)


async def test_both_directions_run_with_the_managed_instance_login_and_fall_back_when_it_fails() -> None:
    lab = LabProcess("ready-windows", speed=LAB_SPEED)
    lab.start()
    try:
        mi = control(lab.info.control_url, "/state")["managed_instances"]["sqlmi-lab-gp"]
        app = MilinkApp(lab_info=lab.info, session=Session(persist=False))
        async with app.run_test(size=SIZE) as pilot:
            w = await d.to_network_page(pilot)
            page = w.current_page
            status = page.query_one("#net-status", Static)
            table = page.query_one("#net-table")
            assert "Not tested yet" in str(status.render())
            assert not w.query_one("#wiz-next", Button).disabled  # never blocks Next, even untested
            assert w.state.sql_endpoint_host == lab.info.sql["address"]  # the lab SQL Server's simulated address

            # signed in to Azure with the lab's service principal (an MI admin): both directions, nothing typed
            await pilot.press("f5")
            await d.until(pilot, lambda: "network" in page.busy, 5, "the test worker")
            assert page.query_one("#net-run", Button).disabled
            await d.until(pilot, lambda: w.state.network_report is not None and "network" not in page.busy, 40,
                          "the network test")
            assert row_statuses(table) == ["✓ PASS", "✓ PASS", "✓ PASS", "✓ PASS"]
            rows = {r.id: r for r in w.state.network_report.results}
            assert f"{mi['node_name']}:{mi['hadr_port']}" in rows["net_redirect"].evidence  # read from the MI
            assert "Both directions" in str(status.render()) and "jobs deleted" in str(status.render())

            # SQL Server's inbound firewall drops 5022: only the managed instance -> SQL Server row fails
            control(lab.info.control_url, "/network", {"clear": True, "block": [{"low": 5022, "where": "sql-inbound"}]})
            await run_and_wait(pilot, page, w, "the second run")
            assert row_statuses(table) == ["✓ PASS", "✓ PASS", "✓ PASS", "✗ FAIL"]
            table.focus()
            table.move_cursor(row=[r.id for r in table.results].index("net_inbound"))
            await pilot.pause()
            text = detail_text(page)
            assert "not reachable from the managed instance" in text and "-LocalPort 5022" in text
            control(lab.info.control_url, "/network", {"clear": True})

            # the managed instance refuses the login: SQL Server side only, with the typed node:port, and why
            control(lab.info.control_url, "/fault", {"mi_unavailable": {"sqlmi-lab-gp": True}})
            page.query_one("#net-redirect", Input).value = f"{mi['node_name']}:{mi['hadr_port']}"
            await run_and_wait(pilot, page, w, "the fallback run")
            report = w.state.network_report
            assert report.mi_note and "not currently available" in report.mi_note
            shown = str(status.render())
            assert "Managed instance side not tested" in shown and "not currently available" in shown
            rows = {r.id: r for r in report.results}
            assert f"{mi['node_name']}:{mi['hadr_port']}" in rows["net_redirect"].evidence  # the typed target
            assert str(table.get_row("net_inbound")[0]) == "– SKIP"
            assert not w.query_one("#wiz-next", Button).disabled
            control(lab.info.control_url, "/fault", {"mi_unavailable": {"sqlmi-lab-gp": False}})
            await d.next_page(pilot, "validation")  # a failing test explains, it does not block
        assert control(lab.info.control_url, "/state")["sql_servers"]["SQLLAB01"]["agent_running"]
    finally:
        lab.stop()


async def test_bad_redirect_target_is_refused_before_anything_runs(fresh_lab) -> None:
    app = MilinkApp(lab_info=fresh_lab.info, session=Session(persist=False))
    async with app.run_test(size=SIZE) as pilot:
        w = await d.to_network_page(pilot)
        page = w.current_page
        page.query_one("#net-redirect", Input).value = "node; Remove-Item C:\\:11002"
        await pilot.click("#net-run")
        await pilot.pause()
        assert "Redirect target" in str(page.query_one("#net-status", Static).render())
        assert "network" not in page.busy and w.state.network_report is None
