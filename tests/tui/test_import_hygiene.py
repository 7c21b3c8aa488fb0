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
