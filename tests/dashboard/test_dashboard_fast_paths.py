"""The dashboard's fast paths give exactly what the straightforward code gave.

``normalize_sql`` reads the driver's row tuples (no dict per row), ``build_view`` takes a
straight path for one-database links and plain-argument metrics, ``History`` keeps one tuple
of rings per link and ``AzureClient.list_links_raw`` parses with orjson when it can. Each is
compared here with the code it replaced (kept below, verbatim but for names, as the
reference) on generated answers — missing columns, seeding rows, errors, Decimals, naive and
aware times, several databases per link — and on a live lab's real batch.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import sys
from typing import Any

import pytest
from dash_helpers import T0, fixture_reports, wait_until
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milink_tui.clients.sql import ResultSet
from milink_tui.engine import dashboard as d
from milink_tui.engine import metrics

UTC = dt.timezone.utc

# --------------------------------------------------------------------------- the reference (the code replaced)


def reference_normalize_sql(sets: list[list[dict[str, Any]]], at: dt.datetime, fallback_server: str) -> d.SourceReport:
    rows = sets[0] if sets else []
    seeding = {str(r.get("local_database_name") or "").lower(): r for r in (sets[1] if len(sets) > 1 else [])}
    certs = sets[2] if len(sets) > 2 else []
    meta = (sets[3][0] if len(sets) > 3 and sets[3] else {})
    server = str(meta.get("server_name") or fallback_server)
    server_time = d.as_utc(meta.get("now_utc"))
    cert_expiry = min((d.as_utc(c.get("expiry_date")) for c in certs if c.get("expiry_date")), default=None)
    links: dict[str, dict[str, Any]] = {}
    for r in rows:
        name = str(r.get("link_name") or "")
        if not name:
            continue
        db = r.get("database_name")
        seed = seeding.get(str(db or "").lower()) if seeding else None
        x = {
            "send_rate_kbs": d._num(r.get("log_send_rate")), "redo_rate_kbs": d._num(r.get("redo_rate")),
            "primary_commit_time": d.as_utc(r.get("primary_commit_time")),
            "secondary_commit_time": d.as_utc(r.get("secondary_commit_time")),
            "send_queue_kb": d._num(r.get("log_send_queue_size")), "redo_queue_kb": d._num(r.get("redo_queue_size")),
            "lag_seconds": d._num(r.get("secondary_lag_seconds")),
            "end_of_log_lsn": None if r.get("end_of_log_lsn") is None else str(r["end_of_log_lsn"]),
            "last_hardened_lsn": None if r.get("last_hardened_lsn") is None else str(r["last_hardened_lsn"]),
            "database": db, "sql_server": server, "role": r.get("local_role"),
            "connected_state": r.get("connected_state"), "replica_health": r.get("replica_health"),
            "connect_error": (d.redact(f"{r['last_connect_error_number']}: "
                                       f"{r.get('last_connect_error_description') or ''}".strip(": "))
                              if r.get("last_connect_error_number") else None),
            "remote_member": r.get("remote_member"), "mi": d._mi_from_url(r.get("remote_url")),
            "availability_mode": r.get("availability_mode_desc"),
            "sync_state": r.get("sync_state") or r.get("local_sync_state"), "sync_health": r.get("sync_health"),
            "cert_expiry": cert_expiry,
        }
        if seed:
            x["seeding_done_bytes"] = d._num(seed.get("transferred_size_bytes"))
            x["seeding_total_bytes"] = d._num(seed.get("database_size_bytes"))
            x["seeding_rate_bps"] = d._num(seed.get("transfer_rate_bytes_per_second"))
        links.setdefault(name, {"databases": []})["databases"].append(x)
    return d.SourceReport(f"sql:{server}", "sql", at, links, server_time=server_time)


def reference_build_view(name: str, sql: d.SideState | None, arm: d.SideState | None, now: dt.datetime,
                         thresholds: d.Thresholds) -> d.LinkView:
    as_utc, _add, _hi, _lo = d.as_utc, d._add, d._hi, d._lo
    sdbs = (sql.data.get("databases") if sql else None) or []
    adbs = (arm.data.get("databases") if arm else None) or []
    names: list[str] = []
    sql_server = mi = sync_state = role = link_error = replica_state = None
    connected: bool | None = None
    worst_health = 3
    send_q = redo_q = send_r = redo_r = lag = done = total = rate = arm_pct = None
    primary_commit = secondary_commit = cert_expiry = None
    for x in sdbs:
        if x.get("database"):
            names.append(str(x["database"]))
        sql_server = sql_server or x.get("sql_server")
        mi = mi or x.get("mi")
        sync_state = sync_state or x.get("sync_state")
        role = role or x.get("role")
        link_error = link_error or x.get("connect_error")
        cs = x.get("connected_state")
        if cs:
            connected = (connected is not False) and cs == "CONNECTED"
        worst_health = min(worst_health, d._HEALTH_ORDER.get(x.get("sync_health"), 3))
        send_q = _add(send_q, x.get("send_queue_kb"))
        redo_q = _add(redo_q, x.get("redo_queue_kb"))
        send_r = _add(send_r, x.get("send_rate_kbs"))
        redo_r = _add(redo_r, x.get("redo_rate_kbs"))
        lag = _hi(lag, x.get("lag_seconds"))
        done = _add(done, x.get("seeding_done_bytes"))
        total = _add(total, x.get("seeding_total_bytes"))
        rate = _add(rate, x.get("seeding_rate_bps"))
        primary_commit = _hi(primary_commit, as_utc(x.get("primary_commit_time")))
        secondary_commit = _lo(secondary_commit, as_utc(x.get("secondary_commit_time")))
        cert_expiry = _lo(cert_expiry, as_utc(x.get("cert_expiry")))
    # each side's own word on connection, health, lag and errors; then the fresher side's counts
    sql_word = (connected, worst_health, lag, link_error)
    a_connected: bool | None = None
    a_health, a_lag, arm_error = 3, None, None
    for x in adbs:
        g = x.get
        if not sdbs and g("database"):
            names.append(str(x["database"]))
        cs = g("connected_state")
        if cs:
            a_connected = (a_connected is not False) and cs == "CONNECTED"
        a_health = min(a_health, d._HEALTH_ORDER.get(g("sync_health"), 3))
        a_lag = _hi(a_lag, g("send_lag_seconds"))
        arm_pct = _lo(arm_pct, g("seeding_percent"))
        replica_state = replica_state or g("replica_state")
        arm_error = arm_error or g("link_error")
        cert_expiry = _lo(cert_expiry, d._parse_iso(g("cert_expiry")))
    if arm is not None and arm.stale and sql is not None and not sql.stale and sdbs:  # fresh SQL speaks
        connected = sql_word[0] if sql_word[0] is not None else a_connected
        worst_health = sql_word[1] if sql_word[1] != 3 else a_health
        lag = sql_word[2] if sql_word[2] is not None else a_lag
        replica_state = arm_error = None
    elif sql is not None and sql.stale and arm is not None and not arm.stale and adbs:  # fresh ARM speaks
        connected = a_connected if a_connected is not None else sql_word[0]
        worst_health = a_health if a_health != 3 else sql_word[1]
        lag = _hi(lag, a_lag)
        link_error = sql_word[3] if connected is not True else None
    else:  # both fresh (or both stale): the worse word
        connected = a_connected if connected is None else connected if a_connected is None else (
            connected and a_connected)
        worst_health = min(worst_health, a_health)
        lag = _hi(lag, a_lag)
    link_error = arm_error or link_error
    database = ", ".join(names) or None
    mi = (arm.data.get("mi") if arm else None) or mi
    sync_health = d._HEALTH_NAMES.get(worst_health)
    arm_role = arm.data.get("instance_role") if arm else None
    primary_side = ("SQL Server" if role == "PRIMARY" else "MI" if role == "SECONDARY" else
                    "MI" if arm_role == "Primary" else "SQL Server" if arm_role == "Secondary" else None)
    seeding_now = (total is not None and done is not None and done < total) or replica_state == "CreatingLink"
    seeding_pct = (100.0 * done / total if total and done is not None else arm_pct) if seeding_now else None
    ref_now = (sql.server_time if sql and sql.server_time else None) or now
    sample = metrics.LinkSample(
        connected=connected, sync_state=sync_state, sync_health=sync_health,
        log_send_queue_kb=send_q, log_send_rate_kbs=send_r, redo_queue_kb=redo_q, redo_rate_kbs=redo_r,
        primary_commit_time=primary_commit, secondary_commit_time=secondary_commit,
        secondary_lag_seconds=lag, seeding_done_bytes=done if seeding_now else None,
        seeding_total_bytes=total if seeding_now else None, seeding_rate_bps=rate, certificate_expiry=cert_expiry,
    )
    safe, reason = metrics.planned_failover_safe(sample)
    if safe and seeding_now:
        safe, reason = False, "initial seeding is not finished"
    if sql is None or sql.stale or arm is None or arm.stale:
        if safe:
            safe, reason = False, "one side's data is stale or missing"
    view = d.LinkView(
        name=name, database=database, sql_server=sql_server, mi=mi, sql=sql, arm=arm, health=d.UNKNOWN,
        primary_side=primary_side, connected=connected, sync_state=sync_state, sync_health=sync_health,
        send_queue_kb=send_q, redo_queue_kb=redo_q, send_rate_kbs=send_r, redo_rate_kbs=redo_r, lag_seconds=lag,
        data_loss_seconds=metrics.data_loss_seconds(sample), data_loss_mb=metrics.data_loss_mb(sample),
        redo_seconds=metrics.redo_seconds(sample), failover_safe=safe, failover_reason=reason,
        seeding_percent=seeding_pct,
        seeding_eta_seconds=metrics.seeding_eta_seconds(sample) if seeding_now else None,
        cert_days=metrics.certificate_days_left(sample, ref_now), link_error=link_error,
        replica_state=replica_state, cert_expiry=cert_expiry, thresholds=thresholds,
    )
    view.health = d.classify(view, thresholds)
    view.alerts = d.link_alerts(view, thresholds)
    return view


def as_result_sets(sets: list[list[dict[str, Any]]]) -> list[ResultSet]:
    """Dict rows as the driver's shape: one column list per set, rows as tuples in that order."""
    out = []
    for rows in sets:
        columns = list(dict.fromkeys(k for r in rows for k in r))
        out.append(ResultSet(columns, [tuple(r.get(c) for c in columns) for r in rows]))
    return out


