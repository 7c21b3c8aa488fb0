"""What is true about a SQL Server and a managed instance, read in a constant number of round trips.

Facts are plain data; checks (``checks.py``) and eligibility (``eligibility.py``) are pure
functions of them, so they are tested without a server and re-run without re-reading.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from .tsql import quote_literal, quote_name
from .versions import Version, parse_version


class SqlRunner(Protocol):
    """The slice of the SQL client the engine needs (so tests can pass any implementation)."""

    async def run(self, sql: str, params: Any = ()) -> Any: ...

    async def query(self, name: str, params: Any = ()) -> Any: ...


@dataclass
class EndpointFacts:
    name: str
    state: str
    role: str
    connection_auth: str
    certificate_name: str | None
    certificate_expiry: dt.datetime | None
    encryption_enabled: bool
    algorithm: str
    port: int


@dataclass
class CertificateFacts:
    name: str
    subject: str
    issuer: str
    start: dt.datetime | None
    expiry: dt.datetime | None
    key_protection: str  # MK / PW / NA / SK
    thumbprint: bytes


@dataclass
class ServerFacts:
    server_name: str
    version: Version
    product_level: str
    update_level: str | None
    edition: str
    engine_edition: int
    platform: str  # Windows / Linux (from @@VERSION)
    hadr_enabled: bool
    hadr_manager_status: int | None
    collation: str
    is_sysadmin: bool
    master_key: bool
    connect_procs: bool
    trace_flags: set[int] = field(default_factory=set)
    endpoints: list[EndpointFacts] = field(default_factory=list)
    certificates: list[CertificateFacts] = field(default_factory=list)
    availability_groups: list[dict[str, Any]] = field(default_factory=list)
    agent_running: bool | None = None

    @property
    def major(self) -> int:
        return self.version[0]

    def certificate(self, name: str) -> CertificateFacts | None:
        for cert in self.certificates:
            if cert.name.lower() == name.lower():
                return cert
        return None


@dataclass
class DatabaseFacts:
    name: str
    database_id: int
    state: str
    recovery_model: str
    is_read_only: bool
    is_in_standby: bool
    collation: str | None
    is_encrypted: bool
    is_broker_enabled: bool
    is_published: bool
    is_cdc_enabled: bool
    is_distributor: bool
    in_availability_group: str | None
    log_chain_started: bool
    log_files: int
    size_mb: float
    last_full_backup: dt.datetime | None
    copy_only_backups: int
    filestream: bool = False
    memory_optimized: bool = False
    xtp_containers: int = 0
    filetables: int = 0


@dataclass
class ManagedInstanceFacts:
    """What ARM says about one managed instance (filled by the Azure client)."""

    name: str
    resource_group: str
    subscription_id: str
    fqdn: str
    state: str
    database_format: str
    tier: str
    is_general_purpose_v2: bool
    storage_gb: int
    collation: str
    link_count: int
    database_names: list[str] = field(default_factory=list)
    link_names: list[str] = field(default_factory=list)
    in_failover_group: bool | None = None
    used_storage_mb: float | None = None

    @property
    def max_links(self) -> int:
        return 500 if self.is_general_purpose_v2 else 100


def _b(v: Any) -> bool:
    return bool(v) if v is not None else False


def _platform(version_string: str) -> str:
    return "Linux" if " on Linux" in (version_string or "") else "Windows"


async def read_server(sql: SqlRunner) -> ServerFacts:
    """One round trip: server properties, trace flags, endpoint, certificates, AGs, services."""
    result = await sql.query("server_facts")
    props, flags, endpoints, certs, ags, services = (result.sets + [None] * 6)[:6]
    p = props.dicts()[0]
    facts = ServerFacts(
        server_name=p["server_name"] or "",
        version=parse_version(p["product_version"]),
        product_level=p["product_level"] or "",
        update_level=p["product_update_level"],
        edition=p["edition"] or "",
        engine_edition=int(p["engine_edition"] or 0),
        platform=_platform(p["version_string"]),
        hadr_enabled=_b(p["is_hadr_enabled"]),
        hadr_manager_status=p["hadr_manager_status"],
        collation=p["collation"] or "",
        is_sysadmin=_b(p["is_sysadmin"]),
        master_key=int(p["master_keys"] or 0) > 0,
        connect_procs=int(p["connect_procs"] or 0) >= 2,
    )
    if flags is not None:
        facts.trace_flags = {int(r["TraceFlag"]) for r in flags.dicts() if _b(r.get("Status")) and _b(r.get("Global"))}
    if endpoints is not None:
        facts.endpoints = [
            EndpointFacts(r["name"], r["state_desc"] or "", r["role_desc"] or "", r["connection_auth_desc"] or "",
                          r["certificate_name"], r["certificate_expiry"], _b(r["is_encryption_enabled"]),
                          r["encryption_algorithm_desc"] or "", int(r["port"] or 0))
            for r in endpoints.dicts()
        ]
    if certs is not None:
        facts.certificates = [
            CertificateFacts(r["name"], r["subject"] or "", r["issuer_name"] or "", r["start_date"], r["expiry_date"],
                             (r["pvt_key_encryption_type"] or "").strip(), bytes(r["thumbprint"] or b""))
            for r in certs.dicts()
        ]
    if ags is not None:
        facts.availability_groups = ags.dicts()
    if services is not None:
        agent = [r for r in services.dicts() if "agent" in (r["servicename"] or "").lower()]
        facts.agent_running = (agent[0]["status_desc"] == "Running") if agent else None
    return facts


async def read_databases(sql: SqlRunner) -> list[DatabaseFacts]:
    """At most two round trips whatever the number of databases: the list, then the features of
    the databases that have FILESTREAM / memory-optimized containers."""
    rows = (await sql.query("databases")).first.dicts()
    out = [
        DatabaseFacts(
            name=r["name"], database_id=int(r["database_id"]), state=r["state_desc"] or "",
            recovery_model=r["recovery_model_desc"] or "", is_read_only=_b(r["is_read_only"]),
            is_in_standby=_b(r["is_in_standby"]), collation=r["collation_name"], is_encrypted=_b(r["is_encrypted"]),
            is_broker_enabled=_b(r["is_broker_enabled"]),
            is_published=_b(r["is_published"]) or _b(r["is_merge_published"]), is_cdc_enabled=_b(r["is_cdc_enabled"]),
            is_distributor=_b(r["is_distributor"]), in_availability_group=r["ag_name"],
            log_chain_started=r["last_log_backup_lsn"] is not None, log_files=int(r["log_files"] or 0),
            size_mb=float(r["size_mb"] or 0), last_full_backup=r["last_full_backup"],
            copy_only_backups=int(r["copy_only_backups"] or 0),
        )
        for r in rows
    ]
    # FILESTREAM, FileTables and In-Memory OLTP all need a container file (sys.master_files type 2):
    # only those databases need the per-database look, which keeps big instances cheap.
    containers = {r["name"] for r in rows if int(r["filestream_or_xtp_containers"] or 0) > 0}
    online = [d for d in out if d.state == "ONLINE" and d.name in containers]
    if online:
        features = await sql.run(features_batch([d.name for d in online]))
        by_name = {d.name: d for d in online}
        for r in features.first.dicts():
            d = by_name.get(r["db"])
            if d is None:
                continue
            d.filestream = int(r["fd"] or 0) > 0
            d.memory_optimized = int(r["fx"] or 0) > 0 or int(r["xtp_tables"] or 0) > 0
            d.xtp_containers = int(r["fx_files"] or 0)
            d.filetables = int(r["filetables"] or 0)
    return out


def features_batch(names: list[str]) -> str:
    """One statement reading every database's filegroups and tables (UNION ALL, names quoted)."""
    parts = []
    for name in names:
        q, lit = quote_name(name), quote_literal(name)
        parts.append(
            f"SELECT {lit} AS db, "
            f"(SELECT COUNT(*) FROM {q}.sys.filegroups WHERE type = 'FD') AS fd, "
            f"(SELECT COUNT(*) FROM {q}.sys.filegroups WHERE type = 'FX') AS fx, "
            f"(SELECT COUNT(*) FROM {q}.sys.database_files f JOIN {q}.sys.filegroups g "
            f"ON g.data_space_id = f.data_space_id WHERE g.type = 'FX') AS fx_files, "
            f"(SELECT COUNT(*) FROM {q}.sys.tables WHERE is_memory_optimized = 1) AS xtp_tables, "
            f"(SELECT COUNT(*) FROM {q}.sys.tables WHERE is_filetable = 1) AS filetables"
        )
    return "SET NOCOUNT ON;\n" + "\nUNION ALL\n".join(parts) + ";"
