"""The lab's world: simulated SQL Server instances, managed instances, and the links between them.

This is the single source of truth inside the lab process. The T-SQL engine renders catalog
views and DMVs from it and mutates it for DDL; the ARM server reads and writes the managed
instance side; the replication engine joins the two sides and advances the runtime fields.
Everything is plain data so a scenario is just a function that builds a World.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Literal

UTC = dt.timezone.utc
_ids = itertools.count(1)


def new_guid() -> uuid.UUID:
    return uuid.uuid4()


class SimClock:
    """Simulated time: starts at the real time and can run ``speed`` times faster than the clock."""

    def __init__(self, speed: float = 1.0, start: dt.datetime | None = None) -> None:
        self._start = start or dt.datetime.now(UTC).replace(tzinfo=None)
        self._mono = time.monotonic()
        self._offset = 0.0
        self.speed = speed

    def seconds(self) -> float:
        """Simulated seconds since the clock was made."""
        return (time.monotonic() - self._mono) * self.speed + self._offset

    def now(self) -> dt.datetime:
        """Naive UTC datetime in simulated time (SQL Server's GETUTCDATE())."""
        return self._start + dt.timedelta(seconds=self.seconds())

    def set_speed(self, speed: float) -> None:
        self._offset = self.seconds()
        self._mono = time.monotonic()
        self.speed = speed

    def advance(self, seconds: float) -> None:
        """Jump simulated time forward (tests and the control API)."""
        self._offset += seconds


# --------------------------------------------------------------------------- SQL Server side


@dataclass
class Certificate:
    """A certificate in master (SQL Server) or an endpoint/trust certificate (managed instance)."""

    name: str
    subject: str
    der: bytes  # the X.509 DER; thumbprint = SHA-1 of it
    start_date: dt.datetime
    expiry_date: dt.datetime
    issuer: str = ""
    has_private_key: bool = True
    pvt_key_encryption_type: Literal["MK", "PW", "NA", "SK"] = "MK"
    certificate_id: int = field(default_factory=lambda: 256 + next(_ids))
    serial: str = ""
    issuer_for: str | None = None  # sp_certificate_add_issuer binding, e.g. '*.database.windows.net'

    @property
    def thumbprint(self) -> bytes:
        return hashlib.sha1(self.der).digest()


@dataclass
class Endpoint:
    """A DATABASE_MIRRORING endpoint (sys.endpoints + sys.database_mirroring_endpoints)."""

    name: str
    port: int = 5022
    state: Literal["STARTED", "STOPPED", "DISABLED"] = "STOPPED"
    role: Literal["NONE", "PARTNER", "WITNESS", "ALL"] = "ALL"
    connection_auth: str = "CERTIFICATE"  # sys.database_mirroring_endpoints.connection_auth_desc
    certificate_name: str | None = None
    encryption: Literal["DISABLED", "SUPPORTED", "REQUIRED"] = "REQUIRED"
    algorithm: str = "AES"  # encryption_algorithm_desc
    ip_address: str | None = None
    endpoint_id: int = field(default_factory=lambda: 65536 + next(_ids))


@dataclass
class DataFile:
    file_id: int
    type: int  # 0 ROWS, 1 LOG, 2 FILESTREAM / memory-optimized container
    name: str
    physical_name: str
    size_pages: int  # 8 KB pages
    data_space_id: int = 1


@dataclass
class Filegroup:
    name: str
    data_space_id: int
    type: Literal["FG", "FD", "FX"] = "FG"


@dataclass
class Backup:
    """One msdb.dbo.backupset row."""

    database_name: str
    type: Literal["D", "I", "L"]
    start: dt.datetime
    finish: dt.datetime
    first_lsn: int
    last_lsn: int
    size_bytes: int
    is_copy_only: bool = False
    checksums: bool = False
    backup_set_id: int = field(default_factory=lambda: next(_ids))


@dataclass
class Database:
    name: str
    database_id: int
    state: str = "ONLINE"  # sys.databases.state_desc
    recovery_model: Literal["FULL", "BULK_LOGGED", "SIMPLE"] = "FULL"
    collation: str = "SQL_Latin1_General_CP1_CI_AS"
    compatibility_level: int = 160
    is_read_only: bool = False
    is_in_standby: bool = False
    is_encrypted: bool = False  # TDE
    is_broker_enabled: bool = False
    is_adr_on: bool = False
    is_published: bool = False
    is_cdc_enabled: bool = False
    is_distributor: bool = False
    create_date: dt.datetime = field(default_factory=lambda: dt.datetime(2024, 1, 1))
    files: list[DataFile] = field(default_factory=list)
    filegroups: list[Filegroup] = field(default_factory=lambda: [Filegroup("PRIMARY", 1)])
    memory_optimized_tables: int = 0
    filetables: int = 0
    log_chain_started: bool = False  # sys.database_recovery_status.last_log_backup_lsn IS NOT NULL
    group_database_id: uuid.UUID | None = None
    replica_id: uuid.UUID | None = None
    # Runtime: the log. LSNs are plain increasing integers (bytes of log generated).
    end_of_log_lsn: int = 1_000_000
    log_truncation_lsn: int = 1_000_000
    transactions: int = 0  # committed transactions so far (the lab's counter)
    last_commit_time: dt.datetime | None = None
    service_broker_guid: uuid.UUID = field(default_factory=new_guid)

    @property
    def size_mb(self) -> float:
        return sum(f.size_pages for f in self.files) / 128.0


@dataclass
class Replica:
    """sys.availability_replicas row. For a DAG each replica is a member AG."""

    server_name: str  # instance name, or member AG name in a DAG
    endpoint_url: str
    availability_mode: Literal["ASYNCHRONOUS_COMMIT", "SYNCHRONOUS_COMMIT", "CONFIGURATION_ONLY"] = (
        "ASYNCHRONOUS_COMMIT"
    )
    failover_mode: Literal["AUTOMATIC", "MANUAL", "EXTERNAL"] = "MANUAL"
    seeding_mode: Literal["AUTOMATIC", "MANUAL"] = "AUTOMATIC"
    session_timeout: int = 10
    replica_id: uuid.UUID = field(default_factory=new_guid)
    is_local: bool = True
    create_date: dt.datetime | None = None


@dataclass
class AvailabilityGroup:
    """An AG or, with ``is_distributed``, a DAG (the link's SQL Server side)."""

    name: str
    replicas: list[Replica] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)  # plain AG only
    is_distributed: bool = False
    cluster_type: Literal["WSFC", "EXTERNAL", "NONE"] = "NONE"
    basic: bool = False
    db_failover: bool = False
    role: Literal["PRIMARY", "SECONDARY", "RESOLVING"] = "PRIMARY"  # local role
    group_id: uuid.UUID = field(default_factory=new_guid)
    create_date: dt.datetime | None = None
    sequence_number: int = 1
    streams: dict[str, DbStream] = field(default_factory=dict)  # DAG only: shared with the MiLink
    last_connect_error: tuple[int, str, dt.datetime] | None = None  # DAG: why the partner is down

    def replica(self, server_name: str) -> Replica | None:
        for r in self.replicas:
            if r.server_name.lower() == server_name.lower():
                return r
        return None


