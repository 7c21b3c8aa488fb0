"""The dashboard model without Textual: normalising, merging, health, alerts, backoff, exports."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from dash_helpers import T0, fixture_reports, sql_rows

from milink_tui.engine import dashboard as d
from milink_tui.services.poller import Poller, backoff_delay


def model_with(n: int = 6) -> d.DashboardModel:
    m = d.DashboardModel()
    sql, arm = fixture_reports(n)
    m.ingest(sql, T0)
    m.ingest(arm, T0)
    return m


def test_merge_per_link_takes_both_sides() -> None:
    m = model_with()
    assert len(m.views) == 6
    v = m.views["DAG_Db001"]
    assert (v.sql_server, v.mi, v.database, v.primary_side) == ("SQLFIX01", "sqlmi-fix", "Db001", "SQL Server")
    assert v.sql is not None and v.arm is not None and not v.stale
    assert v.health == d.HEALTHY and v.failover_safe


def test_health_words_for_every_state() -> None:
    m = model_with()
    words = {name: v.health.word for name, v in m.views.items()}
    assert words == {"DAG_Db001": "HEALTHY", "DAG_Db002": "LAGGING", "DAG_Db003": "DISCONNECTED",
                     "DAG_Db004": "SEEDING 39%", "DAG_Db005": "HEALTHY", "DAG_Db006": "HEALTHY"}
    seed = m.views["DAG_Db004"]
    assert round(seed.seeding_percent) == 39 and seed.seeding_eta_seconds == 62.4  # 624 MB at 10 MB/s


def test_derived_figures() -> None:
    v = model_with().views["DAG_Db002"]
    assert v.data_loss_seconds == 45 and v.data_loss_mb == 50
    assert v.redo_seconds == 0
    assert not v.failover_safe and "not yet sent" in v.failover_reason
    assert round(model_with().views["DAG_Db005"].cert_days) == 10


def test_alerts_and_thresholds() -> None:
    m = model_with()
    kinds = {(a.link, a.kind) for a in m.alerts()}
    assert kinds == {("DAG_Db002", "lag"), ("DAG_Db003", "disconnected"), ("DAG_Db005", "certificate")}
    assert m.alerts()[0].level == "error"  # errors first
    m.thresholds = d.Thresholds(lag_seconds=60, cert_days=5, disconnected=False)
    m.rebuild(list(m.views), T0)
    assert {a.kind for a in m.alerts()} == {"not_healthy"}


def test_failed_source_keeps_data_and_goes_stale_with_age() -> None:
    m = model_with()
    later = T0 + dt.timedelta(seconds=12)
    touched = m.apply(d.failure("arm:sqlmi-fix", "arm", "HTTP 503 Service Unavailable", later))
    m.rebuild(touched, later)
    v = m.views["DAG_Db001"]
    assert v.arm is not None and v.arm.stale and v.arm.age_seconds == 12 and v.stale_age == 12
    assert not v.failover_safe and "stale" in v.failover_reason
    assert any(a.kind == "source" and "not answering for 12 s" in a.text for a in m.alerts())
    # the next good answer clears it
    sql, arm = fixture_reports()
    arm.at = later
    m.ingest(arm, later)
    assert not m.views["DAG_Db001"].arm.stale


def test_a_link_that_disappears_from_every_source_is_dropped() -> None:
    m = model_with(2)
    sql = d.normalize_sql([[sql_rows("DAG_Db001", "Db001")]], T0, "SQLFIX01")
    arm = d.normalize_arm("sqlmi-fix", "rg", [], T0)
    m.ingest(sql, T0)
    m.ingest(arm, T0)
    assert set(m.views) == {"DAG_Db001"}


def test_history_is_a_ring_buffer() -> None:
    h = d.History(size=3)
    m = model_with(1)
    for _ in range(5):
        h.add(m.views["DAG_Db001"], T0)
    assert len(h.series("DAG_Db001", "lag_seconds")) == 3


def test_backoff_doubles_and_caps() -> None:
    assert [backoff_delay(1, n, cap=10) for n in range(6)] == [1, 2, 4, 8, 10, 10]


async def test_poller_skips_when_busy_backs_off_and_never_stops_others() -> None:
    clock = [0.0]
    reports: list[d.SourceReport] = []

    class Src:
        def __init__(self, name: str, fail: bool) -> None:
            self.name, self.kind, self.fail, self.calls = name, "sql", fail, 0

        async def fetch(self) -> d.SourceReport:
            self.calls += 1
            await asyncio.sleep(0)
            if self.fail:
                raise ConnectionError("login timeout")
            return d.SourceReport(self.name, "sql", T0)

        async def close(self) -> None:
            pass

    good, bad = Src("sql:a", False), Src("sql:b", True)
    p = Poller([good, bad], reports.append, interval=1, min_interval=1, backoff_cap=8, monotonic=lambda: clock[0])
    await p.poll_once()
    assert [r.ok for r in reports] == [True, False] and reports[1].error == "login timeout"
    assert p.schedules[0].next_due == 1 and p.schedules[1].next_due == 2
    await p.poll_once()
    assert p.schedules[1].next_due == 4  # 2 failures: 4 s
    # skip if busy
    p.schedules[0].busy = True
    try:
        await p.poll(p.schedules[0])
    except RuntimeError:
        pass
    assert p.schedules[0].skipped == 1


def test_exports_are_complete_and_redacted() -> None:
    m = model_with()
    m.apply(d.failure("sql:SQLFIX01", "sql", "login failed; PWD=hunter2; Password=abc"))
    views = list(m.views.values())
    data = d.export_json(views, m.alerts(), m.status.values(), T0)
    text = str(data)
    assert "hunter2" not in text and "abc;" not in text and "PWD=***" in text
    assert len(data["links"]) == 6 and data["links"][0]["sql_side"]["data"]["databases"]
    md = d.export_markdown(views, m.alerts(), m.status.values(), T0)
    assert "| ● HEALTHY | DAG_Db001 |" in md and "hunter2" not in md and "## Alerts" in md


def test_formatting() -> None:
    assert d.fmt_duration(62.4) == "1 m 02 s" and d.fmt_duration(float("inf")) == "∞"
    assert d.fmt_num(None) == "—" and d.fmt_num(51200) == "51,200"


def refresh(m: d.DashboardModel, now: dt.datetime, *reports: d.SourceReport) -> set[str]:
    """One refresh as the screen does it: every answer applied, then one rebuild."""
    touched: set[str] = set()
    for r in reports:
        touched |= m.apply(r)
    return m.rebuild(touched, now)


def test_an_unchanged_link_keeps_its_view_while_its_history_moves() -> None:
    """Incremental merge: equal answers keep the same view object (nothing to redraw), charts still move."""
    m = model_with()
    before = dict(m.views)
    counts = {n: m.history.count(n) for n in m.views}
    later = T0 + dt.timedelta(seconds=1)
    sql, arm = fixture_reports()
    sql.at = arm.at = later
    sql.links["DAG_Db006"]["databases"][0]["send_queue_kb"] = 77.0
    changed = refresh(m, later, sql, arm)
    assert changed == {"DAG_Db006"}
    assert m.views["DAG_Db006"] is not before["DAG_Db006"] and m.views["DAG_Db006"].send_queue_kb == 77.0
    for name in set(m.views) - {"DAG_Db006"}:
        assert m.views[name] is before[name], name
        assert m.views[name].sql.at == later and m.views[name].arm.at == later  # ages are fresh
    assert all(m.history.count(n) == counts[n] + 1 for n in m.views)  # one sample each, kept or not
    # and the kept views are what a full rebuild would say
    fresh = d.DashboardModel()
    fresh.ingest(sql, later)
    fresh.ingest(arm, later)
    for name, v in m.views.items():
        w = fresh.views[name]
        assert (v.health, v.lag_seconds, v.send_queue_kb, v.data_loss_mb, v.failover_safe, v.alerts) == (
            w.health, w.lag_seconds, w.send_queue_kb, w.data_loss_mb, w.failover_safe, w.alerts), name
        assert abs((v.cert_days or 0) - (w.cert_days or 0)) < 1e-9


def test_a_kept_view_is_rebuilt_when_certificate_days_or_thresholds_move() -> None:
    m = model_with()
    v5 = m.views["DAG_Db005"]  # its certificate expires in 10 days
    assert d.fmt_num(v5.cert_days) == "10"
    sql, arm = fixture_reports()
    hours = T0 + dt.timedelta(hours=1)  # still shows 10 days: kept, days updated
    sql.server_time = sql.at = arm.at = hours
    assert "DAG_Db005" not in refresh(m, hours, sql, arm)
    assert m.views["DAG_Db005"] is v5 and v5.cert_days < 10
    sql, arm = fixture_reports()
    day = T0 + dt.timedelta(days=1, hours=1)  # 9 days now: rebuilt, the alert says so
    sql.server_time = sql.at = arm.at = day
    assert "DAG_Db005" in refresh(m, day, sql, arm)
    assert any(a.text.endswith("expires in 9 days") for a in m.views["DAG_Db005"].alerts)
    m.thresholds = d.Thresholds(cert_days=5)
    assert m.rebuild(list(m.views), day) == set(m.views)  # new thresholds: every view again
    assert not any(a.kind == "certificate" for a in m.alerts())


def test_stale_links_are_listed_for_the_clock_tick() -> None:
    m = model_with()
    assert m.stale_links() == set()
    later = T0 + dt.timedelta(seconds=12)
    m.rebuild(m.apply(d.failure("arm:sqlmi-fix", "arm", "HTTP 503", later)), later)
    assert m.stale_links() == set(m.views)


def test_sources_share_one_schedule_grid() -> None:
    """Sources answering at different times are due again together: one merge per refresh."""
    clock = [0.0]
    p = Poller([], lambda r: None, interval=1, min_interval=1, monotonic=lambda: clock[0])
    assert p.next_slot(0.05, 1) == p.next_slot(0.3, 1) == 1.0  # fast and slower answers: the same slot
    assert p.next_slot(0.7, 1) == 2.0  # slower than half an interval: skips a round, no instant re-poll
    assert p.next_slot(0.05, 4) == 4.0  # backoff stays on the grid
    clock[0] = 10.3
    p.refresh_now()  # the grid restarts at the user's refresh
    assert p.next_slot(10.4, 1) == 11.3


def _connection(m: d.DashboardModel, kind: str, connected: bool, at: dt.datetime, dbs: int = 1) -> None:
    """One side's fresh answer for two links of ``dbs`` databases each: connected (healthy) or not."""
    names = [(f"DAG_Db{i:03d}", [f"Db{i:03d}{chr(97 + j)}" for j in range(dbs)]) for i in (1, 2)]
    if kind == "sql":
        rows = [sql_rows(link, db, connected=connected, health="HEALTHY" if connected else "NOT_HEALTHY")
                for link, link_dbs in names for db in link_dbs]
        rep = d.normalize_sql([rows], at, "SQLFIX01")
    else:
        state = "CONNECTED" if connected else "DISCONNECTED"
        rep = d.normalize_arm("sqlmi-fix", "rg-fix", [
            {"name": link, "databases": [{
                "databaseName": db, "connectedState": state, "replicaState": "LinkSynchronizing",
                "synchronizationHealth": "HEALTHY" if connected else "NOT_HEALTHY",
                "mostRecentLinkError": None if connected else "35206"} for db in link_dbs]}
            for link, link_dbs in names], at)
    m.ingest(rep, at)