def same(a: Any, b: Any) -> bool:
    """Equal, NaN included, and of the same type (a float stays a float)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def view_fields(v: d.LinkView) -> dict[str, Any]:
    out = {f: getattr(v, f) for f in d.LinkView.__slots__ if f not in ("alerts", "health")}
    out["health"] = (v.health.level, v.health.glyph, v.health.word)
    out["alerts"] = [a.to_json() for a in v.alerts]
    return out


# --------------------------------------------------------------------------- generated answers

LINK_COLUMNS = [
    "link_name", "local_role", "connected_state", "replica_health", "last_connect_error_number",
    "last_connect_error_description", "last_connect_error_timestamp", "remote_member", "remote_url",
    "availability_mode_desc", "database_name", "sync_state", "sync_health", "log_send_queue_size", "log_send_rate",
    "redo_queue_size", "redo_rate", "primary_commit_time", "secondary_commit_time", "secondary_lag_seconds",
    "end_of_log_lsn", "last_hardened_lsn", "local_sync_state",
]
naive = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31))
times = st.one_of(
    st.none(), naive, naive.map(lambda t: t.replace(tzinfo=UTC)),
    naive.map(lambda t: t.replace(tzinfo=dt.timezone(dt.timedelta(hours=2)))),
    naive.map(lambda t: t.isoformat()), naive.map(lambda t: t.isoformat() + "Z"), st.just(""),
)
numbers = st.one_of(
    st.none(), st.integers(0, 10**9), st.floats(0, 1e9, allow_nan=False),
    st.decimals(0, 10**9, places=0).map(decimal.Decimal), st.just(""), st.just("12.5"), st.just("n/a"),
)
words = st.one_of(st.none(), st.sampled_from(["", "CONNECTED", "DISCONNECTED", "HEALTHY", "NOT_HEALTHY",
                                              "PARTIALLY_HEALTHY", "SYNCHRONIZING", "SYNCHRONIZED",
                                              "NOT SYNCHRONIZING", "PRIMARY", "SECONDARY"]))
link_names = st.sampled_from(["", "DAG_a", "DAG_b", "DAG_c"])
db_names = st.sampled_from(["", "Sales", "sales", "Orders", "Audit"])
urls = st.sampled_from([None, "", "tcp://mi-a.abc.database.windows.net:5022;Server=[mi-a]", "tcp://mi-b.x:5022"])


@st.composite
def link_row(draw: Any) -> dict[str, Any]:
    r: dict[str, Any] = {c: draw(words) for c in LINK_COLUMNS}
    r.update(link_name=draw(link_names), database_name=draw(st.one_of(st.none(), db_names)),
             remote_url=draw(urls), last_connect_error_description=draw(st.one_of(
                 st.none(), st.text(max_size=8), st.just("login failed; Password=hunter2"))),
             last_connect_error_number=draw(st.one_of(st.none(), st.just(0), st.integers(1, 50000))))
    for c in ("log_send_queue_size", "log_send_rate", "redo_queue_size", "redo_rate", "secondary_lag_seconds"):
        r[c] = draw(numbers)
    for c in ("primary_commit_time", "secondary_commit_time", "last_connect_error_timestamp"):
        r[c] = draw(times)
    for c in ("end_of_log_lsn", "last_hardened_lsn"):
        r[c] = draw(st.one_of(st.none(), st.decimals(0, 10**20, places=0), st.integers(0, 10**12)))
    return r


@st.composite
def sql_batch(draw: Any) -> list[list[dict[str, Any]]]:
    rows = draw(st.lists(link_row(), max_size=8))
    dropped = draw(st.sets(st.sampled_from(LINK_COLUMNS), max_size=3))  # an older or partial answer
    rows = [{k: v for k, v in r.items() if k not in dropped} for r in rows]
    seeding = draw(st.lists(st.fixed_dictionaries({
        "local_database_name": st.one_of(st.none(), db_names), "transferred_size_bytes": numbers,
        "database_size_bytes": numbers, "transfer_rate_bytes_per_second": numbers}), max_size=3))
    certs = draw(st.lists(st.fixed_dictionaries({"name": st.just("Cert"), "expiry_date": times}), max_size=2))
    meta = draw(st.lists(st.fixed_dictionaries({"server_name": st.one_of(st.none(), st.just("SQL01")),
                                                "now_utc": times}), max_size=1))
    return [rows, seeding, certs, meta][: draw(st.integers(0, 4))]


@st.composite
def arm_items(draw: Any) -> list[dict[str, Any]]:
    items = []
    for name in draw(st.lists(link_names, max_size=4, unique=True)):
        dbs = [{"databaseName": draw(st.one_of(st.none(), db_names)),
                "replicaState": draw(st.sampled_from([None, "LinkSynchronizing", "CreatingLink", "LinkError"])),
                "synchronizationHealth": draw(words), "connectedState": draw(words),
                "instanceSendReplicationLagSeconds": draw(numbers),
                "seedingProgress": draw(st.sampled_from([None, "", "39%", "100 %"])),
                "mostRecentLinkError": draw(st.sampled_from([None, "41976"])),
                "partnerAuthCertValidity": {"expiryDate": draw(st.sampled_from(
                    [None, "2026-12-03T12:00:00Z", "2027-11-23T12:00:00Z", "2026-11-20T00:00:00Z"]))},
                "lastHardenedTime": "2026-11-23T11:59:58Z"} for _ in range(draw(st.integers(0, 3)))]
        items.append({"name": name, "instanceLinkRole": draw(st.sampled_from([None, "Primary", "Secondary"])),
                      "databases": dbs})
    return items


# --------------------------------------------------------------------------- normalize_sql


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sql_batch())
def test_normalize_sql_from_rows_equals_the_dict_version(sets: list[list[dict[str, Any]]]) -> None:
    want = reference_normalize_sql(sets, T0, "FALLBACK")
    for got in (d.normalize_sql(as_result_sets(sets), T0, "FALLBACK"), d.normalize_sql(sets, T0, "FALLBACK")):
        assert (got.source, got.kind, got.at, got.server_time) == (want.source, want.kind, want.at, want.server_time)
        assert got.links.keys() == want.links.keys()
        for name, link in want.links.items():
            assert len(got.links[name]["databases"]) == len(link["databases"])
            for a, b in zip(got.links[name]["databases"], link["databases"], strict=True):
                assert list(a) == list(b)  # same keys, same order (apply's comparisons stop early)
                assert all(same(a[k], b[k]) for k in b), (a, b)


def for_json_set(rows: list[dict[str, Any]], columns: list[str], chunk: int = 2033) -> ResultSet:
    """Rows as SQL Server's FOR JSON PATH, INCLUDE_NULL_VALUES sends them: one text column, split."""
    def value(v: Any) -> Any:
        if isinstance(v, dt.datetime):  # datetime: ISO text, milliseconds, no zone
            return v.replace(tzinfo=None).isoformat(timespec="milliseconds")
        return v
    text = json.dumps([{c: value(r.get(c)) for c in columns} for r in rows], separators=(",", ":"))
    return ResultSet([d.FOR_JSON_COLUMN], [(text[i:i + chunk],) for i in range(0, len(text), chunk)])