@dataclass
class Login:
    """A server login. ``type`` is sys.server_principals.type: 'S' SQL login, 'E' Microsoft Entra
    user or application, 'X' Entra group; external logins carry the Entra object ID (user, group)
    or client ID (application) as their SID and are not in sys.sql_logins."""

    name: str
    password: str
    sysadmin: bool = False
    disabled: bool = False
    type: Literal["S", "E", "X"] = "S"
    sid: bytes | None = None  # None: the lab derives one (SQL logins)


@dataclass
class SqlInstance:
    """One simulated SQL Server (box product)."""

    name: str  # @@SERVERNAME
    version: str = "16.0.4135.4"  # ProductVersion
    product_level: str = "RTM"
    update_level: str | None = "CU15"
    update_reference: str | None = "KB5038325"
    edition: str = "Developer Edition (64-bit)"
    engine_edition: int = 3
    host_platform: Literal["Windows", "Linux"] = "Linux"
    host_distribution: str = "Ubuntu"
    host_release: str = "22.04"
    collation: str = "SQL_Latin1_General_CP1_CI_AS"
    hadr_enabled: bool = False
    hadr_enabled_after_restart: bool | None = None  # set by a config change that needs a restart
    trace_flags: set[int] = field(default_factory=set)
    startup_trace_flags: set[int] = field(default_factory=set)
    master_key: bool = False
    certificates: dict[str, Certificate] = field(default_factory=dict)  # master.sys.certificates
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    logins: dict[str, Login] = field(default_factory=dict)
    databases: dict[str, Database] = field(default_factory=dict)
    availability_groups: dict[str, AvailabilityGroup] = field(default_factory=dict)
    backups: list[Backup] = field(default_factory=list)
    has_azure_connect_procs: bool = True  # sp_certificate_add_issuer / sp_get_endpoint_certificate
    agent_running: bool = True
    address: str = "10.0.0.4"  # how the managed instance reaches it (partnerEndpoint host)
    restarts: int = 0

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def find_database(self, name: str) -> Database | None:
        hit = self.databases.get(name)
        if hit is not None:
            return hit
        for db in self.databases.values():
            if db.name.lower() == name.lower():
                return db
        return None

    def find_ag(self, name: str) -> AvailabilityGroup | None:
        hit = self.availability_groups.get(name)
        if hit is not None:
            return hit
        for ag in self.availability_groups.values():
            if ag.name.lower() == name.lower():
                return ag
        return None

    def next_database_id(self) -> int:
        return max([4, *(d.database_id for d in self.databases.values())]) + 1

    def restart(self) -> None:
        """A simulated service restart applies pending settings (HADR, startup trace flags)."""
        if self.hadr_enabled_after_restart is not None:
            self.hadr_enabled = self.hadr_enabled_after_restart
            self.hadr_enabled_after_restart = None
        self.trace_flags = set(self.startup_trace_flags)
        self.restarts += 1


