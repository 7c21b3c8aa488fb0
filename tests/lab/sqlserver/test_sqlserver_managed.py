"""A lab managed instance's T-SQL side (in process): the SQL Server engine flavoured as Azure SQL
Managed Instance — EngineEdition 8, its databases from the ARM model, the Service Fabric DMVs the
documented network-test query reads, and Agent jobs whose PowerShell probes start in the instance
subnet (so the rules on the managed instance -> SQL Server path decide them)."""

from __future__ import annotations

import pytest

from milink_tui.lab.hooks import NoOps
from milink_tui.lab.model import Endpoint, ManagedInstance, MiDatabase, PortBlock, SqlInstance, World
from milink_tui.lab.sqlserver import SqlServerBackend, managed_backend
from milink_tui.lab.tds.backend import SqlError

from .sqlserver_helpers import Client, assert_no_errors, make_world

# The documented parameter query (managed-instance-link-preparation, "Test the connection from SQL
# Server to SQL Managed Instance"), verbatim.
DOC_QUERY = r"""
SELECT 'DECLARE @serverName NVARCHAR(512) = N''' + value + ''''
FROM sys.dm_hadr_fabric_config_parameters WHERE parameter_name = 'DnsRecordName'
UNION
SELECT 'DECLARE @node NVARCHAR(512) = N''' + NodeName + '.' + Cluster + ''''
FROM (
    SELECT SUBSTRING(replica_address, 0, CHARINDEX('\', replica_address)) AS NodeName,
           RIGHT(service_name, CHARINDEX('/', REVERSE(service_name)) - 1) AppName, JoinCol = 1
    FROM sys.dm_hadr_fabric_partitions fp
    INNER JOIN sys.dm_hadr_fabric_replicas fr ON fp.partition_id = fr.partition_id
    INNER JOIN sys.dm_hadr_fabric_nodes fn ON fr.node_name = fn.node_name
    WHERE service_name LIKE '%ManagedServer%' AND replica_role = 2
) t1
LEFT JOIN (SELECT value AS Cluster, JoinCol = 1 FROM sys.dm_hadr_fabric_config_parameters
           WHERE parameter_name = 'ClusterName') t2 ON (t1.JoinCol = t2.JoinCol)
INNER JOIN (SELECT [value] AS AppName FROM sys.dm_hadr_fabric_config_parameters
            WHERE section_name = 'SQL' AND parameter_name = 'InstanceName') t3 ON (t1.AppName = t3.AppName)
UNION
SELECT 'DECLARE @port NVARCHAR(512) = N''' + value + ''''
FROM sys.dm_hadr_fabric_config_parameters WHERE parameter_name = 'HadrPort';
"""

NETHELPER = """
DECLARE @jobId BINARY(16)
EXEC msdb.dbo.sp_add_job @job_name = N'NetHelper', @enabled = 1, @category_name = N'[Uncategorized (Local)]',
    @job_id = @jobId OUTPUT
EXEC msdb.dbo.sp_add_jobstep @job_id = @jobId, @step_name = N'NetHelper', @step_id = 1, @subsystem = N'PowerShell',
    @command = N'tnc {host} -port {port} -InformationLevel Quiet', @database_name = N'master', @flags = 40
EXEC msdb.dbo.sp_add_jobserver @job_id = @jobId, @server_name = N'(local)'
EXEC msdb.dbo.sp_start_job @job_name = N'NetHelper'"""

LOG = ("SELECT sjsl.log FROM msdb.dbo.sysjobs sj JOIN msdb.dbo.sysjobsteps sjs ON sj.job_id = sjs.job_id "
       "JOIN msdb.dbo.sysjobstepslogs sjsl ON sjs.step_uid = sjsl.step_uid WHERE sj.name = N'NetHelper'")


@pytest.fixture
def lab() -> tuple[World, SqlInstance, ManagedInstance, Client]:
    world, inst = make_world(host_platform="Windows", address="10.0.0.4")
    inst.endpoints["hadr"] = Endpoint("hadr", 5022, "STARTED")
    mi = ManagedInstance("sqlmi1", "sub", "rg", tier="BusinessCritical")
    mi.databases["Sales"] = MiDatabase("Sales", size_mb=300)
    world.managed_instances["sqlmi1"] = mi
    backend = managed_backend(("labadmin", "Adm1n!"))(world, "sqlmi1", NoOps())
    return world, inst, mi, Client(backend, "labadmin", "Adm1n!")