sql_values = st.one_of(st.none(), st.integers(0, 10**12), st.floats(0, 1e9, allow_nan=False))
server_times = st.one_of(st.none(), naive.map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000)))


@st.composite
def server_link_row(draw: Any) -> dict[str, Any]:
    """What a real server can put in the link set: ints, floats, naive datetimes, text, NULL."""
    r: dict[str, Any] = {c: draw(words) for c in LINK_COLUMNS}
    r.update(link_name=draw(link_names), database_name=draw(st.one_of(st.none(), db_names)),
             remote_url=draw(urls), last_connect_error_description=draw(st.one_of(st.none(), st.text(max_size=8))),
             last_connect_error_number=draw(st.one_of(st.none(), st.just(0), st.integers(1, 50000))),
             end_of_log_lsn=draw(st.one_of(st.none(), st.integers(0, 10**24).map(str))),
             last_hardened_lsn=draw(st.one_of(st.none(), st.integers(0, 10**24).map(str))))
    for c in ("log_send_queue_size", "log_send_rate", "redo_queue_size", "redo_rate", "secondary_lag_seconds"):
        r[c] = draw(sql_values)
    for c in ("primary_commit_time", "secondary_commit_time"):
        r[c] = draw(server_times)
    return r


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(server_link_row(), max_size=30), st.sampled_from([7, 100, 2033]))
def test_normalize_sql_for_json_equals_the_driver_rows(rows: list[dict[str, Any]], chunk: int) -> None:
    """The FOR JSON text (any split) gives the very report the same rows as driver tuples give."""
    columns = [c for c in LINK_COLUMNS if c != "last_connect_error_timestamp"]
    tabular = d.normalize_sql(as_result_sets([rows]), T0, "X")
    got = d.normalize_sql([for_json_set(rows, columns, chunk)], T0, "X")
    assert got.links.keys() == tabular.links.keys()
    for name, link in tabular.links.items():
        for a, b in zip(got.links[name]["databases"], link["databases"], strict=True):
            assert list(a) == list(b)
            assert all(same(a[k], b[k]) for k in b), (a, b)


