"""Drive the app like a user, through the lab: shared by the Pilot end-to-end tests and by
``tools/gallery.py`` (which saves a screenshot at every page)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, OptionList, Select

Shot = Callable[[str], Awaitable[None] | None]


async def until(pilot: Pilot, predicate: Callable[[], Any], timeout: float = 30.0, what: str = "") -> None:
    """Wait (yielding to the app) until ``predicate()`` is true; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def wizard(pilot: Pilot) -> Any:
    from milink_tui.screens.wizard import WizardScreen

    screen = pilot.app.screen
    assert isinstance(screen, WizardScreen), f"expected the wizard, got {type(screen).__name__}"
    return screen


async def next_page(pilot: Pilot, expect: str, timeout: float = 30.0) -> Any:
    w = wizard(pilot)
    await until(pilot, lambda: not w.query_one("#wiz-next", Button).disabled, timeout,
                f"Next enabled on {w.current}: {w.current_page.blocker() if w.current_page else ''}")
    await pilot.press("f8")
    await until(pilot, lambda: w.current == expect, 10, f"page {expect}")
    await pilot.pause()
    return w


async def click(pilot: Pilot, selector: str) -> None:
    widget = pilot.app.screen.query_one(selector)
    widget.focus()
    await pilot.pause()
    if isinstance(widget, Button):
        widget.press()
    await pilot.pause()


async def home_ready(pilot: Pilot) -> None:
    app = pilot.app
    await until(pilot, lambda: app.session.sql is not None and app.session.identity is not None, 30,
                "the lab connection and Azure sign-in")
    await pilot.pause(0.2)


async def fix_requirements(pilot: Pilot, shot: Shot | None = None) -> None:
    """Requirements page: restart the lab with Always On, apply every safe fix (master key, trace flags)."""
    w = wizard(pilot)
    page = w.current_page
    await until(pilot, lambda: bool(w.state.checks) and "checks" not in page.busy, 30, "requirements")
    if shot:
        await _shot(shot, "requirements")
    hadr = next((r for r in w.state.checks if r.id == "hadr"), None)
    if hadr is not None and hadr.status == "fail":
        table = page.query_one("#req-server", DataTable)
        table.focus()
        table.move_cursor(row=[r.id for r in table.results].index("hadr"))
        await pilot.pause()
        await click(pilot, "#req-lab-hadr")
        await until(pilot, lambda: type(pilot.app.screen).__name__ == "ConfirmDialog", 5, "confirm dialog")
        await click(pilot, "#confirm-yes")
        await until(pilot, lambda: any(r.id == "hadr" and r.status == "pass" for r in w.state.checks)
                    and "checks" not in page.busy and "hadr" not in page.busy, 30, "Always On enabled")
    for fix_id in ("master_key", "tf1800", "tf9567", "tf12381"):
        r = next((x for x in w.state.checks if x.id == fix_id), None)
        if r is None or r.status == "pass":
            continue
        table_id = "#req-ag" if r.tab == "ag" else "#req-server"
        page.query_one("#req-tabs").active = "tab-ag" if r.tab == "ag" else "tab-server"
        await pilot.pause()
        table = page.query_one(table_id, DataTable)
        table.focus()
        table.move_cursor(row=[x.id for x in table.results].index(fix_id))
        await pilot.pause()
        await pilot.press("f4")
        if fix_id == "master_key":
            await until(pilot, lambda: type(pilot.app.screen).__name__ == "PasswordDialog", 5, "password dialog")
            if shot:
                await _shot(shot, "master-key-password")
            dialog = pilot.app.screen
            await pilot.click("#pw1")
            await pilot.press(*"Lab-MasterKey-1!")  # typed, masked
            dialog.query_one("#pw2", Input).value = "Lab-MasterKey-1!"
            await click(pilot, "#pw-ok")
        else:
            await until(pilot, lambda: type(pilot.app.screen).__name__ == "ConfirmDialog", 5, "confirm dialog")
            await click(pilot, "#confirm-yes")
        await until(pilot, lambda fid=fix_id: any(x.id == fid and x.status == "pass" for x in w.state.checks)
                    and "checks" not in page.busy, 20, f"fix {fix_id}")
    page.query_one("#req-tabs").active = "tab-server"
    await pilot.pause()


async def _shot(shot: Shot, name: str) -> None:
    result = shot(name)
    if result is not None:
        await result


async def choose_databases(pilot: Pilot, names: list[str]) -> None:
    w = wizard(pilot)
    page = w.current_page
    await until(pilot, lambda: bool(page.rows()), 20, "databases")
    table = page.query_one("#db-table", DataTable)
    table.focus()
    for name in names:
        idx = [r[0] for r in page.rows()].index(name)
        table.move_cursor(row=idx)
        await pilot.pause()
        await pilot.press("space")
        await pilot.pause()
    assert sorted(w.state.selected) == sorted(names), w.state.selected