# --------------------------------------------------------------------------- Azure side


@dataclass
class MiDatabase:
    name: str
    state: str = "Online"  # Online / Restoring (link secondary) / Creating
    collation: str = "SQL_Latin1_General_CP1_CI_AS"
    size_mb: float = 0.0
    created_by_link: str | None = None
    # Runtime log, as on a SQL Server database (the copy takes writes while the MI is primary).
    end_of_log_lsn: int = 1_000_000
    transactions: int = 0
    last_commit_time: dt.datetime | None = None


@dataclass
class DbStream:
    """Replication of one database across one link. Written only by the replication engine.

    Both sides render from it: SQL Server's sys.dm_hadr_* DMVs and the ARM link's
    ``databases[]`` health fields.
    """

    database: str
    primary_side: Literal["sql", "mi"] = "sql"
    connected: bool = False
    phase: Literal["INITIALIZING", "SEEDING", "SYNCHRONIZING", "SYNCHRONIZED", "NOT SYNCHRONIZING"] = (
        "INITIALIZING"
    )
    seeding_total_bytes: int = 0
    seeding_done_bytes: int = 0
    seeding_rate_bps: float = 0.0
    seeding_started: dt.datetime | None = None
    seeding_completed: dt.datetime | None = None
    seeding_attempts: int = 0
    seeding_operation_id: uuid.UUID = field(default_factory=new_guid)
    seeding_failure: tuple[int, str] | None = None  # (error_code, failure_state_desc)
    # LSNs as byte positions in the primary's log
    end_of_log_lsn: int = 0  # the primary's end of log (copied each tick)
    primary_last_commit_time: dt.datetime | None = None
    sent_lsn: int = 0
    hardened_lsn: int = 0  # received + hardened on the secondary
    redone_lsn: int = 0
    hardened_transactions: int = 0  # primary's transaction counter value covered by hardened_lsn
    last_sent_time: dt.datetime | None = None
    last_received_time: dt.datetime | None = None
    last_hardened_time: dt.datetime | None = None
    last_redone_time: dt.datetime | None = None
    secondary_last_commit_time: dt.datetime | None = None
    log_send_rate_kbs: float = 0.0
    redo_rate_kbs: float = 0.0
    last_error: tuple[int, str, dt.datetime] | None = None  # (number, text, when)
    instance_replica_id: uuid.UUID = field(default_factory=new_guid)
    partner_replica_id: uuid.UUID = field(default_factory=new_guid)
    commit_marks: list[tuple[int, int, dt.datetime]] = field(default_factory=list, repr=False)
    # ^ (lsn, transactions, time) on the primary, so hardening can be mapped to transactions

    @property
    def log_send_queue_kb(self) -> int:
        return max(0, self.end_of_log_lsn - self.sent_lsn) // 1024

    @property
    def redo_queue_kb(self) -> int:
        return max(0, self.hardened_lsn - self.redone_lsn) // 1024

    @property
    def secondary_lag_seconds(self) -> int:
        """Primary last commit minus what the secondary has hardened (0 when caught up)."""
        if self.primary_last_commit_time is None or self.secondary_last_commit_time is None:
            return 0
        return max(0, int((self.primary_last_commit_time - self.secondary_last_commit_time).total_seconds()))

    @property
    def seeding_percent(self) -> int:
        if not self.seeding_total_bytes:
            return 0
        return min(100, int(100 * self.seeding_done_bytes / self.seeding_total_bytes))

    @property
    def is_healthy(self) -> bool:
        return self.connected and self.phase in ("SYNCHRONIZING", "SYNCHRONIZED")


