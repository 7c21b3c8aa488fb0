"""First paint stays cheap: building the app and its home screen loads no driver, Azure SDK,
HTTP stack or keyring (style.md §4) — those arrive with the screen that needs them."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["azure", "aiohttp", "msal", "keyring", "pyodbc", "cryptography", "sqlglot"]


def loaded(code: str) -> set[str]:
    probe = (f"import sys, json\n{code}\n"
             f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_the_app_home_and_wizard_modules_import_no_heavy_client() -> None:
    assert loaded("import milink_tui.app, milink_tui.screens.home, milink_tui.screens.connect, "
                  "milink_tui.screens.wizard, milink_tui.screens.help, milink_tui.screens.script_viewer, "
                  "milink_tui.services.session, milink_tui.services.secrets, milink_tui.actions") == set()


def test_actions_and_session_do_not_import_textual() -> None:
    out = subprocess.run([sys.executable, "-c", "import sys, milink_tui.actions, milink_tui.services.session; "
                          "print('textual' in sys.modules)"], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"


DEFERRED = ["milink_tui.screens.wizard", "milink_tui.screens.dashboard", "milink_tui.screens.connect",
            "milink_tui.screens.help", "milink_tui.screens.script_viewer", "milink_tui.clients",
            "milink_tui.services.lab_process", "milink_tui.lab", "milink_tui.engine.checks",
            "rich.syntax", "rich.markdown", "pygments", *HEAVY]


def test_the_home_screen_paints_without_wizard_dashboard_dialogs_clients_or_the_lab(tmp_path) -> None:
    """What is loaded once home is on screen (first run): everything else waits for its screen."""
    code = f"""
import asyncio, json, os, sys
os.environ["MILINK_STATE_DIR"] = {str(tmp_path)!r}
from milink_tui.app import MilinkApp
from milink_tui.services.session import Session

async def main():
    app = MilinkApp(session=Session(persist=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == "HomeScreen"
        print(json.dumps(sorted(m for m in {DEFERRED!r} if any(x == m or x.startswith(m + ".") for x in sys.modules))))

asyncio.run(main())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