async def filter_pick(pilot: Pilot, picker_id: str, typed: str, key: str, timeout: float = 20.0) -> None:
    """Pick ``key`` in a :class:`FilterPicker` as a user does: focus its box, type part of the name,
    ↓ until the row is highlighted, Enter."""
    from milink_tui.screens.wizard.widgets import FilterPicker

    picker = pilot.app.screen.query_one(f"#{picker_id}", FilterPicker)
    await until(pilot, lambda: any(i.key == key for i in picker.items), timeout, f"{key} listed in #{picker_id}")
    picker.query_one(Input).focus()
    await pilot.pause()
    await pilot.press(*typed)
    await until(pilot, lambda: picker.filter_text == typed and any(i.key == key for i in picker.shown), 5,
                f"{key} among the rows matching {typed!r}")
    ol = picker.query_one(OptionList)
    for _ in range(len(picker.shown)):
        if ol.highlighted is not None and picker.shown[ol.highlighted].key == key:
            break
        await pilot.press("down")
    await pilot.press("enter")
    await until(pilot, lambda: picker.picked == key, 10, f"{key} picked in #{picker_id}")


async def pick_instance(pilot: Pilot, name: str, sign_in: bool = True, subscription: str = "Contoso Lab",
                        resource_group: str = "rg-milink-lab") -> None:
    """Sign in (service principal, prefilled from the lab), then subscription → resource group →
    managed instance, each by typing part of its name in the picker's filter box and Enter."""
    w = wizard(pilot)
    if sign_in:
        method = w.current_page.query_one("#az-method", Select)
        method.value = "sp-secret"
        await pilot.pause()
        await click(pilot, "#az-signin")
        await until(pilot, lambda: w.state.identity is not None, 30, "Azure sign-in")
    await until(pilot, lambda: bool(w.state.subscriptions), 20, "subscriptions")
    sub = next(x for x in w.state.subscriptions if x.display_name == subscription)
    await filter_pick(pilot, "mi-sub", subscription.split()[-1].lower(), sub.subscription_id)
    await filter_pick(pilot, "mi-rg", resource_group[-6:].upper(), resource_group)
    await filter_pick(pilot, "mi", name[-2:], name)
    await until(pilot, lambda: w.state.mi is not None and w.state.mi.name == name, 10, "instance chosen")


async def execute(pilot: Pilot, timeout: float = 90.0) -> Any:
    w = wizard(pilot)
    await until(pilot, lambda: w.state.run_outcome in ("done", "failed", "cancelled"), timeout, "the run")
    return w


async def create_link_sql_first(pilot: Pilot, databases: list[str], link_name: str = "",
                                shot: Shot | None = None, stop_at: str | None = None,
                                instance: str = "sqlmi-lab-gp", two_way: bool = True,
                                troubleshooting: bool = False) -> Any:
    """Home → wizard → … → Results, SQL Server as initial primary (fresh lab)."""
    await home_ready(pilot)
    if shot:
        await _shot(shot, "home")
    await pilot.press("n")
    await until(pilot, lambda: type(pilot.app.screen).__name__ == "WizardScreen", 5, "wizard")
    w = wizard(pilot)
    await until(pilot, lambda: w.state.server is not None, 20, "server facts")
    await pilot.pause(0.1)
    if shot:
        await _shot(shot, "intro")
    await next_page(pilot, "options")
    if link_name:
        inp = w.query_one("#link-name", Input)
        inp.focus()
        await pilot.press(*link_name)
    if not two_way:
        await pilot.click("#two-way")
        assert not w.state.two_way
    if troubleshooting:
        await pilot.click("#troubleshooting")
        assert w.state.troubleshooting
    if shot:
        await _shot(shot, "options")
    await next_page(pilot, "requirements")
    await fix_requirements(pilot, shot)
    if shot:
        await _shot(shot, "requirements-ready")
    await next_page(pilot, "databases")
    await choose_databases(pilot, databases)
    if shot:
        await _shot(shot, "databases")
    await next_page(pilot, "replica")
    await pick_instance(pilot, instance)
    if shot:
        await _shot(shot, "replica")
    if troubleshooting:
        await next_page(pilot, "network")
        if shot:
            await _shot(shot, "network")
    await next_page(pilot, "validation")
    await until(pilot, lambda: bool(w.state.validation), 30, "validation")
    if shot:
        await _shot(shot, "validation")
    await next_page(pilot, "summary")
    if shot:
        await _shot(shot, "summary")
        await pilot.press("f9")
        await until(pilot, lambda: type(pilot.app.screen).__name__ == "ScriptViewer", 5, "the script viewer")
        await pilot.pause(0.2)
        await _shot(shot, "scripts")
        await pilot.press("escape")
        await until(pilot, lambda: pilot.app.screen is w, 5, "back to the summary")
    if stop_at == "summary":
        return w
    await next_page(pilot, "execute")
    await execute(pilot)
    if shot:
        await _shot(shot, "execute")
    return w


async def to_network_page(pilot: Pilot, instance: str = "sqlmi-lab-gp") -> Any:
    """Home → wizard with connectivity troubleshooting on → … → Network Checker (one database)."""
    await home_ready(pilot)
    await pilot.press("n")
    await until(pilot, lambda: type(pilot.app.screen).__name__ == "WizardScreen", 5, "wizard")
    w = wizard(pilot)
    await until(pilot, lambda: w.state.server is not None, 20, "server facts")
    await next_page(pilot, "options")
    await pilot.click("#troubleshooting")
    assert w.state.troubleshooting
    await next_page(pilot, "requirements")
    await fix_requirements(pilot)
    await next_page(pilot, "databases")
    await choose_databases(pilot, ["SalesDb"])
    await next_page(pilot, "replica")
    await pick_instance(pilot, instance)
    return await next_page(pilot, "network")
