"""The live dashboard's model: normalise source answers, merge them per link, derive, alert.

No Textual and no I/O here. Sources (one batched DMV query per SQL Server, one ARM link list
per managed instance) arrive as :class:`SourceReport` — plain JSON-able dicts, so the very
same objects are recorded, replayed and exported. :class:`DashboardModel` keeps the latest
report per source, merges them per link name (DAG name == ARM link name), keeps a short
history per link for the charts and derives the figures a DBA asks for (domain.md §8.3).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import operator
import re
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import metrics

UTC = dt.timezone.utc
HISTORY_FIELDS = ("send_queue_kb", "redo_queue_kb", "send_rate_kbs", "redo_rate_kbs", "lag_seconds")


# --------------------------------------------------------------------------- time helpers


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


def as_utc(value: Any) -> dt.datetime | None:
    """A datetime (naive = UTC, as SQL Server and the lab return them) or ISO text, as aware UTC."""
    if value is None:
        return None
    if type(value) is dt.datetime:  # the hot path: DMV values, already parsed
        tz = value.tzinfo
        if tz is UTC:
            return value
        return value.replace(tzinfo=UTC) if tz is None else value.astimezone(UTC)
    if isinstance(value, str):
        if not value:
            return None
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return None


def iso(value: dt.datetime | None) -> str | None:
    return None if value is None else as_utc(value).isoformat().replace("+00:00", "Z")  # type: ignore[union-attr]


def _num(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- source reports


@dataclass
class SourceReport:
    """One answer (or failure) of one source. ``links`` maps link name -> normalised fields."""

    source: str  # "sql:SQLLAB01" / "arm:sqlmi-lab-gp"
    kind: str  # "sql" | "arm"
    at: dt.datetime  # when the app received it (UTC)
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    ok: bool = True
    error: str | None = None
    server_time: dt.datetime | None = None  # the source's own clock, for ages of its timestamps
    round_trips: int = 1

    def to_json(self) -> dict[str, Any]:
        return jsonable(self.to_record())

    def to_record(self) -> dict[str, Any]:
        """:meth:`to_json` with its datetimes left as they are (for a serialiser that writes them)."""
        return {"source": self.source, "kind": self.kind, "at": self.at, "ok": self.ok,
                "error": self.error, "server_time": self.server_time, "round_trips": self.round_trips,
                "links": self.links}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SourceReport:
        links = d.get("links") or {}
        if d.get("kind") == "sql":
            for link in links.values():
                for db in link.get("databases") or []:
                    for key in SQL_TIME_FIELDS:
                        if db.get(key):
                            db[key] = as_utc(db[key])
        return cls(source=d["source"], kind=d["kind"], at=as_utc(d["at"]) or utcnow(), links=links,
                   ok=bool(d.get("ok", True)), error=d.get("error"), server_time=as_utc(d.get("server_time")),
                   round_trips=int(d.get("round_trips", 1)))


SQL_TIME_FIELDS = ("primary_commit_time", "secondary_commit_time", "cert_expiry")


def jsonable(obj: Any) -> Any:
    """Datetimes as ISO text, recursively (recordings and exports)."""
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [jsonable(v) for v in obj]
    if isinstance(obj, dt.datetime):
        return iso(obj)
    return obj


def failure(source: str, kind: str, error: str, at: dt.datetime | None = None) -> SourceReport:
    """A report saying the source did not answer (kept, so recordings replay outages too)."""
    return SourceReport(source, kind, at or utcnow(), ok=False, error=redact(error), round_trips=0)


_MI_IN_URL = re.compile(r"Server=\[([^\]]+)\]", re.I)
_HOST_IN_URL = re.compile(r"tcp://([^.:;/]+)", re.I)


@functools.lru_cache(maxsize=4096)
def _mi_from_url(url: str | None) -> str | None:
    """The MI's name in a link's endpoint URL (the same few URLs every refresh: cached)."""
    if not url:
        return None
    m = _MI_IN_URL.search(url) or _HOST_IN_URL.search(url)
    return m.group(1) if m else None


# the columns of dashboard.sql's first result set that a report uses, in the order normalize_sql unpacks them
_SQL_LINK_COLUMNS = (
    "link_name", "database_name", "log_send_rate", "redo_rate", "primary_commit_time", "secondary_commit_time",
    "log_send_queue_size", "redo_queue_size", "secondary_lag_seconds", "end_of_log_lsn", "last_hardened_lsn",
    "local_role", "connected_state", "replica_health", "last_connect_error_number",
    "last_connect_error_description", "remote_member", "remote_url", "availability_mode_desc", "sync_state",
    "local_sync_state", "sync_health",
)


def _columns_rows(result: Any) -> tuple[list[str], list[Sequence[Any]]]:
    """A result set as (column names, row tuples): a ``ResultSet`` as it is, a list of dicts turned into one."""
    columns = getattr(result, "columns", None)
    if columns is not None:
        return list(columns), result.rows
    return _dict_rows(list(result or ()))


def _dict_rows(dicts: list[dict[str, Any]]) -> tuple[list[str], list[Sequence[Any]]]:
    names = list(dict.fromkeys(k for d in dicts for k in d))
    return names, [tuple(d.get(k) for k in names) for d in dicts]


# the column SQL Server names a FOR JSON result (its text split over rows the client joins)
FOR_JSON_COLUMN = "JSON_F52E2B61-18A1-11d1-B105-00805F49916B"

try:  # ~2.5x the standard parser; optional: both give the same objects
    from orjson import loads as _json_loads
except ImportError:  # pragma: no cover - orjson is a declared dependency
    from json import loads as _json_loads


def _link_rows(result: Any) -> tuple[list[str], list[Any]]:
    """dashboard.sql's link set as (column names, rows).

    FOR JSON text (what the query asks for) comes back as the parsed dicts themselves: with
    INCLUDE_NULL_VALUES every dict has every column, and an ``itemgetter`` of names reads a
    dict as it reads a tuple of positions (see :func:`_picker`). Driver tuples and lists of
    dicts (fixtures, tests) as :func:`_columns_rows`.
    """
    columns = getattr(result, "columns", None)
    if columns is None or len(columns) != 1 or columns[0] != FOR_JSON_COLUMN:
        return _columns_rows(result)
    text = "".join([r[0] or "" for r in result.rows])
    dicts = _json_loads(text) if text else []
    if not isinstance(dicts, list):  # WITHOUT_ARRAY_WRAPPER on one row
        dicts = [dicts]
    return _BY_NAME, dicts


_BY_NAME = ["<by name>"]  # marker: rows are dicts read by column name


def _same(row: Any) -> Any:
    return row


def _picker(columns: list[str], rows: list[Sequence[Any]], wanted: Sequence[str]) -> tuple[Any, list[Sequence[Any]]]:
    """One ``itemgetter`` for the ``wanted`` columns (looked up once per result set, not per row).

    A column the answer lacks reads as None, as ``dict.get`` did: its rows get a trailing None.
    """
    if columns is _BY_NAME:
        try:  # one C call a row; a dict lacking a key (a server that left NULLs out) raises
            return _same, list(map(operator.itemgetter(*wanted), rows))
        except KeyError:
            columns, rows = _dict_rows(rows)  # fill the NULLs in
    index = {c: i for i, c in enumerate(columns)}
    missing = len(columns)
    if any(w not in index for w in wanted):
        rows = [(*r, None) for r in rows]
    picks = [index.get(w, missing) for w in wanted]
    return operator.itemgetter(*picks), rows


_fromisoformat = dt.datetime.fromisoformat


def _sql_time(value: Any) -> dt.datetime | None:
    """:func:`as_utc` with its commonest cases inline (FOR JSON's ISO text, a naive DMV datetime; None)."""
    if value is None:
        return None
    if type(value) is str:
        try:  # SQL Server's own text has no zone; parsing one in is 5x cheaper than replace() after
            return _fromisoformat(value + "+00:00")
        except ValueError:  # it had a zone after all, or is not a time
            return as_utc(value)
    if type(value) is dt.datetime and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return as_utc(value)


def normalize_sql(sets: Sequence[Any], at: dt.datetime, fallback_server: str) -> SourceReport:
    """The dashboard.sql batch (links; seeding; endpoint certificate; server name) as one report.

    ``sets`` are the batch's result sets: ``ResultSet`` objects (column names + row tuples, as the
    driver returns them: no dict per row, 500 rows a second) or lists of dicts (tests, fixtures).
    """
    parts = [_link_rows(sets[0]) if i == 0 else _columns_rows(s) for i, s in enumerate(sets)]
    columns, rows = parts[0] if parts else ([], [])
    seeding: dict[str, dict[str, Any]] = {}
    if len(parts) > 1 and parts[1][1]:
        seed_cols, seed_rows = parts[1]
        for row in seed_rows:
            r = dict(zip(seed_cols, row, strict=False))
            seeding[str(r.get("local_database_name") or "").lower()] = r
    certs = [dict(zip(parts[2][0], row, strict=False)) for row in parts[2][1]] if len(parts) > 2 else []
    meta = dict(zip(parts[3][0], parts[3][1][0], strict=False)) if len(parts) > 3 and parts[3][1] else {}
    server = str(meta.get("server_name") or fallback_server)
    server_time = as_utc(meta.get("now_utc"))
    cert_expiry = min((as_utc(c.get("expiry_date")) for c in certs if c.get("expiry_date")), default=None)
    links: dict[str, dict[str, Any]] = {}
    if not rows:
        return SourceReport(f"sql:{server}", "sql", at, links, server_time=server_time)
    pick, rows = _picker(columns, rows, _SQL_LINK_COLUMNS)
    num, when, mi_of, datetime, none = _num, _sql_time, _mi_from_url, dt.datetime, None
    for row in rows:
        (name, db, send_rate, redo_rate, primary_commit, secondary_commit, send_q, redo_q, lag, end_lsn,
         hardened_lsn, role, connected, replica_health, error_number, error_text, remote_member, remote_url,
         mode, sync_state, local_sync_state, sync_health) = pick(row)
        name = str(name or "")
        if not name:
            continue
        seed = seeding.get(str(db or "").lower()) if seeding else None
        # what moves on a busy link comes first: DashboardModel.apply compares each link with the
        # last answer, and a comparison stops at the first difference
        d = {
            "send_rate_kbs": float(send_rate) if type(send_rate) is int else num(send_rate),
            "redo_rate_kbs": float(redo_rate) if type(redo_rate) is int else num(redo_rate),
            "primary_commit_time": (primary_commit.replace(tzinfo=UTC) if type(primary_commit) is datetime
                                    and primary_commit.tzinfo is none else when(primary_commit)),
            "secondary_commit_time": (secondary_commit.replace(tzinfo=UTC) if type(secondary_commit) is datetime
                                      and secondary_commit.tzinfo is none else when(secondary_commit)),
            "send_queue_kb": float(send_q) if type(send_q) is int else num(send_q),
            "redo_queue_kb": float(redo_q) if type(redo_q) is int else num(redo_q),
            "lag_seconds": float(lag) if type(lag) is int else num(lag),
            "end_of_log_lsn": None if end_lsn is None else str(end_lsn),
            "last_hardened_lsn": None if hardened_lsn is None else str(hardened_lsn),
            "database": db, "sql_server": server, "role": role,
            "connected_state": connected, "replica_health": replica_health,
            # free text (the only kind in a report): redacted as it enters, for screen, export and recording
            "connect_error": (redact(f"{error_number}: {error_text or ''}".strip(": ")) if error_number else None),
            "remote_member": remote_member, "mi": mi_of(remote_url),
            "availability_mode": mode,
            "sync_state": sync_state or local_sync_state, "sync_health": sync_health,
            "cert_expiry": cert_expiry,
        }
        if seed:
            d["seeding_done_bytes"] = num(seed.get("transferred_size_bytes"))
            d["seeding_total_bytes"] = num(seed.get("database_size_bytes"))
            d["seeding_rate_bps"] = num(seed.get("transfer_rate_bytes_per_second"))
        link = links.get(name)
        if link is None:
            links[name] = {"databases": [d]}
        else:
            link["databases"].append(d)
    return SourceReport(f"sql:{server}", "sql", at, links, server_time=server_time)


_NO_VALIDITY: dict[str, Any] = {}


def _free_text(value: Any) -> Any:
    """An error text from a source, redacted (see normalize_sql); most are None."""
    return redact(value) if value else value


def normalize_arm(mi_name: str, resource_group: str, links: Iterable[dict[str, Any]], at: dt.datetime,
                  round_trips: int = 1) -> SourceReport:
    """``AzureClient.list_links`` (flat wire JSON) as one report."""
    out: dict[str, dict[str, Any]] = {}
    for link in links:
        name = str(link.get("name") or link.get("distributedAvailabilityGroupName") or "")
        dbs = []
        for db in link.get("databases") or []:
            g = db.get
            validity = g("partnerAuthCertValidity") or _NO_VALIDITY
            pct = g("seedingProgress")
            if pct:
                pct = str(pct).rstrip("%").strip()
            send_lag, redo_lag = g("instanceSendReplicationLagSeconds"), g("instanceRedoReplicationLagSeconds")
            dbs.append({  # what moves first (see normalize_sql)
                "last_hardened_time": g("lastHardenedTime"),
                "last_commit_time": g("lastCommitTime"),
                "last_received_time": g("lastReceivedTime"),
                "send_lag_seconds": None if send_lag is None else _num(send_lag),
                "redo_lag_seconds": None if redo_lag is None else _num(redo_lag),
                "seeding_percent": _num(pct) if pct else None,
                "database": g("databaseName"), "replica_state": g("replicaState"),
                "sync_health": g("synchronizationHealth"),
                "connected_state": g("connectedState"), "link_error": _free_text(g("mostRecentLinkError")),
                "cert_expiry": validity.get("expiryDate"), "cert_name": validity.get("certificateName"),
            })
        out[name] = {"databases": dbs, "mi": mi_name, "resource_group": resource_group,
                     "replication_mode": link.get("replicationMode"),
                     "instance_role": link.get("instanceLinkRole"), "partner_role": link.get("partnerLinkRole"),
                     "failover_mode": link.get("failoverMode")}
    return SourceReport(f"arm:{mi_name}", "arm", at, out, round_trips=round_trips)


# --------------------------------------------------------------------------- health

# level: ok < info < warn < error; unknown sorts with warn
LEVELS = {"ok": 0, "info": 1, "unknown": 2, "warn": 3, "error": 4}


@dataclass(frozen=True)
class Health:
    level: str  # ok | info | warn | error | unknown
    glyph: str
    word: str

    @property
    def label(self) -> str:
        return f"{self.glyph} {self.word}"


HEALTHY = Health("ok", "●", "HEALTHY")
SEEDING = Health("info", "◐", "SEEDING")
LAGGING = Health("warn", "▲", "LAGGING")
NOT_HEALTHY = Health("warn", "▲", "NOT HEALTHY")
DISCONNECTED = Health("error", "✖", "DISCONNECTED")
FAILED = Health("error", "✖", "ERROR")
UNKNOWN = Health("unknown", "?", "UNKNOWN")


@dataclass
class Thresholds:
    """When a link deserves an alert (configurable from the screen and the constructor)."""

    lag_seconds: float = 30.0
    cert_days: float = 30.0
    data_loss_mb: float | None = None
    disconnected: bool = True
    not_healthy: bool = True


@dataclass
class Alert:
    link: str
    kind: str  # lag | disconnected | not_healthy | certificate | error | source
    level: str  # warn | error
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"link": self.link, "kind": self.kind, "level": self.level, "text": self.text}


