"""Start the TUI (Textual is imported here, not in cli.py, so --help stays instant)."""

from __future__ import annotations


def run_app(lab: bool = False, scenario: str = "fresh") -> int:
    from milink_tui.app import MilinkApp

    app = MilinkApp(lab_scenario=scenario if lab else None)
    app.run()
    return app.return_code or 0


def run_dashboard(lab: str | None, replay: str | None, speed: float = 1.0, interval: float = 2.0) -> int:
    """``milink dashboard``: the dashboard on its own, against a fresh lab or a recording."""
    import asyncio
    import tempfile
    from pathlib import Path

    from milink_tui.screens.dashboard import DashboardApp, DashboardScreen

    if replay:
        from milink_tui.services.recorder import ReplaySource

        if not Path(replay).is_file():
            print(f"milink: no recording at {replay}")
            return 2
        app = DashboardApp(lambda: DashboardScreen(replay=ReplaySource(replay, speed), interval=interval))
        app.run()
        return 0

    from milink_tui.services.dashboard_sources import lab_sources
    from milink_tui.services.lab_process import LabProcess, LabStartError

    process = LabProcess(lab or "linked", speed=speed)
    try:
        info = process.start()
    except LabStartError as e:
        print(f"milink: {e}")
        return 1

    async def main() -> None:
        sources = await lab_sources(info, Path(tempfile.mkdtemp(prefix="milink-dash-")))
        await DashboardApp(lambda: DashboardScreen(sources=sources, interval=interval)).run_async()

    try:
        asyncio.run(main())
    finally:
        process.stop()
    return 0
