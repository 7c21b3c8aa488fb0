"""The home screen as a user meets it (Pilot, no network)."""

from __future__ import annotations

from milink_tui.app import MilinkApp
from milink_tui.services.session import SavedConnection, Session


async def test_first_run_offers_connect_or_the_lab(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MILINK_STATE_DIR", str(tmp_path))
    app = MilinkApp(session=Session(persist=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.query_one("#first-run").display
        labels = {str(b.label) for b in app.screen.query("#first-run Button")}
        assert labels == {"Connect to SQL Server", "Open the lab"}


async def test_saved_connections_azure_and_links_are_listed(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MILINK_STATE_DIR", str(tmp_path))
    session = Session(persist=False)
    session.connections = [SavedConnection("sql01", 1433, user="dba", name="SQL01")]
    app = MilinkApp(session=session)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        home = app.screen
        assert not home.query_one("#first-run").display
        assert "SQL01" in str(home.query_one("#connections").get_option_at_index(0).prompt)
        assert "Not signed in" in str(home.query_one("#azure").render())
        assert {str(b.label) for b in home.query("#home-actions Button")} >= {"New link", "Lab"}


async def test_f1_opens_help_for_the_home_screen(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MILINK_STATE_DIR", str(tmp_path))
    app = MilinkApp(session=Session(persist=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        assert "Home" in str(app.screen.query_one(".dialog-title").render())
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "HomeScreen"


async def test_the_lab_start_waits_for_home_to_paint(tmp_path, monkeypatch) -> None:
    """--lab: home is up (body and "Starting the lab…") before the lab process is spawned."""
    monkeypatch.setenv("MILINK_STATE_DIR", str(tmp_path))
    started: list[str] = []
    app = MilinkApp("fresh", session=Session(persist=False))
    monkeypatch.setattr(app, "start_lab", lambda scenario: started.append(scenario))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        home = app.screen
        assert home is app.home
        assert not home.query_one("#first-run").display and home.query_one("#home-body").display
        assert "Starting the lab" in str(home.query_one("#home-status").render())
        assert started == ["fresh"]


async def test_escape_on_the_dashboard_returns_home(tmp_path, monkeypatch) -> None:
    from milink_tui.screens.dashboard import DashboardScreen

    monkeypatch.setenv("MILINK_STATE_DIR", str(tmp_path))
    app = MilinkApp(session=Session(persist=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(DashboardScreen([], interval=60))
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running and type(app.screen).__name__ == "HomeScreen"
