"""How the dashboard looks at 80×24 and 160×50: a replayed fixture recording, a frozen clock.

Update deliberately with ``pytest tests/dashboard/test_dashboard_snapshots.py --snapshot-update`` and
review the SVGs.
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


def multi_db_app() -> DashboardApp:
    from dash_helpers import fixture_reports

    from milink_tui.services.dashboard_sources import FixtureSource

    sql, arm = fixture_reports(6, multi=3)
    sources = [FixtureSource(sql.source, "sql", [sql]), FixtureSource(arm.source, "arm", [arm])]
    return DashboardApp(lambda: DashboardScreen(sources, interval=60, min_interval=0.1, clock=lambda: T0))


async def _select_multi(pilot) -> None:
    screen = pilot.app.dashboard
    await wait_until(pilot, lambda: "DAG_Multi" in screen.model.views and screen.model.views["DAG_Multi"].arm
                     and not screen._flush_scheduled)
    screen.query_one("#links").select("DAG_Multi")  # a link with three databases: every one, both sides
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_dashboard_multi_database_detail_snapshot(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(multi_db_app(), terminal_size=size, run_before=_select_multi)