# --------------------------------------------------------------------------- merged view


@dataclass(slots=True)
class SideState:
    """One source's contribution to a link, with how old it is."""

    source: str
    data: dict[str, Any]
    at: dt.datetime
    stale: bool
    age_seconds: float
    server_time: dt.datetime | None


@dataclass(slots=True)
class LinkView:
    """Everything the screen shows for one link, merged from both sides and derived.

    A view whose inputs did not change is kept (the same object, with fresh ages) rather than
    rebuilt, so ``is`` tells a screen that nothing it shows for the link has changed.
    :func:`build_view` passes the fields positionally, in this order (a test pins it).
    """

    name: str
    database: str | None
    sql_server: str | None
    mi: str | None
    sql: SideState | None
    arm: SideState | None
    health: Health
    primary_side: str | None  # "SQL Server" | "MI"
    connected: bool | None
    sync_state: str | None
    sync_health: str | None
    send_queue_kb: float | None
    redo_queue_kb: float | None
    send_rate_kbs: float | None
    redo_rate_kbs: float | None
    lag_seconds: float | None
    data_loss_seconds: float | None
    data_loss_mb: float | None
    redo_seconds: float | None
    failover_safe: bool
    failover_reason: str
    seeding_percent: float | None
    seeding_eta_seconds: float | None
    cert_days: float | None
    link_error: str | None
    replica_state: str | None
    alerts: list[Alert] = field(default_factory=list)
    cert_expiry: dt.datetime | None = field(default=None, repr=False, compare=False)
    thresholds: Thresholds | None = field(default=None, repr=False, compare=False)

    @property
    def stale(self) -> bool:
        return any(s is not None and s.stale for s in (self.sql, self.arm))

    @property
    def stale_age(self) -> float | None:
        ages = [s.age_seconds for s in (self.sql, self.arm) if s is not None and s.stale]
        return max(ages) if ages else None

    def to_json(self) -> dict[str, Any]:
        def side(s: SideState | None) -> dict[str, Any] | None:
            if s is None:
                return None
            return {"source": s.source, "at": iso(s.at), "stale": s.stale, "age_seconds": round(s.age_seconds, 1),
                    "data": s.data}

        return jsonable(redact_obj({
            "link": self.name, "database": self.database, "sql_server": self.sql_server, "managed_instance": self.mi,
            "health": self.health.word, "health_level": self.health.level, "primary_side": self.primary_side,
            "connected": self.connected, "sync_state": self.sync_state, "sync_health": self.sync_health,
            "send_queue_kb": self.send_queue_kb, "redo_queue_kb": self.redo_queue_kb,
            "send_rate_kbs": self.send_rate_kbs, "redo_rate_kbs": self.redo_rate_kbs,
            "lag_seconds": self.lag_seconds, "data_loss_seconds": self.data_loss_seconds,
            "data_loss_mb": self.data_loss_mb, "redo_seconds": _finite(self.redo_seconds),
            "failover_safe": self.failover_safe, "failover_reason": self.failover_reason,
            "seeding_percent": self.seeding_percent, "seeding_eta_seconds": _finite(self.seeding_eta_seconds),
            "certificate_days_left": None if self.cert_days is None else round(self.cert_days, 1),
            "link_error": self.link_error, "replica_state": self.replica_state,
            "stale": self.stale, "sql_side": side(self.sql), "mi_side": side(self.arm),
        }))


