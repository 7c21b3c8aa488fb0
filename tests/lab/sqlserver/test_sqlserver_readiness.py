"""The requirement checks (domain.md §2.2 S1-S16, §2.2.1, §2.2.2) and the eligibility query (§3)."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

from milink_tui.lab.hooks import NoOps
from milink_tui.lab.model import Endpoint
from milink_tui.lab.sqlserver import SqlServerBackend

from .sqlserver_helpers import Client, add_link, make_world

VERSION_QUERY = """
SELECT
  SERVERPROPERTY('ProductVersion')         AS ProductVersion,        -- e.g. 16.0.4125.3
  SERVERPROPERTY('ProductMajorVersion')    AS Major,                 -- 13/14/15/16/17
  SERVERPROPERTY('ProductLevel')           AS Level,                 -- RTM / SP3
  SERVERPROPERTY('ProductUpdateLevel')     AS UpdateLevel,           -- CU13 (NULL if none)
  SERVERPROPERTY('ProductUpdateReference') AS KB,                    -- KB5036432
  SERVERPROPERTY('Edition')                AS Edition,
  SERVERPROPERTY('EngineEdition')          AS EngineEdition,
  SERVERPROPERTY('IsHadrEnabled')          AS IsHadrEnabled,
  SERVERPROPERTY('HadrManagerStatus')      AS HadrManagerStatus,
  SERVERPROPERTY('Collation')              AS Collation,
  SERVERPROPERTY('ServerName')             AS ServerName,
  SERVERPROPERTY('MachineName')            AS MachineName,
  SERVERPROPERTY('InstanceName')           AS InstanceName,
  SERVERPROPERTY('IsClustered')            AS IsClustered,
  @@VERSION                                AS VersionString;
"""

ENDPOINT_QUERY = """
SELECT e.name, e.endpoint_id, e.state_desc, e.role_desc, e.type_desc,
       e.connection_auth_desc, e.certificate_id, c.name AS cert_name, c.expiry_date,
       e.is_encryption_enabled, e.encryption_algorithm_desc,
       t.port, t.ip_address, t.is_dynamic_port
FROM sys.database_mirroring_endpoints e
JOIN sys.tcp_endpoints t ON t.endpoint_id = e.endpoint_id
LEFT JOIN master.sys.certificates c ON c.certificate_id = e.certificate_id;
"""

ENDPOINT_DOC_QUERY = """
SELECT name, type_desc, state_desc, role_desc, connection_auth_desc,
       is_encryption_enabled, encryption_algorithm_desc
FROM sys.database_mirroring_endpoints;
"""

ELIGIBILITY_QUERY = """
SELECT d.name, d.database_id, d.state_desc, d.recovery_model_desc, d.is_read_only, d.is_in_standby,
       d.collation_name, d.is_encrypted, d.is_broker_enabled,
       d.group_database_id,                                  -- non-NULL => member of an AG
       rs.last_log_backup_lsn,                               -- NULL => log chain not started (error 1475 risk)
       (SELECT COUNT(*) FROM sys.master_files mf WHERE mf.database_id = d.database_id AND mf.type = 1) AS log_files,
       (SELECT SUM(CAST(mf.size AS bigint))*8/1024 FROM sys.master_files mf WHERE mf.database_id = d.database_id) AS size_mb,
       (SELECT COUNT(*) FROM sys.master_files mf WHERE mf.database_id = d.database_id AND mf.type = 2) AS filestream_or_xtp_containers,
       lb.last_full_backup, lb.has_backup_checksums
FROM sys.databases d
JOIN sys.database_recovery_status rs ON rs.database_id = d.database_id
OUTER APPLY (SELECT TOP 1 b.backup_finish_date AS last_full_backup, b.has_backup_checksums
             FROM msdb.dbo.backupset b
             WHERE b.database_name = d.name AND b.type = 'D' AND b.is_copy_only = 0
             ORDER BY b.backup_finish_date DESC) lb