@pytest.mark.parametrize("dbs", [1, 2])  # the one-database straight path, and the general one
@pytest.mark.parametrize("stale_side", ["arm", "sql"])
def test_a_fresh_side_outranks_a_stale_one_on_connection_and_health(stale_side: str, dbs: int) -> None:
    """A partition seen by both sides heals; one side then stops answering (ARM throttled, say).

    Its last word (DISCONNECTED) must not outlive the healing the fresh side reports: the link
    shows CONNECTED and healthy, and failover stays unsafe only because one side is stale.
    """
    fresh_side = "sql" if stale_side == "arm" else "arm"
    m = d.DashboardModel()
    for kind in ("sql", "arm"):
        _connection(m, kind, False, T0, dbs)
    assert m.views["DAG_Db001"].health.word == "DISCONNECTED"
    later = T0 + dt.timedelta(seconds=10)
    m.ingest(d.failure(f"{stale_side}:{'sqlmi-fix' if stale_side == 'arm' else 'SQLFIX01'}", stale_side,
                       "HTTP 429 throttled", later), later)
    _connection(m, fresh_side, True, later, dbs)
    v = m.views["DAG_Db001"]
    assert getattr(v, stale_side).stale and not getattr(v, fresh_side).stale
    assert v.connected is True and v.sync_health == "HEALTHY" and v.health.word == "HEALTHY"
    assert not v.link_error and not any(a.kind == "disconnected" for a in v.alerts)
    assert not v.failover_safe and "stale" in v.failover_reason
    # both fresh again: the worse word counts, as before
    _connection(m, stale_side, False, later, dbs)
    assert m.views["DAG_Db001"].health.word == "DISCONNECTED"