def _finite(v: float | None) -> float | str | None:
    if v is None:
        return None
    return "infinite" if math.isinf(v) else round(v, 1)


# a SQL database entry's fields in one C call (normalize_sql always writes every one of them)
_SQL_DB = operator.itemgetter(
    "database", "sql_server", "mi", "sync_state", "role", "connect_error", "connected_state", "sync_health",
    "send_queue_kb", "redo_queue_kb", "send_rate_kbs", "redo_rate_kbs", "lag_seconds",
    "primary_commit_time", "secondary_commit_time", "cert_expiry",
)


_DT = dt.datetime

# an ARM database entry's fields that a view uses (normalize_arm always writes every one of them)
_ARM_DB = operator.itemgetter(
    "database", "connected_state", "sync_health", "send_lag_seconds", "seeding_percent", "replica_state",
    "link_error", "cert_expiry",
)


def build_view(name: str, sql: SideState | None, arm: SideState | None, now: dt.datetime,
               thresholds: Thresholds) -> LinkView:
    """Merge one link's two sides and derive its figures.

    This runs for every changed link on every refresh (500 links, all busy: every one), so
    the usual link (one database a side) takes a straight path, and the figures come from
    the plain-argument forms in :mod:`metrics` (no sample object per link).
    """
    sdbs: list[dict[str, Any]] = (sql.data.get("databases") if sql else None) or []
    adbs: list[dict[str, Any]] = (arm.data.get("databases") if arm else None) or []
    names: list[str] = []
    sql_server = mi = sync_state = role = link_error = replica_state = None
    connected: bool | None = None
    worst_health = 3
    send_q = redo_q = send_r = redo_r = lag = done = total = rate = arm_pct = None
    primary_commit = secondary_commit = cert_expiry = None
    fields = None
    if len(sdbs) == 1:  # the usual link: one database, no totals to add up
        d = sdbs[0]
        try:
            fields = _SQL_DB(d)
        except KeyError:  # a hand-made or old recorded report: the general path below
            fields = None
    if fields is not None:
        (database0, sql_server, mi, sync_state, role, link_error, cs, health, send_q, redo_q, send_r, redo_r,
         lag, primary_commit, secondary_commit, cert_expiry) = fields
        if database0:
            names.append(str(database0))
        if cs:
            connected = cs == "CONNECTED"
        worst_health = _HEALTH_ORDER.get(health, 3)
        if "seeding_done_bytes" in d:  # seeding figures (only while seeding)
            done, total, rate = d.get("seeding_done_bytes"), d.get("seeding_total_bytes"), d.get("seeding_rate_bps")
        # as_utc only for what normalize_sql did not already make aware UTC (three times a link)
        if primary_commit is not None and (type(primary_commit) is not _DT or primary_commit.tzinfo is not UTC):
            primary_commit = as_utc(primary_commit)
        if secondary_commit is not None and (type(secondary_commit) is not _DT
                                             or secondary_commit.tzinfo is not UTC):
            secondary_commit = as_utc(secondary_commit)
        if cert_expiry is not None and (type(cert_expiry) is not _DT or cert_expiry.tzinfo is not UTC):
            cert_expiry = as_utc(cert_expiry)
    else:
        for d in sdbs:
            if d.get("database"):
                names.append(str(d["database"]))
            sql_server = sql_server or d.get("sql_server")
            mi = mi or d.get("mi")
            sync_state = sync_state or d.get("sync_state")
            role = role or d.get("role")
            link_error = link_error or d.get("connect_error")
            cs = d.get("connected_state")
            if cs:
                connected = (connected is not False) and cs == "CONNECTED"
            worst_health = min(worst_health, _HEALTH_ORDER.get(d.get("sync_health"), 3))
            send_q = _add(send_q, d.get("send_queue_kb"))
            redo_q = _add(redo_q, d.get("redo_queue_kb"))
            send_r = _add(send_r, d.get("send_rate_kbs"))
            redo_r = _add(redo_r, d.get("redo_rate_kbs"))
            lag = _hi(lag, d.get("lag_seconds"))
            done = _add(done, d.get("seeding_done_bytes"))
            total = _add(total, d.get("seeding_total_bytes"))
            rate = _add(rate, d.get("seeding_rate_bps"))
            primary_commit = _hi(primary_commit, as_utc(d.get("primary_commit_time")))
            secondary_commit = _lo(secondary_commit, as_utc(d.get("secondary_commit_time")))
            cert_expiry = _lo(cert_expiry, as_utc(d.get("cert_expiry")))
    # when one side's answer is stale and the other's fresh, the fresh side says whether the link is
    # connected and healthy (a partition seen before an ARM outage must not outlive its healing);
    # the stale side's word counts only where the fresh side has none
    arm_stale_only = arm is not None and arm.stale and sql is not None and not sql.stale and bool(sdbs)
    sql_stale_only = sql is not None and sql.stale and arm is not None and not arm.stale and bool(adbs)
    if sql_stale_only:
        stale_word = (connected, worst_health, link_error)
        connected, worst_health, link_error = None, 3, None
    arm_error = None
    arm_fields = None
    if len(adbs) == 1:  # the usual link again: one database, straight through
        try:
            arm_fields = _ARM_DB(adbs[0])
        except KeyError:  # a hand-made or old recorded report: the loop below
            arm_fields = None
    if arm_fields is not None:
        (a_db, a_cs, a_health, a_lag, arm_pct, replica_state, arm_error, a_cert) = arm_fields
        if arm_stale_only:
            a_cs = a_cs if connected is None else None
            a_health = a_health if worst_health == 3 else None
            a_lag = a_lag if lag is None else None
            replica_state = arm_error = None
        if not sdbs and a_db:
            names.append(str(a_db))
        if a_cs:
            connected = (connected is not False) and a_cs == "CONNECTED"
        h = _HEALTH_ORDER.get(a_health, 3)
        if h < worst_health:
            worst_health = h
        if a_lag is not None and (lag is None or a_lag > lag):
            lag = a_lag
        if a_cert is not None:
            cert_expiry = _lo(cert_expiry, _parse_iso(a_cert))
        adbs = ()  # done
    sql_connected, sql_health, sql_lag = connected, worst_health, lag
    for d in adbs:
        g = d.get
        if not sdbs and g("database"):
            names.append(str(d["database"]))
        arm_pct = _lo(arm_pct, g("seeding_percent"))
        cert_expiry = _lo(cert_expiry, _parse_iso(g("cert_expiry")))
        if arm_stale_only:  # only where the fresh SQL side said nothing
            if sql_connected is None and g("connected_state"):
                connected = (connected is not False) and g("connected_state") == "CONNECTED"
            if sql_health == 3:
                worst_health = min(worst_health, _HEALTH_ORDER.get(g("sync_health"), 3))
            if sql_lag is None:
                lag = _hi(lag, g("send_lag_seconds"))
            continue
        cs = g("connected_state")
        if cs:
            connected = (connected is not False) and cs == "CONNECTED"
        h = _HEALTH_ORDER.get(g("sync_health"), 3)
        if h < worst_health:
            worst_health = h
        lag = _hi(lag, g("send_lag_seconds"))
        replica_state = replica_state or g("replica_state")
        arm_error = arm_error or g("link_error")
    if sql_stale_only:
        if connected is None:
            connected = stale_word[0]
        if worst_health == 3:
            worst_health = stale_word[1]
        link_error = stale_word[2] if connected is not True else None  # a fresh CONNECTED outdates it
    link_error = arm_error or link_error
    database = (names[0] if len(names) == 1 else ", ".join(names)) if names else None
    if arm is not None:
        mi = arm.data.get("mi") or mi
        arm_role = arm.data.get("instance_role")
    else:
        arm_role = None
    sync_health = _HEALTH_NAMES.get(worst_health)

    primary_side = ("SQL Server" if role == "PRIMARY" else "MI" if role == "SECONDARY" else
                    "MI" if arm_role == "Primary" else "SQL Server" if arm_role == "Secondary" else None)
    # seeding: SQL DMV bytes when present, else ARM percent
    seeding_now = (total is not None and done is not None and done < total) or replica_state == "CreatingLink"
    seeding_pct = (100.0 * done / total if total and done is not None else arm_pct) if seeding_now else None
    # SQL's clock when it is the freshest, to measure its timestamps; else ours
    ref_now = (sql.server_time if sql and sql.server_time else None) or now

    safe, reason = metrics.failover_safe(connected, sync_health, sync_state, send_q)
    if safe and seeding_now:
        safe, reason = False, "initial seeding is not finished"
    if sql is None or sql.stale or arm is None or arm.stale:
        if safe:
            safe, reason = False, "one side's data is stale or missing"

    # positional (LinkView's field order, which a test pins): a 29-keyword call costs twice as much
    view = LinkView(
        name, database, sql_server, mi, sql, arm, UNKNOWN, primary_side, connected, sync_state, sync_health,
        send_q, redo_q, send_r, redo_r, lag, metrics.loss_seconds(primary_commit, secondary_commit, lag),
        None if send_q is None else send_q / 1024, metrics.redo_eta(redo_q, redo_r), safe, reason, seeding_pct,
        metrics.seeding_eta(total, done, rate) if seeding_now else None,
        None if cert_expiry is None else (cert_expiry - ref_now).total_seconds() / 86400,
        link_error, replica_state, [], cert_expiry, thresholds,
    )
    view.health = classify(view, thresholds)
    view.alerts = link_alerts(view, thresholds)
    return view