def test_normalize_sql_for_json_without_nulls_fills_them_in() -> None:
    """A server that leaves NULL keys out (no INCLUDE_NULL_VALUES) still gives every field."""
    row = {"link_name": "DAG_a", "database_name": "Sales", "log_send_queue_size": 5,
           "primary_commit_time": dt.datetime(2026, 11, 23, 12, 0, 0, 123000)}
    got = d.normalize_sql([for_json_set([row], list(row))], T0, "X")
    db = got.links["DAG_a"]["databases"][0]
    assert db["send_queue_kb"] == 5.0 and db["redo_queue_kb"] is None
    assert db["primary_commit_time"] == dt.datetime(2026, 11, 23, 12, 0, 0, 123000, tzinfo=UTC)


def test_normalize_sql_for_json_empty() -> None:
    assert d.normalize_sql([ResultSet([d.FOR_JSON_COLUMN], [])], T0, "X").links == {}


def test_normalize_sql_on_the_fixture_world() -> None:
    sql, _ = fixture_reports(6, multi=3)
    rows = [r for link in sql.links.values() for r in link["databases"]]
    assert len(rows) == 9 and all(isinstance(r["primary_commit_time"], dt.datetime) for r in rows)


async def test_normalize_sql_on_a_live_lab_batch(lab_factory) -> None:
    """The real batch (TDS + ODBC, the lab's DMVs): rows as the driver returns them."""
    import tempfile
    from pathlib import Path

    from milink_tui.services.dashboard_sources import lab_sources

    lab = lab_factory("broken", speed=4.0)  # errors and a disconnected link next to healthy ones
    sources = await lab_sources(lab.info, Path(tempfile.mkdtemp()), managed_instances=[])
    sql = sources[0]
    try:
        await sql.fetch()  # connects
        batch = await sql._conn.query("dashboard")
    finally:
        for s in sources:
            await s.close()
    assert batch.sets and batch.sets[0].rows
    assert batch.sets[0].columns == [d.FOR_JSON_COLUMN]  # the link set comes FOR JSON
    links = json.loads("".join(r[0] for r in batch.sets[0].rows))
    assert links and all(len(r[0]) <= 2033 for r in batch.sets[0].rows)
    want = reference_normalize_sql([links] + [rs.dicts() for rs in batch.sets[1:]], T0, "X")
    got = d.normalize_sql(batch.sets, T0, "X")
    assert got.links == want.links and got.server_time == want.server_time and got.source == want.source