@dataclass
class MiLink:
    """The ARM resource ``managedInstances/{mi}/distributedAvailabilityGroups/{name}``."""

    name: str
    partner_availability_group_name: str
    instance_availability_group_name: str
    partner_endpoint: str
    instance_link_role: Literal["Primary", "Secondary"] = "Secondary"
    replication_mode: Literal["Async", "Sync"] = "Async"
    failover_mode: Literal["None", "Manual"] = "None"
    seeding_mode: Literal["Automatic", "Manual"] = "Automatic"
    databases: list[str] = field(default_factory=list)
    dag_id: uuid.UUID = field(default_factory=new_guid)
    streams: dict[str, DbStream] = field(default_factory=dict)  # shared with the SQL side's DAG
    created: dt.datetime | None = None

    @property
    def partner_link_role(self) -> str:
        return "Secondary" if self.instance_link_role == "Primary" else "Primary"


@dataclass
class ManagedInstance:
    name: str
    subscription_id: str
    resource_group: str
    location: str = "westeurope"
    dns_zone: str = "0123456789ab"
    tier: Literal["GeneralPurpose", "BusinessCritical"] = "GeneralPurpose"
    family: str = "Gen5"
    vcores: int = 8
    storage_gb: int = 256
    state: str = "Ready"
    database_format: Literal["AlwaysUpToDate", "SQLServer2022", "SQLServer2025"] = "SQLServer2022"
    hybrid_secondary_usage: Literal["Active", "Passive"] = "Active"
    collation: str = "SQL_Latin1_General_CP1_CI_AS"
    license_type: str = "LicenseIncluded"
    is_general_purpose_v2: bool = False
    in_failover_group: bool = False
    endpoint_certificate: Certificate | None = None
    trust_certificates: dict[str, Certificate] = field(default_factory=dict)
    links: dict[str, MiLink] = field(default_factory=dict)
    databases: dict[str, MiDatabase] = field(default_factory=dict)
    hadr_port: int = 11002
    available: bool = True  # a fault can make the instance unreachable

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{self.dns_zone}.database.windows.net"

    # Network identity inside the instance's virtual network. Lab-only: ARM's managed instance
    # resource carries a subnetId but no addresses or node names; a real instance reveals its
    # node and HADR port only over T-SQL (sys.dm_hadr_fabric_config_parameters).
    @property
    def _h(self) -> int:
        return int(hashlib.sha1(self.name.lower().encode()).hexdigest(), 16)

    @property
    def subnet(self) -> str:
        return f"10.{100 + self._h % 50}.{self._h // 50 % 250}.0/24"

    @property
    def listener_ip(self) -> str:
        """Where the instance's FQDN resolves from a peered network (the VNet-local endpoint)."""
        return self.subnet.rsplit(".", 1)[0] + ".10"

    @property
    def node_ip(self) -> str:
        return self.subnet.rsplit(".", 1)[0] + ".11"

    @property
    def node_name(self) -> str:
        """The node hosting the primary replica (what the MI-side parameter query returns as @node)."""
        return (f"DB{100 + self._h % 900}.tr{10000 + self._h // 900 % 90000}.{self.location}"
                f".worker.database.windows.net")

    @property
    def resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Sql/managedInstances/{self.name}"
        )

    @property
    def max_links(self) -> int:
        return 500 if self.is_general_purpose_v2 else 100

    @property
    def used_storage_mb(self) -> float:
        return sum(d.size_mb for d in self.databases.values())


