"""The Connect dialog with Microsoft Entra against the lab, driven with Pilot.

Not signed in to Azure: choosing Entra says so, "Test connection" opens the Azure sign-in, and
once signed in (the lab's service principal) the test goes on with a token for the lab's SQL
scope and reports who it connected as and through which driver.
"""

from __future__ import annotations

from textual.widgets import Input, Select

from milink_tui.app import MilinkApp
from milink_tui.services.session import Session

from . import driver as d


async def entra_dialog(app, pilot, session, info):  # type: ignore[no-untyped-def]
    """The Connect dialog filled in for the lab SQL Server with Microsoft Entra authentication."""
    from milink_tui.screens.connect import ConnectDialog

    await app.push_screen(ConnectDialog(session))
    dialog = app.screen
    dialog.query_one("#cx-server", Input).value = "localhost"
    dialog.query_one("#cx-port", Input).value = str(info.sql["port"])
    dialog.query_one("#cx-auth", Select).value = "entra"
    dialog.query_one("#cx-trust").value = True
    await pilot.pause()
    return dialog

async def test_entra_in_the_connect_dialog_signs_in_then_connects(fresh_lab) -> None:

    info = fresh_lab.info
    session = Session(persist=False)
    session.attach_lab(info)  # the lab's cloud and sign-in defaults, but not signed in yet
    app = MilinkApp(session=session)
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await entra_dialog(app, pilot, session, info)
        assert not dialog.query_one("#cx-user-row").display and not dialog.query_one("#cx-password-row").display
        note = dialog.query_one("#cx-entra-note")
        assert note.display and "sign in to Azure first" in str(note.render())
        await pilot.press("f5")
        await d.until(pilot, lambda: type(app.screen).__name__ == "AzureSignInDialog", 10, "the Azure sign-in")
        app.screen.query_one("#az-method", Select).value = "sp-secret"
        await pilot.pause()
        await d.click(pilot, "#az-signin")
        await d.until(pilot, lambda: app.screen is dialog, 30, "signed in, back in the dialog")
        result = dialog.query_one("#cx-result")
        await d.until(pilot, lambda: "Connected to SQLLAB01" in str(result.render()), 30, "the Entra connection")
        assert "Driver: ODBC Driver 18 for SQL Server (pyodbc)" in str(result.render())
        assert session.identity is not None and session.identity.name in str(note.render())
        await d.click(pilot, "#cx-connect")
        await d.until(pilot, lambda: session.sql is not None, 30, "connected")
        who = (await session.sql.run("SELECT SUSER_SNAME()")).first.rows[0][0]
        assert who == f"{info.entra['sp_client_id']}@{info.entra['tenant_id']}"
        assert session.active is not None and session.active.auth == "entra"


async def test_entra_refused_by_the_server_is_explained(fresh_lab) -> None:
    """A token the server refuses (a cloud whose SQL scope is wrong) comes back as cause + fix."""
    from milink_tui.clients import auth

    info = fresh_lab.info
    session = Session(persist=False)
    session.attach_lab(info)
    app = MilinkApp(session=session)
    async with app.run_test(size=(80, 24)) as pilot:
        await session.sign_in(session.default_sign_in())
        session.azure.session.cloud = auth.Cloud.lab(info.arm["base_url"], info.entra["authority"],
                                                     sql_scope="https://management.azure.com/.default")
        dialog = await entra_dialog(app, pilot, session, info)
        await pilot.press("f5")
        result = dialog.query_one("#cx-result")
        await d.until(pilot, lambda: "Testing" not in str(result.render()), 30, "the refusal")
        text = str(result.render())
        assert "18456" in text and "Cause: The server does not accept tokens" in text and "Fix:" in text
