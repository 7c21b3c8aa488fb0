"""Requirements page by keyboard only: the checklist has focus on arrival, so the arrow keys walk
its rows (no Tab first). Remediations are highlighted in their own language."""

from __future__ import annotations

from milink_tui.screens.wizard import WizardScreen
from milink_tui.screens.wizard.widgets import CheckTable, remediation_lexer
from tests.dashboard.screen_text import screen_text

from . import fakes
from .test_snapshots import make_app, quiet


async def test_checklist_has_focus_and_arrows_select_rows() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = WizardScreen(fakes.FakeBackend(None), start_at="requirements")
        await app.push_screen(screen)
        await quiet(pilot)
        table = screen.current_page.query_one("#req-server", CheckTable)
        assert app.focused is table
        hadr = next(i for i, r in enumerate(table.results) if r.id == "hadr")
        for _ in range(hadr):
            await pilot.press("down")
        await pilot.pause()
        text = screen_text(app)
        assert "✗ FAIL  SQL Server: Always On" in text and "Evidence: IsHadrEnabled = 0" in text


def test_remediation_language() -> None:
    assert remediation_lexer('New-NetFirewallRule -DisplayName "Allow 5022" -Direction outbound') == "powershell"
    assert remediation_lexer("sudo /opt/mssql/bin/mssql-conf set hadr.hadrenabled 1") == "bash"
    assert remediation_lexer("# on the SQL Server host:\ntimeout 5 bash -c '</dev/tcp/mi/5022'") == "bash"
    assert remediation_lexer("CREATE MASTER KEY ENCRYPTION BY PASSWORD = N'$(MasterKeyPassword)';") == "tsql"