@dataclass
class Subscription:
    subscription_id: str
    display_name: str
    tenant_id: str
    resource_groups: dict[str, str] = field(default_factory=dict)  # name -> location


# --------------------------------------------------------------------------- faults, counters


@dataclass
class Faults:
    """What the control API can break. The engines consult it on every step."""

    partitioned: bool = False  # SQL Server <-> MI network
    bandwidth_bps: float = 50 * 1024 * 1024  # seeding / log transport bandwidth
    link_latency_ms: float = 2.0
    arm_status: int | None = None  # 429 / 500 storm
    arm_status_remaining: int = 0
    arm_retry_after: int | None = None
    fail_next_lro: str | None = None  # error code for the next LRO
    tds_drop_next: int = 0  # drop the connection of the next N TDS requests
    arm_limits: bool = True  # ARM's request token buckets (lab/arm/throttle.py); False: never throttled
    arm_read_limit: tuple[float, float] | None = None  # (bucket, tokens a second) instead of ARM's 250, 25


@dataclass
class PortBlock:
    """A deny rule on the path SQL Server -> managed instance: a firewall on the SQL Server side
    (``sql-outbound``) or the instance subnet's NSG (``mi-inbound``); or on the way back, managed
    instance -> SQL Server: the NSG's outbound rules (``mi-outbound``) or the SQL Server host's
    inbound firewall (``sql-inbound``). ``None`` matches any."""

    low: int
    high: int
    where: Literal["sql-outbound", "mi-inbound", "mi-outbound", "sql-inbound"] = "sql-outbound"
    sql_server: str | None = None
    managed_instance: str | None = None

    @property
    def to_sql_server(self) -> bool:
        """Whether the rule sits on the managed instance -> SQL Server path."""
        return self.where in ("mi-outbound", "sql-inbound")

    def matches(self, port: int, sql_server: str, managed_instance: str) -> bool:
        return (self.low <= port <= self.high
                and (self.sql_server is None or self.sql_server.lower() == sql_server.lower())
                and (self.managed_instance is None or self.managed_instance.lower() == managed_instance.lower()))


@dataclass
class TcpProbe:
    """What ``Test-NetConnection <host> -Port <n>`` run on a SQL Server host (or in a managed
    instance's subnet) finds."""

    host: str
    port: int
    remote_address: str | None  # None: the name did not resolve
    succeeded: bool
    reason: str = ""  # why it failed: 'resolve', 'blocked', 'refused', 'timeout'


@dataclass
class Workload:
    """A write workload on one database (runs on whichever side is primary)."""

    transactions_per_second: float = 0.0
    bytes_per_transaction: int = 4096


