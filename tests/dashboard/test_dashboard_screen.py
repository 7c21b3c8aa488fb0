"""The screen with fixture sources and recordings (no lab): keys, filter, sort, evidence."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from dash_helpers import T0, fixture_reports, make_recording, wait_until
from screen_text import screen_text

from milink_tui.engine.dashboard import SourceReport
from milink_tui.screens.dashboard import DashboardApp, DashboardScreen, DetailPane, SourceUpdated
from milink_tui.services.dashboard_sources import FixtureSource
from milink_tui.services.recorder import ReplaySource, read_recording
from milink_tui.widgets.link_table import LinkTable
from milink_tui.widgets.sparkline import spark


def fixture_app(n: int = 6, multi: int = 0, **kw) -> tuple[DashboardApp, list[FixtureSource]]:
    sql, arm = fixture_reports(n, multi=multi)
    sources = [FixtureSource(sql.source, "sql", [sql]), FixtureSource(arm.source, "arm", [arm])]
    opts = {"interval": 60, "min_interval": 0.1, "clock": lambda: T0, **kw}
    return DashboardApp(lambda: DashboardScreen(sources, **opts)), sources


async def test_table_filter_sort_and_detail() -> None:
    app, _ = fixture_app()
    async with app.run_test(size=(160, 50)) as pilot:
        s = app.dashboard
        assert await wait_until(pilot, lambda: len(s.model.views) == 6 and s.model.views["DAG_Db001"].arm)
        table = s.query_one(LinkTable)
        # default sort: worst first
        assert [r.key for r in table.rows][:3] == ["DAG_Db003", "DAG_Db002", "DAG_Db004"]
        text = screen_text(app)
        assert "✖ DISCONNECTED" in text and "▲ LAGGING" in text and "◐ SEEDING 39%" in text
        assert "SQL Server SQLFIX01 fresh" in text and "Managed instance sqlmi-fix fresh" in text
        await pilot.press("s")  # by link name
        assert [r.key for r in table.rows][0] == "DAG_Db001"
        await pilot.press("S")
        assert [r.key for r in table.rows][0] == "DAG_Db006"
        await pilot.press("slash")
        await pilot.press(*"seed")
        assert [r.key for r in table.rows] == ["DAG_Db004"]
        await pilot.press("enter")
        assert "seeding 39% ETA 1 m 02 s" in screen_text(app)
        await pilot.press("escape")
        assert len(table.rows) == 6 and s.selected == "DAG_Db004"  # the selection survives the filter
        await pilot.press("down")
        assert s.selected == table.rows[table.rows.index(next(r for r in table.rows if r.key == "DAG_Db004")) + 1].key


async def test_pause_interval_refresh_and_tz() -> None:
    app, sources = fixture_app()
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.dashboard
        assert await wait_until(pilot, lambda: s.refreshes >= 1 and sources[1].round_trips == 1)
        await pilot.press("minus")
        assert s.poller.interval == 30
        await pilot.press("plus")
        assert s.poller.interval == 60
        await pilot.press("r")
        assert await wait_until(pilot, lambda: sources[0].round_trips == 2)
        await pilot.press("space")
        assert "⏸ PAUSED" in screen_text(app)
        await pilot.press("r")
        await pilot.pause(0.2)
        assert sources[0].round_trips == 2  # paused: no polling, not even on r
        await pilot.press("space")
        assert await wait_until(pilot, lambda: sources[0].round_trips == 3)
        assert "UTC" in screen_text(app)
        await pilot.press("t")
        assert not s.utc


async def test_one_changed_value_repaints_one_row() -> None:
    app, sources = fixture_app()
    async with app.run_test(size=(160, 50)) as pilot:
        s = app.dashboard
        assert await wait_until(pilot, lambda: s.refreshes >= 1 and len(s.model.views) == 6)
        await pilot.pause(0.1)
        table = s.query_one(LinkTable)
        sql, _ = fixture_reports()
        sql.links["DAG_Db006"]["databases"][0]["send_queue_kb"] = 77.0
        before = table.repaints
        s.post_message(__import__("milink_tui.screens.dashboard", fromlist=["x"]).SourceUpdated(sql))
        assert await wait_until(pilot, lambda: s.model.views["DAG_Db006"].send_queue_kb == 77.0)
        await pilot.pause(0.1)
        assert table.repaints - before == 1


async def test_export_json_and_markdown(tmp_path: Path) -> None:
    app, _ = fixture_app()
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.dashboard
        assert await wait_until(pilot, lambda: len(s.model.views) == 6 and s.model.views["DAG_Db001"].arm)
        await pilot.press("e")
        await pilot.pause()
        from textual.widgets import Input

        box = app.screen.query_one(Input)
        box.value = str(tmp_path / "out" / "incident")
        await pilot.press("enter")
        await pilot.pause()
    data = json.loads((tmp_path / "out" / "incident.json").read_text())
    assert len(data["links"]) == 6 and {a["kind"] for a in data["alerts"]} >= {"lag", "disconnected", "certificate"}
    md = (tmp_path / "out" / "incident.md").read_text()
    assert "DAG_Db003" in md and "DISCONNECTED" in md


async def test_record_then_replay_drives_the_same_screen(tmp_path: Path) -> None:
    rec = tmp_path / "rec.jsonl.gz"
    app, _ = fixture_app(record_to=rec)
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.dashboard
        assert await wait_until(pilot, lambda: s.recorder is not None and s.recorder.count >= 2)
        await pilot.press("R")  # stop
        assert s.recorder is None
    header, reports = read_recording(rec)
    assert header["format"] == "milink-dashboard-recording" and len(reports) >= 2
    assert "password" not in gzip.open(rec, "rt").read().lower()

    path = make_recording(tmp_path / "fixture.jsonl.gz")
    replay = ReplaySource(path, speed=0)
    app = DashboardApp(lambda: DashboardScreen(replay=replay, clock=lambda: T0))
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.dashboard
        assert await wait_until(pilot, lambda: getattr(s, "replay_done", False))
        v = s.model.views["DAG_Db002"]
        assert v.send_queue_kb == 2048 * 20 and v.lag_seconds == 38
        assert len(s.model.history.series("DAG_Db002", "send_queue_kb")) == 20
        assert v.arm.stale  # the outage at the end replays as stale data
        assert "REPLAY END" in screen_text(app)


def test_truncated_recording_still_reads(tmp_path: Path) -> None:
    path = make_recording(tmp_path / "r.jsonl.gz", frames=5)
    raw = path.read_bytes()
    path.write_bytes(raw[:-30])
    _, reports = read_recording(path)
    assert len(reports) >= 5


def test_sparkline_scales_and_pads() -> None:
    assert spark([0, 1, 2, 4], 6) == "  ▁▃▅█"
    assert spark([], 3) == "   "
    assert spark([0, 0], 2) == "▁▁"


def test_source_report_round_trips_json() -> None:
    sql, _ = fixture_reports(1)
    again = SourceReport.from_json(json.loads(json.dumps(sql.to_json())))
    assert again.links == sql.links and again.at == sql.at and again.server_time == sql.server_time


async def test_alert_thresholds_are_configurable_from_the_screen() -> None:
    app, _ = fixture_app()
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.dashboard
        assert await wait_until(pilot, lambda: len(s.model.views) == 6 and s.model.views["DAG_Db001"].arm)
        assert "lag" in {a.kind for a in s.model.alerts()}
        await pilot.press("a")
        await pilot.pause()
        from textual.widgets import Input

        app.screen.query_one("#lag", Input).value = "60"
        app.screen.query_one("#cert", Input).value = "5"
        await pilot.click("#apply")
        await pilot.pause()
        assert s.model.thresholds.lag_seconds == 60 and s.model.thresholds.cert_days == 5
        assert {a.kind for a in s.model.alerts()} == {"disconnected"}
        assert "LAGGING" not in screen_text(app)


async def test_help_opens_and_closes() -> None:
    app, _ = fixture_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert "Dashboard keys" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.dashboard


def row_text(app, key: str) -> str:
    """The table's line for ``key`` (table lines start with the health glyph; alerts are indented)."""
    return next(line for line in screen_text(app).splitlines()
                if line.startswith(("●", "▲", "✖", "◐", "?")) and f" {key} " in line)


