"""Model -> rows for the availability-group catalog views and the sys.dm_hadr_* DMVs.

A DAG's runtime numbers come from ``ag.streams`` (one :class:`DbStream` per database, written
by the replication engine and shared with the managed-instance side). What this module adds is
SQL Server's way of presenting them: which rows exist on the primary versus the secondary, the
state/health rollups and the `_desc` strings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from urllib.parse import urlsplit

from ..model import AvailabilityGroup, Database, DbStream, Replica
from .context import ExecEnv, stable_guid
from .render import Row, g, login_sid, ts

ROLE = {"RESOLVING": 0, "PRIMARY": 1, "SECONDARY": 2}
AVAILABILITY = {"ASYNCHRONOUS_COMMIT": 0, "SYNCHRONOUS_COMMIT": 1, "CONFIGURATION_ONLY": 4}
FAILOVER = {"AUTOMATIC": 0, "MANUAL": 1, "EXTERNAL": 2}
SEEDING = {"AUTOMATIC": 0, "MANUAL": 1}
CLUSTER = {"WSFC": 0, "EXTERNAL": 1, "NONE": 2}
HEALTH = {0: "NOT_HEALTHY", 1: "PARTIALLY_HEALTHY", 2: "HEALTHY"}
SYNC = {0: "NOT SYNCHRONIZING", 1: "SYNCHRONIZING", 2: "SYNCHRONIZED", 3: "REVERTING", 4: "INITIALIZING"}
STATE = {"ONLINE": 0, "RESTORING": 1, "RECOVERING": 2, "RECOVERY_PENDING": 3, "SUSPECT": 4, "EMERGENCY": 5,
         "OFFLINE": 6}
FAILURE_STATES = ["Internal Error", "User Cancellation", "SQL Error", "Request Denied", "Thread Abort",
                  "Primary Failure", "Transport", "Transport Replica", "Check If Seeding Needed",
                  "Send Database File Info", "Create Callback", "Create Operation", "Create VDI Client",
                  "Open VDI Client", "Create USC Session", "Seeding", "Restore String Creation",
                  "Database ID Lookup", "Create Async Task", "Create Timeout Task", "Async Task Failure",
                  "Seeding Check Message Timeout", "File Message Timeout", "Database With Name Already Exists",
                  "Secondary Catchup Timeout", "Secondary Restore Stream Ready Timeout"]


# --------------------------------------------------------------------------- helpers


def local_member(ag: AvailabilityGroup) -> Replica | None:
    return next((r for r in ag.replicas if r.is_local), ag.replicas[0] if ag.replicas else None)


def remote_members(ag: AvailabilityGroup) -> list[Replica]:
    local = local_member(ag)
    return [r for r in ag.replicas if r is not local]


def local_ag_of_dag(env: ExecEnv, dag: AvailabilityGroup) -> AvailabilityGroup | None:
    member = local_member(dag)
    if member is None:
        return None
    ag = env.find_ag(member.server_name)
    return ag if ag is not None and not ag.is_distributed else None


def members(env: ExecEnv, ag: AvailabilityGroup) -> tuple[Replica | None, list[Replica]]:
    """(local replica, remote replicas), memoized for the current query."""
    cache = env.cache("members", dict)
    hit = cache.get(id(ag))
    if hit is None:
        local = local_member(ag)
        hit = cache[id(ag)] = (local, [r for r in ag.replicas if r is not local])
    return hit


def dag_databases(env: ExecEnv, dag: AvailabilityGroup) -> list[str]:
    """The databases a DAG carries: its streams once paired, else its local member AG's databases."""
    if dag.streams:
        return list(dag.streams)
    ag = local_ag_of_dag(env, dag)
    return list(ag.databases) if ag else []


def dag_streams_for_db(env: ExecEnv, db_name: str) -> list[DbStream]:
    index = env.cache("streams_by_db", lambda: _streams_by_db(env))
    return index.get(db_name.lower(), [])


def _streams_by_db(env: ExecEnv) -> dict[str, list[DbStream]]:
    out: dict[str, list[DbStream]] = {}
    for ag in env.inst.availability_groups.values():
        if ag.is_distributed:
            for name, stream in ag.streams.items():
                out.setdefault(name.lower(), []).append(stream)
    return out