class _ArmList:
    """An ARM source as the poller sees it: a subscription's read budget, pages per list."""

    def __init__(self, name: str, subscription: str, pages: int, error: Exception | None = None) -> None:
        self.name, self.kind = name, "arm"
        self.budget_key, self.reads_per_poll, self.error = f"arm:{subscription}", pages, error

    async def fetch(self) -> d.SourceReport:
        if self.error is not None:
            raise self.error
        return d.SourceReport(self.name, "arm", T0)

    async def close(self) -> None:
        pass


async def test_arm_lists_are_paced_to_stay_within_the_subscription_read_limit() -> None:
    """30 instances of two pages each at 1 s would be 60 ARM reads a second, past ARM's refill
    of 25 per subscription and principal (throttled within seconds): those lists slow to 3 s,
    SQL Servers and other subscriptions keep the interval, and the interval moves them all."""
    from milink_tui.services.poller import ARM_READS_PER_SECOND, READ_BUDGET

    assert READ_BUDGET < ARM_READS_PER_SECOND
    clock = [0.0]
    busy = [_ArmList(f"arm:mi{i:02d}", "sub-a", 2) for i in range(30)]
    quiet = _ArmList("arm:other", "sub-b", 1)

    class Sql:
        name, kind = "sql:a", "sql"

        async def fetch(self) -> d.SourceReport:
            return d.SourceReport(self.name, "sql", T0)

        async def close(self) -> None:
            pass

    p = Poller([Sql(), quiet, *busy], lambda r: None, interval=1, min_interval=1, monotonic=lambda: clock[0])
    assert p.period(p.schedules[0]) == p.period(p.schedules[1]) == 1
    assert p.period(p.schedules[2]) == 60 / READ_BUDGET == 3 and p.paced() == 3
    await p.poll_once()
    assert [s.next_due for s in p.schedules[:3]] == [1, 1, 3]  # on the shared grid, every third round
    reads_per_second = sum(s.source.reads_per_poll / p.period(s) for s in p.schedules[2:])
    assert reads_per_second <= READ_BUDGET
    assert p.set_interval(5) == 5 and p.paced() is None  # slow enough on its own: no pacing
    assert p.set_interval(1) == 1 and p.schedules[2].next_due == 3  # a shorter interval keeps the pace
    busy[0].reads_per_poll = 32  # one instance grew: the subscription's lists slow down further
    assert p.period(p.schedules[2]) == (29 * 2 + 32) / READ_BUDGET
    unlimited = Poller([*busy], lambda r: None, interval=1, read_budget=None)
    assert unlimited.period(unlimited.schedules[0]) == 1 and unlimited.paced() is None