def _keeps(view: LinkView, sql: SideState | None, arm: SideState | None, now: dt.datetime,
           th: Thresholds) -> bool:
    """Whether ``view`` still says everything right for these sides; if so, refresh its ages.

    Same data objects (see ``DashboardModel.apply``), same freshness, same thresholds: every
    derived figure is the same except certificate days, which move with the clock — kept only
    while the shown day count and every alert band stay put.
    """
    old_sql, old_arm = view.sql, view.arm
    if view.thresholds is not th:
        return False
    if sql is None:
        if old_sql is not None:
            return False
    elif old_sql is None or old_sql.data is not sql.data or old_sql.stale or sql.stale:
        return False
    if arm is None:
        if old_arm is not None:
            return False
    elif old_arm is None or old_arm.data is not arm.data or old_arm.stale or arm.stale:
        return False
    if view.cert_expiry is not None:
        ref = (sql.server_time if sql is not None and sql.server_time else None) or now
        days = (view.cert_expiry - ref).total_seconds() / 86400
        old = view.cert_days
        if old is None or _cert_band(days, th) != _cert_band(old, th):
            return False
        view.cert_days = days
    view.sql, view.arm = sql, arm
    return True


def _cert_band(days: float, th: Thresholds) -> tuple[str, bool, bool, bool]:
    """What the screen and the alerts show of certificate days: the day count and the bands."""
    return fmt_num(days), days < th.cert_days, days <= 7, days <= 0