def is_sync_mode(ag: AvailabilityGroup) -> bool:
    return bool(ag.replicas) and all(r.availability_mode == "SYNCHRONOUS_COMMIT" for r in ag.replicas)


def stream_state(stream: DbStream | None, sync_mode: bool) -> tuple[int, int]:
    """(synchronization_state, synchronization_health) of the secondary copy fed by ``stream``."""
    if stream is None or not stream.connected or stream.phase == "NOT SYNCHRONIZING":
        return 0, 0
    if stream.phase in ("SEEDING", "INITIALIZING"):
        return 4, 0
    if stream.phase == "SYNCHRONIZED" and sync_mode:
        return 2, 2
    return 1, (1 if sync_mode else 2)


def _group_db_id(env: ExecEnv, ag_name: str, db_name: str):
    db = env.find_db(db_name)
    if db is not None and db.group_database_id is not None:
        return db.group_database_id
    return stable_guid(env.inst.name, ag_name, db_name, "groupdb")


# --------------------------------------------------------------------------- catalog views


def r_availability_groups(env: ExecEnv) -> Iterable[Row]:
    for ag in env.inst.availability_groups.values():
        row: Row = {"group_id": g(ag.group_id), "name": ag.name, "basic_features": ag.basic,
                    "db_failover": ag.db_failover, "is_distributed": ag.is_distributed,
                    "cluster_type": CLUSTER[ag.cluster_type], "cluster_type_desc": ag.cluster_type,
                    "sequence_number": ag.sequence_number}
        rssc = env.state.ag_settings.get((ag.name.lower(), "REQUIRED_SYNCHRONIZED_SECONDARIES_TO_COMMIT"))
        if rssc is not None:
            row["required_synchronized_secondaries_to_commit"] = int(rssc)
        if ag.cluster_type == "WSFC" and not ag.is_distributed:
            row["resource_id"] = str(stable_guid(env.inst.name, ag.name, "resource"))
            row["resource_group_id"] = str(stable_guid(env.inst.name, ag.name, "resgroup"))
        if ag.is_distributed:
            row.update({"failure_condition_level": None, "health_check_timeout": None,
                        "automated_backup_preference": None, "automated_backup_preference_desc": None})
        yield row


def sig_availability_groups(env: ExecEnv) -> tuple:
    """Everything r_availability_groups reads: unchanged signature = unchanged rows."""
    return (tuple((ag.name, ag.group_id.int, ag.basic, ag.db_failover, ag.is_distributed, ag.cluster_type,
                   ag.sequence_number) for ag in env.inst.availability_groups.values()),
            tuple(sorted(env.state.ag_settings.items())), env.inst.name)


def r_availability_groups_cluster(env: ExecEnv) -> Iterable[Row]:
    for row in r_availability_groups(env):
        yield {k: row[k] for k in ("group_id", "name", "resource_id", "resource_group_id",
                                   "failure_condition_level", "health_check_timeout",
                                   "automated_backup_preference", "automated_backup_preference_desc")
               if k in row}


def r_availability_replicas(env: ExecEnv) -> Iterable[Row]:
    sa_sid = login_sid(env, "sa")
    for ag in env.inst.availability_groups.values():
        for i, r in enumerate(ag.replicas):
            row: Row = {
                "replica_id": g(r.replica_id), "group_id": g(ag.group_id), "replica_server_name": r.server_name,
                "endpoint_url": r.endpoint_url, "availability_mode": AVAILABILITY.get(r.availability_mode),
                "availability_mode_desc": r.availability_mode, "failover_mode": FAILOVER.get(r.failover_mode),
                "failover_mode_desc": r.failover_mode, "session_timeout": r.session_timeout,
                "primary_role_allow_connections": 2, "primary_role_allow_connections_desc": "ALL",
                "secondary_role_allow_connections": 0, "secondary_role_allow_connections_desc": "NO",
                "backup_priority": 50, "seeding_mode": SEEDING.get(r.seeding_mode),
                "seeding_mode_desc": r.seeding_mode,
            }
            if r.is_local:
                created = ts(r.create_date or ag.create_date)
                row.update({"replica_metadata_id": 65536 + i + 1, "owner_sid": sa_sid, "create_date": created,
                            "modify_date": created})
            yield row


