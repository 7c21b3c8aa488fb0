"""Named starting points for the lab. Each builds a World from scratch.

fresh       SQL Server 2022, nothing prepared; databases that exercise every eligibility rule
ready       fresh + every requirement met (HADR, master key, certificates, endpoint, trust)
linked      ready + three synchronized links under a write workload
lagging     linked, but the workload outruns a slow link (send queue and lag grow)
broken      ready + a link whose MI certificate on SQL Server does not match (DISCONNECTED)
sql2019     SQL Server 2019 CU22, prepared: one-way links only
mi-primary  SQL Server 2022 CU15 prepared; a managed instance database to link *to* SQL Server
scale       500 synchronized links across five managed instances
ready-windows  ready, on a Windows host: SQL Server Agent can run the PowerShell network test
firewalled  ready-windows, but SQL Server's outbound firewall drops TCP 11000-11999 (the redirect
            range): 5022 answers, the HADR port does not
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from .model import (
    AvailabilityGroup,
    Backup,
    Certificate,
    Database,
    DataFile,
    DbStream,
    Endpoint,
    Filegroup,
    Login,
    ManagedInstance,
    MiDatabase,
    MiLink,
    PortBlock,
    Replica,
    SqlInstance,
    Subscription,
    Workload,
    World,
)
from .x509 import self_signed_der

SA_PASSWORD = "Lab_Passw0rd!"
MI_ADMIN = ("labadmin", "MiAdmin_Passw0rd!")  # every lab managed instance's SQL admin (ARM administratorLogin)
SUBSCRIPTION_ID = "5f1c3a9e-0b7d-4c62-9a51-2d8e6f4b7c10"
SUBSCRIPTION_2 = "8a2d4e6f-1c3b-4d5e-8f70-9a1b2c3d4e5f"
RESOURCE_GROUP = "rg-milink-lab"
SQL_SERVER = "SQLLAB01"


def _days(n: float) -> dt.timedelta:
    return dt.timedelta(days=n)


def _files(name: str, data_mb: int, log_mb: int = 64, extra_logs: int = 0) -> list[DataFile]:
    base = "/var/opt/mssql/data"
    files = [
        DataFile(1, 0, name, f"{base}/{name}.mdf", data_mb * 128),
        DataFile(2, 1, f"{name}_log", f"{base}/{name}_log.ldf", log_mb * 128, 0),
    ]
    for i in range(extra_logs):
        files.append(DataFile(3 + i, 1, f"{name}_log{i + 2}", f"{base}/{name}_log{i + 2}.ldf", log_mb * 128, 0))
    return files


def _db(inst: SqlInstance, name: str, data_mb: int = 512, *, full_backup: bool = True, **kw) -> Database:
    db = Database(name=name, database_id=inst.next_database_id(), files=_files(name, data_mb), **kw)
    inst.databases[name] = db
    if full_backup and db.recovery_model == "FULL":
        _full_backup(inst, db)
    return db


def _full_backup(inst: SqlInstance, db: Database, copy_only: bool = False, when: dt.datetime | None = None) -> None:
    finish = when or dt.datetime(2026, 11, 22, 2, 0)
    inst.backups.append(Backup(db.name, "D", finish - dt.timedelta(minutes=3), finish, db.end_of_log_lsn - 5000,
                               db.end_of_log_lsn, int(db.size_mb * 1024 * 1024 * 0.8), is_copy_only=copy_only,
                               checksums=True))
    if not copy_only:
        db.log_chain_started = True


def _sql_instance(name: str = SQL_SERVER, version: str = "16.0.4135.4", update_level: str | None = "CU15",
                  reference: str | None = "KB5038325") -> SqlInstance:
    inst = SqlInstance(name=name, version=version, update_level=update_level, update_reference=reference)
    inst.logins["sa"] = Login("sa", SA_PASSWORD, sysadmin=True)
    inst.logins["dbreader"] = Login("dbreader", "Reader_Passw0rd!", sysadmin=False)
    return inst


def _user_databases(inst: SqlInstance) -> None:
    """One database per eligibility rule, so the Select Databases page has something to explain."""
    _db(inst, "SalesDb", 2048, is_broker_enabled=True)
    _db(inst, "Orders", 1024)
    _db(inst, "CRM", 768)
    _db(inst, "HRDb", 256, full_backup=False)  # FULL but no backup: error 1475 risk
    _db(inst, "Inventory", 300, recovery_model="SIMPLE")
    archive = _db(inst, "Archive", 900)
    archive.filegroups.append(Filegroup("FS", 2, "FD"))
    archive.files.append(DataFile(3, 2, "Archive_fs", "/var/opt/mssql/data/Archive_fs", 0, 2))
    telemetry = _db(inst, "Telemetry", 400)
    telemetry.filegroups.append(Filegroup("XTP", 2, "FX"))
    telemetry.files.append(DataFile(3, 2, "Telemetry_xtp", "/var/opt/mssql/data/Telemetry_xtp", 0, 2))
    telemetry.memory_optimized_tables = 3
    _db(inst, "Finance", 640, is_encrypted=True)
    two_logs = _db(inst, "Legacy", 200)
    two_logs.files = _files("Legacy", 200, extra_logs=1)
    copy_only = _db(inst, "Reporting", 350, full_backup=False)
    _full_backup(inst, copy_only, copy_only=True)  # only a COPY_ONLY backup: the chain never started


def _managed_instances(world: World) -> None:
    now = world.clock.now()
    sub = Subscription(SUBSCRIPTION_ID, "Contoso Lab", world.tenant_id,
                       {RESOURCE_GROUP: "westeurope", "rg-dr": "northeurope"})
    sub2 = Subscription(SUBSCRIPTION_2, "Contoso Sandbox", world.tenant_id, {"rg-sandbox": "westeurope"})
    world.subscriptions = {sub.subscription_id: sub, sub2.subscription_id: sub2}
    for name, rg, tier, fmt, zone, slot in (
        ("sqlmi-lab-gp", RESOURCE_GROUP, "GeneralPurpose", "SQLServer2022", "a1b2c3d4e5f6", 1),
        ("sqlmi-lab-bc", RESOURCE_GROUP, "BusinessCritical", "AlwaysUpToDate", "a1b2c3d4e5f6", 2),
        ("sqlmi-dr", "rg-dr", "GeneralPurpose", "SQLServer2025", "0f9e8d7c6b5a", 3),
    ):
        mi = ManagedInstance(name=name, subscription_id=SUBSCRIPTION_ID, resource_group=rg, tier=tier,
                             database_format=fmt, dns_zone=zone, vcores=8 if tier == "GeneralPurpose" else 16,
                             storage_gb=512)
        mi.endpoint_certificate = _mi_cert(mi, now, slot)
        world.managed_instances[name.lower()] = mi


def _mi_cert(mi: ManagedInstance, now: dt.datetime, slot: int) -> Certificate:
    start, expiry = now - _days(30), now + _days(335)
    der = self_signed_der(f"DB_{mi.name}", start, expiry, issuer="Microsoft Azure RSA TLS Issuing CA 04", slot=slot)
    return Certificate(name="DATABASE_MIRRORING", subject=f"DB_{mi.name}", der=der, start_date=start,
                       expiry_date=expiry, issuer="Microsoft Azure RSA TLS Issuing CA 04", has_private_key=False,
                       pvt_key_encryption_type="NA")


def fresh(world: World) -> None:
    inst = _sql_instance()
    _user_databases(inst)
    world.sql_instances[inst.name] = inst
    _managed_instances(world)


def _prepare(world: World, inst: SqlInstance, cert_expiry_days: float = 365) -> None:
    """Everything the Requirements page checks, done the way the scripts in domain.md §4 do it."""
    now = world.clock.now()
    inst.hadr_enabled = True
    inst.trace_flags |= {1800, 9567}
    inst.startup_trace_flags |= {1800, 9567}
    inst.master_key = True
    cert_name = f"Cert_{inst.name}_endpoint"
    start, expiry = now - _days(1), now + _days(cert_expiry_days)
    der = self_signed_der(f"Certificate for {inst.name} endpoint", start, expiry, slot=0)
    inst.certificates[cert_name] = Certificate(cert_name, f"Certificate for {inst.name} endpoint", der, start, expiry,
                                               issuer=f"Certificate for {inst.name} endpoint")
    inst.endpoints["database_mirroring_endpoint"] = Endpoint(
        "database_mirroring_endpoint", 5022, "STARTED", "ALL", "CERTIFICATE", cert_name)
    for root in ("MicrosoftPKI", "DigiCertPKI"):
        rder = self_signed_der(root, now - _days(3000), now + _days(3000), slot=3)
        inst.certificates[root] = Certificate(root, root, rder, now - _days(3000), now + _days(3000), issuer=root,
                                              has_private_key=False, pvt_key_encryption_type="NA",
                                              issuer_for="*.database.windows.net")
    for mi in world.managed_instances.values():
        _trust(world, inst, mi)


def _trust(world: World, inst: SqlInstance, mi: ManagedInstance) -> None:
    """Exchange endpoint certificates between one SQL Server and one managed instance."""
    assert mi.endpoint_certificate is not None
    c = mi.endpoint_certificate
    inst.certificates[mi.fqdn] = Certificate(mi.fqdn, c.subject, c.der, c.start_date, c.expiry_date, issuer=c.issuer,
                                             has_private_key=False, pvt_key_encryption_type="NA")
    own = inst.certificates[f"Cert_{inst.name}_endpoint"]
    mi.trust_certificates[own.name] = Certificate(own.name, own.subject, own.der, own.start_date, own.expiry_date,
                                                  issuer=own.issuer, has_private_key=False,
                                                  pvt_key_encryption_type="NA")


def ready(world: World) -> None:
    fresh(world)
    _prepare(world, world.sql_instances[SQL_SERVER])


def _link(world: World, inst: SqlInstance, mi: ManagedInstance, dbname: str, *, seeded: bool = True,
          mode: str = "Async", name: str | None = None, mi_primary: bool = False) -> MiLink:
    """A link made as the wizard makes it: AG_<db> + DAG on SQL Server, AG_<db>_MI + link on the MI."""
    now = world.clock.now()
    db = inst.find_database(dbname)
    if db is None:
        db = _db(inst, dbname, 256)
    ag_name, mi_ag, dag_name = f"AG_{dbname}", f"AG_{dbname}_MI", name or f"DAG_{dbname}"
    local_url = f"TCP://{inst.address}:5022"
    ag = AvailabilityGroup(ag_name, [Replica(inst.name, local_url, "SYNCHRONOUS_COMMIT", create_date=now)],
                           databases=[db.name], create_date=now, db_failover=True)
    inst.availability_groups[ag_name] = ag
    db.group_database_id, db.replica_id = uuid.uuid4(), ag.replicas[0].replica_id
    avail = "SYNCHRONOUS_COMMIT" if mode == "Sync" else "ASYNCHRONOUS_COMMIT"
    dag = AvailabilityGroup(dag_name, [
        Replica(ag_name, local_url, avail, create_date=now),
        Replica(mi_ag, f"tcp://{mi.fqdn}:5022;Server=[{mi.name}]", avail, is_local=False),
    ], is_distributed=True, create_date=now, role="SECONDARY" if mi_primary else "PRIMARY")
    inst.availability_groups[dag_name] = dag
    link = MiLink(dag_name, ag_name, mi_ag, local_url, "Primary" if mi_primary else "Secondary",
                  replication_mode=mode, failover_mode="Manual" if inst.major >= 16 else "None",
                  databases=[db.name], created=now)
    mi.links[dag_name.lower()] = link
    mi.databases[db.name.lower()] = MiDatabase(db.name, "Online" if seeded else "Restoring", size_mb=db.size_mb,
                                               created_by_link=dag_name, end_of_log_lsn=db.end_of_log_lsn)
    stream = DbStream(db.name, primary_side="mi" if mi_primary else "sql", connected=seeded)
    if seeded:
        size = int(db.size_mb * 1024 * 1024)
        stream.phase = "SYNCHRONIZED" if mode == "Sync" else "SYNCHRONIZING"
        stream.seeding_total_bytes = stream.seeding_done_bytes = size
        stream.seeding_attempts = 1
        stream.seeding_started, stream.seeding_completed = now - _days(2), now - _days(2) + dt.timedelta(hours=1)
        stream.end_of_log_lsn = stream.sent_lsn = stream.hardened_lsn = stream.redone_lsn = db.end_of_log_lsn
        stream.hardened_transactions = db.transactions
        stream.last_sent_time = stream.last_hardened_time = stream.last_redone_time = now
        stream.last_received_time = now
    link.streams[db.name] = stream
    dag.streams[db.name] = stream
    return link


def linked(world: World) -> None:
    ready(world)
    inst = world.sql_instances[SQL_SERVER]
    gp = world.managed_instances["sqlmi-lab-gp"]
    for dbname in ("SalesDb", "Orders", "CRM"):
        _link(world, inst, gp, dbname)
        world.workloads[(inst.name, dbname)] = Workload(transactions_per_second=50, bytes_per_transaction=2048)


def lagging(world: World) -> None:
    linked(world)
    world.faults.bandwidth_bps = 256 * 1024
    for key in list(world.workloads):
        world.workloads[key] = Workload(transactions_per_second=400, bytes_per_transaction=4096)


def broken(world: World) -> None:
    ready(world)
    inst = world.sql_instances[SQL_SERVER]
    gp = world.managed_instances["sqlmi-lab-gp"]
    # the MI certificate imported on SQL Server is a stale one: same name, different key
    cert = inst.certificates[gp.fqdn]
    cert.der = self_signed_der(cert.subject, cert.start_date, cert.expiry_date, issuer=cert.issuer, slot=2)
    link = _link(world, inst, gp, "SalesDb")
    for stream in link.streams.values():
        stream.connected = False
        stream.phase = "NOT SYNCHRONIZING"


def sql2019(world: World) -> None:
    inst = _sql_instance(version="15.0.4322.2", update_level="CU22", reference="KB5027702")
    inst.databases.clear()
    _user_databases(inst)
    for db in inst.databases.values():
        db.compatibility_level = 150
    world.sql_instances[inst.name] = inst
    _managed_instances(world)
    _prepare(world, inst)


def mi_primary(world: World) -> None:
    ready(world)
    gp = world.managed_instances["sqlmi-lab-gp"]
    gp.databases["clouddb"] = MiDatabase("CloudDb", "Online", size_mb=768)
    gp.databases["webshop"] = MiDatabase("WebShop", "Online", size_mb=512)


def scale(world: World, links: int = 500, instances: int = 5) -> None:
    fresh(world)
    inst = world.sql_instances[SQL_SERVER]
    _prepare(world, inst)
    now = world.clock.now()
    mis = []
    for i in range(instances):
        mi = ManagedInstance(name=f"sqlmi-scale-{i + 1:02d}", subscription_id=SUBSCRIPTION_ID,
                             resource_group="rg-scale", is_general_purpose_v2=True, storage_gb=16384)
        mi.endpoint_certificate = _mi_cert(mi, now, 1 + i % 3)
        world.managed_instances[mi.name.lower()] = mi
        _trust(world, inst, mi)
        mis.append(mi)
    world.subscriptions[SUBSCRIPTION_ID].resource_groups["rg-scale"] = "westeurope"
    for n in range(links):
        mi = mis[n % instances]
        name = f"app{n + 1:03d}"
        _db(inst, name, 64)
        _link(world, inst, mi, name)
        world.workloads[(inst.name, name)] = Workload(transactions_per_second=2, bytes_per_transaction=1024)


def set_platform(inst: SqlInstance, platform: str) -> None:
    """Move the simulated SQL Server to another host OS (what @@VERSION and the DMVs report)."""
    inst.host_platform = platform  # type: ignore[assignment]
    linux_dir = "/var/opt/mssql/data/"
    major = inst.version.split(".")[0]
    windows_dir = f"C:\\Program Files\\Microsoft SQL Server\\MSSQL{major}.MSSQLSERVER\\MSSQL\\DATA\\"
    if platform == "Windows":
        inst.host_distribution, inst.host_release = "Windows Server 2022 Datacenter", "10.0"
        old, new = linux_dir, windows_dir
    else:
        inst.host_distribution, inst.host_release = "Ubuntu", "22.04"
        old, new = windows_dir, linux_dir
    for db in inst.databases.values():  # files live where that OS's setup puts them
        for f in db.files:
            if f.physical_name.startswith(old):
                f.physical_name = new + f.physical_name[len(old):]


def ready_windows(world: World) -> None:
    ready(world)
    for inst in world.sql_instances.values():
        set_platform(inst, "Windows")


def firewalled(world: World) -> None:
    ready_windows(world)
    world.network_blocks.append(PortBlock(11000, 11999, "sql-outbound"))


SCENARIOS: dict[str, Callable[[World], None]] = {
    "fresh": fresh, "ready": ready, "linked": linked, "lagging": lagging, "broken": broken,
    "sql2019": sql2019, "mi-primary": mi_primary, "scale": scale, "ready-windows": ready_windows,
    "firewalled": firewalled,
}


def build(name: str, speed: float = 1.0) -> World:
    """A new World in scenario ``name`` (KeyError for an unknown one)."""
    from .model import SimClock

    builder = SCENARIOS[name]
    world = World(clock=SimClock(speed=speed), scenario=name)
    builder(world)
    return world