_HEALTH_ORDER = {"NOT_HEALTHY": 0, "PARTIALLY_HEALTHY": 1, "HEALTHY": 2}
_HEALTH_NAMES = {0: "NOT_HEALTHY", 1: "PARTIALLY_HEALTHY", 2: "HEALTHY"}


def _add(total: Any, value: Any) -> Any:
    if value is None:
        return total
    return value if total is None else total + value


def _hi(a: Any, b: Any) -> Any:
    if b is None:
        return a
    return b if a is None or b > a else a


def _lo(a: Any, b: Any) -> Any:
    if b is None:
        return a
    return b if a is None or b < a else a


@functools.lru_cache(maxsize=4096)
def _parse_iso_cached(text: str) -> dt.datetime | None:
    return as_utc(text)


def _parse_iso(value: Any) -> dt.datetime | None:
    """ARM times arrive as text; the same expiry repeats on every link, so parse each once."""
    if isinstance(value, str):
        return _parse_iso_cached(value)
    return as_utc(value)


def classify(v: LinkView, th: Thresholds) -> Health:
    """Glyph + word + level for one link (the word never relies on colour)."""
    if v.sql is None and v.arm is None:
        return UNKNOWN
    if v.replica_state and "Error" in v.replica_state:
        return FAILED
    if v.connected is False:
        return DISCONNECTED
    if v.seeding_percent is not None:
        return Health("info", "◐", f"SEEDING {v.seeding_percent:.0f}%")
    if v.sync_health and v.sync_health != "HEALTHY":
        return NOT_HEALTHY
    if v.lag_seconds is not None and v.lag_seconds > th.lag_seconds:
        return LAGGING
    if v.connected is None and v.sync_health is None:
        return UNKNOWN
    return HEALTHY