async def test_a_throttled_source_waits_as_long_as_azure_asked() -> None:
    from milink_tui.clients.azure_errors import AzureError

    clock = [0.0]
    throttled = _ArmList("arm:mi", "sub", 1, AzureError("Azure is busy", "SubscriptionRequestsThrottled", 429,
                                                        cause="throttled", retryable=True, retry_after=17))
    reports: list[d.SourceReport] = []
    p = Poller([throttled], reports.append, interval=1, min_interval=1, monotonic=lambda: clock[0])
    await p.poll_once()
    assert not reports[0].ok and p.schedules[0].next_due == 17  # not the 2 s of its first backoff
    throttled.error = AzureError("Azure is busy", status=429)  # no Retry-After: the usual backoff
    await p.poll_once()
    assert p.schedules[0].next_due == 4


def test_a_source_polled_less_often_goes_stale_on_its_own_clock() -> None:
    """A paced ARM list 6 s old is not stale when it is read every 3 s (its limit: 7.5 s)."""
    m = model_with(2)
    later = T0 + dt.timedelta(seconds=6)
    st = m.status["arm:sqlmi-fix"]
    m.refresh_status(later)
    assert st.stale  # the model's 3 s
    st.stale_after = 2.5 * 3
    touched = set(m.views)
    m.rebuild(touched, later)
    assert not st.stale and not m.views["DAG_Db001"].arm.stale
    m.rebuild(touched, T0 + dt.timedelta(seconds=8))
    assert st.stale and m.views["DAG_Db001"].arm.stale