def sig_availability_replicas(env: ExecEnv) -> tuple:
    """Everything r_availability_replicas reads."""
    return tuple((ag.group_id.int, ag.create_date, tuple(
        (r.replica_id.int, r.server_name, r.endpoint_url, r.availability_mode, r.failover_mode, r.session_timeout,
         r.seeding_mode, r.is_local, r.create_date) for r in ag.replicas))
        for ag in env.inst.availability_groups.values())


def sig_availability_databases_cluster(env: ExecEnv) -> tuple:
    """Every input of r_availability_databases_cluster."""
    out = []
    for ag in env.inst.availability_groups.values():
        names = dag_databases(env, ag) if ag.is_distributed else ag.databases
        dbs = tuple((n, getattr(env.find_db(n), "group_database_id", None)) for n in names)
        out.append((ag.name, ag.group_id.int, dbs))
    return tuple(out), env.inst.name


def r_availability_databases_cluster(env: ExecEnv) -> Iterable[Row]:
    for ag in env.inst.availability_groups.values():
        names = dag_databases(env, ag) if ag.is_distributed else ag.databases
        for name in names:
            yield {"group_id": g(ag.group_id), "group_database_id": g(_group_db_id(env, ag.name, name)),
                   "database_name": name}


# --------------------------------------------------------------------------- DMVs


def _replica_state_row(ag: AvailabilityGroup, r: Replica, is_local: bool, role: str, connected: bool,
                       health: int) -> Row:
    row: Row = {"replica_id": g(r.replica_id), "group_id": g(ag.group_id), "is_local": is_local,
                "role": ROLE.get(role), "role_desc": role, "connected_state": int(connected),
                "connected_state_desc": "CONNECTED" if connected else "DISCONNECTED",
                "synchronization_health": health, "synchronization_health_desc": HEALTH[health]}
    if is_local:
        row.update({"operational_state": 2, "operational_state_desc": "ONLINE", "recovery_health": 1,
                    "recovery_health_desc": "ONLINE"})
    return row


def _with_error(row: Row, err: tuple[int, str, dt.datetime] | None) -> Row:
    if err is not None:
        row.update({"last_connect_error_number": err[0], "last_connect_error_description": err[1],
                    "last_connect_error_timestamp": ts(err[2])})
    return row


def _dag_health(env: ExecEnv, dag: AvailabilityGroup) -> tuple[bool, int]:
    """(connected, health) of the link as the remote replica row reports it."""
    names = dag_databases(env, dag)
    streams = [dag.streams.get(n) for n in names]
    connected = bool(streams) and all(s is not None and s.connected for s in streams)
    sync = is_sync_mode(dag)
    healths = [stream_state(s, sync)[1] for s in streams]
    return connected, (min(healths) if healths else 0)


def replica_state_rows(env: ExecEnv, ag: AvailabilityGroup) -> list[Row]:
    cache = env.cache("replica_state_rows", dict)
    rows = cache.get(id(ag))
    if rows is None:
        rows = cache[id(ag)] = _replica_state_rows(env, ag)
    return rows


def _replica_state_rows(env: ExecEnv, ag: AvailabilityGroup) -> list[Row]:
    local, remotes = members(env, ag)
    if local is None:
        return []
    rows: list[Row] = []
    if ag.is_distributed:
        connected, health = _dag_health(env, ag)
        if ag.role == "PRIMARY":
            rows.append(_replica_state_row(ag, local, True, "PRIMARY", True, 2 if dag_databases(env, ag) else 0))
            for r in remotes:
                rows.append(_with_error(_replica_state_row(ag, r, False, "SECONDARY", connected, health),
                                        ag.last_connect_error))
        else:
            rows.append(_with_error(_replica_state_row(ag, local, True, ag.role, connected, health),
                                    ag.last_connect_error))
        return rows
    present = [n for n in ag.databases if env.find_db(n) is not None]
    health = 2 if ag.databases and len(present) == len(ag.databases) else 0
    rows.append(_replica_state_row(ag, local, True, ag.role, True, health))
    if ag.role == "PRIMARY":
        for r in remotes:
            rows.append(_replica_state_row(ag, r, False, "SECONDARY", False, 0))
    return rows