def link_alerts(v: LinkView, th: Thresholds) -> list[Alert]:
    out: list[Alert] = []
    if th.disconnected and v.connected is False:
        out.append(Alert(v.name, "disconnected", "error", f"{v.name} DISCONNECTED"
                         + (f" ({_short(v.link_error)})" if v.link_error else "")))
    elif v.replica_state and "Error" in v.replica_state:
        out.append(Alert(v.name, "error", "error", f"{v.name} {v.replica_state}"))
    elif th.not_healthy and v.sync_health and v.sync_health != "HEALTHY" and v.seeding_percent is None:
        out.append(Alert(v.name, "not_healthy", "warn", f"{v.name} {v.sync_health.replace('_', ' ')}"))
    if v.lag_seconds is not None and v.lag_seconds > th.lag_seconds:
        out.append(Alert(v.name, "lag", "warn", f"{v.name} lag {v.lag_seconds:.0f} s > {th.lag_seconds:.0f} s"))
    if th.data_loss_mb is not None and v.data_loss_mb is not None and v.data_loss_mb > th.data_loss_mb:
        out.append(Alert(v.name, "data_loss", "warn", f"{v.name} would lose {v.data_loss_mb:.1f} MB"))
    if v.cert_days is not None and v.cert_days < th.cert_days:
        word = "EXPIRED" if v.cert_days <= 0 else f"expires in {v.cert_days:.0f} days"
        out.append(Alert(v.name, "certificate", "error" if v.cert_days <= 7 else "warn",
                         f"{v.name} certificate {word}"))
    return out


