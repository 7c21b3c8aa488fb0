"""The live DAG dashboard: every link, both sides, derived figures, alerts, history, evidence.

The screen owns state (a :class:`DashboardModel`) and renders it; sources are polled by a
:class:`Poller` in a worker that posts :class:`SourceUpdated` messages (or a recording is
replayed through the same message). Nothing animates: lines repaint only when their text
changes, so a dashboard where one value changes per refresh writes a few hundred bytes.
Acting on a link (failover, replication mode, drop) comes with its own issue; the detail
pane leaves room for it (``#actions``) without showing buttons that do nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Button, Checkbox, Footer, Input, Label, Static

from milink_tui.engine.dashboard import (
    LEVELS,
    DashboardModel,
    LinkView,
    SourceReport,
    Thresholds,
    export_json,
    export_markdown,
    fmt_duration,
    fmt_num,
    utcnow,
)
from milink_tui.services.poller import Poller, Source
from milink_tui.widgets.lines import LinesView
from milink_tui.widgets.link_table import Column, LinkTable, Row
from milink_tui.widgets.sparkline import spark

GC_YOUNG_THRESHOLD = 10_000  # new objects before a young collection while a dashboard is live
INTERVALS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
COLUMNS = [
    Column("health", "Health", 15),
    Column("link", "Link", 14, flex=True),
    Column("lag", "Lag s", 6, "right"),
    Column("send", "Send q KB", 10, "right", 1),
    Column("redo", "Redo q KB", 10, "right", 1),
    Column("loss", "Loss s/MB", 11, "right", 2),
    Column("age", "Data", 9, "right", 1),
    Column("safe", "Failover", 8, priority=3),
    Column("cert", "Cert d", 6, "right", 3),
    Column("redo_eta", "Redo ETA", 9, "right", 4),
    Column("database", "Database", 12, priority=5),
    Column("sql", "SQL Server", 12, priority=5),
    Column("mi", "Managed instance", 16, priority=5),
]
SORTS: list[tuple[str, Callable[[LinkView], Any], bool]] = [
    ("health", lambda v: (-LEVELS.get(v.health.level, 0), v.name.lower()), False),
    ("link", lambda v: v.name.lower(), False),
    ("lag", lambda v: (v.lag_seconds if v.lag_seconds is not None else -1), True),
    ("send queue", lambda v: (v.send_queue_kb if v.send_queue_kb is not None else -1), True),
    ("data loss", lambda v: (v.data_loss_mb if v.data_loss_mb is not None else -1), True),
    ("cert days", lambda v: (v.cert_days if v.cert_days is not None else math.inf), False),
]
_SORTS_BY_NAME_TOO = {"health", "link"}  # keys that end in the link name already: no first sort by name
LEVEL_STYLE = {"ok": "$success", "info": "$primary", "warn": "$warning", "error": "$error", "unknown": "$text-muted"}
HELP_TEXT = """\
[b]Dashboard keys[/b]
  ↑ ↓ PgUp PgDn  choose a link        space   pause / resume
  + / -          refresh interval      r       refresh now
  /              filter links          s / S   sort column / reverse
  t              local time / UTC      a       alert thresholds
  e              export JSON+Markdown  R       start / stop recording
  [ / ]          scroll the detail     F1      this help
  esc / q        back

[b]Figures[/b]
  Lag: secondary_lag_seconds (SQL) or instanceSendReplicationLagSeconds
  (ARM), the worse. Loss: data lost by failing over now — commit-time
  gap (s) and unsent log (MB). Redo ETA: redo queue / redo rate.
  Failover: safe only when connected, healthy, nothing unsent and both
  sides fresh.

[b]Sources[/b]
  "stale 12 s": that source has not answered for 12 s; it is retried
  with backoff (r retries at once). While one side is stale, the fresh
  side says whether the link is connected and healthy. ARM lists are
  read at most 20 times a second per subscription (ARM refills 25): with
  many instances the top bar shows "ARM every N s: read limit". A
  throttled list waits as long as Azure asks.