# --------------------------------------------------------------------------- build_view


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sql_batch(), arm_items(), st.booleans(), st.booleans(), st.booleans(),
       st.sampled_from([d.Thresholds(), d.Thresholds(lag_seconds=5, cert_days=400, data_loss_mb=0.0)]))
def test_build_view_equals_the_straightforward_merge(sets: list[list[dict[str, Any]]], arm: list[dict[str, Any]],
                                                     sql_stale: bool, arm_stale: bool, server_clock: bool,
                                                     th: d.Thresholds) -> None:
    sql_rep = d.normalize_sql(as_result_sets(sets), T0, "SQL01")
    arm_rep = d.normalize_arm("mi-a", "rg", arm, T0)
    clock = T0 + dt.timedelta(seconds=3) if server_clock else None
    for name in sql_rep.links.keys() | arm_rep.links.keys():
        s = sql_rep.links.get(name)
        a = arm_rep.links.get(name)
        sql = None if s is None else d.SideState("sql:SQL01", s, T0, sql_stale, 1.0, clock)
        side = None if a is None else d.SideState("arm:mi-a", a, T0, arm_stale, 1.0, None)
        want = view_fields(reference_build_view(name, sql, side, T0, th))
        got = view_fields(d.build_view(name, sql, side, T0, th))
        assert got.keys() == want.keys()
        for k in want:
            assert same(got[k], want[k]) or got[k] == want[k], (k, got[k], want[k])