def _short(text: str, n: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


# --------------------------------------------------------------------------- history


class History:
    """The last ``size`` samples (minutes at 1 s) of each link's figures, for its charts.

    One flat ring per link holds each sample's HISTORY_FIELDS and its time, one after the
    other: a sample is one ``extend`` of raw values (500 links, every refresh), and converting
    (None to NaN, to float) waits until a chart reads a series — one link at a time.
    """

    def __init__(self, size: int = 600) -> None:
        self.size = size
        self._rings: dict[str, deque[Any]] = {}
        self._added: dict[str, int] = {}  # samples ever added per link (a screen's "anything new?")

    def add(self, view: LinkView, at: dt.datetime) -> None:
        """One sample of ``view``'s figures (a None becomes a gap in the chart)."""
        name = view.name
        ring = self._rings.get(name)
        if ring is None:
            ring = self._rings[name] = deque(maxlen=self.size * _STRIDE)
        # HISTORY_FIELDS, spelled out, then the time: this runs for every link on every refresh
        ring.extend((view.send_queue_kb, view.redo_queue_kb, view.send_rate_kbs, view.redo_rate_kbs,
                     view.lag_seconds, at))
        self._added[name] = self._added.get(name, 0) + 1

    def series(self, link: str, name: str) -> list[float]:
        """One figure's samples, oldest first, None as NaN."""
        ring = self._rings.get(link)
        if not ring:
            return []
        return [_NAN if v is None else float(v) for v in list(ring)[_HISTORY_INDEX[name]::_STRIDE]]

    def times(self, link: str) -> list[dt.datetime]:
        ring = self._rings.get(link)
        return list(ring)[_STRIDE - 1::_STRIDE] if ring else []

    def count(self, link: str) -> int:
        """Samples ever added for ``link`` (grows even once the ring is full)."""
        return self._added.get(link, 0)

    def forget(self, link: str) -> None:
        self._rings.pop(link, None)
        self._added.pop(link, None)


_NAN = math.nan
_HISTORY_INDEX = {f: i for i, f in enumerate(HISTORY_FIELDS)}
_STRIDE = len(HISTORY_FIELDS) + 1  # the figures, then the sample's time
assert HISTORY_FIELDS == ("send_queue_kb", "redo_queue_kb", "send_rate_kbs", "redo_rate_kbs", "lag_seconds")


# --------------------------------------------------------------------------- the model


@dataclass
class SourceStatus:
    """What the screen says about a source: fresh/stale, age, last error, failures in a row."""

    name: str
    kind: str
    last_ok: dt.datetime | None = None
    last_error: str | None = None
    failures: int = 0
    stale: bool = False
    age_seconds: float = 0.0
    round_trips: int = 0
    stale_after: float = 0.0  # this source's own limit when it is polled less often (0: the model's)


class DashboardModel:
    """Latest report per source, merged per link; incremental so 500 links stay cheap."""

    def __init__(self, thresholds: Thresholds | None = None, history: int = 600,
                 stale_after: float = 3.0) -> None:
        self.thresholds = thresholds or Thresholds()
        self.history = History(history)
        self.stale_after = stale_after  # seconds without a fresh answer before a source counts as stale
        self._reports: dict[str, SourceReport] = {}  # last good report per source
        self.status: dict[str, SourceStatus] = {}
        self._link_sources: dict[str, dict[str, str]] = {}  # link -> {"sql": source, "arm": source}
        self.views: dict[str, LinkView] = {}
        self._stale_views: set[str] = set()  # links whose view shows stale data (their ages move)
        self.now: dt.datetime = utcnow()

    def register(self, source: str, kind: str) -> None:
        self.status.setdefault(source, SourceStatus(source, kind))

    def apply(self, report: SourceReport) -> set[str]:
        """Take one report; return the link names whose view must be looked at again.

        A link whose data equals the previous answer's keeps the previous dict object, so
        :meth:`rebuild` can tell "unchanged" by identity and keep its view.
        """
        st = self.status.setdefault(report.source, SourceStatus(report.source, report.kind))
        st.round_trips += report.round_trips
        touched: set[str] = set()
        if not report.ok:
            st.failures += 1
            st.last_error = report.error
            prev = self._reports.get(report.source)
            return set(prev.links) if prev else set()
        st.failures, st.last_error, st.last_ok = 0, None, report.at
        prev = self._reports.get(report.source)
        self._reports[report.source] = report
        links = report.links
        if prev is not None:
            old_links = prev.links
            for gone in old_links.keys() - links.keys():
                owners = self._link_sources.get(gone, {})
                if owners.get(report.kind) == report.source:
                    owners.pop(report.kind)
                touched.add(gone)
            for name, data in links.items():
                old = old_links.get(name)
                if old is not None and old is not data and old == data:
                    links[name] = old
        kind, source = report.kind, report.source
        link_sources = self._link_sources
        for name in links:
            owners = link_sources.get(name)
            if owners is None:
                link_sources[name] = {kind: source}
            elif owners.get(kind) != source:
                owners[kind] = source
        touched.update(links)
        return touched

    def _side(self, link: str, kind: str) -> SideState | None:
        src = self._link_sources.get(link, {}).get(kind)
        if src is None:
            return None
        rep = self._reports.get(src)
        if rep is None or link not in rep.links:
            return None
        st = self.status[src]
        age = max(0.0, (self.now - rep.at).total_seconds())
        return SideState(src, rep.links[link], rep.at, st.failures > 0 or age > max(self.stale_after, st.stale_after),
                         age, rep.server_time)

    def refresh_status(self, now: dt.datetime) -> None:
        self.now = now
        for st in self.status.values():
            if st.last_ok is None:
                st.age_seconds, st.stale = 0.0, st.failures > 0
            else:
                st.age_seconds = max(0.0, (now - st.last_ok).total_seconds())
                st.stale = st.failures > 0 or st.age_seconds > max(self.stale_after, st.stale_after)

    def rebuild(self, links: Iterable[str], now: dt.datetime, record_history: bool = True) -> set[str]:
        """Look at ``links`` again; return those whose view was rebuilt or dropped.

        A link whose two sides are the very same data as last time (see :meth:`apply`), equally
        fresh or stale, keeps its view: only its side ages move (and certificate days, unless
        they cross a shown day or an alert threshold, which rebuilds). History gets a sample
        either way, so charts keep moving.
        """
        self.refresh_status(now)
        stale_after = self.stale_after
        per_source: dict[str, tuple[SourceReport, bool, float]] = {}
        for src, rep in self._reports.items():
            st = self.status[src]
            age = max(0.0, (now - rep.at).total_seconds())
            per_source[src] = (rep, st.failures > 0 or age > max(stale_after, st.stale_after), age)
        th = self.thresholds
        views, history, stale_views = self.views, self.history, self._stale_views
        changed: set[str] = set()
        for name in links:
            owners = self._link_sources.get(name) or {}
            sql = arm = None
            src = owners.get("sql")
            if src is not None and src in per_source:
                rep, stale, age = per_source[src]
                data = rep.links.get(name)
                if data is not None:
                    sql = SideState(src, data, rep.at, stale, age, rep.server_time)
            src = owners.get("arm")
            if src is not None and src in per_source:
                rep, stale, age = per_source[src]
                data = rep.links.get(name)
                if data is not None:
                    arm = SideState(src, data, rep.at, stale, age, rep.server_time)
            if sql is None and arm is None:
                self._link_sources.pop(name, None)
                stale_views.discard(name)
                if views.pop(name, None) is not None:
                    history.forget(name)
                    changed.add(name)
                continue
            view = views.get(name)
            if view is None or not _keeps(view, sql, arm, now, th):
                view = views[name] = build_view(name, sql, arm, now, th)
                changed.add(name)
                if (sql is not None and sql.stale) or (arm is not None and arm.stale):  # view.stale
                    stale_views.add(name)
                else:
                    stale_views.discard(name)
            if record_history and sql is not None and not sql.stale:
                history.add(view, sql.at)
        return changed

    def stale_links(self) -> set[str]:
        """Links shown as stale whose age text changes with time (rebuilt once a second)."""
        out = set(self._stale_views)
        stale_sources = {s.name for s in self.status.values() if s.stale}
        if stale_sources:
            out |= {n for n, owners in self._link_sources.items()
                    if any(s in stale_sources for s in owners.values())}
        return out

    def ingest(self, report: SourceReport, now: dt.datetime | None = None) -> set[str]:
        """apply + rebuild in one call (tests, bench, replay)."""
        touched = self.apply(report)
        return self.rebuild(touched, now or report.at, record_history=report.ok)

    def alerts(self) -> list[Alert]:
        out: list[Alert] = []
        for st in self.status.values():
            if st.stale:
                what = f"not answering for {st.age_seconds:.0f} s" if st.last_ok else "not answering"
                out.append(Alert(st.name, "source", "error", f"{st.name} {what}"
                                 + (f": {_short(st.last_error, 50)}" if st.last_error else "")))
        order = {"error": 0, "warn": 1}
        link_out: list[Alert] = []
        for v in self.views.values():
            link_out += v.alerts
        link_out.sort(key=lambda a: (order.get(a.level, 2), a.link))
        return out + link_out


# --------------------------------------------------------------------------- exports

_SECRET = re.compile(r"(?i)\b(password|pwd|secret|client_secret|access_token|token)\b\s*[=:]\s*[^;\s,]+")


def redact(text: str | None) -> str | None:
    """Remove anything that looks like a credential from text that may be saved or shown."""
    if text is None:
        return None
    return _SECRET.sub(lambda m: f"{m.group(1)}=***", str(text))


def redact_obj(obj: Any) -> Any:
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: ("***" if k.lower() in ("password", "client_secret", "access_token", "secret") else redact_obj(v))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact_obj(v) for v in obj]
    return obj


