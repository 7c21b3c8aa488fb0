"""Per-database eligibility (the Select Databases page): every rule in domain.md §3, each with its reason."""

from __future__ import annotations

from dataclasses import dataclass, field

from .facts import DatabaseFacts, ManagedInstanceFacts


@dataclass
class Eligibility:
    database: DatabaseFacts
    reasons: list[str] = field(default_factory=list)  # blocking
    warnings: list[str] = field(default_factory=list)  # advisory

    @property
    def eligible(self) -> bool:
        return not self.reasons

    @property
    def status(self) -> str:
        """Glyph + word for the table."""
        if self.reasons:
            return "✗ Not eligible"
        return "▲ Ready (see notes)" if self.warnings else "✓ Ready"


SYSTEM_DATABASES = {"master", "model", "msdb", "tempdb", "distribution"}


def evaluate(db: DatabaseFacts, mi: ManagedInstanceFacts | None = None) -> Eligibility:
    e = Eligibility(db)
    r, w = e.reasons, e.warnings
    if db.name.lower() in SYSTEM_DATABASES or db.database_id <= 4 or db.is_distributor:
        r.append("System databases cannot be linked; script instance objects separately.")
    if db.state != "ONLINE":
        r.append(f"The database is {db.state}; it must be ONLINE.")
    if db.is_read_only:
        r.append("The database is read-only; it must be read-write.")
    if db.is_in_standby:
        r.append("The database is in standby; it must be fully recovered.")
    if db.recovery_model != "FULL":
        r.append(f"Recovery model is {db.recovery_model}; the link needs FULL "
                 "(ALTER DATABASE … SET RECOVERY FULL, then a full backup).")
    elif not db.log_chain_started or db.last_full_backup is None:
        if db.copy_only_backups and db.last_full_backup is None:
            r.append("Only COPY_ONLY full backups exist, so the log chain never started (error 1475). "
                     "Take a full backup without COPY_ONLY.")
        else:
            r.append("No full backup since the database entered FULL recovery (error 1475). Take a full backup.")
    if db.log_files > 1:
        r.append(f"The database has {db.log_files} log files; a managed instance supports one.")
    if db.filestream or db.filetables:
        r.append("FILESTREAM / FileTable is not supported on a managed instance.")
    if db.memory_optimized:
        if mi is not None and mi.tier != "BusinessCritical":
            r.append("In-Memory OLTP needs a Business Critical managed instance (this one is General Purpose).")
        elif db.xtp_containers > 1:
            r.append("Several In-Memory OLTP containers are not supported on a managed instance.")
        else:
            w.append("In-Memory OLTP: the managed instance must be Business Critical.")
    if db.in_availability_group:
        w.append(f"Already in availability group {db.in_availability_group}: that AG is reused for the link "
                 "(it must contain only this database).")
    if db.is_encrypted:
        w.append("TDE: migrate the TDE certificate to the managed instance before creating the link.")
    if db.is_published:
        w.append("Replication publisher: reconfigure replication after a failover.")
    if db.is_cdc_enabled:
        w.append("CDC: reconfigure change data capture after a failover.")
    if mi is not None:
        if db.name.lower() in {n.lower() for n in mi.database_names}:
            r.append(f"A database named {db.name} already exists on {mi.name}.")
        free = mi.storage_gb * 1024 - (mi.used_storage_mb or 0)
        if db.size_mb > free:
            r.append(f"{db.size_mb:,.0f} MB does not fit the {free:,.0f} MB free on {mi.name}.")
    return e


def evaluate_all(dbs: list[DatabaseFacts], mi: ManagedInstanceFacts | None = None) -> list[Eligibility]:
    return [evaluate(d, mi) for d in dbs]
