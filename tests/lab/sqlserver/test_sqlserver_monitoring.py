"""The monitoring queries of domain.md §8.2 and §7, typed verbatim, against hand-populated DAG streams."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from milink_tui.lab.sqlserver import SqlServerBackend

from ..reference_queries import (  # noqa: E402
    DASHBOARD_QUERY,
    ETA_QUERY,
    HEALTH_QUERY,
    LAG_QUERY,
    LSN_QUERY,
    SEEDING_QUERY,
    SPLIT_BRAIN_QUERY,
    SYNC_MODE_CHECK,
)
from .sqlserver_helpers import Client, add_link


def _seeding(backend: SqlServerBackend) -> None:
    dag = add_link(backend.world, backend.instance, phase="SEEDING")
    stream = dag.streams["db1"]
    now = backend.world.clock.now()
    stream.seeding_started = now - dt.timedelta(seconds=100)
    stream.seeding_total_bytes = 1000 * 1024 * 1024
    stream.seeding_done_bytes = 400 * 1024 * 1024
    stream.seeding_rate_bps = 4 * 1024 * 1024
    stream.seeding_attempts = 1


async def test_seeding_progress(client: Client, backend: SqlServerBackend) -> None:
    assert await client.rows(SEEDING_QUERY) == []  # no seeding: no rows
    _seeding(backend)
    rs = await client.result(SEEDING_QUERY)
    row = dict(zip([c.name for c in rs.columns], rs.rows[0], strict=True))
    assert row["Local database name"] == "db1" and row["Current state"] == "SEEDING"
    assert row["Is source"] is True and row["Compression"] is True
    assert row["Database size MB"] == 1000 and row["Transferred MB"] == 400 and row["Transfer rate MB/s"] == 4
    assert row["Completion time"] is None and row["Attempt No"] == 1
    assert isinstance(row["Start time UTC"], dt.datetime)
    assert (row["Estimated time complete UTC"] - row["Start time UTC"]).total_seconds() == pytest.approx(250, abs=2)
    assert {c.name: c.type.name for c in rs.columns}["Is source"] == "bit"
    eta = await client.result(ETA_QUERY)
    assert eta.columns[0].name == "Estimated complete time" and eta.columns[0].type.length == 8
    assert eta.rows[0][0] in ("00:04:10", "00:04:09", "00:04:11")


async def test_seeding_dmv_states(client: Client, backend: SqlServerBackend) -> None:
    _seeding(backend)
    rows = await client.rows("SELECT synchronization_state_desc, synchronization_health_desc FROM "
                             "sys.dm_hadr_database_replica_states WHERE is_local = 0")
    assert rows == [("INITIALIZING", "NOT_HEALTHY")]
    stream = backend.instance.availability_groups["DAG_db1"].streams["db1"]
    stream.connected = False
    rows = await client.rows("SELECT synchronization_state_desc FROM sys.dm_hadr_database_replica_states "
                             "WHERE is_local = 0")
    assert rows == [("NOT SYNCHRONIZING",)]
    stream.seeding_completed = backend.world.clock.now()
    stream.phase = "SYNCHRONIZING"
    assert await client.rows(SEEDING_QUERY) == []
    assert await client.rows("SELECT current_state, completion_time FROM sys.dm_hadr_automatic_seeding") == [
        ("COMPLETED", stream.seeding_completed.replace(microsecond=stream.seeding_completed.microsecond))]


@pytest.mark.parametrize("phase,connected,expected", [
    ("SYNCHRONIZING", True, "HEALTHY"),
    ("SEEDING", True, "NOT_HEALTHY"),
    ("SYNCHRONIZING", False, "NOT_HEALTHY"),
])
async def test_link_health(client: Client, backend: SqlServerBackend, phase: str, connected: bool,
                           expected: str) -> None:
    add_link(backend.world, backend.instance, phase=phase, connected=connected)
    rows = await client.rows(HEALTH_QUERY.replace("<DAGname>", "DAG_db1"))
    assert rows == [(expected,)]


async def test_link_health_on_secondary_has_no_row(client: Client, backend: SqlServerBackend) -> None:
    add_link(backend.world, backend.instance, role="SECONDARY")
    assert await client.rows(HEALTH_QUERY.replace("<DAGname>", "DAG_db1")) == []
    rows = await client.rows(SPLIT_BRAIN_QUERY.replace("<DAGName>", "DAG_db1"))
    assert rows == [("DAG_db1", "SECONDARY")]
    local = await client.dicts("SELECT is_local, is_primary_replica, synchronization_state_desc, "
                               "secondary_lag_seconds, last_hardened_lsn FROM sys.dm_hadr_database_replica_states "
                               "WHERE group_id = (SELECT group_id FROM sys.availability_groups WHERE name = 'DAG_db1')")
    assert local == [{"is_local": True, "is_primary_replica": False, "synchronization_state_desc": "SYNCHRONIZING",
                      "secondary_lag_seconds": None, "last_hardened_lsn": decimal.Decimal(4_800_000)}]


async def test_replication_lag(client: Client, backend: SqlServerBackend) -> None:
    add_link(backend.world, backend.instance)
    rs = await client.result(LAG_QUERY.replace("<DAGname>", "DAG_db1"))
    assert [c.name for c in rs.columns] == ["Link name", "Link role", "Link connected state", "Link sync health",
                                           "Link replication latency (seconds)"]
    assert rs.rows == [("DAG_db1", "PRIMARY", "CONNECTED", "HEALTHY", 7)]
    assert rs.columns[4].type.name == "bigint"


async def test_dashboard_query(client: Client, backend: SqlServerBackend) -> None:
    add_link(backend.world, backend.instance)
    rs = await client.result(DASHBOARD_QUERY)
    cols = [c.name for c in rs.columns]
    assert cols[:6] == ["dag", "is_distributed", "replica_server_name", "is_local", "is_primary_replica", "db"]
    types = {c.name: c.type for c in rs.columns}
    assert types["end_of_log_lsn"].name == "numeric" and types["end_of_log_lsn"].precision == 25
    assert types["synchronization_state_desc"].length == 60 and types["log_send_queue_size"].name == "bigint"
    rows = {(r[0], r[2]): dict(zip(cols, r, strict=True)) for r in rs.rows}
    assert set(rows) == {("AG_db1", "SQLLAB01"), ("DAG_db1", "AG_db1"), ("DAG_db1", "AG_db1_MI")}
    primary, remote = rows[("DAG_db1", "AG_db1")], rows[("DAG_db1", "AG_db1_MI")]
    assert primary["is_local"] and primary["is_primary_replica"] and primary["db"] == "db1"
    assert primary["synchronization_state_desc"] == "SYNCHRONIZED"
    assert primary["end_of_log_lsn"] == decimal.Decimal(5_000_000)
    assert not remote["is_local"] and not remote["is_primary_replica"]
    assert (remote["synchronization_state_desc"], remote["synchronization_health_desc"]) == ("SYNCHRONIZING",
                                                                                         "HEALTHY")
    assert remote["log_send_queue_size"] == (5_000_000 - 4_900_000) // 1024
    assert remote["redo_queue_size"] == (4_800_000 - 4_700_000) // 1024
    assert (remote["log_send_rate"], remote["redo_rate"]) == (1500, 900)
    assert remote["last_sent_lsn"] == 4_900_000 and remote["last_hardened_lsn"] == 4_800_000
    assert remote["last_redone_lsn"] == 4_700_000 and remote["secondary_lag_seconds"] == 7
    assert isinstance(remote["last_commit_time"], dt.datetime)


async def test_sync_mode_dashboard(client: Client, backend: SqlServerBackend) -> None:
    add_link(backend.world, backend.instance, phase="SYNCHRONIZED", mode="SYNCHRONOUS_COMMIT")
    rows = await client.rows("SELECT synchronization_state_desc, synchronization_health_desc FROM "
                             "sys.dm_hadr_database_replica_states WHERE is_local = 0")
    assert rows == [("SYNCHRONIZED", "HEALTHY")]
    checked = await client.dicts(SYNC_MODE_CHECK)
    assert {(r["replica_server_name"], r["availability_mode_desc"], r["role_desc"]) for r in checked} == {
        ("AG_db1", "SYNCHRONOUS_COMMIT", "PRIMARY"), ("AG_db1_MI", "SYNCHRONOUS_COMMIT", "SECONDARY")}
    lsns = await client.rows(LSN_QUERY.replace("<DatabaseName>", "db1"))
    assert len(lsns) == 2 and {r[5] for r in lsns} == {"SYNCHRONIZED"}


async def test_async_mode_never_synchronized(client: Client, backend: SqlServerBackend) -> None:
    add_link(backend.world, backend.instance, phase="SYNCHRONIZED")  # async DAG: steady state is SYNCHRONIZING
    rows = await client.rows("SELECT synchronization_state_desc, synchronization_health_desc FROM "
                             "sys.dm_hadr_database_replica_states WHERE is_local = 0")
    assert rows == [("SYNCHRONIZING", "HEALTHY")]


async def test_connect_error_and_group_states(client: Client, backend: SqlServerBackend) -> None:
    dag = add_link(backend.world, backend.instance, connected=False)
    when = dt.datetime(2025, 1, 2, 3, 4, 5)
    dag.last_connect_error = (41976, "Connection with availability group 'AG_db1_MI' ... is not responding.", when)
    rows = await client.dicts("""SELECT r.replica_server_name AS [Replica], r.endpoint_url AS [Endpoint],
       rs.connected_state_desc AS [Connected state],
       rs.last_connect_error_description AS [Last connection error],
       rs.last_connect_error_number AS [Last connection error No],
       rs.last_connect_error_timestamp AS [Last error timestamp]