"""


class SourceUpdated(Message):
    """A source answered (or failed); posted by the poller worker or the replay worker."""

    def __init__(self, report: SourceReport) -> None:
        super().__init__()
        self.report = report


def _ago(seconds: float | None) -> str:
    return "—" if seconds is None else fmt_duration(seconds) + " ago"


class PathPrompt(ModalScreen[str | None]):
    """Ask for a file path (export / record); Enter accepts, Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, default: str) -> None:
        super().__init__()
        self.title_text = title
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Label(self.title_text)
            yield Input(self.default, id="path")
            yield Label("Enter to accept · Esc to cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = False

    @on(Input.Submitted)
    def accept(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ThresholdsPrompt(ModalScreen[Thresholds | None]):
    """Edit the alert thresholds (lag, certificate days, data loss, disconnected, not healthy)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: Thresholds) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        t = self.current
        with Vertical(id="prompt"):
            yield Label("Alert when…")
            yield Label("lag above (seconds)")
            yield Input(f"{t.lag_seconds:g}", id="lag", type="number")
            yield Label("certificate expires within (days)")
            yield Input(f"{t.cert_days:g}", id="cert", type="number")
            yield Label("data loss above (MB, empty = never)")
            yield Input("" if t.data_loss_mb is None else f"{t.data_loss_mb:g}", id="loss")
            yield Checkbox("a link is disconnected", t.disconnected, id="disc")
            yield Checkbox("a link is not healthy", t.not_healthy, id="unhealthy")
            with Horizontal(classes="buttons"):
                yield Button("Apply", variant="primary", id="apply")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        for i in self.query(Input):
            i.cursor_blink = False

    @on(Button.Pressed, "#apply")
    @on(Input.Submitted)
    def apply(self) -> None:
        def num(id_: str, default: float | None) -> float | None:
            text = self.query_one(f"#{id_}", Input).value.strip()
            try:
                return float(text) if text else None
            except ValueError:
                return default

        t = self.current
        self.dismiss(Thresholds(lag_seconds=num("lag", t.lag_seconds) or t.lag_seconds,
                                cert_days=num("cert", t.cert_days) or t.cert_days,
                                data_loss_mb=num("loss", t.data_loss_mb),
                                disconnected=self.query_one("#disc", Checkbox).value,
                                not_healthy=self.query_one("#unhealthy", Checkbox).value))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):  # focused: the arrow keys scroll it on a small terminal
            yield Static(HELP_TEXT)

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)


class DetailPane(VerticalScroll, can_focus=False):
    """The selected link's detail: scrolls (wheel, ``[`` / ``]``) when its databases outgrow it.

    Not focusable, so the arrow keys stay with the table.
    """


class DashboardScreen(Screen[None]):
    """Live links. ``sources``: built sources (a SQL source per server, an ARM source per MI);
    or ``replay``: a :class:`ReplaySource`. ``clock`` freezes time in tests and snapshots."""

    CSS_PATH = "dashboard.tcss"
    BINDINGS = [
        Binding("space", "pause", "Pause", id="dashboard.pause"),
        Binding("plus,equals_sign", "interval(1)", "Slower", key_display="+", id="dashboard.slower"),
        Binding("minus", "interval(-1)", "Faster", key_display="-", id="dashboard.faster"),
        Binding("r", "refresh_now", "Refresh", id="dashboard.refresh"),
        Binding("slash", "filter", "Filter", key_display="/", id="dashboard.filter"),
        Binding("s", "sort(1)", "Sort", id="dashboard.sort"),
        Binding("S", "sort(0)", "Reverse", show=False, id="dashboard.reverse"),
        Binding("t", "toggle_tz", "UTC/local", id="dashboard.tz"),
        Binding("a", "thresholds", "Alerts", id="dashboard.thresholds"),
        Binding("e", "export", "Export", id="dashboard.export"),
        Binding("R", "record", "Record", key_display="R", id="dashboard.record"),
        Binding("right_square_bracket", "scroll_detail(1)", "Detail down", show=False, key_display="]",
                id="dashboard.detail_down"),
        Binding("left_square_bracket", "scroll_detail(-1)", "Detail up", show=False, key_display="[",
                id="dashboard.detail_up"),
        Binding("f1", "help", "Help", id="dashboard.help"),
        Binding("escape", "back", "Back", id="dashboard.back"),
        Binding("q", "back", "Back", show=False, id="dashboard.quit"),
    ]

    def __init__(self, sources: list[Source] | None = None, *, replay: Any = None, interval: float = 2.0,
                 min_interval: float = 1.0, thresholds: Thresholds | None = None, utc: bool = True,
                 clock: Callable[[], dt.datetime] | None = None, record_to: str | Path | None = None,
                 history: int = 600, timeout: float = 15.0, backoff_cap: float = 60.0,
                 title: str = "milink · links") -> None:
        super().__init__()
        self.sources = list(sources or [])
        self.replay = replay
        self.clock = clock or utcnow
        self.frozen_clock = clock is not None
        self.utc = utc
        self.title_text = title
        self.model = DashboardModel(thresholds, history=history)
        self.poller = Poller(self.sources, self._on_report, interval=interval, min_interval=min_interval,
                             timeout=timeout, backoff_cap=backoff_cap)
        self._sync_stale_after()
        for s in self.sources:
            self.model.register(s.name, s.kind)
        self.sort_index = 0
        self.sort_reverse = False
        self.filter_text = ""
        self.selected: str | None = None
        self.recorder: Any = None
        self._record_to = record_to
        self._pending: set[str] = set()
        self._pending_sources: set[str] = set()
        self._pending_since = 0.0
        self._row_cache: dict[str, tuple[LinkView, Row]] = {}
        self._filter_cache: dict[str, tuple[LinkView, str]] = {}
        self._order: list[str] | None = None  # visible link names, sorted and filtered
        self._order_for: tuple[Any, ...] = ()  # (sort, reverse, filter) the order was made for
        self._detail_drawn: tuple[Any, ...] = ()  # what the detail pane shows, to skip a redraw
        self._froze = False  # gc.freeze() done (see _freeze_long_lived)
        self._gc_threshold: tuple[int, ...] | None = None  # the collector's thresholds before
        self._behind = False  # another screen is on top: skip redraws, draw everything on return
        self._flush_scheduled = False
        self._flush_deadline: Timer | None = None  # set while a merge waits for sources still answering
        self.refreshes = 0  # merged refreshes shown (tests wait on it)
        self.last_refresh: dt.datetime | None = None
        self.refresh_seconds: list[float] = []  # app CPU per flush (bench)
        self._replay_now: dt.datetime | None = None
        self.replay_done = False

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield LinesView(id="topbar")
        yield LinesView(id="alerts")
        yield Input(placeholder="filter: link, database, server, instance or health", id="filter")
        yield LinkTable(COLUMNS, id="links")
        with DetailPane(id="detail"):
            yield LinesView(id="detail-title")
            with Horizontal(id="sides"):
                yield LinesView(id="sql-side", classes="side")
                yield LinesView(id="mi-side", classes="side")
            yield LinesView(id="figures")
            yield LinesView(id="charts")
            # room for the link-operations issue (failover, replication mode, drop): no dead buttons
            yield Vertical(id="actions")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).cursor_blink = False
        self.query_one(LinkTable).focus()
        self._draw_all()
        if self._record_to:
            self.start_recording(self._record_to)
        if self.replay is not None:
            for name, kind in self.replay.sources:
                self.model.register(name, kind)
            self._run_replay()
        elif self.sources:
            self._run_poller()
        self.set_interval(1.0, self._tick)

    def _freeze_long_lived(self) -> None:
        """After a few refreshes, move what exists by then out of the garbage collector's way.

        Modules, SDK clients and the widget tree live as long as the dashboard; a full
        collection walked all of them (~135,000 objects: 76 ms at 500 links, about every tenth
        refresh). Frozen, a collection walks only what refreshes create.

        And the youngest generation waits for 10,000 new objects instead of 700: a refresh at
        500 links makes ~10,000 short-lived containers (parsed pages, reports, views), so with
        the default the collector ran ~5 times a refresh, each time walking the reports being
        built (4-6 ms a refresh at 500 links, measured); nearly all of it is freed by reference
        counting anyway. Both are undone on unmount, so the rest of the app collects as usual.
        """
        import gc

        if not self._froze:
            self._froze = True
            gc.freeze()
            self._gc_threshold = gc.get_threshold()
            young, *older = self._gc_threshold
            if 0 < young < GC_YOUNG_THRESHOLD:  # 0: collection is off; never lower a higher setting
                gc.set_threshold(GC_YOUNG_THRESHOLD, *older)

    def on_screen_suspend(self) -> None:
        self._behind = True

    def on_screen_resume(self) -> None:
        if self._behind:
            self._behind = False
            if self.is_mounted and self.model.views:
                self._draw_all()

    async def on_unmount(self) -> None:
        if self._froze:
            import gc

            gc.unfreeze()
            if self._gc_threshold is not None and gc.get_threshold()[0] == GC_YOUNG_THRESHOLD:
                gc.set_threshold(*self._gc_threshold)  # unless someone else changed it meanwhile
        self.poller.stop()
        self.stop_recording()
        await self.poller.close()  # connections and HTTP sessions go with the screen

    # ------------------------------------------------------------------ workers

    @work(group="dashboard-poll", exclusive=True)
    async def _run_poller(self) -> None:
        await self.poller.run()

    @work(group="dashboard-replay", exclusive=True)
    async def _run_replay(self) -> None:
        async for report in self.replay.frames():
            self.post_message(SourceUpdated(report))
        self.post_message(SourceUpdated(SourceReport("replay", "replay", utcnow(), ok=True, round_trips=0)))

    def _on_report(self, report: SourceReport) -> None:
        """A poller answer, taken at once: the poller is an async worker on this screen's own
        event loop, so the message hop (six a refresh) would only add work."""
        if self.is_mounted and not self._closing:  # a late answer after the screen went away
            self._take_report(report)

    # ------------------------------------------------------------------ state

    def now(self) -> dt.datetime:
        if self.replay is not None:
            return self._replay_now or self.clock()
        return self.clock()

    def _sync_stale_after(self) -> None:
        # a source is stale once it has missed about two refreshes (and at least 3 s); one the
        # poller slows to spare ARM's read limit, two of its own
        self.model.stale_after = max(3.0, 2.5 * self.poller.interval)
        for name, period in self.poller.periods().items():
            st = self.model.status.get(name)
            if st is not None:
                st.stale_after = 2.5 * period if period > self.poller.interval else 0.0

    @on(SourceUpdated)
    def _source_updated(self, message: SourceUpdated) -> None:
        self._take_report(message.report)

    def _take_report(self, report: SourceReport) -> None:
        if report.source == "replay":  # end of a recording
            self.replay_done = True
            self._flush(force=True)
            return
        if self.replay is not None:
            self._replay_now = report.at
        elif self.frozen_clock:
            report.at = self.clock()
        if self.recorder is not None:
            self.recorder.write(report)
        if report.source in self._pending_sources:  # a second answer before the repaint: keep both in history
            self._flush(force=True)
        if not self._pending_sources:
            self._pending_since = time.monotonic()
        self._pending_sources.add(report.source)
        self._pending |= self.model.apply(report)
        if report.kind == "arm" and self.replay is None:  # its page count sets how often ARM is read
            self._sync_stale_after()
        if not self._flush_scheduled:
            self._flush_scheduled = True
            # answers from several sources arriving close together make one repaint
            self.set_timer(0.03 if self.replay is not None else min(0.15, 0.1 * self.poller.interval), self._flush)
        elif self._flush_deadline is not None and not self._sources_busy():
            self._flush()  # the last answer the merge waited for

    def _flush(self, force: bool = False) -> None:
        if not self._pending and not force:  # a forced flush already took these answers
            self._flush_scheduled = False
            return
        if not force and self.replay is None and self._flush_deadline is None:
            # one merge and repaint per refresh: wait (a little) for sources still answering; the
            # last answer merges at once (see _source_updated), this timer only bounds the wait
            waited = time.monotonic() - self._pending_since
            if self._sources_busy() and waited < 0.5 * self.poller.interval:
                self._flush_deadline = self.set_timer(0.5 * self.poller.interval - waited, self._flush)
                return
        started = time.process_time()
        if self._flush_deadline is not None:
            self._flush_deadline.stop()
            self._flush_deadline = None
        self._flush_scheduled = False
        pending, self._pending = self._pending, set()
        self._pending_sources.clear()
        changed = self.model.rebuild(pending, self.now())
        self.refreshes += 1
        self.last_refresh = self.now()
        self._draw_all(changed)
        self.refresh_seconds.append(time.process_time() - started)
        if self.refreshes == 3:
            self._freeze_long_lived()
        if len(self.refresh_seconds) > 1000:
            del self.refresh_seconds[:500]

    def _sources_busy(self) -> bool:
        """A healthy source is still answering (a failing one is not waited for)."""
        return any(s.busy and s.failures == 0 for s in self.poller.schedules)

    def _tick(self) -> None:
        """Once a second: only stale ages move (nothing else repaints on a timer)."""
        if self.replay is not None and not self.frozen_clock:
            return
        stale = self.model.stale_links()
        before = {s.name: s.stale for s in self.model.status.values()}
        self.model.refresh_status(self.now())
        became = any(s.stale != before.get(s.name) for s in self.model.status.values())
        if stale or became:
            if became:
                stale = set(self.model.views)
            changed = self.model.rebuild(stale, self.now(), record_history=False)
            self._draw_all(None if became else changed)

    # ------------------------------------------------------------------ drawing

    def _c(self, level: str) -> str:
        """A Rich style from the theme ($success/$warning/$error…), so every theme stays legible."""
        styles = getattr(self, "_theme_styles", None)
        if styles is None:
            v = self.app.get_css_variables()
            styles = self._theme_styles = {
                "ok": v.get("success", "green"), "info": v.get("primary", "cyan"),
                "warn": v.get("warning", "yellow"), "error": "bold " + v.get("error", "red"),
                "unknown": "dim", "dim": "dim",
                "chart": v.get("accent", "cyan"),
            }
        return styles.get(level, styles["dim"])

    def _fmt_time(self, when: dt.datetime | None, seconds: bool = True) -> str:
        if when is None:
            return "—"
        local = when if self.utc else when.astimezone()
        return local.strftime("%H:%M:%S" if seconds else "%H:%M")

    @property
    def tz_name(self) -> str:
        return "UTC" if self.utc else (dt.datetime.now().astimezone().tzname() or "local")

    def visible_views(self) -> list[LinkView]:
        """The links shown, filtered and sorted as on screen (exports use it too)."""
        views = list(self.model.views.values())
        if self.filter_text:
            f = self.filter_text.lower()
            views = [v for v in views if f in self._haystack(v)]
        name, key, desc = SORTS[self.sort_index]
        reverse = desc != self.sort_reverse
        if reverse or name not in _SORTS_BY_NAME_TOO:  # ties in link-name order
            views.sort(key=lambda v: v.name.lower())
        views.sort(key=key, reverse=reverse)
        return views

    def _haystack(self, v: LinkView) -> str:
        """What the filter searches in a link (kept per view: 500 links filter cheaply every refresh)."""
        hit = self._filter_cache.get(v.name)
        if hit is not None and hit[0] is v:
            return hit[1]
        text = " ".join(str(x) for x in (v.name, v.database, v.sql_server, v.mi, v.health.word)).lower()
        self._filter_cache[v.name] = (v, text)
        return text

    def _row(self, v: LinkView) -> Row:
        loss = "—" if v.data_loss_seconds is None and v.data_loss_mb is None else (
            f"{fmt_num(v.data_loss_seconds)}/{fmt_num(v.data_loss_mb, 1)}")
        age = v.stale_age
        return Row(v.name, (
            v.health.label, v.name, fmt_num(v.lag_seconds), fmt_num(v.send_queue_kb), fmt_num(v.redo_queue_kb),
            loss, f"stale {age:.0f}s" if age is not None else "fresh",
            "safe" if v.failover_safe else "no", fmt_num(v.cert_days), fmt_duration(v.redo_seconds),
            v.database or "—", v.sql_server or "—", v.mi or "—",
        ), v.health.level, v.stale)

    def _row_for(self, key: str) -> Row:
        """The table's row for a link, formatted only when the table draws it and its view is new."""
        v = self.model.views.get(key)
        hit = self._row_cache.get(key)
        if hit is not None and hit[0] is v:
            return hit[1]
        if v is None:  # gone since the keys were set; the next draw drops it
            return Row(key, ("", key), "unknown", True)
        row = self._row(v)
        self._row_cache[key] = (v, row)
        return row

    def _draw_all(self, changed: set[str] | None = None) -> None:
        """Redraw from the model; ``changed`` (links rebuilt) lets an unchanged refresh skip the sort."""
        if self._behind and changed is not None:
            return  # a dialog covers the view: everything is drawn when it closes
        table = self.query_one(LinkTable)
        order_for = (self.sort_index, self.sort_reverse, self.filter_text)
        if changed is None or changed or self._order is None or order_for != self._order_for:
            self._order = [v.name for v in self.visible_views()]
            self._order_for = order_for
        name, _, desc = SORTS[self.sort_index]
        table.sort_title = f"{name} {'▲' if desc == self.sort_reverse else '▼'}"
        table.empty_text = ("no links match the filter" if self.filter_text and self.model.views
                            else "waiting for the first answer…" if not self.model.views else "no links")
        cache = self._row_cache
        for kept in (cache, self._filter_cache):  # forget links that are gone (rarely: only when many)
            if len(kept) > 2 * len(self.model.views) + 16:
                for gone in set(kept) - set(self.model.views):
                    del kept[gone]
        table.set_keys(self._order, self._row_for)
        self._draw_topbar()
        self._draw_alerts()
        self._draw_detail()

    def _draw_topbar(self) -> None:
        counts = {"ok": 0, "warn": 0, "error": 0}
        for v in self.model.views.values():
            lvl = v.health.level
            counts["warn" if lvl in ("warn", "unknown") else "error" if lvl == "error" else "ok"] += 1
        # what changes every refresh (the time) comes first: a repaint rewrites a line up to the
        # last changed cell, so the rest of the bar is not resent
        t = Text(f"{self._fmt_time(self.last_refresh)} {self.tz_name}  ")
        if self.replay is not None:
            t.append("■ REPLAY END" if self.replay_done else "▶ REPLAY", style="bold")
            t.append(f" {self.replay.speed:g}× {self.replay.position}/{len(self.replay.reports)}")
        elif self.poller.paused:
            t.append("⏸ PAUSED", style="bold")
        else:
            t.append("● LIVE", style="bold")
            t.append(f" every {self.poller.interval:g} s")
            paced = self.poller.paced()
            if paced is not None:
                t.append(f" (ARM every {paced:.3g} s: read limit)", style=self._c("dim"))
        t.append("  ")
        t.append(f"● {counts['ok']} ", style=self._c("ok"))
        t.append(f"▲ {counts['warn']} ", style=self._c("warn"))
        t.append(f"✖ {counts['error']}", style=self._c("error"))
        name, _, desc = SORTS[self.sort_index]
        t.append(f"  sort {name} {'▲' if desc == self.sort_reverse else '▼'}")
        if self.filter_text:
            t.append(f"  filter “{self.filter_text}”")
        t.append(f"  {self.title_text}", style="bold")
        if self.recorder is not None:
            t.append("  ⏺ REC", style=self._c("error"))
        self.query_one("#topbar", LinesView).set_lines([t])

    def _draw_alerts(self) -> None:
        alerts = self.model.alerts()
        view = self.query_one("#alerts", LinesView)
        if not alerts:
            view.set_lines([Text("✓ no alerts", style=self._c("ok"))])
            view.set_class(False, "alerting")
            return
        width = max(20, self.size.width - 2)
        lines: list[Text] = []
        max_lines = 2 if self.size.height < 40 else 4
        shown = 0
        for a in alerts:
            if len(lines) >= max_lines:
                break
            glyph = "✖" if a.level == "error" else "▲"
            t = Text(f"{glyph} {a.text}", style=self._c("error" if a.level == "error" else "warn"))
            t.truncate(width, overflow="ellipsis")
            lines.append(t)
            shown += 1
        if shown < len(alerts):  # the count of the rest stays visible: the last alert gives way
            more = f"  (+{len(alerts) - shown} more)"
            lines[-1].truncate(max(10, width - len(more)), overflow="ellipsis")
            lines[-1].append(more, style=self._c("dim"))
        view.set_lines(lines)
        view.set_class(True, "alerting")

    def _draw_detail(self) -> None:
        table = self.query_one(LinkTable)
        key = table.cursor_key
        self.selected = key
        v = self.model.views.get(key) if key else None
        charts = self.query_one("#charts", LinesView)
        # what the pane shows depends on these alone: skip the work when none moved
        drawn = (key, v, self.utc, self._chart_width(), self.model.history.count(key) if key else 0,
                 v.sql.at if v and v.sql else None, v.sql.server_time if v and v.sql else None,
                 v.arm.at if v and v.arm else None, self.model.thresholds.cert_days)
        if drawn == self._detail_drawn:
            return
        self._detail_drawn = drawn
        title = self.query_one("#detail-title", LinesView)
        sql_side = self.query_one("#sql-side", LinesView)
        mi_side = self.query_one("#mi-side", LinesView)
        figures = self.query_one("#figures", LinesView)
        if v is None:
            title.set_lines([Text("Choose a link to see both sides, derived figures and history.", style=self._c("dim"))])
            for w in (sql_side, mi_side, figures, charts):
                w.set_lines([])
            return
        t = Text()
        t.append(f"{v.health.label} ", style=self._c(v.health.level))
        t.append(v.name, style="bold")
        n_dbs = self._db_count(v)
        dbs = (v.database or "—") if n_dbs < 2 else f"{n_dbs} databases"
        t.append(f" · {dbs} · {v.sql_server or '?'} ⇄ {v.mi or '?'}"
                 f" · primary: {v.primary_side or '?'}")
        if v.arm and v.arm.data.get("replication_mode"):
            t.append(f" · {v.arm.data['replication_mode']}")
        title.set_lines([t])
        sql_side.set_lines(self._sql_lines(v))
        mi_side.set_lines(self._mi_lines(v))
        figures.set_lines(self._figure_lines(v))
        charts.set_lines(self._chart_lines(v))

    @staticmethod
    def _db_count(v: LinkView) -> int:
        return max(len((v.sql.data.get("databases") if v.sql else None) or ()),
                   len((v.arm.data.get("databases") if v.arm else None) or ()))

    def _when(self, when: dt.datetime | None, ref: dt.datetime, v: LinkView) -> str:
        """A clock time while healthy (static: no repaint), its growing age once the link is in trouble."""
        if when is None:
            return "—"
        if v.connected is False or v.health.level in ("warn", "error"):
            return f"{_ago((ref - when).total_seconds())} ({self._fmt_time(when)})"
        return self._fmt_time(when)

    def _freshness(self, side: Any) -> Text:
        if side is None:
            return Text(" no data", style=self._c("dim"))
        if side.stale:
            return Text(f" stale {side.age_seconds:.0f} s", style=self._c("error"))
        return Text(" fresh", style=self._c("ok"))

    def _sql_lines(self, v: LinkView) -> list[Text]:
        """The SQL Server side: the replica, then every database of the link (name first when several)."""
        head = Text(f"SQL Server {v.sql_server or ''}".rstrip(), style="bold")
        head.append_text(self._freshness(v.sql))
        if v.sql is None:
            return [head]
        dbs = v.sql.data.get("databases") or [{}]
        first = dbs[0]
        ref = v.sql.server_time or v.sql.at
        lines = [head, Text(f"{first.get('role') or '?'} · {first.get('connected_state') or '?'} · "
                            f"{str(first.get('availability_mode') or '?').replace('_COMMIT', '')}")]
        many = len(dbs) > 1
        for d in dbs:
            state = Text()
            if many:
                state.append(f"▸ {d.get('database') or '?'} ", style="bold")
            state.append(f"{d.get('sync_state') or '?'} · {d.get('sync_health') or '?'}")
            commit = _parse(d.get("secondary_commit_time"))
            lines += [
                state,
                Text(f"{'  ' if many else ''}send {fmt_num(d.get('send_queue_kb'))} KB @ "
                     f"{fmt_num(d.get('send_rate_kbs'))} KB/s · redo {fmt_num(d.get('redo_queue_kb'))} KB @ "
                     f"{fmt_num(d.get('redo_rate_kbs'))} KB/s"),
                Text(f"{'  ' if many else ''}lag {fmt_num(d.get('lag_seconds'))} s · "
                     f"secondary commit {self._when(commit, ref, v)}"),
            ]
        errors = dict.fromkeys(d.get("connect_error") for d in dbs if d.get("connect_error"))
        lines += [Text(f"error {e}", style=self._c("error")) for e in errors]
        return lines

    def _mi_lines(self, v: LinkView) -> list[Text]:
        """The managed instance side: the link, then every database ARM reports for it."""
        head = Text(f"Managed instance {v.mi or ''}".rstrip(), style="bold")
        head.append_text(self._freshness(v.arm))
        if v.arm is None:
            return [head]
        a = v.arm.data
        dbs = a.get("databases") or [{}]
        ref = v.sql.server_time if v.sql and v.sql.server_time else v.arm.at
        lines = [head, Text(f"role {a.get('instance_role') or '?'} · failover {a.get('failover_mode') or '?'}")]
        many = len(dbs) > 1
        for d in dbs:
            state = Text()
            if many:
                state.append(f"▸ {d.get('database') or '?'} ", style="bold")
            seeding = f" · seeding {fmt_num(d.get('seeding_percent'))}%" if d.get("seeding_percent") is not None else ""
            state.append(f"{d.get('replica_state') or '?'} · {d.get('connected_state') or '?'} · "
                         f"{d.get('sync_health') or '?'}{seeding}")
            hardened = _parse(d.get("last_hardened_time"))
            lines += [
                state,
                Text(f"{'  ' if many else ''}send lag {fmt_num(d.get('send_lag_seconds'))} s · "
                     f"redo lag {fmt_num(d.get('redo_lag_seconds'))} s"),
                Text(f"{'  ' if many else ''}hardened {self._when(hardened, ref, v)}"),
            ]
        errors = dict.fromkeys(d.get("link_error") for d in dbs if d.get("link_error"))
        lines += [Text(f"error {e}", style=self._c("error")) for e in errors]
        return lines

    def _figure_lines(self, v: LinkView) -> list[Text]:
        seed = ("—" if v.seeding_percent is None else
                f"{v.seeding_percent:.0f}% ETA {fmt_duration(v.seeding_eta_seconds)}")
        line1 = Text(f"Loss if failed over now {fmt_num(v.data_loss_seconds)} s / {fmt_num(v.data_loss_mb, 1)} MB"
                     f" · redo catch-up {fmt_duration(v.redo_seconds)} · seeding {seed} · ")
        cert = "certificate —" if v.cert_days is None else f"certificate {v.cert_days:.0f} days left"
        expiring = v.cert_days is not None and v.cert_days < self.model.thresholds.cert_days
        line1.append(cert, style=self._c("error") if expiring else "")
        safe = Text("✔ planned failover safe now", style=self._c("ok")) if v.failover_safe else Text(
            f"✖ planned failover not safe: {v.failover_reason}", style=self._c("warn"))
        return [line1, safe]

    def _chart_width(self) -> int:
        """The charts' width, the same whether or not the detail pane shows its scrollbar."""
        pane = self.query_one(DetailPane)
        width = self.query_one("#charts", LinesView).size.width or self.size.width - 4
        return max(10, width - (0 if pane.show_vertical_scrollbar else pane.styles.scrollbar_size_vertical))

    def _chart_lines(self, v: LinkView) -> list[Text]:
        width = self._chart_width()
        rows = [("send queue KB", "send_queue_kb", 0), ("redo queue KB", "redo_queue_kb", 0),
                ("send KB/s", "send_rate_kbs", 0), ("redo KB/s", "redo_rate_kbs", 0), ("lag s", "lag_seconds", 0)]
        out = []
        for label, fld, digits in rows:
            values = self.model.history.series(v.name, fld)
            finite = [x for x in values if not math.isnan(x)]
            now_v = finite[-1] if finite else None
            tail = f" {fmt_num(now_v, digits):>9} max {fmt_num(max(finite) if finite else None, digits):>9}"
            chart_w = max(5, width - 15 - len(tail))
            t = Text(f"{label:<14} ", style=self._c("dim"))
            t.append(spark(values, chart_w), style=self._c("chart"))
            t.append(tail)
            out.append(t)
        return out

    # ------------------------------------------------------------------ events

    @on(LinkTable.Highlighted)
    def _highlighted(self, event: LinkTable.Highlighted) -> None:
        if event.key != self.selected:
            self._draw_detail()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self._draw_all()

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.query_one(LinkTable).focus()

    def on_resize(self) -> None:
        self.call_after_refresh(self._draw_all)

    # ------------------------------------------------------------------ actions

    def action_pause(self) -> None:
        if self.replay is not None:
            self.replay.resume() if self.replay.paused else self.replay.pause()
        elif self.poller.paused:
            self.poller.resume()
        else:
            self.poller.pause()
        self._draw_topbar()

    def action_interval(self, direction: int) -> None:
        if self.replay is not None:
            speeds = (0.5, 1, 2, 4, 8, 16, 64)
            cur = self.replay.speed
            nxt = [s for s in speeds if s > cur] if direction < 0 else [s for s in speeds if s < cur][::-1]
            if nxt:
                self.replay.speed = nxt[0]
            self._draw_topbar()
            return
        cur = self.poller.interval
        options = [i for i in INTERVALS if i >= self.poller.min_interval] or [self.poller.min_interval]
        if direction > 0:
            bigger = [i for i in options if i > cur + 1e-9]
            target = bigger[0] if bigger else options[-1]
        else:
            smaller = [i for i in options if i < cur - 1e-9]
            target = smaller[-1] if smaller else options[0]
        self.set_refresh_interval(target)

    def set_refresh_interval(self, seconds: float) -> float:
        value = self.poller.set_interval(seconds)
        self._sync_stale_after()
        self._draw_topbar()
        return value

    def action_scroll_detail(self, lines: int) -> None:
        """Scroll the detail pane (a link with many databases at 80×24)."""
        pane = self.query_one(DetailPane)
        pane.scroll_to(y=pane.scroll_y + lines * 3, animate=False)

    def action_refresh_now(self) -> None:
        self.poller.refresh_now()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("shown")
        box.focus()

    def action_sort(self, step: int) -> None:
        if step:
            self.sort_index = (self.sort_index + 1) % len(SORTS)
            self.sort_reverse = False
        else:
            self.sort_reverse = not self.sort_reverse
        self._draw_all()

    def action_toggle_tz(self) -> None:
        self.utc = not self.utc
        self._row_cache.clear()
        self._draw_all()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_focus or box.has_class("shown"):
            box.value = ""
            box.remove_class("shown")
            self.filter_text = ""
            self.query_one(LinkTable).focus()
            self._draw_all()
            return
        if isinstance(self.app, DashboardApp) or len(self.app.screen_stack) <= 2:
            self.app.exit()  # the dashboard on its own: back means quit (no empty screen left behind)
        else:
            self.app.pop_screen()

    def action_thresholds(self) -> None:
        def done(value: Thresholds | None) -> None:
            if value is not None:
                self.set_thresholds(value)

        self.app.push_screen(ThresholdsPrompt(self.model.thresholds), done)

    def set_thresholds(self, value: Thresholds) -> None:
        self.model.thresholds = value
        self.model.rebuild(list(self.model.views), self.now(), record_history=False)
        self._draw_all()

    def action_export(self) -> None:
        stamp = self.now().strftime("%Y%m%d-%H%M%S")

        def done(path: str | None) -> None:
            if path:
                try:
                    written = self.export(path)
                except OSError as e:
                    self.notify(f"Could not export: {e.strerror or e}", severity="error")
                else:
                    self.notify("Exported " + " and ".join(str(p) for p in written))

        self.app.push_screen(PathPrompt("Export the current view (writes .json and .md)",
                                        f"milink-dashboard-{stamp}"), done)

    def export(self, path: str | Path) -> tuple[Path, Path]:
        """Write the current view (filtered and sorted as shown) as JSON and Markdown."""
        base = Path(path).expanduser()
        if base.suffix in (".json", ".md"):
            base = base.with_suffix("")
        base.parent.mkdir(parents=True, exist_ok=True)
        views = self.visible_views()
        alerts = self.model.alerts()
        statuses = list(self.model.status.values())
        meta = {"filter": self.filter_text or None, "sort": SORTS[self.sort_index][0],
                "interval_seconds": self.poller.interval, "replay": str(self.replay.path) if self.replay else None}
        json_path, md_path = base.with_suffix(".json"), base.with_suffix(".md")
        json_path.write_text(json.dumps(export_json(views, alerts, statuses, self.now(), meta), indent=2,
                                        default=str) + "\n", encoding="utf-8")
        md_path.write_text(export_markdown(views, alerts, statuses, self.now()), encoding="utf-8")
        return json_path, md_path

    def action_record(self) -> None:
        if self.recorder is not None:
            path = self.recorder.path
            self.stop_recording()
            self.notify(f"Recording saved to {path}")
            return
        stamp = self.now().strftime("%Y%m%d-%H%M%S")

        def done(path: str | None) -> None:
            if path:
                try:
                    self.start_recording(path)
                except OSError as e:
                    self.notify(f"Could not record: {e.strerror or e}", severity="error")
                else:
                    self.notify(f"Recording to {self.recorder.path}")

        self.app.push_screen(PathPrompt("Record the time series to", f"milink-recording-{stamp}.jsonl.gz"), done)

    def start_recording(self, path: str | Path) -> None:
        from milink_tui.services.recorder import Recorder

        self.stop_recording()
        self.recorder = Recorder(path, {"interval_seconds": self.poller.interval,
                                        "sources": [s.name for s in self.sources]})
        self._draw_topbar()

    def stop_recording(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None
            if self.is_mounted:
                self._draw_topbar()


def _parse(value: Any) -> dt.datetime | None:
    from milink_tui.engine.dashboard import as_utc

    return as_utc(value)


class DashboardApp(App[None]):
    """The dashboard on its own (tests, bench, ``milink dashboard`` until the home screen links it)."""

    TITLE = "milink"

    def __init__(self, screen_factory: Callable[[], DashboardScreen]) -> None:
        super().__init__()
        self._factory = screen_factory
        self.dashboard: DashboardScreen | None = None

    def on_mount(self) -> None:
        self.dashboard = self._factory()
        self.push_screen(self.dashboard)