WHERE d.database_id > 4 AND d.is_distributor = 0;
"""


async def test_version_detection(client: Client) -> None:
    rs = await client.result(VERSION_QUERY)
    names = [c.name for c in rs.columns]
    assert names == ["ProductVersion", "Major", "Level", "UpdateLevel", "KB", "Edition", "EngineEdition",
                     "IsHadrEnabled", "HadrManagerStatus", "Collation", "ServerName", "MachineName", "InstanceName",
                     "IsClustered", "VersionString"]
    assert all(c.type.name == "sql_variant" for c in rs.columns[:-1])
    assert rs.columns[-1].type.name == "nvarchar"
    row = dict(zip(names, rs.rows[0], strict=True))
    assert row["ProductVersion"] == "16.0.4135.4"
    assert row["Major"] == "16"
    assert (row["Level"], row["UpdateLevel"], row["KB"]) == ("RTM", "CU15", "KB5038325")
    assert row["Edition"] == "Developer Edition (64-bit)" and row["EngineEdition"] == 3
    assert row["IsHadrEnabled"] == 1 and row["HadrManagerStatus"] == 1
    assert row["ServerName"] == row["MachineName"] == "SQLLAB01" and row["InstanceName"] is None
    assert row["IsClustered"] == 0
    assert row["VersionString"].startswith("Microsoft SQL Server 2022 (RTM-CU15) (KB5038325) - 16.0.4135.4 (X64)")
    assert "\n" in row["VersionString"] and "Developer Edition (64-bit) on Linux" in row["VersionString"]


async def test_edition_host_hadr_sysadmin(client: Client) -> None:
    assert await client.rows("SELECT SERVERPROPERTY('Edition'), SERVERPROPERTY('EngineEdition')") == [
        ("Developer Edition (64-bit)", 3)]
    rs = await client.result("SELECT host_platform, host_distribution, host_release FROM sys.dm_os_host_info")
    assert rs.rows == [("Linux", "Ubuntu", "22.04")]
    assert [c.type.length for c in rs.columns] == [256, 256, 256]
    assert await client.rows("SELECT SERVERPROPERTY('IsHadrEnabled')") == [(1,)]
    rs = await client.result("SELECT IS_SRVROLEMEMBER('sysadmin')")
    assert rs.rows == [(1,)] and rs.columns[0].type.name == "int" and rs.columns[0].name == ""


async def test_host_info_absent_on_2016() -> None:
    world, inst = make_world(version="13.0.7000.253", product_level="SP3", update_level=None,
                             host_platform="Windows", host_distribution="Windows Server 2019 Datacenter",
                             host_release="10.0")
    client = Client(SqlServerBackend(world, inst.name, NoOps()))
    err = await client.error("SELECT host_platform FROM sys.dm_os_host_info")
    assert (err.number, err.text) == (208, "Invalid object name 'sys.dm_os_host_info'.")
    rs = await client.result("SELECT * FROM sys.databases")
    assert len(rs.columns) == 77 and rs.columns[-1].name == "is_mixed_page_allocation_on"


async def test_sys_databases_columns_by_version(client: Client) -> None:
    rs = await client.result("SELECT * FROM sys.databases WHERE name = N'db1'")
    assert len(rs.columns) == 89
    assert rs.columns[0].name == "name" and rs.columns[88].name == "is_change_feed_enabled"
    world, inst = make_world(version="15.0.4312.2")
    rs19 = await Client(SqlServerBackend(world, inst.name, NoOps())).result("SELECT * FROM sys.databases")
    assert len(rs19.columns) == 86
    by_name = {c.name: c for c in rs.columns}
    assert by_name["is_read_only"].type.name == "bit"
    assert by_name["create_date"].type.name == "datetime" and not by_name["create_date"].nullable
    assert by_name["service_broker_guid"].type.name == "uniqueidentifier"
    assert (by_name["recovery_model_desc"].type.name, by_name["recovery_model_desc"].type.length) == ("nvarchar", 60)
    row = dict(zip(by_name, rs.rows[0], strict=True))
    assert row["recovery_model_desc"] == "FULL" and row["is_read_only"] is False
    assert isinstance(row["service_broker_guid"], uuid.UUID)
    assert row["create_date"] == dt.datetime(2024, 3, 1, 10, 0, 0)


async def test_master_key_and_trace_flags(client: Client, backend: SqlServerBackend) -> None:
    assert await client.rows("SELECT * FROM master.sys.symmetric_keys WHERE symmetric_key_id = 101") == []
    backend.instance.master_key = True
    rs = await client.result("SELECT * FROM master.sys.symmetric_keys WHERE symmetric_key_id = 101")
    assert rs.rows[0][0] == "##MS_DatabaseMasterKey##" and rs.columns[2].name == "symmetric_key_id"
    assert len(await client.rows("SELECT name FROM master.sys.symmetric_keys WHERE name LIKE '%DatabaseMasterKey%'")) == 1
    backend.instance.trace_flags.update({1800, 9567})
    out = await client.run("DBCC TRACESTATUS(1800, 9567, -1) WITH NO_INFOMSGS")
    assert len(out) == 1
    rs = out[0]
    assert [c.name for c in rs.columns] == ["TraceFlag", "Status", "Global", "Session"]
    assert rs.rows == [(1800, 1, 1, 0), (9567, 1, 1, 0)]
    backend.instance.startup_trace_flags.update({1800})
    rows = await client.rows("SELECT value_name, value_data FROM sys.dm_server_registry "
                             "WHERE registry_key LIKE N'%\\Parameters' AND value_name LIKE N'SQLArg%'")
    assert ("SQLArg3", "-T1800") in rows


async def test_endpoint_inspection(client: Client, backend: SqlServerBackend) -> None:
    assert await client.rows(ENDPOINT_QUERY) == []
    await client.run("CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Str0ng!Passw0rd'")
    await client.run("CREATE CERTIFICATE [Cert_SQLLAB01_endpoint] WITH SUBJECT = 'Certificate for endpoint', "
                     "EXPIRY_DATE = '03/30/2030'")
    await client.run("CREATE ENDPOINT database_mirroring_endpoint STATE=STARTED AS TCP (LISTENER_PORT=5022, "
                     "LISTENER_IP = ALL) FOR DATABASE_MIRRORING (ROLE=ALL, AUTHENTICATION = CERTIFICATE "
                     "[Cert_SQLLAB01_endpoint], ENCRYPTION = REQUIRED ALGORITHM AES)")
    rs = await client.result(ENDPOINT_QUERY)
    row = dict(zip([c.name for c in rs.columns], rs.rows[0], strict=True))
    assert row["name"] == "database_mirroring_endpoint" and row["state_desc"] == "STARTED"
    assert (row["role_desc"], row["type_desc"], row["connection_auth_desc"]) == ("ALL", "DATABASE_MIRRORING",
                                                                                 "CERTIFICATE")
    assert row["cert_name"] == "Cert_SQLLAB01_endpoint" and row["expiry_date"] == dt.datetime(2030, 3, 30)
    assert row["is_encryption_enabled"] is True and row["encryption_algorithm_desc"] == "AES"
    assert (row["port"], row["ip_address"], row["is_dynamic_port"]) == (5022, None, False)
    assert row["endpoint_id"] >= 65536
    doc = await client.dicts(ENDPOINT_DOC_QUERY)
    assert doc == [{"name": "database_mirroring_endpoint", "type_desc": "DATABASE_MIRRORING", "state_desc": "STARTED",
                    "role_desc": "ALL", "connection_auth_desc": "CERTIFICATE", "is_encryption_enabled": True,
                    "encryption_algorithm_desc": "AES"}]


async def test_certificate_checks(client: Client) -> None:
    await client.run("CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Str0ng!Passw0rd'")
    await client.run("CREATE CERTIFICATE [Cert_SQLLAB01_endpoint] WITH SUBJECT = 'Certificate for SQLLAB01', "
                     "EXPIRY_DATE = '2031-01-31'")
    rs = await client.result("SELECT name, subject, expiry_date, pvt_key_encryption_type_desc FROM "
                             "master.sys.certificates WHERE pvt_key_encryption_type = 'MK'")
    assert rs.rows == [("Cert_SQLLAB01_endpoint", "Certificate for SQLLAB01", dt.datetime(2031, 1, 31),
                        "ENCRYPTED_BY_MASTER_KEY")]
    assert await client.rows("SELECT name FROM master.sys.certificates WHERE name IN (N'MicrosoftPKI', "
                             "N'DigiCertPKI')") == []


async def test_azure_connect_procs_and_agent(client: Client, backend: SqlServerBackend) -> None:
    rows = await client.rows("SELECT name FROM sys.system_objects WHERE name IN "
                             "('sp_certificate_add_issuer','sp_get_endpoint_certificate') ORDER BY name")
    assert rows == [("sp_certificate_add_issuer",), ("sp_get_endpoint_certificate",)]
    backend.instance.has_azure_connect_procs = False
    assert await client.rows("SELECT name FROM sys.system_objects WHERE name IN "
                             "('sp_certificate_add_issuer','sp_get_endpoint_certificate')") == []
    services = await client.rows("SELECT servicename, status_desc, startup_type_desc FROM sys.dm_server_services")
    assert ("SQL Server Agent (MSSQLSERVER)", "Running", "Automatic") in services
    assert await client.rows("SELECT value_in_use FROM sys.configurations WHERE name = 'Agent XPs'") == [(1,)]
    backend.instance.agent_running = False
    services = await client.rows("SELECT servicename, status_desc FROM sys.dm_server_services "
                                 "WHERE servicename LIKE 'SQL Server Agent%'")
    assert services == [("SQL Server Agent (MSSQLSERVER)", "Stopped")]
    assert await client.rows("SELECT value_in_use FROM sys.configurations WHERE name = 'Agent XPs'") == [(0,)]


async def test_collation_multidb_instance_port(client: Client) -> None:
    assert await client.rows("SELECT SERVERPROPERTY('Collation')") == [("SQL_Latin1_General_CP1_CI_AS",)]
    out = await client.run("EXEC sys.sp_multidb_milink;")
    assert out[0].rows == [(0,)]
    await client.run("EXEC sys.sp_multidb_milink 1;")
    assert (await client.run("EXEC sys.sp_multidb_milink"))[0].rows == [(1,)]
    assert await client.rows("SELECT SERVERPROPERTY('InstanceName')") == [(None,)]
    ports = await client.rows("SELECT name, port FROM sys.tcp_endpoints")
    assert ("TSQL Default TCP", 0) in ports


async def test_existing_ag_suitability(client: Client, backend: SqlServerBackend) -> None:
    add_link(backend.world, backend.instance)
    rows = await client.rows("""SELECT ag.name, ag.basic_features, ag.is_distributed, ag.is_contained,
        COUNT(adc.database_name) AS db_count FROM sys.availability_groups ag LEFT JOIN
        sys.availability_databases_cluster adc ON adc.group_id = ag.group_id GROUP BY ag.name, ag.basic_features,
        ag.is_distributed, ag.is_contained""")
    assert sorted(rows) == [("AG_db1", False, False, False, 1), ("DAG_db1", False, True, False, 1)]


async def test_eligibility_query(client: Client, backend: SqlServerBackend) -> None:
    await client.run("BACKUP DATABASE db1 TO DISK = 'NUL' WITH CHECKSUM")
    await client.run("BACKUP DATABASE inmem TO DISK = 'NUL' WITH COPY_ONLY")
    rs = await client.result(ELIGIBILITY_QUERY)
    cols = [c.name for c in rs.columns]
    assert cols == ["name", "database_id", "state_desc", "recovery_model_desc", "is_read_only", "is_in_standby",
                    "collation_name", "is_encrypted", "is_broker_enabled", "group_database_id", "last_log_backup_lsn",
                    "log_files", "size_mb", "filestream_or_xtp_containers", "last_full_backup", "has_backup_checksums"]
    types = {c.name: c.type.name for c in rs.columns}
    assert types["last_log_backup_lsn"] == "numeric" and types["last_full_backup"] == "datetime"
    assert types["size_mb"] == "bigint" and types["has_backup_checksums"] == "bit"
    rows = {r[0]: dict(zip(cols, r, strict=True)) for r in rs.rows}
    assert set(rows) == {"db1", "db2", "inmem"}
    db1, db2, inmem = rows["db1"], rows["db2"], rows["inmem"]
    assert db1["recovery_model_desc"] == "FULL" and isinstance(db1["last_log_backup_lsn"], decimal.Decimal)
    assert db1["log_files"] == 1 and db1["size_mb"] == (12800 + 2560) * 8 // 1024
    assert isinstance(db1["last_full_backup"], dt.datetime) and db1["has_backup_checksums"] is True
    assert db2["recovery_model_desc"] == "SIMPLE" and db2["last_log_backup_lsn"] is None and db2["log_files"] == 2
    assert db2["last_full_backup"] is None and db2["has_backup_checksums"] is None
    assert inmem["filestream_or_xtp_containers"] == 1 and inmem["last_full_backup"] is None  # copy-only ignored


async def test_per_database_checks(client: Client) -> None:
    assert await client.rows("SELECT type, type_desc FROM [inmem].sys.filegroups ORDER BY data_space_id") == [
        ("FG", "ROWS_FILEGROUP"), ("FX", "MEMORY_OPTIMIZED_DATA_FILEGROUP")]
    assert await client.rows("SELECT COUNT(*) FROM inmem.sys.tables WHERE is_memory_optimized = 1") == [(2,)]
    assert await client.rows("SELECT COUNT(*) FROM [inmem].[sys].[tables] WHERE is_filetable = 1") == [(0,)]
    rows = await client.rows("SELECT COUNT(*) FROM [inmem].sys.database_files WHERE type = 2 AND data_space_id IN "
                             "(SELECT data_space_id FROM [inmem].sys.filegroups WHERE type='FX')")
    assert rows == [(1,)]
    await client.run("USE inmem")
    assert await client.rows("SELECT type, type_desc FROM sys.filegroups WHERE type = 'FX'") == [
        ("FX", "MEMORY_OPTIMIZED_DATA_FILEGROUP")]
    assert await client.rows("SELECT encryption_state, encryptor_type, encryptor_thumbprint FROM "
                             "sys.dm_database_encryption_keys WHERE database_id = DB_ID()") == []
    assert await client.rows("SELECT DB_NAME(), DB_ID()") == [("inmem", 7)]


async def test_endpoint_with_windows_and_certificate(client: Client, backend: SqlServerBackend) -> None:
    backend.instance.endpoints["Hadr_endpoint"] = Endpoint("Hadr_endpoint", state="STARTED",
                                                           connection_auth="NEGOTIATE")
    await client.run("CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Str0ng!Passw0rd'")
    await client.run("CREATE CERTIFICATE c1 WITH SUBJECT = 'c1'")
    out = await client.run("""ALTER ENDPOINT [Hadr_endpoint]
    STATE=STARTED
    AS TCP (LISTENER_PORT=5022, LISTENER_IP = ALL)
    FOR DATABASE_MIRRORING (
        ROLE=ALL,
        AUTHENTICATION = WINDOWS NEGOTIATE CERTIFICATE [c1],
        ENCRYPTION = REQUIRED ALGORITHM AES
    )""")
    assert out == []
    assert await client.rows("SELECT connection_auth, connection_auth_desc, certificate_id FROM "
                             "sys.database_mirroring_endpoints") == [
        (7, "NEGOTIATE, CERTIFICATE", backend.instance.certificates["c1"].certificate_id)]
