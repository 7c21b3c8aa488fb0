"""Start the TUI (Textual is imported here, not in cli.py, so --help stays instant)."""

from __future__ import annotations


def run_app(lab: bool = False, scenario: str = "fresh") -> int:
    from milink_tui.app import MilinkApp

    app = MilinkApp(lab_scenario=scenario if lab else None)
    app.run()
    return app.return_code or 0