def test_link_view_fields_are_in_the_order_build_view_passes_them() -> None:
    """build_view makes a LinkView positionally (half the cost of 29 keywords): pin the order."""
    import dataclasses

    assert [f.name for f in dataclasses.fields(d.LinkView)] == [
        "name", "database", "sql_server", "mi", "sql", "arm", "health", "primary_side", "connected", "sync_state",
        "sync_health", "send_queue_kb", "redo_queue_kb", "send_rate_kbs", "redo_rate_kbs", "lag_seconds",
        "data_loss_seconds", "data_loss_mb", "redo_seconds", "failover_safe", "failover_reason", "seeding_percent",
        "seeding_eta_seconds", "cert_days", "link_error", "replica_state", "alerts", "cert_expiry", "thresholds",
    ], "LinkView's fields moved: update the positional call in build_view to match"


def test_build_view_takes_the_general_path_for_a_hand_made_report() -> None:
    """A one-database report without every key (a hand-made or older recording) still merges."""
    sql = d.SideState("sql:X", {"databases": [{"database": "Db", "connected_state": "CONNECTED",
                                               "sync_health": "HEALTHY", "sync_state": "SYNCHRONIZED",
                                               "send_queue_kb": 0.0, "lag_seconds": 2.0}]}, T0, False, 0.0, None)
    v = d.build_view("DAG_x", sql, None, T0, d.Thresholds())
    assert view_fields(v) == view_fields(reference_build_view("DAG_x", sql, None, T0, d.Thresholds()))
    assert v.lag_seconds == 2.0 and v.health == d.HEALTHY and not v.failover_safe