def test_free_text_from_the_sources_is_redacted_as_it_enters(tmp_path) -> None:
    """Error texts are the only free text in a report: redacted in normalize, so the screen,
    exports and recordings never carry a secret a server put in one; a recording replays the
    very reports that were written."""
    import gzip

    from milink_tui.services.recorder import Recorder, read_recording

    rows = [sql_rows("DAG_a", "a", connected=False)]
    rows[0]["last_connect_error_description"] = "login failed; Password=hunter2"
    sql = d.normalize_sql([rows, [], [{"name": "c", "expiry_date": "2027-01-01T00:00:00"}],
                           [{"server_name": "S", "now_utc": "2026-11-23T12:00:00.123456"}]], T0, "S")
    assert sql.links["DAG_a"]["databases"][0]["connect_error"] == "41976: login failed; Password=***"
    arm = d.normalize_arm("mi", "rg", [{"name": "DAG_a", "databases": [
        {"databaseName": "a", "mostRecentLinkError": "token=abc123 rejected", "lastHardenedTime": "2026-11-23T12:00:00Z"}]}],
        T0)
    assert arm.links["DAG_a"]["databases"][0]["link_error"] == "token=*** rejected"
    fail = d.failure("sql:S", "sql", "PWD=hunter2", T0)
    path = tmp_path / "rec.jsonl.gz"
    with Recorder(path, {"note": "secret=xyz"}) as rec:
        for r in (sql, arm, fail):
            rec.write(r)
    text = gzip.open(path, "rt").read()
    assert "hunter2" not in text and "abc123" not in text and "xyz" not in text
    header, back = read_recording(path)
    assert [(r.source, r.kind, r.at, r.ok, r.error, r.server_time) for r in back] == [
        (r.source, r.kind, r.at, r.ok, r.error, r.server_time) for r in (sql, arm, fail)]
    assert back[0].links == sql.links and back[1].links == arm.links