def export_json(views: list[LinkView], alerts: list[Alert], statuses: Iterable[SourceStatus],
                now: dt.datetime, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """The current view as JSON: what an incident review or a runbook attaches."""
    return redact_obj({
        "generated_at": iso(now), **(meta or {}),
        "sources": [{"source": s.name, "kind": s.kind, "stale": s.stale, "age_seconds": round(s.age_seconds, 1),
                     "last_ok": iso(s.last_ok), "last_error": s.last_error, "failures": s.failures}
                    for s in statuses],
        "alerts": [a.to_json() for a in alerts],
        "links": [v.to_json() for v in views],
    })


def fmt_num(v: float | None, digits: int = 0, unit: str = "") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if math.isinf(v):
        return "∞"
    return f"{v:,.{digits}f}{unit}"


def fmt_duration(seconds: float | None) -> str:
    """Short human duration: 42 s, 3 m 05 s, 2 h 10 m, ∞."""
    if seconds is None:
        return "—"
    if math.isinf(seconds):
        return "∞"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} m {s % 60:02d} s"
    if s < 86400 * 2:
        return f"{s // 3600} h {s % 3600 // 60:02d} m"
    return f"{s // 86400} d"


def export_markdown(views: list[LinkView], alerts: list[Alert], statuses: Iterable[SourceStatus],
                    now: dt.datetime, title: str = "milink dashboard") -> str:
    """The current view as Markdown (a table per link set, alerts, sources)."""
    lines = [f"# {title}", "", f"Generated {iso(now)}", ""]
    lines += ["## Alerts", ""]
    lines += [f"- **{a.level.upper()}** {a.text}" for a in alerts] or ["- none"]
    lines += ["", "## Links", "",
              "| Health | Link | Database | SQL Server | Managed instance | Lag | Send queue KB | Redo queue KB "
              "| Data loss | Redo time | Failover safe | Seeding | Cert days |",
              "|---|---|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|"]
    for v in views:
        loss = f"{fmt_num(v.data_loss_seconds)} s / {fmt_num(v.data_loss_mb, 1)} MB"
        lines.append(
            f"| {v.health.label}{' (stale)' if v.stale else ''} | {v.name} | {v.database or '—'} "
            f"| {v.sql_server or '—'} | {v.mi or '—'} | {fmt_num(v.lag_seconds)} s | {fmt_num(v.send_queue_kb)} "
            f"| {fmt_num(v.redo_queue_kb)} | {loss} | {fmt_duration(v.redo_seconds)} "
            f"| {'yes' if v.failover_safe else 'no: ' + v.failover_reason} "
            f"| {fmt_num(v.seeding_percent, 0, '%') if v.seeding_percent is not None else '—'} "
            f"| {fmt_num(v.cert_days)} |")
    lines += ["", "## Sources", "", "| Source | State | Age | Last error |", "|---|---|---:|---|"]
    for s in statuses:
        lines.append(f"| {s.name} | {'stale' if s.stale else 'fresh'} | {s.age_seconds:.0f} s "
                     f"| {(redact(s.last_error) or '').replace('|', '/')} |")
    return "\n".join(lines) + "\n"