def r_dm_hadr_availability_replica_states(env: ExecEnv) -> Iterable[Row]:
    for ag in env.inst.availability_groups.values():
        yield from replica_state_rows(env, ag)


def _db_row(env: ExecEnv, db: Database, gid: str, rid: str, gdb: str | None, *, is_local: bool, is_primary: bool,
            state: int, health: int) -> Row:
    """The columns every sys.dm_hadr_database_replica_states row has (local rows add database state)."""
    row: Row = {"database_id": db.database_id, "group_id": gid, "replica_id": rid, "group_database_id": gdb,
                "is_local": is_local, "is_primary_replica": is_primary, "synchronization_state": state,
                "synchronization_state_desc": SYNC[state], "synchronization_health": health,
                "synchronization_health_desc": HEALTH[health]}
    if db.name.lower() in env.state.suspended:
        row.update({"is_suspended": True, "suspend_reason": 0, "suspend_reason_desc": "SUSPEND_FROM_USER",
                    "synchronization_state": 0, "synchronization_state_desc": SYNC[0],
                    "synchronization_health": 0, "synchronization_health_desc": HEALTH[0]})
    if is_local:
        row.update({"database_state": STATE.get(db.state, 0), "database_state_desc": db.state,
                    "recovery_lsn": db.log_truncation_lsn, "truncation_lsn": db.log_truncation_lsn,
                    "low_water_mark_for_ghosts": db.transactions})
    return row


def _add_primary(env: ExecEnv, row: Row, db: Database, sync_mode: bool) -> Row:
    """The primary's own row: its end of log and last commit (hardened only when synchronous)."""
    need = env.need
    if need is not None and not need & _PRIMARY_KEYS:
        return row
    commit = ts(db.last_commit_time)
    row.update({"end_of_log_lsn": db.end_of_log_lsn, "last_commit_lsn": db.end_of_log_lsn,
                "last_commit_time": commit, "last_hardened_lsn": db.end_of_log_lsn if sync_mode else None,
                "last_hardened_time": commit if sync_mode else None})
    if env.major >= 15 and sync_mode:
        row.update({"quorum_commit_lsn": db.end_of_log_lsn, "quorum_commit_time": commit})
    return row


_PRIMARY_KEYS = frozenset({"end_of_log_lsn", "last_commit_lsn", "last_commit_time", "last_hardened_lsn",
                           "last_hardened_time", "quorum_commit_lsn", "quorum_commit_time"})
_STREAM_KEYS = frozenset({"last_received_lsn", "last_received_time", "last_hardened_lsn", "last_hardened_time",
                          "last_redone_lsn", "last_redone_time", "log_send_queue_size", "log_send_rate",
                          "redo_queue_size", "redo_rate", "filestream_send_rate", "end_of_log_lsn",
                          "last_commit_lsn", "last_commit_time", "last_sent_lsn", "last_sent_time",
                          "secondary_lag_seconds"})


def _stream_fields(env: ExecEnv, stream: DbStream | None, primary_view: bool) -> Row:
    if stream is None:
        return {}
    need = env.need
    if need is not None and not need & _STREAM_KEYS:
        return {}
    row: Row = {
        "last_received_lsn": stream.hardened_lsn, "last_received_time": ts(stream.last_received_time),
        "last_hardened_lsn": stream.hardened_lsn, "last_hardened_time": ts(stream.last_hardened_time),
        "last_redone_lsn": stream.redone_lsn, "last_redone_time": ts(stream.last_redone_time),
        "log_send_queue_size": stream.log_send_queue_kb, "log_send_rate": int(stream.log_send_rate_kbs),
        "redo_queue_size": stream.redo_queue_kb, "redo_rate": int(stream.redo_rate_kbs),
        "filestream_send_rate": 0, "end_of_log_lsn": stream.hardened_lsn, "last_commit_lsn": stream.redone_lsn,
        "last_commit_time": ts(stream.secondary_last_commit_time),
    }
    if primary_view:
        row.update({"last_sent_lsn": stream.sent_lsn, "last_sent_time": ts(stream.last_sent_time),
                    "secondary_lag_seconds": stream.secondary_lag_seconds})
    return row


