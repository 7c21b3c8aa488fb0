"""The frame without a network: home, first run, connect dialog errors, F1 help, the palette,
themes, the keyring fallback, the wizard's Back/Next memory, and page blockers."""

from __future__ import annotations

import socket

import pytest
from textual.widgets import Input

from milink_tui.actions import ACTIONS, for_scopes
from milink_tui.app import MilinkApp
from milink_tui.screens.wizard import WizardScreen, WizardState, flow
from milink_tui.services.secrets import MEMORY_NOTICE, SecretStore
from milink_tui.services.session import SavedConnection, Session

from . import driver as d
from . import fakes


async def test_first_run_offers_connect_or_lab() -> None:
    app = MilinkApp(session=Session(persist=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        home = app.screen
        assert home.query_one("#first-run").display and not home.query_one("#home-body").display
        assert str(home.query_one("#fr-connect").label) == "Connect to SQL Server"
        assert str(home.query_one("#fr-lab").label) == "Open the lab"


async def test_saved_connections_never_store_the_password(tmp_path) -> None:
    session = Session(state_dir=tmp_path)
    conn = SavedConnection("sql01", 1433, user="dba", remember_password=True)
    session.secrets.set(conn.key, "S3cret!pass", remember=True)
    session.remember(conn)
    text = (tmp_path / "connections.json").read_text()
    assert "sql01" in text and "S3cret" not in text
    again = Session(state_dir=tmp_path).load()
    assert again[0].display == "sql01,1433" and again[0].user == "dba"


def test_without_a_keyring_passwords_stay_in_memory() -> None:
    store = SecretStore(use_keyring=False)
    assert store.notice == MEMORY_NOTICE and not store.has_keyring
    assert store.set("k", "v", remember=True) == "memory"
    assert store.get("k") == "v" and "v" not in repr(store)
    store.clear_memory()
    assert store.get("k") is None


def test_the_keyring_fail_backend_falls_back_to_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    import keyring.core

    keyring.core._keyring_backend = None  # re-read the environment
    try:
        store = SecretStore(use_keyring=True)
        assert store.probe() == "" and "memory" in store.notice
    finally:
        keyring.core._keyring_backend = None


async def test_connect_dialog_explains_a_wrong_password_and_a_timeout(fresh_lab) -> None:
    from milink_tui.screens.connect import ConnectDialog

    app = MilinkApp(session=Session(persist=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(ConnectDialog(app.session))
        dialog = app.screen
        for field, value in (("#cx-server", "localhost"), ("#cx-port", str(fresh_lab.info.sql["port"])),
                             ("#cx-user", "sa"), ("#cx-password", "wrong-password")):
            dialog.query_one(field, Input).value = value
        assert dialog.query_one("#cx-password", Input).password  # masked
        dialog.query_one("#cx-trust").value = True
        await pilot.press("f5")
        result = dialog.query_one("#cx-result")
        await d.until(pilot, lambda: "Testing" not in str(result.render()), 30, "the test result")
        text = str(result.render())
        assert "18456" in text and "Cause: The server rejected the login" in text and "Fix:" in text
        assert "wrong-password" not in text
        dialog.query_one("#cx-password", Input).value = fresh_lab.info.sql["password"]
        await pilot.press("f5")
        await d.until(pilot, lambda: "Connected to SQLLAB01" in str(result.render()), 30, "success")
        with socket.socket() as silent:  # accepts, never answers: a login timeout
            silent.bind(("127.0.0.1", 0))
            silent.listen()
            app.session.login_timeout = 2
            dialog.query_one("#cx-port", Input).value = str(silent.getsockname()[1])
            await pilot.press("f5")
            await d.until(pilot, lambda: "Testing" not in str(result.render()), 30, "the timeout")
        text = str(result.render())
        assert "Cause: The server did not answer in time" in text and "firewall" in text


async def test_connect_dialog_explains_an_untrusted_certificate(fresh_lab) -> None:
    app = MilinkApp(session=Session(persist=False))
    conn = SavedConnection("localhost", int(fresh_lab.info.sql["port"]), user="sa")
    async with app.run_test(size=(80, 24)):
        outcome = await app.session.test(conn, fresh_lab.info.sql["password"])
    assert not outcome.ok and "certificate" in outcome.cause.lower() and "Trust server certificate" in outcome.fix


async def test_no_odbc_driver_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    from milink_tui.clients import connstr

    monkeypatch.setattr(connstr, "PREFERRED_DRIVERS", ("No Such Driver",))
    outcome = await Session(persist=False).test(SavedConnection("localhost", 1), "x")
    assert not outcome.ok and "ODBC driver" in outcome.summary and "install" in outcome.fix.lower()


async def test_f1_help_on_every_wizard_page_shows_that_page() -> None:
    app = MilinkApp(session=Session(persist=False))
    async with app.run_test(size=(80, 24)) as pilot:
        backend = fakes.FakeBackend(fakes.ready_server())
        screen = WizardScreen(backend, state=WizardState(troubleshooting=True))
        await app.push_screen(screen)
        for key in flow(screen.state):
            await screen.show_page(key)
            await pilot.pause()
            await pilot.press("f1")
            await d.until(pilot, lambda: type(app.screen).__name__ == "HelpScreen", 5, "help")
            help_screen = app.screen
            assert screen.current_page.TITLE in str(help_screen.query_one(".dialog-title").render())
            assert screen.current_page.HELP.strip()
            await pilot.press("escape")
            await d.until(pilot, lambda: app.screen is screen, 5, "help closed")


async def test_palette_lists_every_action_of_the_screen() -> None:
    app = MilinkApp(session=Session(persist=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"New link")
        await pilot.pause(0.3)
        from textual.command import CommandList

        options = app.screen.query_one(CommandList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert any("New link" in p for p in prompts)
    wizard_actions = {a.id for a in for_scopes("wizard")}
    assert {"next", "back", "rerun", "apply_fix", "script"} <= wizard_actions
    keys = [k for a in ACTIONS for k in a.keys.split(",")]
    assert not {"ctrl+h", "ctrl+i", "ctrl+m"} & set(keys)
    for a in ACTIONS:  # every chord has a plain or F-key twin, listed first (the footer shows it)
        first = a.keys.split(",")[0]
        assert "+" not in first or a.id in ("command_palette", "quit"), a


async def test_light_and_dark_themes() -> None:
    app = MilinkApp(session=Session(persist=False))
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.theme == "textual-dark"
        await pilot.press("f2")
        assert app.theme == "textual-light"


async def test_back_and_next_keep_what_was_typed_and_options_add_pages() -> None:
    app = MilinkApp(session=Session(persist=False))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = WizardScreen(fakes.FakeBackend(fakes.ready_server()))
        await app.push_screen(screen)
        await d.until(pilot, lambda: screen.state.server is not None, 5, "server")
        await d.next_page(pilot, "options")
        screen.query_one("#link-name", Input).focus()
        await pilot.press(*"erp-link")
        await pilot.click("#troubleshooting")
        assert "network" in screen.keys()
        await pilot.press("f7")
        await d.until(pilot, lambda: screen.current == "intro", 5, "back")
        await d.next_page(pilot, "options")
        assert screen.query_one("#link-name", Input).value == "erp-link"
        screen.query_one("#link-name", Input).value = "bad name!"
        await pilot.pause()
        assert screen.query_one("#wiz-next").disabled  # a bad link name blocks Next
        assert "Fix the link name" in str(screen.query_one("#wiz-blocker").render())


async def test_ineligible_databases_say_why_and_cannot_be_chosen() -> None:
    app = MilinkApp(session=Session(persist=False))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = WizardScreen(fakes.FakeBackend(fakes.ready_server()),
                              state=WizardState(server=fakes.ready_server()))
        await app.push_screen(screen)
        await screen.show_page("databases")
        page = screen.current_page
        await d.until(pilot, lambda: bool(page.rows()), 5, "databases")
        table = page.query_one("#db-table")
        table.focus()
        table.move_cursor(row=[r[0] for r in page.rows()].index("HRDb"))
        await pilot.pause()
        assert "error 1475" in str(page.query_one("#db-why").render())
        await pilot.press("space")
        assert screen.state.selected == []
        assert "Choose at least one database" in str(screen.query_one("#wiz-blocker").render())


async def test_mi_first_is_disabled_with_the_reason_on_sql_server_2019() -> None:
    app = MilinkApp(session=Session(persist=False))
    async with app.run_test(size=(80, 24)) as pilot:
        from milink_tui.engine.versions import parse_version

        backend = fakes.FakeBackend(fakes.server(version=parse_version("15.0.4322.2"), update_level="CU22"))
        screen = WizardScreen(backend)
        await app.push_screen(screen)
        await d.until(pilot, lambda: screen.state.server is not None, 5, "server")
        await pilot.pause()
        assert screen.query_one("#dir-mi-first").disabled
        assert "2022 CU10" in str(screen.query_one("#intro-reason").render())
        await d.next_page(pilot, "options")
        assert screen.query_one("#two-way").disabled and not screen.state.two_way
        assert "Requires SQL Server 2022" in str(screen.query_one("#two-way-reason").render())


async def test_scripts_are_saved_where_the_user_says(tmp_path) -> None:
    from milink_tui.screens.script_viewer import ScriptViewer

    app = MilinkApp(session=Session(persist=False))
    async with app.run_test(size=(80, 24)) as pilot:
        s = WizardState(server=fakes.ready_server(), selected=["SalesDb"], sql_endpoint_host="10.0.0.4")
        s.mi = fakes.INSTANCES[1]
        viewer = ScriptViewer(s.plan())
        await app.push_screen(viewer)
        viewer.query_one("#script-path", Input).value = str(tmp_path / "change" / "milink")
        await pilot.press("ctrl+s")
        await pilot.pause()
    names = sorted(p.name for p in (tmp_path / "change").iterdir())
    assert names == ["milink.RUNBOOK.md", "milink.azcli.sh", "milink.ps1", "milink.sql"]
    assert "$(MasterKeyPassword)" in (tmp_path / "change" / "milink.sql").read_text()


async def test_cancel_stops_after_the_current_step_then_resume_or_roll_back() -> None:
    app = MilinkApp(session=Session(persist=False))
    async with app.run_test(size=(80, 24)) as pilot:
        s = WizardState(server=fakes.ready_server(), selected=["SalesDb"], sql_endpoint_host="10.0.0.4")
        s.mi = fakes.INSTANCES[1]
        s.run_plan = s.plan()
        # steps slow enough that the click lands mid-run on a loaded CI machine (0.05 s raced it once)
        backend = fakes.FakeBackend(fakes.ready_server(), delay=0.25)
        screen = WizardScreen(backend, state=s, start_at="execute")
        await app.push_screen(screen)
        page = screen.current_page
        await d.until(pilot, lambda: any(r.state == "done" for r in page.rows.values()), 5, "a step done")
        await d.click(pilot, "#ex-cancel")
        await d.until(pilot, lambda: s.run_outcome == "cancelled", 5, "cancelled")
        states = [r.state for r in page.rows.values()]
        assert "pending" in states and "running" not in states  # nothing left half-way
        assert page.query_one("#ex-resume").display and page.query_one("#ex-rollback").display
        assert "Cancelled" in str(page.query_one("#ex-status").render())
        await d.click(pilot, "#ex-resume")
        await d.until(pilot, lambda: s.run_outcome == "done", 30, "resumed to the end")
        assert all(r.state in ("done", "skipped") for r in page.rows.values())
        await pilot.pause()
        assert not screen.query_one("#wiz-next").disabled