async def test_an_update_keeps_the_sort_and_the_cursor_and_redraws_only_what_changed() -> None:
    app, _ = fixture_app()
    async with app.run_test(size=(160, 50)) as pilot:
        s = app.dashboard
        assert await wait_until(pilot, lambda: len(s.model.views) == 6 and s.model.views["DAG_Db001"].arm)
        await pilot.press("s", "s")  # health -> link -> lag, worst first
        table = s.query_one(LinkTable)
        assert table.keys[0] == "DAG_Db002"  # 45 s
        table.select("DAG_Db004")
        await pilot.pause()
        before = {k: s._row_for(k) for k in table.keys}
        sql, arm = fixture_reports()
        sql.links["DAG_Db006"]["databases"][0]["lag_seconds"] = 99.0
        s.post_message(SourceUpdated(sql))
        s.post_message(SourceUpdated(arm))
        assert await wait_until(pilot, lambda: s.model.views["DAG_Db006"].lag_seconds == 99
                                and not s._flush_scheduled)
        await pilot.pause()
        assert table.keys[:2] == ["DAG_Db006", "DAG_Db002"]  # still sorted by lag: the changed row moved up
        assert table.cursor_key == "DAG_Db004" and s.selected == "DAG_Db004"  # the cursor stayed on its link
        assert "LAGGING" in row_text(app, "DAG_Db006") and " 99 " in row_text(app, "DAG_Db006")
        for key in set(table.keys) - {"DAG_Db006"}:
            assert s._row_for(key) is before[key], key  # unchanged links were not formatted again