def database_state_rows(env: ExecEnv, ag: AvailabilityGroup) -> list[Row]:
    """sys.dm_hadr_database_replica_states rows of one AG or DAG (the primary also sees its secondaries)."""
    local, remotes = members(env, ag)
    if local is None:
        return []
    need = env.need
    want_gdb = need is None or "group_database_id" in need
    gid, local_rid = g(ag.group_id), g(local.replica_id)
    rows: list[Row] = []
    names = dag_databases(env, ag) if ag.is_distributed else ag.databases
    sync = is_sync_mode(ag) if ag.is_distributed else True
    primary = ag.role == "PRIMARY"
    for name in names:
        db = env.find_db(name)
        if db is None:
            continue
        gdb = g(_group_db_id(env, ag.name, name)) if want_gdb else None
        if not ag.is_distributed:
            row = _db_row(env, db, gid, local_rid, gdb, is_local=True, is_primary=primary, state=2, health=2)
            rows.append(_add_primary(env, row, db, True) if primary else row)
            continue
        stream = ag.streams.get(name)
        state, health = stream_state(stream, sync)
        if primary:
            row = _db_row(env, db, gid, local_rid, gdb, is_local=True, is_primary=True, state=2, health=2)
            rows.append(_add_primary(env, row, db, sync))
            for r in remotes:
                remote = _db_row(env, db, gid, g(r.replica_id), gdb, is_local=False, is_primary=False, state=state,
                                 health=health)
                remote.update(_stream_fields(env, stream, True))
                rows.append(remote)
        else:
            row = _db_row(env, db, gid, local_rid, gdb, is_local=True, is_primary=False, state=state, health=health)
            row.update(_stream_fields(env, stream, False))
            rows.append(row)
    return rows


def _db_inputs(env: ExecEnv, ag: AvailabilityGroup, name: str) -> tuple:
    db = env.find_db(name)
    db_part = None if db is None else (
        db.name, db.database_id, db.state, db.log_truncation_lsn, db.transactions, db.end_of_log_lsn,
        db.last_commit_time, db.group_database_id, db.name.lower() in env.state.suspended)
    stream = ag.streams.get(name)
    stream_part = None if stream is None else (
        stream.connected, stream.phase, stream.sent_lsn, stream.hardened_lsn, stream.redone_lsn,
        stream.end_of_log_lsn, int(stream.log_send_rate_kbs), int(stream.redo_rate_kbs), stream.last_sent_time,
        stream.last_received_time, stream.last_hardened_time, stream.last_redone_time,
        stream.secondary_last_commit_time, stream.primary_last_commit_time)
    return name, db_part, stream_part


def _ag_inputs(env: ExecEnv, ag: AvailabilityGroup) -> tuple:
    cache = env.cache("ag_inputs", dict)
    hit = cache.get(id(ag))
    if hit is None:
        local, remotes = members(env, ag)
        hit = cache[id(ag)] = (ag.name, ag.group_id.int, ag.role, ag.is_distributed,
                               local.replica_id.int if local else None, tuple(r.replica_id.int for r in remotes),
                               tuple(r.availability_mode for r in ag.replicas))
    return hit


def sig_database_states(env: ExecEnv, ag: AvailabilityGroup) -> tuple:
    """Every input of database_state_rows(ag): unchanged signature = unchanged rows."""
    names = dag_databases(env, ag) if ag.is_distributed else ag.databases
    return _ag_inputs(env, ag), tuple(_db_inputs(env, ag, n) for n in names)


def sig_replica_states(env: ExecEnv, ag: AvailabilityGroup) -> tuple:
    """Every input of replica_state_rows(ag)."""
    if ag.is_distributed:
        names = dag_databases(env, ag)
        streams = tuple((n, None if ag.streams.get(n) is None else (ag.streams[n].connected, ag.streams[n].phase))
                        for n in names)
    else:
        streams = tuple((n, env.find_db(n) is not None) for n in ag.databases)
    return _ag_inputs(env, ag), streams, ag.last_connect_error


def r_dm_hadr_database_replica_states(env: ExecEnv) -> Iterable[Row]:
    for ag in env.inst.availability_groups.values():
        yield from database_state_rows(env, ag)


