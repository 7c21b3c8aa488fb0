"""Helpers for the SQL Server engine tests: hand-built worlds and a client that runs T-SQL directly."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from milink_tui.lab.model import (
    AvailabilityGroup,
    Backup,
    Database,
    DataFile,
    DbStream,
    Filegroup,
    Login,
    Replica,
    SqlInstance,
    World,
)
from milink_tui.lab.sqlserver import SqlServerBackend, split_batches
from milink_tui.lab.tds.backend import Message, ResultSet

MI_FQDN = "sqlmi1.0123456789ab.database.windows.net"


def make_instance(name: str = "SQLLAB01", **kwargs: Any) -> SqlInstance:
    """A SQL Server 2022 CU15 instance with an sa login and three user databases."""
    inst = SqlInstance(name=name, **kwargs)
    inst.logins["sa"] = Login("sa", "Pa55w0rd!", sysadmin=True)
    inst.logins["monitor"] = Login("monitor", "M0nitor!", sysadmin=False)
    inst.logins["locked"] = Login("locked", "L0cked!", sysadmin=False, disabled=True)
    data = "/var/opt/mssql/data/"
    inst.databases["db1"] = Database(
        "db1", 5, recovery_model="FULL", create_date=dt.datetime(2024, 3, 1, 10, 0, 0),
        files=[DataFile(1, 0, "db1", data + "db1.mdf", 12800), DataFile(2, 1, "db1_log", data + "db1_log.ldf", 2560, 0)])
    inst.databases["db2"] = Database(
        "db2", 6, recovery_model="SIMPLE",
        files=[DataFile(1, 0, "db2", data + "db2.mdf", 1024), DataFile(2, 1, "db2_log", data + "db2_log.ldf", 1024, 0),
               DataFile(3, 1, "db2_log2", data + "db2_log2.ldf", 1024, 0)])
    inst.databases["inmem"] = Database(
        "inmem", 7, recovery_model="FULL", memory_optimized_tables=2, log_chain_started=True,
        filegroups=[Filegroup("PRIMARY", 1), Filegroup("xtp", 2, "FX")],
        files=[DataFile(1, 0, "inmem", data + "inmem.mdf", 2048), DataFile(2, 1, "inmem_log", data + "inmem_log.ldf",
                                                                           1024, 0),
               DataFile(3, 2, "inmem_xtp", data + "inmem_xtp", 0, 2)])
    return inst


def make_world(**kwargs: Any) -> tuple[World, SqlInstance]:
    world = World()
    inst = make_instance(**kwargs)
    world.sql_instances[inst.name] = inst
    return world, inst


def add_link(world: World, inst: SqlInstance, db_name: str = "db1", *, connected: bool = True,
             phase: str = "SYNCHRONIZING", mode: str = "ASYNCHRONOUS_COMMIT", role: str = "PRIMARY") -> AvailabilityGroup:
    """An AG + DAG for ``db_name`` as the link creation leaves them, with a hand-written stream."""
    db = inst.databases[db_name]
    db.log_chain_started = True
    now = world.clock.now()
    inst.backups.append(Backup(db_name, "D", now - dt.timedelta(hours=1), now - dt.timedelta(minutes=59),
                               db.end_of_log_lsn, db.end_of_log_lsn, 50 * 1024 * 1024, checksums=True))
    local = Replica(inst.name, f"TCP://{inst.address}:5022", "SYNCHRONOUS_COMMIT", create_date=now)
    ag = AvailabilityGroup(f"AG_{db_name}", replicas=[local], databases=[db_name], create_date=now)
    db.group_database_id = uuid.uuid4()
    db.replica_id = local.replica_id
    dag = AvailabilityGroup(
        f"DAG_{db_name}", is_distributed=True, role=role, create_date=now,  # type: ignore[arg-type]
        replicas=[Replica(ag.name, f"TCP://{inst.address}:5022", mode, create_date=now),  # type: ignore[arg-type]
                  Replica(f"AG_{db_name}_MI", f"tcp://{MI_FQDN}:5022;Server=[sqlmi1]", mode, is_local=False)])  # type: ignore[arg-type]
    db.end_of_log_lsn = 5_000_000
    db.last_commit_time = now
    stream = DbStream(db_name, connected=connected, phase=phase, end_of_log_lsn=5_000_000,  # type: ignore[arg-type]
                      sent_lsn=4_900_000, hardened_lsn=4_800_000, redone_lsn=4_700_000,
                      primary_last_commit_time=now, secondary_last_commit_time=now - dt.timedelta(seconds=7),
                      last_sent_time=now, last_received_time=now, last_hardened_time=now, last_redone_time=now,
                      log_send_rate_kbs=1500.0, redo_rate_kbs=900.0)
    dag.streams[db_name] = stream
    inst.availability_groups[ag.name] = ag
    inst.availability_groups[dag.name] = dag
    return dag


class Client:
    """A logged-in session with helpers to run T-SQL and pick results apart."""

    def __init__(self, backend: SqlServerBackend, user: str = "sa", password: str = "Pa55w0rd!") -> None:
        self.backend = backend
        self.session = backend.login(user, password, None, "pytest")

    async def run(self, sql: str, params: list | None = None) -> list:
        return await self.backend.execute(self.session, sql, params or [])

    async def script(self, script: str) -> list:
        out: list = []
        for batch in split_batches(script):
            out.extend(await self.run(batch))
        return out

    async def rows(self, sql: str, params: list | None = None) -> list[tuple]:
        out = await self.run(sql, params)
        assert_no_errors(out)
        sets = [o for o in out if isinstance(o, ResultSet)]
        assert sets, out
        return sets[-1].rows

    async def result(self, sql: str, params: list | None = None) -> ResultSet:
        out = await self.run(sql, params)
        assert_no_errors(out)
        sets = [o for o in out if isinstance(o, ResultSet)]
        assert len(sets) == 1, out
        return sets[0]

    async def dicts(self, sql: str) -> list[dict[str, Any]]:
        rs = await self.result(sql)
        return [dict(zip([c.name for c in rs.columns], row, strict=True)) for row in rs.rows]

    async def error(self, sql: str) -> Message:
        out = await self.run(sql)
        errors = [o for o in out if isinstance(o, Message) and o.is_error]
        assert errors, out
        return errors[0]


def errors_of(out: list) -> list[Message]:
    return [o for o in out if isinstance(o, Message) and o.is_error]


def assert_no_errors(out: list) -> None:
    errs = errors_of(out)
    assert not errs, errs