FROM sys.dm_hadr_availability_replica_states rs
JOIN sys.availability_replicas r ON rs.replica_id = r.replica_id""")
    remote = next(r for r in rows if r["Replica"] == "AG_db1_MI")
    assert remote["Connected state"] == "DISCONNECTED" and remote["Last connection error No"] == 41976
    assert remote["Last error timestamp"] == when
    states = await client.dicts("SELECT ag.name, gs.primary_replica, gs.synchronization_health_desc FROM "
                                "sys.dm_hadr_availability_group_states gs JOIN sys.availability_groups ag ON "
                                "ag.group_id = gs.group_id ORDER BY ag.name")
    assert states == [{"name": "AG_db1", "primary_replica": "SQLLAB01", "synchronization_health_desc": "HEALTHY"},
                      {"name": "DAG_db1", "primary_replica": "AG_db1", "synchronization_health_desc": "NOT_HEALTHY"}]


async def test_log_space_and_reuse_wait(client: Client, backend: SqlServerBackend) -> None:
    add_link(backend.world, backend.instance)
    out = await client.run("DBCC SQLPERF(LOGSPACE)")
    rs = out[0]
    assert [c.name for c in rs.columns] == ["Database Name", "Log Size (MB)", "Log Space Used (%)", "Status"]
    row = next(r for r in rs.rows if r[0] == "db1")
    assert row[1] == 20.0 and 0 < row[2] <= 100
    assert out[-1].number == 2528
    wait = await client.rows("SELECT log_reuse_wait_desc FROM sys.databases WHERE name = 'db1'")
    assert wait in ([("LOG_BACKUP",)], [("AVAILABILITY_REPLICA",)])
