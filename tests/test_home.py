"""The home screen as a user sees it today (Pilot)."""

from __future__ import annotations

from textual.widgets import Static

from milink_tui.app import MilinkApp


async def test_home_says_what_is_not_built_yet() -> None:
    app = MilinkApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = str(app.screen.query_one("#not-built", Static).render())
        assert "Not built yet" in text and "wizard" in text
        status = str(app.screen.query_one("#lab-status", Static).render())
        assert "milink --lab" in status


async def test_f1_toggles_help() -> None:
    app = MilinkApp()
    async with app.run_test(size=(80, 24)) as pilot:
        help_widget = app.screen.query_one("#help", Static)
        assert not help_widget.has_class("visible")
        await pilot.press("f1")
        assert help_widget.has_class("visible")