async def test_only_the_rows_on_screen_are_formatted() -> None:
    app, _ = fixture_app(n=300)
    async with app.run_test(size=(80, 24)) as pilot:
        s = app.dashboard
        assert await wait_until(pilot, lambda: len(s.model.views) == 300 and s.model.views["DAG_Db001"].arm)
        await pilot.pause()
        formatted: list[str] = []
        real = s._row
        s._row = lambda v: formatted.append(v.name) or real(v)  # type: ignore[method-assign]
        sql, _ = fixture_reports(300)
        for link in sql.links.values():  # every link changes
            link["databases"][0]["send_queue_kb"] = 5.0
        s.post_message(SourceUpdated(sql))
        assert await wait_until(pilot, lambda: s.model.views["DAG_Db300"].send_queue_kb == 5.0
                                and not s._flush_scheduled)
        await pilot.pause()
        table = s.query_one(LinkTable)
        assert 0 < len(formatted) <= table.size.height  # 300 views rebuilt, only what shows formatted
        assert len(table.rows) == 300 and table.rows[299].key in s.model.views


async def test_nothing_is_redrawn_under_a_dialog_and_everything_after_it() -> None:
    app, _ = fixture_app()
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.dashboard
        assert await wait_until(pilot, lambda: len(s.model.views) == 6 and s.model.views["DAG_Db001"].arm)
        await pilot.pause()
        table = s.query_one(LinkTable)
        await pilot.press("f1")
        await pilot.pause()
        repaints = table.repaints
        sql, _ = fixture_reports()
        sql.links["DAG_Db006"]["databases"][0]["send_queue_kb"] = 4321.0
        s.post_message(SourceUpdated(sql))
        assert await wait_until(pilot, lambda: s.model.views["DAG_Db006"].send_queue_kb == 4321.0
                                and not s._flush_scheduled)
        await pilot.pause()
        assert table.repaints == repaints  # the help covers it: no repaint behind
        await pilot.press("escape")
        await pilot.pause()
        assert "4,321" in row_text(app, "DAG_Db006")