@dataclass
class World:
    """Everything the lab simulates. Guard mutations with ``lock`` (TDS, ARM and engine share it)."""

    clock: SimClock = field(default_factory=SimClock)
    sql_instances: dict[str, SqlInstance] = field(default_factory=dict)
    managed_instances: dict[str, ManagedInstance] = field(default_factory=dict)  # by lower name
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    workloads: dict[tuple[str, str], Workload] = field(default_factory=dict)  # (server, db)
    faults: Faults = field(default_factory=Faults)
    tenant_id: str = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    lost_transactions: int = 0
    round_trips: dict[str, int] = field(default_factory=dict)  # by source: 'tds:<login>', 'arm'
    scenario: str = "fresh"
    network_blocks: list[PortBlock] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def count(self, source: str) -> None:
        self.round_trips[source] = self.round_trips.get(source, 0) + 1

    def find_mi(self, name: str) -> ManagedInstance | None:
        return self.managed_instances.get(name.lower())

    def mi_by_fqdn(self, host: str) -> ManagedInstance | None:
        for mi in self.managed_instances.values():
            if mi.fqdn.lower() == host.lower():
                return mi
        return None

    def probe_tcp(self, inst: SqlInstance, host: str, port: int) -> TcpProbe:
        """A TCP connect from ``inst``'s host to ``host:port``, decided by the lab's network.

        Managed instance names (FQDN, node) resolve to addresses in the instance subnet, which
        listens on 5022 and on its HADR port; the partition fault, an unavailable instance and
        :class:`PortBlock` rules drop the connection. The SQL Server's own names reach its
        started endpoints.
        """
        name = host.strip().lower().rstrip(".")
        for mi in self.managed_instances.values():
            if name in (mi.fqdn.lower(), mi.listener_ip):
                ip = mi.listener_ip
            elif name in (mi.node_name.lower(), mi.node_ip):
                ip = mi.node_ip
            else:
                continue
            if self.faults.partitioned or not mi.available:
                return TcpProbe(host, port, ip, False, "timeout")
            if any(b.matches(port, inst.name, mi.name) for b in self.network_blocks if not b.to_sql_server):
                return TcpProbe(host, port, ip, False, "blocked")
            if port not in (5022, mi.hadr_port):
                return TcpProbe(host, port, ip, False, "refused")
            return TcpProbe(host, port, ip, True)
        if name in ("localhost", "127.0.0.1", inst.address, inst.name.split("\\")[0].lower()):
            ip = "127.0.0.1" if name in ("localhost", "127.0.0.1") else inst.address
            ok = any(e.state == "STARTED" and e.port == port for e in inst.endpoints.values())
            return TcpProbe(host, port, ip, ok, "" if ok else "refused")
        return TcpProbe(host, port, None, False, "resolve")

    def probe_tcp_from_mi(self, mi: ManagedInstance, host: str, port: int) -> TcpProbe:
        """A TCP connect from ``mi``'s subnet to ``host:port`` (the Network Checker's NetHelper job).

        SQL Server hosts are reached by their address or machine name (what the link's partner
        endpoint uses); their started endpoints listen. The partition fault, an unavailable
        instance and ``mi-outbound`` / ``sql-inbound`` :class:`PortBlock` rules drop the connection.
        """
        name = host.strip().lower().rstrip(".")
        for inst in self.sql_instances.values():
            if name not in (inst.address, inst.name.split("\\")[0].lower()):
                continue
            if self.faults.partitioned or not mi.available:
                return TcpProbe(host, port, inst.address, False, "timeout")
            if any(b.matches(port, inst.name, mi.name) for b in self.network_blocks if b.to_sql_server):
                return TcpProbe(host, port, inst.address, False, "blocked")
            ok = any(e.state == "STARTED" and e.port == port for e in inst.endpoints.values())
            return TcpProbe(host, port, inst.address, ok, "" if ok else "refused")
        return TcpProbe(host, port, None, False, "resolve")