def r_dm_hadr_availability_group_states(env: ExecEnv) -> Iterable[Row]:
    for ag in env.inst.availability_groups.values():
        local = local_member(ag)
        rows = replica_state_rows(env, ag)
        health = min((r["synchronization_health"] for r in rows), default=0)
        if ag.role == "PRIMARY":
            primary = local.server_name if ag.is_distributed and local else env.inst.name
        elif ag.is_distributed:
            primary = next((r.server_name for r in remote_members(ag)), None)
        else:
            primary = None
        row: Row = {"group_id": g(ag.group_id), "primary_replica": primary, "synchronization_health": health,
                    "synchronization_health_desc": HEALTH[health]}
        if ag.role == "PRIMARY":
            row.update({"primary_recovery_health": 1, "primary_recovery_health_desc": "ONLINE"})
        else:
            row.update({"secondary_recovery_health": 1, "secondary_recovery_health_desc": "ONLINE"})
        yield row


def _remote_host(r: Replica | None) -> str | None:
    if r is None:
        return None
    try:
        return urlsplit(r.endpoint_url.split(";", 1)[0]).hostname
    except ValueError:
        return None


def r_dm_hadr_automatic_seeding(env: ExecEnv) -> Iterable[Row]:
    for ag in env.inst.availability_groups.values():
        if not ag.is_distributed:
            continue
        remote = next(iter(remote_members(ag)), None)
        for name, s in ag.streams.items():
            if s.seeding_started is None:
                continue
            if s.seeding_completed is not None:
                state = "COMPLETED"
            elif s.seeding_failure is not None:
                state = "FAILED"
            else:
                state = "SEEDING"
            row: Row = {"start_time": ts(s.seeding_started), "completion_time": ts(s.seeding_completed),
                        "ag_id": g(ag.group_id), "ag_db_id": g(_group_db_id(env, ag.name, name)),
                        "ag_remote_replica_id": g(remote.replica_id if remote else s.partner_replica_id),
                        "operation_id": g(s.seeding_operation_id), "is_source": s.primary_side == "sql",
                        "current_state": state, "performed_seeding": True,
                        "number_of_attempts": max(1, s.seeding_attempts)}
            if s.seeding_failure is not None:
                code, desc = s.seeding_failure
                row.update({"failure_state": FAILURE_STATES.index(desc) if desc in FAILURE_STATES else 2,
                            "failure_state_desc": desc, "error_code": code})
            yield row


def r_dm_hadr_physical_seeding_stats(env: ExecEnv) -> Iterable[Row]:
    now = env.now
    for ag in env.inst.availability_groups.values():
        if not ag.is_distributed:
            continue
        remote = next(iter(remote_members(ag)), None)
        for name, s in ag.streams.items():
            if s.phase != "SEEDING" or s.seeding_started is None or s.seeding_completed is not None:
                continue
            db = env.find_db(name)
            remaining = max(0, s.seeding_total_bytes - s.seeding_done_bytes)
            eta = now + dt.timedelta(seconds=remaining / s.seeding_rate_bps) if s.seeding_rate_bps > 0 else None
            elapsed_ms = int(max(0.0, (now - s.seeding_started).total_seconds()) * 1000)
            row: Row = {
                "local_physical_seeding_id": g(s.seeding_operation_id),
                "remote_physical_seeding_id": g(stable_guid(s.seeding_operation_id, "remote")),
                "local_database_id": db.database_id if db else None, "local_database_name": name,
                "remote_machine_name": _remote_host(remote),
                "role_desc": "Source" if s.primary_side == "sql" else "Destination",
                "internal_state_desc": "ReadingAndSendingData" if s.primary_side == "sql" else "ReceivingData",
                "transfer_rate_bytes_per_second": int(s.seeding_rate_bps),
                "transferred_size_bytes": s.seeding_done_bytes, "database_size_bytes": s.seeding_total_bytes,
                "start_time_utc": ts(s.seeding_started), "estimate_time_complete_utc": ts(eta),
                "total_disk_io_wait_time_ms": elapsed_ms // 20, "total_network_wait_time_ms": elapsed_ms // 10,
                "is_compression_enabled": True,
            }
            if s.seeding_failure is not None:
                row.update({"failure_code": s.seeding_failure[0], "failure_message": s.seeding_failure[1],
                            "failure_time_utc": ts(now)})
            yield row
