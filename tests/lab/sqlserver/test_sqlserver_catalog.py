"""Every catalog view and DMV: renders with real column names/types on every supported version."""

from __future__ import annotations

import datetime as dt

import pytest

from milink_tui.lab.hooks import NoOps
from milink_tui.lab.sqlserver import SqlServerBackend
from milink_tui.lab.sqlserver.catalog import DATABASE, MSDB, VIEWS
from milink_tui.lab.sqlserver.context import ExecEnv
from milink_tui.lab.sqlserver.tables import RENDERERS

from .sqlserver_helpers import Client, add_link, assert_no_errors, make_world

VERSIONS = {"2016": "13.0.7000.253", "2017": "14.0.3490.10", "2019": "15.0.4312.2", "2022": "16.0.4135.4",
            "2025": "17.0.1000.7"}


def _populated(version: str) -> tuple[Client, SqlServerBackend]:
    world, inst = make_world(hadr_enabled=True, version=version)
    dag = add_link(world, inst, phase="SEEDING")
    stream = dag.streams["db1"]
    stream.seeding_started = world.clock.now() - dt.timedelta(minutes=1)
    stream.seeding_total_bytes, stream.seeding_done_bytes, stream.seeding_rate_bps = 10_000_000, 5_000_000, 1e6
    inst.databases["db2"].is_encrypted = True
    backend = SqlServerBackend(world, inst.name, NoOps())
    return Client(backend), backend


@pytest.mark.parametrize("version", list(VERSIONS))
async def test_every_view_selects(version: str) -> None:
    client, backend = _populated(VERSIONS[version])
    major = backend.instance.major
    await client.run("CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Str0ng!Passw0rd'")
    await client.run("CREATE CERTIFICATE c WITH SUBJECT = 'c'")
    await client.run("CREATE ENDPOINT e AS TCP (LISTENER_PORT = 5022) FOR DATABASE_MIRRORING (ROLE = ALL, "
                     "AUTHENTICATION = CERTIFICATE c)")
    await client.run("BACKUP DATABASE db1 TO DISK = 'NUL'")
    for key, view in VIEWS.items():
        schema, name = key.split(".")
        if view.scope == MSDB:
            sql = f"SELECT * FROM msdb.{schema}.{name}"
        elif view.scope == DATABASE:
            sql = f"SELECT * FROM [db1].{schema}.{name}"
        else:
            sql = f"SELECT * FROM {key}"
        out = await client.run(sql)
        if view.min_major > major:
            assert out[0].number == 208, key
            continue
        assert_no_errors(out)
        rs = out[0]
        expected = view.columns_for(major)
        assert [c.name for c in rs.columns] == [c.name for c in expected], key
        assert [c.type for c in rs.columns] == [c.type for c in expected], key
        for row in rs.rows:
            for col, value in zip(expected, row, strict=True):
                if value is None:
                    continue
                kind = col.type.name
                if kind == "bit":
                    assert isinstance(value, bool), (key, col.name, value)
                elif kind in ("datetime", "datetime2"):
                    assert isinstance(value, dt.datetime), (key, col.name, value)
                elif kind in ("int", "bigint", "smallint", "tinyint"):
                    assert isinstance(value, int) and not isinstance(value, bool), (key, col.name, value)
                elif kind in ("nvarchar", "varchar", "char", "nchar"):
                    assert isinstance(value, str), (key, col.name, value)


def test_renderers_only_emit_declared_columns() -> None:
    client, backend = _populated(VERSIONS["2022"])
    env = ExecEnv(backend.world, backend.instance, backend.state, client.session, NoOps())
    db = env.find_db("db1")
    for key, renderer in RENDERERS.items():
        rows = list(renderer(env, db) if VIEWS[key].scope == DATABASE else renderer(env))
        declared = set(VIEWS[key].defaults)
        for row in rows:
            assert set(row) <= declared, (key, set(row) - declared)


async def test_catalog_counts_and_principals(client: Client) -> None:
    rows = await client.rows("SELECT name, type_desc, is_disabled FROM sys.server_principals WHERE type = 'S' "
                             "ORDER BY principal_id")
    assert rows == [("sa", "SQL_LOGIN", False), ("locked", "SQL_LOGIN", True), ("monitor", "SQL_LOGIN", False)]
    members = await client.rows("SELECT p.name FROM sys.server_role_members m JOIN sys.server_principals p ON "
                                "p.principal_id = m.member_principal_id JOIN sys.server_principals r ON "
                                "r.principal_id = m.role_principal_id WHERE r.name = 'sysadmin'")
    assert members == [("sa",)]
    sessions = await client.rows("SELECT session_id, login_name, program_name, DB_NAME(database_id) FROM "
                                 "sys.dm_exec_sessions WHERE session_id = @@SPID")
    assert sessions == [(client.session.spid, "sa", "pytest", "master")]


async def test_name_forms(client: Client) -> None:
    for form in ("sys.databases", "master.sys.databases", "[master].[sys].[databases]", "MASTER.SYS.DATABASES",
                 "[db1].sys.databases", "db1.[sys].databases"):
        assert len(await client.rows(f"SELECT name FROM {form}")) == 7, form
    assert await client.rows("SELECT COUNT(*) FROM master.sys.master_files") == [(16,)]
    await client.run("USE msdb")
    assert await client.rows("SELECT COUNT(*) FROM dbo.backupset") == [(0,)]
    assert await client.rows("SELECT COUNT(*) FROM backupset") == [(0,)]


async def test_incremental_refresh_is_always_current(client: Client, backend: SqlServerBackend) -> None:
    """Per-group reloads (and the bulk mode used when every link changes) never serve stale rows."""
    world, inst = backend.world, backend.instance
    dags = [add_link(world, inst, name) for name in ("db1", "db2", "inmem")]
    query = ("SELECT ag.name, drs.last_hardened_lsn FROM sys.dm_hadr_database_replica_states drs JOIN "
             "sys.availability_groups ag ON ag.group_id = drs.group_id WHERE drs.is_local = 0 ORDER BY ag.name")
    narrow = "SELECT COUNT(*) FROM sys.dm_hadr_database_replica_states WHERE is_local = 0"
    for round_ in range(12):
        for i, dag in enumerate(dags):
            if round_ < 6 or i == 0:  # first every link moves (bulk mode), then only one (incremental)
                dag.streams[next(iter(dag.streams))].hardened_lsn = 1_000 * round_ + i
        rows = await client.rows(query)
        assert rows == [(dag.name, dag.streams[next(iter(dag.streams))].hardened_lsn) for dag in dags]
        if round_ % 3 == 0:
            assert await client.rows(narrow) == [(len(dags),)]
    await client.run("DROP AVAILABILITY GROUP [DAG_db2]")
    rows = await client.rows(query)
    assert [r[0] for r in rows] == ["DAG_db1", "DAG_inmem"]
    inst.availability_groups["DAG_db1"].role = "SECONDARY"
    assert [r[0] for r in await client.rows(query)] == ["DAG_inmem"]