async def test_it_looks_like_a_managed_instance(lab) -> None:
    world, inst, mi, c = lab
    edition, version, product, name = (await c.rows(
        "SELECT SERVERPROPERTY('EngineEdition'), @@VERSION, SERVERPROPERTY('ProductVersion'), @@SERVERNAME"))[0]
    assert (edition, product, name) == (8, "12.0.2000.8", "sqlmi1")
    assert version.startswith("Microsoft SQL Azure (RTM) - 12.0.2000.8")
    assert await c.rows("SELECT IS_SRVROLEMEMBER('sysadmin')") == [(1,)]
    assert ("SQL Server Agent (MSSQLSERVER)", "Running") in await c.rows(
        "SELECT servicename, status_desc FROM sys.dm_server_services")


async def test_sys_databases_follow_the_model(lab) -> None:
    world, inst, mi, c = lab
    query = "SELECT name, state_desc FROM sys.databases WHERE database_id > 4 ORDER BY name"
    assert await c.rows(query) == [("Sales", "ONLINE")]
    mi.databases["Orders"] = MiDatabase("Orders", state="Restoring")  # a link starts seeding it
    del mi.databases["Sales"]
    assert await c.rows(query) == [("Orders", "RESTORING")]
    assert await c.rows("SELECT name FROM sys.databases WHERE database_id <= 4 ORDER BY database_id") == [
        ("master",), ("tempdb",), ("model",), ("msdb",)]


async def test_the_documented_parameter_query_returns_node_port_and_name(lab) -> None:
    world, inst, mi, c = lab
    rows = sorted(r[0] for r in await c.rows(DOC_QUERY))
    assert rows == [f"DECLARE @node NVARCHAR(512) = N'{mi.node_name}'",
                    f"DECLARE @port NVARCHAR(512) = N'{mi.hadr_port}'",
                    f"DECLARE @serverName NVARCHAR(512) = N'{mi.fqdn}'"]
    # Business Critical: four replicas, one primary; the section filter drops the other InstanceName
    assert await c.rows("SELECT COUNT(*), SUM(CASE WHEN replica_role = 2 THEN 1 ELSE 0 END) "
                        "FROM sys.dm_hadr_fabric_replicas WHERE partition_id IN (SELECT partition_id FROM "
                        "sys.dm_hadr_fabric_partitions WHERE service_name LIKE '%ManagedServer%')") == [(4, 1)]


async def test_fabric_views_are_empty_on_sql_server(lab) -> None:
    world, inst, mi, _ = lab
    sql = Client(SqlServerBackend(world, inst.name, NoOps()))
    assert await sql.rows("SELECT COUNT(*) FROM sys.dm_hadr_fabric_config_parameters") == [(0,)]
    assert await sql.rows("SELECT SERVERPROPERTY('EngineEdition')") == [(3,)]


async def nethelper(world: World, c: Client, host: str, port: int = 5022) -> str:
    assert_no_errors(await c.script(NETHELPER.format(host=host, port=port)))
    world.clock.advance(10)
    log = (await c.rows(LOG))[0][0]
    assert_no_errors(await c.run("EXEC msdb.dbo.sp_delete_job @job_name = N'NetHelper'"))
    return log


async def test_agent_probes_sql_server_from_the_instance_subnet(lab) -> None:
    world, inst, mi, c = lab
    assert (await nethelper(world, c, "10.0.0.4")).endswith("True.  Process Exit Code 0.  The step succeeded.")
    assert "False" in await nethelper(world, c, "10.0.0.4", 5023)  # nothing listens there
    assert "Name resolution of nowhere.example failed" in await nethelper(world, c, "nowhere.example")
    world.network_blocks.append(PortBlock(5022, 5022, "sql-outbound"))  # the other direction's rule
    assert "True" in await nethelper(world, c, "10.0.0.4")
    world.network_blocks[:] = [PortBlock(5022, 5022, "sql-inbound", sql_server=inst.name)]
    assert "WARNING: TCP connect to (10.0.0.4 : 5022) failed  False" in await nethelper(world, c, "10.0.0.4")
    assert not world.probe_tcp_from_mi(mi, "10.0.0.4", 5022).succeeded
    assert world.probe_tcp(inst, mi.fqdn, 5022).succeeded  # SQL Server -> MI ignores MI -> SQL rules
    world.network_blocks.clear()
    world.faults.partitioned = True
    assert world.probe_tcp_from_mi(mi, "10.0.0.4", 5022).reason == "timeout"


async def test_sql_login_and_unavailable_instance(lab) -> None:
    world, inst, mi, c = lab
    backend = c.backend
    with pytest.raises(SqlError) as wrong:
        backend.login("labadmin", "nope", None, "t")
    assert wrong.value.message.number == 18456
    mi.available = False
    with pytest.raises(SqlError) as down:
        backend.login("labadmin", "Adm1n!", None, "t")
    assert down.value.message.number == 40613
