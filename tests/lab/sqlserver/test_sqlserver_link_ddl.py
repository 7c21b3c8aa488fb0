"""The link-creation T-SQL of domain.md §4 and the failover T-SQL of §7, executed for real against the model."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509 as cx509

from milink_tui.lab.hooks import LabError, NoOps
from milink_tui.lab.sqlserver import SqlServerBackend
from milink_tui.lab.tds.backend import Message, ResultSet

from .sqlserver_helpers import MI_FQDN, Client, add_link, assert_no_errors, errors_of, make_world

PREPARE = """
ALTER DATABASE [db1] SET RECOVERY FULL
GO
BACKUP DATABASE [db1] TO DISK = N'/var/opt/mssql/backup/db1.bak' WITH CHECKSUM
GO
"""

MASTER_KEY = """
USE MASTER
IF NOT EXISTS (SELECT * FROM sys.symmetric_keys WHERE symmetric_key_id = 101)
BEGIN
    PRINT 'Creating master key.' + CHAR(13) + 'Keep the password confidential and in a secure place.'
    CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Str0ng!Passw0rd#2025'
END
ELSE
    PRINT 'Master key already exists.'
GO
"""

CERTIFICATE = """
USE MASTER
DECLARE @cert_expiry_date AS varchar(max)='03/30/2030'   -- choose a future date; set a rotation reminder
DECLARE @sqlserver_certificate_name NVARCHAR(MAX) = N'Cert_' + @@servername  + N'_endpoint'
DECLARE @sqlserver_certificate_subject NVARCHAR(MAX) = N'Certificate for ' + @sqlserver_certificate_name
DECLARE @create_sqlserver_certificate_command NVARCHAR(MAX) = N'CREATE CERTIFICATE [' + @sqlserver_certificate_name + '] ' + char (13) +
'    WITH SUBJECT = ''' + @sqlserver_certificate_subject + ''',' + char (13) +
'    EXPIRY_DATE = '''+ @cert_expiry_date + ''''+ char (13)
IF NOT EXISTS (SELECT name from sys.certificates WHERE name = @sqlserver_certificate_name)
BEGIN
    PRINT (@create_sqlserver_certificate_command)
    EXEC sp_executesql @stmt = @create_sqlserver_certificate_command
END
ELSE
    PRINT 'Certificate ' + @sqlserver_certificate_name + ' already exists.'
GO
"""

EXPORT = """
USE MASTER
GO
DECLARE @sqlserver_certificate_name NVARCHAR(MAX) = N'Cert_' + @@servername  + N'_endpoint'
DECLARE @PUBLICKEYENC VARBINARY(MAX) = CERTENCODED(CERT_ID(@sqlserver_certificate_name));
SELECT @sqlserver_certificate_name as 'SQLServerCertName'
SELECT @PUBLICKEYENC AS SQLServerPublicKey;     -- 0x3082… (DER, hex)
"""

ROOT_CA = """
IF NOT EXISTS (SELECT name FROM sys.certificates WHERE name = N'MicrosoftPKI')
BEGIN
    CREATE CERTIFICATE [MicrosoftPKI] FROM BINARY = {blob}
    DECLARE @CERTID int
    SELECT @CERTID = CERT_ID('MicrosoftPKI')
    EXEC sp_certificate_add_issuer @CERTID, N'*.database.windows.net'
END
"""

ENDPOINT = """
USE MASTER
CREATE ENDPOINT database_mirroring_endpoint
    STATE=STARTED
    AS TCP (LISTENER_PORT=5022, LISTENER_IP = ALL)
    FOR DATABASE_MIRRORING (
        ROLE=ALL,
        AUTHENTICATION = CERTIFICATE [Cert_SQLLAB01_endpoint],
        ENCRYPTION = REQUIRED ALGORITHM AES
    )
GO
"""

AG = """
USE MASTER
CREATE AVAILABILITY GROUP [AG_db1]
WITH (CLUSTER_TYPE = NONE) -- delete this line for SQL Server 2016 only
    FOR database [db1]
    REPLICA ON
        N'SQLLAB01' WITH
            (
            ENDPOINT_URL = 'TCP://10.0.0.4:5022',
            AVAILABILITY_MODE = SYNCHRONOUS_COMMIT,
            FAILOVER_MODE = MANUAL,
            SEEDING_MODE = AUTOMATIC
            );
GO
"""

DAG = """
USE MASTER
CREATE AVAILABILITY GROUP [DAG_db1]
WITH (DISTRIBUTED)
    AVAILABILITY GROUP ON
    N'AG_db1' WITH
    (
      LISTENER_URL = 'TCP://10.0.0.4:5022',
      AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT,
      FAILOVER_MODE = MANUAL,
      SEEDING_MODE = AUTOMATIC,
      SESSION_TIMEOUT = 20
    ),
    N'AG_db1_MI' WITH
    (
      LISTENER_URL = 'tcp://{fqdn}:5022;Server=[sqlmi1]',
      AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT,
      FAILOVER_MODE = MANUAL,
      SEEDING_MODE = AUTOMATIC
    );
GO
"""


class RecordingOps(NoOps):
    """LinkOps double that records calls and can refuse one of them."""

    def __init__(self, refuse: str | None = None) -> None:
        self.calls: list[tuple] = []
        self.refuse = refuse

    def __getattr__(self, name: str):
        def hook(*args, **kwargs):
            self.calls.append((name, *[a.name if hasattr(a, "name") else a for a in args[1:]],
                               *kwargs.values()))
            if name == self.refuse:
                raise LabError("The link is not in a state that allows this operation.", number=41987)
        return hook


def _mi_certificate() -> bytes:
    import trustme

    ca = trustme.CA(organization_name="Microsoft Corporation")
    leaf = ca.issue_cert(MI_FQDN)
    pem = leaf.cert_chain_pems[0].bytes()
    from cryptography.hazmat.primitives import serialization

    return cx509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


async def _create_link(client: Client) -> list:
    out: list = []
    for part in (PREPARE, MASTER_KEY, CERTIFICATE, EXPORT):
        out.extend(await client.script(part))
    mi_der = _mi_certificate()
    out.extend(await client.run(f"USE MASTER\nCREATE CERTIFICATE [{MI_FQDN}] FROM BINARY = 0x{mi_der.hex()}"))
    out.extend(await client.run(ROOT_CA.format(blob="0x" + _mi_certificate().hex())))
    for part in (ENDPOINT, AG, DAG.format(fqdn=MI_FQDN)):
        out.extend(await client.script(part))
    return out


async def test_full_link_creation_sequence() -> None:
    world, inst = make_world(hadr_enabled=True)
    ops = RecordingOps()
    client = Client(SqlServerBackend(world, inst.name, ops))
    out = await _create_link(client)
    assert_no_errors(out)
    texts = [o.text for o in out if isinstance(o, Message)]
    assert any(t.startswith("BACKUP DATABASE successfully processed") for t in texts)
    assert "Creating master key.\rKeep the password confidential and in a secure place." in texts
    assert any(t.startswith("CREATE CERTIFICATE [Cert_SQLLAB01_endpoint]") for t in texts)
    exported = [o for o in out if isinstance(o, ResultSet)]
    assert exported[0].rows == [("Cert_SQLLAB01_endpoint",)]
    assert exported[1].columns[0].name == "SQLServerPublicKey" and exported[1].columns[0].type.name == "varbinary"
    der = exported[1].rows[0][0]
    assert der[:2] == b"\x30\x82"
    cert = cx509.load_der_x509_certificate(der)
    assert cert.subject.rfc4514_string() == "CN=Certificate for Cert_SQLLAB01_endpoint"
    assert cert.not_valid_after_utc.replace(tzinfo=None) == dt.datetime(2030, 3, 30)
    assert cert.public_key().key_size == 2048 and cert.signature_hash_algorithm.name == "sha256"
    # the model now holds everything the link needs
    assert inst.master_key
    assert set(inst.certificates) == {"Cert_SQLLAB01_endpoint", MI_FQDN, "MicrosoftPKI"}
    assert inst.certificates["Cert_SQLLAB01_endpoint"].pvt_key_encryption_type == "MK"
    assert inst.certificates[MI_FQDN].pvt_key_encryption_type == "NA"
    assert inst.certificates["MicrosoftPKI"].issuer_for == "*.database.windows.net"
    ep = inst.endpoints["database_mirroring_endpoint"]
    assert (ep.state, ep.port, ep.certificate_name, ep.encryption, ep.algorithm, ep.role) == (
        "STARTED", 5022, "Cert_SQLLAB01_endpoint", "REQUIRED", "AES", "ALL")
    ag, dag = inst.availability_groups["AG_db1"], inst.availability_groups["DAG_db1"]
    assert ag.databases == ["db1"] and ag.cluster_type == "NONE" and not ag.is_distributed
    assert inst.databases["db1"].group_database_id is not None
    assert inst.databases["db1"].replica_id == ag.replicas[0].replica_id
    assert dag.is_distributed and dag.role == "PRIMARY"
    assert [(r.server_name, r.is_local, r.session_timeout) for r in dag.replicas] == [
        ("AG_db1", True, 20), ("AG_db1_MI", False, 10)]
    assert dag.replicas[1].endpoint_url == f"tcp://{MI_FQDN}:5022;Server=[sqlmi1]"
    assert ops.calls == [("sql_dag_created", "DAG_db1")]
    rows = await client.rows("SELECT name, pvt_key_encryption_type, issuer_name FROM sys.certificates "
                             "ORDER BY certificate_id")
    assert rows[0][:2] == ("Cert_SQLLAB01_endpoint", "MK")
    assert rows[1][:2] == (MI_FQDN, "NA") and "Microsoft Corporation" in rows[1][2]
    # the whole script is idempotent: a second run finds everything in place
    again = await client.script(MASTER_KEY + CERTIFICATE)
    assert [o.text for o in again if isinstance(o, Message)] == [
        "Master key already exists.", "Certificate Cert_SQLLAB01_endpoint already exists."]


async def test_certencoded_round_trip(client: Client) -> None:
    await client.run("CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Str0ng!Passw0rd'")
    await client.run("CREATE CERTIFICATE src WITH SUBJECT = 'round trip', START_DATE = '20250101', "
                     "EXPIRY_DATE = '20260101'")
    der = (await client.rows("SELECT CERTENCODED(CERT_ID(N'src'))"))[0][0]
    await client.run("DROP CERTIFICATE src")
    assert_no_errors(await client.run(f"CREATE CERTIFICATE copy FROM BINARY = 0x{der.hex()}"))
    rows = await client.dicts("SELECT name, subject, start_date, expiry_date, pvt_key_encryption_type_desc, "
                              "thumbprint, CERTENCODED(certificate_id) AS blob FROM sys.certificates")
    assert rows[0]["name"] == "copy" and rows[0]["subject"] == "round trip"
    assert rows[0]["start_date"] == dt.datetime(2025, 1, 1) and rows[0]["expiry_date"] == dt.datetime(2026, 1, 1)
    assert rows[0]["pvt_key_encryption_type_desc"] == "NO_PRIVATE_KEY"
    assert rows[0]["blob"] == der
    import hashlib

    assert rows[0]["thumbprint"] == hashlib.sha1(der).digest()
    err = await client.error(f"CREATE CERTIFICATE again FROM BINARY = 0x{der.hex()}")
    assert err.number == 15232
    err = await client.error("CREATE CERTIFICATE bad FROM BINARY = 0x3082AB")
    assert err.number == 15297


async def test_certificate_errors(client: Client) -> None:
    err = await client.error("CREATE CERTIFICATE c1 WITH SUBJECT = 'x'")
    assert (err.number, err.text) == (15581, "Please create a master key in the database or open the master key in "
                                             "the session before performing this operation.")
    assert_no_errors(await client.run("CREATE CERTIFICATE c1 ENCRYPTION BY PASSWORD = 'Pw0rd!x' WITH SUBJECT = 'x'"))
    assert await client.rows("SELECT pvt_key_encryption_type FROM sys.certificates") == [("PW",)]
    err = await client.error("CREATE CERTIFICATE [C1] ENCRYPTION BY PASSWORD = 'Pw0rd!x' WITH SUBJECT = 'y'")
    assert (err.number, err.text) == (15232, "A certificate with name 'C1' already exists or this certificate already "
                                             "has been added to the database.")
    err = await client.error("DROP CERTIFICATE nope")
    assert (err.number, err.text) == (15151, "Cannot drop the certificate 'nope', because it does not exist or you "
                                             "do not have permission.")
    await client.run("CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Str0ng!Passw0rd'")
    err = await client.error("CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Str0ng!Passw0rd'")
    assert (err.number, err.text) == (15578, "There is already a master key in the database. Please drop it before "
                                             "performing this statement.")


async def test_endpoint_rules(client: Client) -> None:
    await client.run("CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Str0ng!Passw0rd'")
    err = await client.error("CREATE ENDPOINT ep STATE=STARTED AS TCP (LISTENER_PORT=5022) FOR DATABASE_MIRRORING "
                             "(ROLE=ALL, AUTHENTICATION = CERTIFICATE missing)")
    assert err.number == 15151 and "missing" in err.text
    await client.run("CREATE CERTIFICATE c WITH SUBJECT = 'c'")
    assert_no_errors(await client.run("CREATE ENDPOINT ep AS TCP (LISTENER_PORT=5022) FOR DATABASE_MIRRORING "
                                      "(AUTHENTICATION = CERTIFICATE c, ROLE=PARTNER)"))
    assert await client.rows("SELECT state_desc, role_desc, encryption_algorithm_desc FROM "
                             "sys.database_mirroring_endpoints") == [("STOPPED", "PARTNER", "AES")]
    err = await client.error("CREATE ENDPOINT ep2 STATE=STARTED AS TCP (LISTENER_PORT=5023) FOR DATABASE_MIRRORING "
                             "(ROLE=ALL, AUTHENTICATION = CERTIFICATE c)")
    assert err.number == 7862 and err.text.startswith("An endpoint of the requested type already exists.  Only one")
    err = await client.error("DROP CERTIFICATE c")
    assert err.number == 15352
    assert_no_errors(await client.run("ALTER ENDPOINT ep STATE = STARTED"))
    assert_no_errors(await client.run("DROP ENDPOINT ep"))
    assert (await client.error("DROP ENDPOINT ep")).number == 15151


async def test_backup_rules_and_history(client: Client, backend: SqlServerBackend) -> None:
    err_out = await client.run("BACKUP LOG db1 TO DISK = 'NUL'")
    errs = errors_of(err_out)
    assert [(e.number, e.text) for e in errs] == [
        (4214, "BACKUP LOG cannot be performed because there is no current database backup."),
        (3013, "BACKUP LOG is terminating abnormally.")]
    errs = errors_of(await client.run("BACKUP LOG db2 TO DISK = 'NUL'"))
    assert [e.number for e in errs] == [4208, 3013]
    errs = errors_of(await client.run("BACKUP DATABASE nodb TO DISK = 'NUL'"))
    assert [e.number for e in errs] == [911, 3013]
    out = await client.run("BACKUP DATABASE db1 TO DISK = 'NUL' WITH COPY_ONLY, COMPRESSION, STATS = 50")
    assert [o.number for o in out] == [3211, 3211, 4035, 4035, 3014]
    assert not backend.instance.databases["db1"].log_chain_started
    assert await client.rows("SELECT last_log_backup_lsn FROM sys.database_recovery_status WHERE database_id = 5") == [
        (None,)]
    out = await client.run("BACKUP DATABASE db1 TO DISK = 'NUL' WITH CHECKSUM, INIT, FORMAT")
    assert out[-1].number == 3014 and out[-1].text.startswith("BACKUP DATABASE successfully processed ")
    assert backend.instance.databases["db1"].log_chain_started
    db = backend.instance.databases["db1"]
    db.end_of_log_lsn += 80_000
    out = await client.run("BACKUP LOG db1 TO DISK = N'/backups/db1.trn'")
    assert out[-1].text.startswith("BACKUP LOG successfully processed ")
    assert db.log_truncation_lsn == db.end_of_log_lsn
    rows = await client.dicts("SELECT type, is_copy_only, has_backup_checksums, compressed_backup_size, backup_size, "
                              "first_lsn, last_lsn, recovery_model FROM msdb.dbo.backupset ORDER BY backup_set_id")
    assert [(r["type"], r["is_copy_only"], r["has_backup_checksums"]) for r in rows] == [
        ("D", True, False), ("D", False, True), ("L", False, False)]
    assert rows[0]["compressed_backup_size"] < rows[0]["backup_size"]
    assert rows[2]["last_lsn"] == db.end_of_log_lsn and rows[2]["recovery_model"] == "FULL"
    await client.run("USE msdb")
    assert len(await client.rows("SELECT TOP 1 backup_finish_date FROM backupset WHERE type='L' "
                                 "ORDER BY backup_finish_date DESC")) == 1
    devices = await client.rows("SELECT bmf.physical_device_name FROM msdb.dbo.backupset bs JOIN "
                                "msdb.dbo.backupmediafamily bmf ON bmf.media_set_id = bs.media_set_id "
                                "WHERE bs.type = 'L'")
    assert devices == [("/backups/db1.trn",)]
    await client.run("ALTER DATABASE db1 SET RECOVERY SIMPLE")
    assert not db.log_chain_started


async def test_log_backup_calls_hook() -> None:
    world, inst = make_world(hadr_enabled=True)
    ops = RecordingOps()
    client = Client(SqlServerBackend(world, inst.name, ops))
    await client.run("BACKUP DATABASE db1 TO DISK='NUL'")
    await client.run("BACKUP LOG db1 TO DISK='NUL'")
    assert ops.calls == [("sql_log_backup", "db1")]


async def test_ag_requirements() -> None:
    world, inst = make_world(hadr_enabled=False)
    client = Client(SqlServerBackend(world, inst.name, NoOps()))
    ag_sql = AG.replace("USE MASTER\n", "").replace("GO", "")
    err = await client.error(ag_sql)
    assert err.number == 35221 and "replica manager is disabled" in err.text
    inst.hadr_enabled = True
    err = await client.error(ag_sql)
    assert err.number == 1475  # FULL recovery but no full backup: the log chain has not started
    await client.run("BACKUP DATABASE db1 TO DISK = 'NUL'")
    assert_no_errors(await client.run(ag_sql))
    err = await client.error(ag_sql)
    assert err.number == 41042
    err = await client.error(ag_sql.replace("[AG_db1]", "[AG_other]"))
    assert err.number == 35244
    err = await client.error(ag_sql.replace("[AG_db1]", "[AG_x]").replace("[db1]", "[db2]"))
    assert err.number == 1465
    err = await client.error(ag_sql.replace("[AG_db1]", "[AG_y]").replace("[db1]", "[nodb]"))
    assert err.number == 35238
    err = await client.error("DROP DATABASE db1")
    assert err.number == 3752
    err = await client.error(ag_sql.replace("[AG_db1]", "[AG_z]").replace("[db1]", "[inmem]")
                             .replace("N'SQLLAB01'", "N'OTHERHOST'"))
    assert err.number == 35237


async def test_mi_first_direction(client: Client, backend: SqlServerBackend) -> None:
    inst = backend.instance
    out = await client.script("""
CREATE AVAILABILITY GROUP [AG_db9]
WITH (CLUSTER_TYPE = NONE)
FOR
REPLICA ON N'SQLLAB01'
WITH (ENDPOINT_URL = N'TCP://10.0.0.4:5022', FAILOVER_MODE = MANUAL,
      AVAILABILITY_MODE = SYNCHRONOUS_COMMIT, SEEDING_MODE = AUTOMATIC);
GO
ALTER AVAILABILITY GROUP [AG_db9] GRANT CREATE ANY DATABASE;
GO
ALTER AVAILABILITY GROUP [DAG_db9] JOIN AVAILABILITY GROUP ON
    N'AG_db9' WITH (LISTENER_URL = 'TCP://10.0.0.4:5022', AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT,
                    FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC),
    N'AG_db9_MI' WITH (LISTENER_URL = 'tcp://sqlmi1.0123456789ab.database.windows.net:5022;Server=[sqlmi1];Database=[db9]',
                       AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT, FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC);
""")
    assert_no_errors(out)
    ag = inst.availability_groups["AG_db9"]
    assert ag.databases == [] and "ag_db9" in backend.state.ag_create_any_database
    dag = inst.availability_groups["DAG_db9"]
    assert dag.is_distributed and dag.role == "SECONDARY"
    assert await client.rows("SELECT synchronization_health_desc FROM sys.dm_hadr_availability_replica_states rs "
                             "JOIN sys.availability_groups ag ON ag.group_id = rs.group_id WHERE ag.name = 'AG_db9'") \
        == [("NOT_HEALTHY",)]


async def test_listener_url_needs_azure_connect_pack() -> None:
    world, inst = make_world(hadr_enabled=True, version="14.0.3456.2", has_azure_connect_procs=False)
    client = Client(SqlServerBackend(world, inst.name, NoOps()))
    await client.run("BACKUP DATABASE db1 TO DISK = 'NUL'")
    assert_no_errors(await client.script(AG))
    err = await client.error(DAG.format(fqdn=MI_FQDN).replace("USE MASTER", "").replace("GO", ""))
    url = f"tcp://{MI_FQDN}:5022;Server=[sqlmi1]"
    assert (err.number, err.severity, err.text) == (
        19499, 16, f"The specified listener URL '{url}' is invalid. Reenter the command specifying the correct URL. "
                   "For information about specifying the endpoint URL for an availability replica, see SQL Server "
                   "Books Online.")
    err = await client.error("EXEC sp_certificate_add_issuer 1, N'*.database.windows.net'")
    assert (err.number, err.state, err.text) == (2812, 62, "Could not find stored procedure "
                                                         "'sp_certificate_add_issuer'.")


async def test_distributed_ag_errors_use_the_dag_numbers() -> None:
    """sys.messages 19501 / 19508 / 19509 / 19511: the DAG-specific errors, not the plain-AG ones."""
    world, inst = make_world(hadr_enabled=True)
    add_link(world, inst)
    client = Client(SqlServerBackend(world, inst.name, NoOps()))
    dag = DAG.format(fqdn=MI_FQDN).replace("USE MASTER", "").replace("GO", "")
    err = await client.error(dag)
    assert (err.number, err.text) == (19509, "Cannot create a distributed availability group 'DAG_db1'. An "
                                              "availability group with the same name already exists.")
    err = await client.error(dag.replace("[DAG_db1]", "[DAG_x]").replace("N'AG_db1'", "N'AG_nowhere'"))
    assert err.number == 19501 and err.text.startswith("None of the specified availability groups exist locally.")
    err = await client.error("ALTER AVAILABILITY GROUP [DAG_db1] MODIFY AVAILABILITY GROUP ON "
                             "'AG_other' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT)")
    assert (err.number, err.text) == (19508, "'ALTER AVAILABILITY GROUP MODIFY AVAILABILITY GROUP' command failed. "
                                             "Participant availability replica 'AG_other' not found in the "
                                             "distributed availability group 'DAG_db1'.")
    join = (f"ALTER AVAILABILITY GROUP [DAG_y] JOIN AVAILABILITY GROUP ON "
            f"N'AG_db1' WITH (LISTENER_URL = 'TCP://10.0.0.4:5022', AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT, "
            f"FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC), "
            f"N'AG_y_MI' WITH (LISTENER_URL = 'tcp://{MI_FQDN}:5022;Server=[sqlmi1];Database=[db1]', "
            f"AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT, FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC)")
    err = await client.error(join)  # AG_db1 holds db1: only an empty AG can receive a seeded copy
    assert (err.number, err.text) == (19511, "Cannot join distributed availability group 'DAG_y'. The local "
                                             "availability group 'AG_db1' contains one or more databases. Remove "
                                             "all the databases or create an empty availability group to join a "
                                             "distributed availability group.")


async def test_cluster_type_is_a_syntax_error_on_2016() -> None:
    world, inst = make_world(hadr_enabled=True, version="13.0.7000.253", host_platform="Windows")
    client = Client(SqlServerBackend(world, inst.name, NoOps()))
    out = await client.run("SELECT 1 AS before\n" + AG.replace("USE MASTER", "").replace("GO", ""))
    assert len(out) == 1 and out[0].number == 102 and "CLUSTER_TYPE" in out[0].text


@pytest.mark.parametrize("statement,hook", [
    ("ALTER AVAILABILITY GROUP [DAG_db1] FAILOVER", ("sql_failover", "DAG_db1", False)),
    ("ALTER AVAILABILITY GROUP [DAG_db1] FORCE_FAILOVER_ALLOW_DATA_LOSS", ("sql_failover", "DAG_db1", True)),
    ("ALTER AVAILABILITY GROUP [DAG_db1] SET (ROLE = SECONDARY)", ("sql_set_role_secondary", "DAG_db1")),
    ("DROP AVAILABILITY GROUP [DAG_db1]", ("sql_dag_dropped", "DAG_db1")),
])
async def test_failover_statements_call_hooks(statement: str, hook: tuple) -> None:
    world, inst = make_world(hadr_enabled=True)
    add_link(world, inst)
    ops = RecordingOps()
    client = Client(SqlServerBackend(world, inst.name, ops))
    assert_no_errors(await client.run(statement))
    assert ops.calls == [hook]


async def test_modify_availability_mode() -> None:
    world, inst = make_world(hadr_enabled=True)
    dag = add_link(world, inst)
    ops = RecordingOps()
    client = Client(SqlServerBackend(world, inst.name, ops))
    out = await client.run("""USE master
GO""".replace("GO", "") + """
ALTER AVAILABILITY GROUP [DAG_db1]
MODIFY
AVAILABILITY GROUP ON
    'AG_db1' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT),
    'AG_db1_MI' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT);""")
    assert_no_errors(out)
    assert [r.availability_mode for r in dag.replicas] == ["SYNCHRONOUS_COMMIT"] * 2
    assert ops.calls == [("sql_availability_mode_changed", "DAG_db1")]


async def test_hook_refusal_becomes_sql_error() -> None:
    world, inst = make_world(hadr_enabled=True)
    add_link(world, inst)
    client = Client(SqlServerBackend(world, inst.name, RecordingOps(refuse="sql_failover")))
    err = await client.error("ALTER AVAILABILITY GROUP [DAG_db1] FAILOVER")
    assert (err.number, err.text) == (41987, "The link is not in a state that allows this operation.")
    client2 = Client(SqlServerBackend(world, inst.name, RecordingOps(refuse="sql_dag_dropped")))
    assert (await client2.error("DROP AVAILABILITY GROUP [DAG_db1]")).number == 41987
    assert "DAG_db1" in inst.availability_groups


async def test_drop_ag_clears_membership(client: Client, backend: SqlServerBackend) -> None:
    add_link(backend.world, backend.instance)
    db = backend.instance.databases["db1"]
    assert_no_errors(await client.run("DROP AVAILABILITY GROUP [DAG_db1]; DROP AVAILABILITY GROUP AG_db1"))
    assert db.group_database_id is None and db.replica_id is None
    assert await client.rows("SELECT COUNT(*) FROM sys.availability_groups") == [(0,)]
    assert (await client.error("DROP AVAILABILITY GROUP AG_db1")).number == 15151
    assert_no_errors(await client.run("DROP DATABASE db1"))
    assert "db1" not in backend.instance.databases


async def test_dropping_the_link_where_sql_server_is_secondary_leaves_the_database_restoring(
        client: Client, backend: SqlServerBackend) -> None:
    """The managed instance is primary: dropping the DAG, then the AG, must not leave a writable copy."""
    add_link(backend.world, backend.instance, role="SECONDARY")
    state = "SELECT state_desc FROM sys.databases WHERE name = 'db1'"
    assert await client.rows(state) == [("ONLINE",)]
    assert_no_errors(await client.run("DROP AVAILABILITY GROUP [DAG_db1]"))
    assert await client.rows(state) == [("RESTORING",)]
    assert_no_errors(await client.run("DROP AVAILABILITY GROUP [AG_db1]"))
    assert await client.rows(state) == [("RESTORING",)]
    assert await client.rows("SELECT state FROM sys.databases WHERE name = 'db1'") == [(1,)]
    assert_no_errors(await client.run("DROP DATABASE db1"))  # a restoring copy can still be dropped


async def test_restore_with_recovery_brings_the_left_behind_copy_online(
        client: Client, backend: SqlServerBackend) -> None:
    """Msg 3104 while joined, 3014 when it recovers, 3153 once it is online (each failure followed by 3013)."""
    add_link(backend.world, backend.instance, role="SECONDARY")
    out = await client.run("RESTORE DATABASE [db1] WITH RECOVERY")
    assert [(e.number, e.text) for e in errors_of(out)] == [
        (3104, "RESTORE cannot operate on database 'db1' because it is configured for database mirroring or has "
               "joined an availability group. If you intend to restore the database, use ALTER DATABASE to remove "
               "mirroring or to remove the database from its availability group."),
        (3013, "RESTORE DATABASE is terminating abnormally.")]
    assert_no_errors(await client.run("DROP AVAILABILITY GROUP [DAG_db1]; DROP AVAILABILITY GROUP [AG_db1]"))
    out = await client.run("RESTORE DATABASE [db1] WITH RECOVERY")
    assert_no_errors(out)
    done = [o for o in out if isinstance(o, Message) and o.number == 3014]
    assert done and done[0].text.startswith("RESTORE DATABASE successfully processed 0 pages in ")
    assert await client.rows("SELECT state_desc FROM sys.databases WHERE name = 'db1'") == [("ONLINE",)]
    out = await client.run("RESTORE DATABASE [db1] WITH RECOVERY")
    assert [(e.number, e.text) for e in errors_of(out)] == [
        (3153, "The database is already fully recovered."), (3013, "RESTORE DATABASE is terminating abnormally.")]
    assert (await client.error("RESTORE DATABASE [db1] FROM DISK = N'x.bak'")).number == 40517


async def test_dropping_a_plain_secondary_ag_first_also_leaves_it_restoring(
        client: Client, backend: SqlServerBackend) -> None:
    """The order does not matter: the AG that forwards for a secondary DAG holds secondary copies."""
    add_link(backend.world, backend.instance, role="SECONDARY")
    assert_no_errors(await client.run("DROP AVAILABILITY GROUP [AG_db1]"))
    assert await client.rows("SELECT state_desc FROM sys.databases WHERE name = 'db1'") == [("RESTORING",)]


async def test_dropping_the_link_where_sql_server_is_primary_keeps_the_database_online(
        client: Client, backend: SqlServerBackend) -> None:
    add_link(backend.world, backend.instance, role="PRIMARY")
    assert_no_errors(await client.run("DROP AVAILABILITY GROUP [DAG_db1]"))
    assert_no_errors(await client.run("DROP AVAILABILITY GROUP [AG_db1]"))
    assert await client.rows("SELECT state_desc FROM sys.databases WHERE name = 'db1'") == [("ONLINE",)]


async def test_add_and_remove_database(client: Client, backend: SqlServerBackend) -> None:
    add_link(backend.world, backend.instance)
    backend.instance.databases["inmem"].log_chain_started = False
    err = await client.error("ALTER AVAILABILITY GROUP [AG_db1] ADD DATABASE [inmem]")
    assert err.number == 1475
    await client.run("BACKUP DATABASE inmem TO DISK = 'NUL'")
    assert_no_errors(await client.run("ALTER AVAILABILITY GROUP [AG_db1] ADD DATABASE [inmem]"))
    assert backend.instance.availability_groups["AG_db1"].databases == ["db1", "inmem"]
    assert_no_errors(await client.run("ALTER AVAILABILITY GROUP [AG_db1] REMOVE DATABASE [inmem]"))
    assert (await client.error("ALTER AVAILABILITY GROUP [AG_db1] REMOVE DATABASE [inmem]")).number == 35281
    assert (await client.error("ALTER AVAILABILITY GROUP [nope] REMOVE DATABASE [inmem]")).number == 15151


async def test_create_and_drop_database(client: Client, backend: SqlServerBackend) -> None:
    assert_no_errors(await client.run("CREATE DATABASE [new db]"))
    rows = await client.dicts("SELECT name, recovery_model_desc, compatibility_level FROM sys.databases "
                              "WHERE name = 'new db'")
    assert rows == [{"name": "new db", "recovery_model_desc": "FULL", "compatibility_level": 160}]
    assert await client.rows("SELECT name, type_desc, physical_name FROM [new db].sys.database_files") == [
        ("new db", "ROWS", "/var/opt/mssql/data/new db.mdf"), ("new db_log", "LOG", "/var/opt/mssql/data/new db_log.ldf")]
    assert (await client.error("CREATE DATABASE [NEW DB]")).number == 1801
    await client.run("USE [new db]")
    assert (await client.error("DROP DATABASE [new db]")).number == 3702
    await client.run("USE master")
    assert_no_errors(await client.run("DROP DATABASE [new db]"))
    assert (await client.error("DROP DATABASE [new db]")).number == 3701
    assert_no_errors(await client.run("DROP DATABASE IF EXISTS [new db]"))
    assert (await client.error("DROP DATABASE master")).number == 3708


async def test_non_sysadmin_is_refused(backend: SqlServerBackend) -> None:
    monitor = Client(backend, "monitor", "M0nitor!")
    assert await monitor.rows("SELECT IS_SRVROLEMEMBER('sysadmin')") == [(0,)]
    err = await monitor.error("CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Str0ng!Passw0rd'")
    assert (err.number, err.text) == (15247, "User does not have permission to perform this action.")
    assert (await monitor.error("CREATE DATABASE x")).number == 262
    out = await monitor.run("SELECT * FROM sys.dm_hadr_availability_replica_states")
    assert [e.number for e in errors_of(out)] == [300, 297]
    assert await monitor.rows("SELECT name FROM sys.databases WHERE database_id = 1") == [("master",)]


async def test_certificate_rotation(client: Client, backend: SqlServerBackend) -> None:
    inst = backend.instance
    await client.script(MASTER_KEY + CERTIFICATE + ENDPOINT)
    out = await client.run("""
CREATE CERTIFICATE [Cert_SQLLAB01_endpoint_2026] WITH SUBJECT = 'Certificate for SQLLAB01 (2026)',
    EXPIRY_DATE = '2031-12-31'
ALTER ENDPOINT database_mirroring_endpoint FOR DATABASE_MIRRORING (
    AUTHENTICATION = CERTIFICATE [Cert_SQLLAB01_endpoint_2026])
DROP CERTIFICATE [Cert_SQLLAB01_endpoint]""")
    assert_no_errors(out)
    assert inst.endpoints["database_mirroring_endpoint"].certificate_name == "Cert_SQLLAB01_endpoint_2026"
    assert set(inst.certificates) == {"Cert_SQLLAB01_endpoint_2026"}
    assert inst.endpoints["database_mirroring_endpoint"].role == "ALL"  # untouched by the partial ALTER


async def test_tail_log_backup_and_hadr_statements(client: Client, backend: SqlServerBackend) -> None:
    inst = backend.instance
    add_link(backend.world, inst)
    db = inst.databases["db1"]
    out = await client.run("BACKUP LOG [db1] TO DISK = N'/backups/tail.trn' WITH NORECOVERY")
    assert out[-1].number == 3014 and db.state == "RESTORING"
    err = await client.error("USE db1")
    assert err.number == 927
    db.state = "ONLINE"
    assert_no_errors(await client.run("ALTER DATABASE db1 SET HADR SUSPEND"))
    rows = await client.rows("SELECT is_suspended, suspend_reason_desc FROM sys.dm_hadr_database_replica_states "
                             "WHERE is_local = 1 AND group_id = (SELECT group_id FROM sys.availability_groups "
                             "WHERE name = 'AG_db1')")
    assert rows == [(True, "SUSPEND_FROM_USER")]
    assert_no_errors(await client.run("ALTER DATABASE db1 SET HADR RESUME"))
    assert (await client.error("ALTER DATABASE db2 SET HADR SUSPEND")).number == 35242
    assert (await client.error("ALTER DATABASE db1 SET RECOVERY SIMPLE")).number == 1468
    assert (await client.error("ALTER DATABASE nodb SET RECOVERY FULL")).number == 5011


async def test_error_line_numbers(client: Client) -> None:
    out = await client.run("SELECT 1\nSELECT 2\nDROP CERTIFICATE nope")
    assert out[-1].number == 15151 and out[-1].line == 3
