"""How the dashboard looks at 80×24 and 160×50: a replayed fixture recording, a frozen clock.

Update deliberately with ``pytest tests/dashboard --snapshot-update`` and review the SVGs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dash_helpers import T0, make_recording, wait_until

from milink_tui.screens.dashboard import DashboardApp, DashboardScreen
from milink_tui.services.recorder import ReplaySource


def replay_app(tmp_path: Path) -> DashboardApp:
    path = make_recording(tmp_path / "fixture.jsonl.gz", frames=40)
    replay = ReplaySource(path, speed=0)
    return DashboardApp(lambda: DashboardScreen(replay=replay, clock=lambda: T0))


async def _settle(pilot) -> None:
    screen = pilot.app.dashboard
    await wait_until(pilot, lambda: getattr(screen, "replay_done", False))
    screen.query_one("#links").select("DAG_Db002")  # the lagging link: charts with history
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_dashboard_snapshot(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(replay_app(tmp_path), terminal_size=size, run_before=_settle)
