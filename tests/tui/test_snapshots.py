"""Every page and dialog at 80×24 and 120×40, from canned data (fixed clock, no network, no blink).

Update after a deliberate change with ``pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from milink_tui.app import MilinkApp
from milink_tui.clients.azure import Identity
from milink_tui.screens.wizard import WizardScreen, WizardState
from milink_tui.services.session import SavedConnection, Session

from . import fakes

SIZES = [(80, 24), (120, 40)]
SP = Identity("5f4e8f55-3c2b-4b4e-9a55-1ab0c0de1ab0", "72f988bf", "app")


def make_app(connections: bool = False) -> MilinkApp:
    session = Session(persist=False)
    if connections:
        session.connections = [SavedConnection("localhost", 1433, user="sa", trust_server_certificate=True, lab=True,
                                               name="SQLLAB01"),
                               SavedConnection("sql01.contoso.local", 1433, user="dba", name="SQL01")]
        session.identity = SP
    return MilinkApp(session=session)


async def quiet(pilot: Pilot) -> None:
    """Wait for workers, stop every cursor from blinking, let the screen settle."""
    from textual.worker import WorkerFailed

    try:
        await pilot.app.workers.wait_for_complete()
    except WorkerFailed:  # a page shows its own failure (the execute-failed case)
        pass
    for screen in pilot.app.screen_stack:
        for inp in screen.query(Input):
            inp.cursor_blink = False
    await pilot.pause()


def full_state(**kw: Any) -> WizardState:
    s = WizardState(server=fakes.ready_server(), selected=["SalesDb", "Orders"], link_name="",
                    certificate_expiry=fakes.NOW.date().replace(year=2027))
    s.identity = SP
    for k, v in kw.items():
        setattr(s, k, v)
    return s


def wizard_at(page: str, backend: fakes.FakeBackend | None = None, state: WizardState | None = None,
              visit: tuple[str, ...] = ()) -> Callable[[Pilot], Awaitable[None]]:
    async def run_before(pilot: Pilot) -> None:
        b = backend or fakes.FakeBackend(state.server if state is not None else None)
        if state is not None and state.identity is not None:
            b.signed_in = state.identity
        screen = WizardScreen(b, state=state, start_at=visit[0] if visit else page)
        await pilot.app.push_screen(screen)
        await quiet(pilot)
        for key in (*visit[1:], page):
            if key != screen.current:
                await screen.show_page(key)
                await quiet(pilot)
        if page == "databases":
            screen.current_page.query_one("#db-table").focus()
            await pilot.pause()
    return run_before


def replica_state(mi_first: bool = False, troubleshooting: bool = False) -> WizardState:
    s = full_state(troubleshooting=troubleshooting)
    s.subscriptions = [fakes.SubscriptionInfo(fakes.SUB, "Contoso Lab", "72f988bf", "Enabled")]
    s.subscription = s.subscriptions[0]
    s.resource_groups = ["rg-dr", "rg-milink-lab"]
    s.resource_group = "rg-milink-lab"
    s.instances = list(fakes.INSTANCES)
    s.mi = fakes.INSTANCES[1]
    s.sql_endpoint_host = "10.0.0.4"
    s.databases = fakes.databases()
    if mi_first:
        s.direction = "mi-first"
        s.selected = ["CloudDb"]
        from milink_tui.screens.wizard.state import MiDatabaseRow

        s.mi_databases = [MiDatabaseRow("CloudDb"), MiDatabaseRow("WebShop")]
        s.mi_facts = fakes.ManagedInstanceFacts(s.mi.name, s.mi.resource_group, fakes.SUB, s.mi.fqdn, "Ready",
                                                s.mi.database_format, s.mi.tier, False, 512, s.mi.collation, 0,
                                                database_names=["CloudDb", "WebShop"])
    return s


CASES: dict[str, Callable[[], tuple[MilinkApp, Any]]] = {
    "home-first-run": lambda: (make_app(), None),
    "home": lambda: (make_app(connections=True), None),
    "intro": lambda: (make_app(), wizard_at("intro")),
    "options": lambda: (make_app(), wizard_at("options", state=WizardState(server=fakes.server()))),
    "requirements": lambda: (make_app(), wizard_at("requirements")),
    "requirements-ag": lambda: (make_app(), _requirements_ag()),
    "databases": lambda: (make_app(), wizard_at("databases", state=WizardState(server=fakes.ready_server(),
                                                                               selected=["SalesDb", "Orders"]))),
    "replica": lambda: (make_app(), wizard_at("replica", state=replica_state())),
    "login-azure-mi-first": lambda: (make_app(), wizard_at("login_azure", state=replica_state(mi_first=True))),
    "network": lambda: (make_app(), wizard_at("network", state=replica_state(troubleshooting=True))),
    "validation": lambda: (make_app(), wizard_at("validation", state=replica_state())),
    "summary": lambda: (make_app(), wizard_at("summary", state=replica_state())),
    "execute": lambda: (make_app(), _executed()),
    "execute-failed": lambda: (make_app(), _executed(fail_at="azure.trust_certificate")),
    "results": lambda: (make_app(), _executed(then="results")),
    "connect": lambda: (make_app(), _connect()),
    "help": lambda: (make_app(), _help()),
    "scripts": lambda: (make_app(), _scripts()),
}


def _requirements_ag() -> Callable[[Pilot], Awaitable[None]]:
    base = wizard_at("requirements")

    async def run_before(pilot: Pilot) -> None:
        await base(pilot)
        pilot.app.screen.current_page.query_one("#req-tabs").active = "tab-ag"
        await quiet(pilot)
    return run_before


def _executed(fail_at: str | None = None, then: str = "execute") -> Callable[[Pilot], Awaitable[None]]:
    async def run_before(pilot: Pilot) -> None:
        state = replica_state()
        state.run_plan = state.plan()
        await wizard_at("execute", backend=fakes.FakeBackend(fakes.ready_server(), fail_at=fail_at),
                        state=state)(pilot)
        if then == "results":
            await pilot.app.screen.action_next()
            await quiet(pilot)
    return run_before


def _connect() -> Callable[[Pilot], Awaitable[None]]:
    async def run_before(pilot: Pilot) -> None:
        from milink_tui.screens.connect import ConnectDialog

        await pilot.app.push_screen(ConnectDialog(pilot.app.session))
        await quiet(pilot)
        pilot.app.screen.query_one("#cx-server", Input).value = "sql01.contoso.local"
        await pilot.press("end")
        await quiet(pilot)
    return run_before


def _help() -> Callable[[Pilot], Awaitable[None]]:
    base = wizard_at("requirements")

    async def run_before(pilot: Pilot) -> None:
        await base(pilot)
        await pilot.press("f1")
        await quiet(pilot)
    return run_before


def _scripts() -> Callable[[Pilot], Awaitable[None]]:
    base = wizard_at("summary", state=replica_state())

    async def run_before(pilot: Pilot) -> None:
        await base(pilot)
        await pilot.press("f9")
        await quiet(pilot)
    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("case", list(CASES))
def test_snapshot(case: str, size: tuple[int, int], snap_compare: Any) -> None:
    app, run_before = CASES[case]()
    assert snap_compare(app, terminal_size=size, run_before=run_before)