def test_plain_metrics_match_the_sample_forms() -> None:
    s = metrics.LinkSample(True, "SYNCHRONIZING", "HEALTHY", 2048, 10, 300, 0, T0, T0 - dt.timedelta(seconds=4),
                           7, 100, 400, 50, T0 + dt.timedelta(days=3))
    assert metrics.loss_seconds(s.primary_commit_time, s.secondary_commit_time, 7) == metrics.data_loss_seconds(s) == 4
    assert metrics.loss_mb(2048) == metrics.data_loss_mb(s) == 2
    assert metrics.redo_eta(300, 0) == metrics.redo_seconds(s) == math.inf
    assert metrics.failover_safe(True, "HEALTHY", "SYNCHRONIZING", 2048) == metrics.planned_failover_safe(s)
    assert metrics.seeding_eta(400, 100, 50) == metrics.seeding_eta_seconds(s) == 6
    assert metrics.days_left(s.certificate_expiry, T0) == metrics.certificate_days_left(s, T0) == 3


# --------------------------------------------------------------------------- history


def test_history_keeps_each_figure_and_time_in_its_ring() -> None:
    h = d.History(size=3)
    sql, arm = fixture_reports(6)
    m = d.DashboardModel()
    m.ingest(sql, T0)
    m.ingest(arm, T0)
    lag = m.views["DAG_Db002"]
    h.add(lag, T0)
    gone = m.views["DAG_Db003"]
    for i in range(4):
        h.add(gone, T0 + dt.timedelta(seconds=i))
    assert h.series("DAG_Db002", "send_queue_kb") == [lag.send_queue_kb]
    assert h.series("DAG_Db002", "lag_seconds") == [45.0]
    assert h.count("DAG_Db003") == 4 and len(h.series("DAG_Db003", "redo_rate_kbs")) == 3
    assert h.times("DAG_Db003") == [T0 + dt.timedelta(seconds=i) for i in (1, 2, 3)]
    assert [h.series("DAG_Db003", f) for f in d.HISTORY_FIELDS] == [
        [float(getattr(gone, f))] * 3 if getattr(gone, f) is not None else [] for f in d.HISTORY_FIELDS]
    none = d.LinkView(**{**{f: getattr(lag, f) for f in d.LinkView.__slots__}, "send_queue_kb": None})
    h.add(none, T0)
    assert math.isnan(h.series("DAG_Db002", "send_queue_kb")[-1])
    h.forget("DAG_Db003")
    assert h.series("DAG_Db003", "lag_seconds") == [] and h.times("DAG_Db003") == [] and h.count("DAG_Db003") == 0
    assert h.series("nope", "lag_seconds") == []
    with pytest.raises(KeyError):
        h.series("DAG_Db002", "not_a_figure")


