"""Dashboard test helpers: a fixture world in every link state, recordings, waiting on the app."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from milink_tui.engine.dashboard import SourceReport, as_utc

T0 = as_utc("2026-11-23T12:00:00Z")


async def wait_until(pilot, cond: Callable[[], bool], timeout: float = 10.0, step: float = 0.05) -> bool:
    """Let the app run until ``cond()`` holds (workers post messages; no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        await pilot.pause(step)
    return cond()


def sql_rows(link: str, db: str, *, connected: bool = True, health: str = "HEALTHY", send_kb: float = 0,
             redo_kb: float = 0, lag: float = 0, send_rate: float = 120, redo_rate: float = 400,
             sync: str = "SYNCHRONIZING") -> dict:
    return {
        "link_name": link, "local_role": "PRIMARY", "connected_state": "CONNECTED" if connected else "DISCONNECTED",
        "replica_health": health, "last_connect_error_number": None if connected else 41976,
        "last_connect_error_description": None if connected else "The connection to the remote replica timed out.",
        "remote_member": f"AG_{db}_MI", "remote_url": "tcp://sqlmi-fix.abc.database.windows.net:5022;Server=[sqlmi-fix]",
        "availability_mode_desc": "ASYNCHRONOUS_COMMIT", "database_name": db, "sync_state": sync,
        "sync_health": health, "log_send_queue_size": send_kb, "log_send_rate": send_rate,
        "redo_queue_size": redo_kb, "redo_rate": redo_rate, "primary_commit_time": "2026-11-23T11:59:59",
        "secondary_commit_time": f"2026-11-23T11:59:{59 - int(lag):02d}", "secondary_lag_seconds": lag,
        "end_of_log_lsn": 1000, "last_hardened_lsn": 900,
    }


MULTI_DBS = ["Orders", "Billing", "Audit", "Archive", "Staging"]


def fixture_reports(n_links: int = 6, multi: int = 0) -> tuple[SourceReport, SourceReport]:
    """A SQL and an ARM report for ``n_links`` links in every state the screen can show.

    ``multi``: also a link ``DAG_Multi`` with that many databases (both sides).
    """
    from milink_tui.engine.dashboard import normalize_arm, normalize_sql

    kinds = ["ok", "lag", "down", "seed", "cert", "ok"]
    rows, seeding, arm = [], [], []
    for i in range(n_links):
        kind = kinds[i % len(kinds)]
        db = f"Db{i + 1:03d}"
        link = f"DAG_{db}"
        rows.append(sql_rows(link, db, connected=kind != "down", health="NOT_HEALTHY" if kind == "down" else "HEALTHY",
                             send_kb=51200 if kind == "lag" else 0, lag=45 if kind == "lag" else 0,
                             sync="NOT SYNCHRONIZING" if kind == "down" else "SYNCHRONIZING"))
        if kind == "seed":
            seeding.append({"local_database_name": db, "transferred_size_bytes": 400 * 2**20,
                            "database_size_bytes": 1024 * 2**20, "transfer_rate_bytes_per_second": 10 * 2**20})
        arm.append({"name": link, "replicationMode": "Async", "instanceLinkRole": "Secondary",
                    "partnerLinkRole": "Primary", "failoverMode": "Manual", "databases": [{
                        "databaseName": db,
                        "replicaState": "CreatingLink" if kind == "seed" else "LinkSynchronizing",
                        "seedingProgress": "39%" if kind == "seed" else None,
                        "synchronizationHealth": "NOT_HEALTHY" if kind == "down" else "HEALTHY",
                        "connectedState": "DISCONNECTED" if kind == "down" else "CONNECTED",
                        "mostRecentLinkError": "41976" if kind == "down" else None,
                        "partnerAuthCertValidity": {"certificateName": "Cert_SQLFIX_endpoint",
                                                    "expiryDate": "2026-12-03T12:00:00Z" if kind == "cert"
                                                    else "2027-11-23T12:00:00Z"},
                        "lastHardenedTime": "2026-11-23T11:59:58Z", "lastCommitTime": "2026-11-23T11:59:58Z"}]})
    for i in range(multi):  # one link, several databases (an AG with more than one database)
        db = MULTI_DBS[i % len(MULTI_DBS)]
        rows.append(sql_rows("DAG_Multi", db, send_kb=100.0 * (i + 1), lag=i, send_rate=10.0 * (i + 1)))
    if multi:
        arm.append({"name": "DAG_Multi", "replicationMode": "Async", "instanceLinkRole": "Secondary",
                    "partnerLinkRole": "Primary", "failoverMode": "Manual", "databases": [{
                        "databaseName": MULTI_DBS[i % len(MULTI_DBS)], "replicaState": "LinkSynchronizing",
                        "synchronizationHealth": "HEALTHY", "connectedState": "CONNECTED",
                        "instanceSendReplicationLagSeconds": i, "instanceRedoReplicationLagSeconds": 2 * i,
                        "partnerAuthCertValidity": {"certificateName": "Cert_SQLFIX_endpoint",
                                                    "expiryDate": "2027-11-23T12:00:00Z"},
                        "lastHardenedTime": "2026-11-23T11:59:58Z"} for i in range(multi)]})
    cert = [{"name": "Cert_SQLFIX_endpoint", "expiry_date": "2027-11-23T12:00:00"}]
    meta = [{"server_name": "SQLFIX01", "now_utc": "2026-11-23T12:00:00"}]
    sql = normalize_sql([rows, seeding, cert, meta], T0, "SQLFIX01")
    return sql, normalize_arm("sqlmi-fix", "rg-fix", arm, T0)


def make_recording(path: Path, frames: int = 20, n_links: int = 6) -> Path:
    """A deterministic recording: the lagging link's queue grows, then the ARM source goes away."""
    import datetime as dt

    from milink_tui.engine.dashboard import failure
    from milink_tui.services.recorder import Recorder

    with Recorder(path, {"note": "fixture"}) as rec:
        for i in range(frames):
            sql, arm = fixture_reports(n_links)
            at = T0 - dt.timedelta(seconds=frames - 1 - i)
            lag_db = sql.links["DAG_Db002"]["databases"][0]
            lag_db["send_queue_kb"] = 2048.0 * (i + 1)
            lag_db["lag_seconds"] = float(2 * i)
            lag_db["send_rate_kbs"] = 100.0 + 10 * (i % 5)
            sql.at = at
            sql.server_time = at
            rec.write(sql)
            if i < frames - 3:
                arm.at = at
                rec.write(arm)
            else:
                rec.write(failure("arm:sqlmi-fix", "arm", "HTTP 503: Service Unavailable", at))
    return path