async def test_the_detail_shows_every_database_of_a_link() -> None:
    app, _ = fixture_app(multi=3)
    async with app.run_test(size=(160, 50)) as pilot:
        s = app.dashboard
        assert await wait_until(pilot, lambda: "DAG_Multi" in s.model.views and s.model.views["DAG_Multi"].arm)
        s.query_one(LinkTable).select("DAG_Multi")
        await pilot.pause()
        text = screen_text(app)
        assert "DAG_Multi · 3 databases" in text
        for db in ("Orders", "Billing", "Audit"):
            line = next(x for x in text.splitlines() if f"▸ {db} " in x)
            assert line.count(f"▸ {db} ") == 2, line  # both sides, side by side
        assert "send 300 KB @ 30 KB/s" in text and "send lag 2 s · redo lag 4 s" in text  # per database
        assert "lag s" in text  # charts still on screen at 160x50
        assert s.query_one(DetailPane).max_scroll_y == 0


async def test_the_detail_scrolls_at_80x24() -> None:
    app, _ = fixture_app(multi=3)
    async with app.run_test(size=(80, 24)) as pilot:
        s = app.dashboard
        assert await wait_until(pilot, lambda: "DAG_Multi" in s.model.views and s.model.views["DAG_Multi"].arm)
        s.query_one(LinkTable).select("DAG_Multi")
        await pilot.pause()
        pane = s.query_one(DetailPane)
        assert pane.max_scroll_y > 0 and "▸ Audit" in screen_text(app)
        assert "lag s " not in screen_text(app)
        for _ in range(5):
            await pilot.press("right_square_bracket")
        await pilot.pause()
        assert pane.scroll_y == pane.max_scroll_y and "lag s " in screen_text(app)
        assert s.query_one(LinkTable).has_focus  # scrolling the detail leaves the keys with the table
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert pane.scroll_y < pane.max_scroll_y


async def test_the_screen_says_when_arm_reads_are_paced_and_waits_for_them() -> None:
    """ARM lists slowed to spare the subscription's read limit: the top bar says how often
    they are read, and their data only counts as stale after two of their own periods."""
    app, sources = fixture_app()
    arm = sources[1]
    arm.budget_key, arm.reads_per_poll = "arm:sub", 2400  # 2400 pages at 20 reads/s: every 120 s
    async with app.run_test(size=(160, 50)) as pilot:
        s = app.dashboard
        assert await wait_until(pilot, lambda: s.refreshes >= 1 and arm.round_trips == 1)
        assert await wait_until(pilot, lambda: "(ARM every 120 s: read limit)" in screen_text(app))
        assert s.model.status[arm.name].stale_after == 300 and s.model.status[sources[0].name].stale_after == 0
        arm.reads_per_poll = 1  # the instances shrank: back to the interval on the next answer
        await pilot.press("r")
        assert await wait_until(pilot, lambda: arm.round_trips == 2)
        assert await wait_until(pilot, lambda: "read limit" not in screen_text(app))
        assert s.model.status[arm.name].stale_after == 0


async def test_the_dialogs_fit_an_80x24_terminal() -> None:
    """Over SSH 80x24 is common: the help and the thresholds dialog stay on screen (they scroll)."""
    app, _ = fixture_app()
    async with app.run_test(size=(80, 24)) as pilot:
        s = app.dashboard
        assert await wait_until(pilot, lambda: s.refreshes >= 1)
        for key, box in (("f1", "#help"), ("a", "#prompt")):
            await pilot.press(key)
            await pilot.pause()
            region = app.screen.query_one(box).region
            assert region.x >= 0 and region.y >= 0 and region.right <= 80 and region.bottom <= 24, (key, region)
            await pilot.press("escape")
            await pilot.pause()