# --------------------------------------------------------------------------- ARM pages


async def test_raw_list_parses_the_same_without_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    """orjson is a speed-up: without it (or on what it refuses, e.g. NaN) the items are the same."""
    from test_dashboard_arm_contract import _FakeSession, _FakeSql

    from milink_tui.clients.azure import AzureClient
    from milink_tui.engine.plan import ManagedInstanceRef

    mi = ManagedInstanceRef("sqlmi-x", "rg-x", "00000000-0000-0000-0000-000000000001", "sqlmi-x.lab")
    page = {"value": [{"name": f"DAG_{i}", "id": f"/x/DAG_{i}", "properties": {
        "replicationMode": "Async", "databases": [{"databaseName": f"db{i}", "lastHardenedTime": "2026-11-23T12:00:00Z",
                                                   "partnerAuthCertValidity": {"expiryDate": "2027-01-01T00:00:00Z"}}]}}
        for i in range(3)] + [{"name": "DAG_empty", "properties": None}]}
    body = json.dumps(page).encode()
    want = [{"name": f"DAG_{i}", "id": f"/x/DAG_{i}", **page["value"][i]["properties"]} for i in range(3)]
    want.append({"name": "DAG_empty"})
    nan_page = b'{"value": [{"name": "DAG_n", "properties": {"lag": NaN}}]}'  # orjson refuses NaN; json takes it
    raw = await AzureClient(_FakeSession(_FakeSql([nan_page]))).list_links_raw(mi)  # type: ignore[arg-type]
    assert raw.items[0]["name"] == "DAG_n" and math.isnan(raw.items[0]["lag"])
    with_orjson = await AzureClient(_FakeSession(_FakeSql([body]))).list_links_raw(mi)  # type: ignore[arg-type]
    monkeypatch.setitem(sys.modules, "orjson", None)  # import fails: the standard parser
    without = await AzureClient(_FakeSession(_FakeSql([body]))).list_links_raw(mi)  # type: ignore[arg-type]
    assert with_orjson.items == without.items == want


# --------------------------------------------------------------------------- the collector while live


async def test_collector_settings_are_raised_while_live_and_given_back() -> None:
    """After warm-up the young generation waits longer (fewer walks of half-built reports);
    closing the dashboard gives the app its own thresholds and an unfrozen heap back."""
    import gc

    from test_dashboard_screen import fixture_app

    from milink_tui.screens.dashboard import GC_YOUNG_THRESHOLD

    before = gc.get_threshold()
    app, _ = fixture_app(interval=0.1)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            s = app.dashboard
            assert await wait_until(pilot, lambda: s.refreshes >= 3 and s._froze)
            assert gc.get_threshold() == (max(before[0], GC_YOUNG_THRESHOLD), *before[1:])
            assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
