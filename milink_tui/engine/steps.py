"""The link creation steps for a plan: what SSMS's "Finish" does, but each step checkable and undoable."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import statements as st
from .executor import Step
from .facts import SqlRunner
from .plan import LinkPlan, LinkSpec, ManagedInstanceRef
from .tsql import quote_binary, quote_literal


class AzureLinkApi(Protocol):
    """What the steps need from Azure (implemented by clients/azure.py)."""

    async def trust_certificates(self, mi: ManagedInstanceRef) -> list[dict[str, Any]]: ...

    async def upload_trust_certificate(self, mi: ManagedInstanceRef, name: str, der: bytes) -> None: ...

    async def delete_trust_certificate(self, mi: ManagedInstanceRef, name: str) -> None: ...

    async def endpoint_certificate(self, mi: ManagedInstanceRef) -> bytes: ...

    async def get_link(self, mi: ManagedInstanceRef, name: str) -> dict[str, Any] | None: ...

    async def create_link(self, mi: ManagedInstanceRef, name: str, body: dict[str, Any]) -> None: ...

    async def delete_link(self, mi: ManagedInstanceRef, name: str) -> None: ...

    async def delete_database(self, mi: ManagedInstanceRef, name: str) -> None: ...


@dataclass
class Secrets:
    """Kept in memory for the session only; never journaled, logged or exported."""

    master_key_password: str | None = field(default=None, repr=False)


@dataclass
class ExecContext:
    plan: LinkPlan
    sql: SqlRunner
    azure: AzureLinkApi
    secrets: Secrets
    seeding_timeout: float = 3600.0
    poll_interval: float = 1.0
    progress: Any = None  # callable(step_id, fraction, message) for long waits


async def _scalar(sql: SqlRunner, text: str, params: tuple = ()) -> Any:
    res = await sql.run(text, params)
    return res.sets[0].rows[0][0] if res.sets and res.sets[0].rows else None


async def _exists(sql: SqlRunner, text: str, params: tuple = ()) -> bool:
    return bool(await _scalar(sql, text, params))


async def _database_exists(sql: SqlRunner, name: str) -> bool:
    return await _exists(sql, "SELECT COUNT(*) FROM sys.databases WHERE name = ?", (name,))


async def _seeded_into_ag(sql: SqlRunner, spec: LinkSpec) -> bool:
    """The database is joined to this link's SQL-side AG (MI first: seeding put it there).

    Rollback is offered for runs that did not complete; after a completed run and a failover to
    SQL Server the database is the primary and is dropped with the link, never by a rollback."""
    return await _exists(
        sql, "SELECT COUNT(*) FROM sys.databases d "
             "JOIN sys.dm_hadr_database_replica_states rs ON rs.database_id = d.database_id AND rs.is_local = 1 "
             "JOIN sys.availability_groups ag ON ag.group_id = rs.group_id "
             "WHERE d.name = ? AND ag.name = ?", (spec.database, spec.sql_ag))


def root_certificate_der(label: str) -> bytes:
    """A public root CA's DER from the certifi bundle (no download, no embedded blob)."""
    import base64

    import certifi

    pem = open(certifi.where(), encoding="ascii").read()
    m = re.search(rf"# Label: \"{re.escape(label)}\".*?-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----",
                  pem, re.S)
    if not m:
        raise LookupError(f"root certificate {label!r} is not in the CA bundle")
    return base64.b64decode("".join(m.group(1).split()))


# --------------------------------------------------------------------------- instance steps


def instance_steps(plan: LinkPlan) -> list[Step]:
    async def mk_check(c: ExecContext) -> bool:
        return await _exists(c.sql, "SELECT COUNT(*) FROM master.sys.symmetric_keys WHERE symmetric_key_id = 101")

    async def mk_apply(c: ExecContext) -> None:
        if not c.secrets.master_key_password:
            raise ValueError("a master key password is needed (it is kept in memory only)")
        await c.sql.run("USE master;\n" + st.create_master_key(quote_literal(c.secrets.master_key_password)))

    async def mk_undo(c: ExecContext) -> None:
        await c.sql.run("USE master;\n" + st.drop("MASTER KEY", ""))

    async def cert_check(c: ExecContext) -> bool:
        return await _exists(c.sql, "SELECT COUNT(*) FROM master.sys.certificates WHERE name = ?",
                             (plan.certificate_name,))

    async def cert_apply(c: ExecContext) -> None:
        await c.sql.run("USE master;\n" + st.create_certificate(plan))

    async def cert_undo(c: ExecContext) -> None:
        await c.sql.run("USE master;\n" + st.drop("CERTIFICATE", plan.certificate_name))

    async def ep_check(c: ExecContext) -> bool:
        res = await c.sql.run(
            "SELECT e.name, e.state_desc, e.connection_auth_desc, e.is_encryption_enabled, "
            "e.encryption_algorithm_desc, c.name AS cert FROM sys.database_mirroring_endpoints e "
            "LEFT JOIN master.sys.certificates c ON c.certificate_id = e.certificate_id")
        rows = res.sets[0].dicts() if res.sets else []
        if not rows:
            return False
        r = rows[0]
        plan.endpoint_name = r["name"]  # an existing endpoint is reused (only one may exist)
        return (r["state_desc"] == "STARTED" and "CERTIFICATE" in (r["connection_auth_desc"] or "")
                and bool(r["is_encryption_enabled"]) and "AES" in (r["encryption_algorithm_desc"] or ""))

    async def ep_apply(c: ExecContext) -> None:
        exists = await _exists(c.sql, "SELECT COUNT(*) FROM sys.database_mirroring_endpoints")
        await c.sql.run("USE master;\n" + (st.alter_endpoint(plan) if exists else st.create_endpoint(plan)))

    async def ep_undo(c: ExecContext) -> None:
        await c.sql.run("USE master;\n" + st.drop("ENDPOINT", plan.endpoint_name))

    steps = [
        Step("sql.master_key", "Create the database master key", "sql", mk_check, mk_apply, mk_undo),
        Step("sql.certificate", f"Create certificate {plan.certificate_name}", "sql", cert_check, cert_apply,
             cert_undo),
        Step("sql.endpoint", "Secure the database mirroring endpoint", "sql", ep_check, ep_apply, ep_undo),
    ]
    for name, label in st.ROOT_CERTIFICATES.items():
        steps.append(_root_step(name, label))
    steps += [_trust_step(plan), _mi_cert_step(plan)]
    return steps


def _root_step(name: str, label: str) -> Step:
    async def check(c: ExecContext) -> bool:
        return await _exists(c.sql, "SELECT COUNT(*) FROM master.sys.certificates WHERE name = ?", (name,))

    async def apply(c: ExecContext) -> None:
        await c.sql.run("USE master;\n" + st.import_root_certificate(name, quote_binary(root_certificate_der(label))))

    async def undo(c: ExecContext) -> None:
        await c.sql.run("USE master;\n" + st.drop("CERTIFICATE", name))

    return Step(f"sql.root.{name}", f"Import Azure root certificate {name}", "sql", check, apply, undo)


def _trust_step(plan: LinkPlan) -> Step:
    async def own_der(c: ExecContext) -> bytes:
        value = await _scalar(c.sql, "SELECT CERTENCODED(CERT_ID(?))", (plan.certificate_name,))
        if not value:
            raise LookupError(f"certificate {plan.certificate_name} not found on SQL Server")
        return bytes(value)

    async def check(c: ExecContext) -> bool:
        import hashlib

        thumb = hashlib.sha1(await own_der(c)).hexdigest().upper()
        for cert in await c.azure.trust_certificates(plan.mi):
            if (cert.get("thumbprint") or "").upper() == thumb:
                return True
        return False

    async def apply(c: ExecContext) -> None:
        await c.azure.upload_trust_certificate(plan.mi, plan.certificate_name, await own_der(c))

    async def undo(c: ExecContext) -> None:
        await c.azure.delete_trust_certificate(plan.mi, plan.certificate_name)

    return Step("azure.trust_certificate", f"Upload {plan.certificate_name} to {plan.mi.name}", "azure",
                check, apply, undo)


def _mi_cert_step(plan: LinkPlan) -> Step:
    async def check(c: ExecContext) -> bool:
        thumb = await _scalar(c.sql, "SELECT thumbprint FROM master.sys.certificates WHERE name = ?", (plan.mi.fqdn,))
        if thumb is None:
            return False
        import hashlib

        return bytes(thumb) == hashlib.sha1(await c.azure.endpoint_certificate(plan.mi)).digest()

    async def apply(c: ExecContext) -> None:
        der = await c.azure.endpoint_certificate(plan.mi)
        stale = await _exists(c.sql, "SELECT COUNT(*) FROM master.sys.certificates WHERE name = ?", (plan.mi.fqdn,))
        if stale:  # a certificate under the FQDN that does not match: the link would stay disconnected
            await c.sql.run("USE master;\n" + st.drop("CERTIFICATE", plan.mi.fqdn))
        await c.sql.run("USE master;\n" + st.import_mi_certificate(plan, quote_binary(der)))

    async def undo(c: ExecContext) -> None:
        await c.sql.run("USE master;\n" + st.drop("CERTIFICATE", plan.mi.fqdn))

    return Step("sql.mi_certificate", f"Import {plan.mi.name}'s endpoint certificate", "sql", check, apply, undo)


# --------------------------------------------------------------------------- per-link steps


def link_steps(plan: LinkPlan, spec: LinkSpec) -> list[Step]:
    key = spec.database
    steps: list[Step] = []
    if plan.direction == "sql-first":
        async def backup_check(c: ExecContext) -> bool:
            lsn = await _scalar(c.sql, "SELECT rs.last_log_backup_lsn FROM sys.database_recovery_status rs "
                                       "JOIN sys.databases d ON d.database_id = rs.database_id WHERE d.name = ?",
                                (spec.database,))
            return lsn is not None

        async def backup_apply(c: ExecContext) -> None:
            await c.sql.run(st.full_backup(plan, spec.database))

        steps.append(Step(f"link.{key}.backup", f"Full backup of {spec.database} (starts the log chain)", "sql",
                          backup_check, backup_apply, None))

    async def ag_check(c: ExecContext) -> bool:
        return await _exists(c.sql, "SELECT COUNT(*) FROM sys.availability_groups WHERE name = ?", (spec.sql_ag,))

    async def ag_apply(c: ExecContext) -> None:
        if plan.direction == "mi-first" and await _database_exists(c.sql, spec.database):
            # seeding would collide with it, and rollback could no longer tell the copy from the user's own
            raise RuntimeError(f"a database named {spec.database} already exists on SQL Server; "
                               "the managed instance cannot seed into it")
        await c.sql.run("USE master;\n" + st.create_ag(plan, spec))

    async def ag_undo(c: ExecContext) -> None:
        seeded_copy = plan.direction == "mi-first" and await _seeded_into_ag(c.sql, spec)
        await c.sql.run("USE master;\n" + st.drop("AVAILABILITY GROUP", spec.sql_ag))
        if seeded_copy:
            # this run's AG was created empty and ag_apply refused an existing database of that name,
            # so the copy was made by seeding from the managed instance: undoing the run removes it
            await c.sql.run("USE master;\n" + st.drop("DATABASE", spec.database))

    async def dag_check(c: ExecContext) -> bool:
        return await _exists(c.sql, "SELECT COUNT(*) FROM sys.availability_groups WHERE name = ?", (spec.link_name,))

    async def dag_apply(c: ExecContext) -> None:
        await c.sql.run("USE master;\n" + st.create_dag(plan, spec))

    async def dag_undo(c: ExecContext) -> None:
        await c.sql.run("USE master;\n" + st.drop("AVAILABILITY GROUP", spec.link_name))

    async def link_check(c: ExecContext) -> bool:
        return await c.azure.get_link(plan.mi, spec.link_name) is not None

    async def link_apply(c: ExecContext) -> None:
        await c.azure.create_link(plan.mi, spec.link_name, st.link_body(plan, spec))

    async def link_undo(c: ExecContext) -> None:
        await c.azure.delete_link(plan.mi, spec.link_name)
        if plan.direction == "sql-first":
            # the copy this link seeded did not exist before (validation checks that): remove it too
            await c.azure.delete_database(plan.mi, spec.database)

    async def sync_check(c: ExecContext) -> bool:
        return is_synchronizing(await c.azure.get_link(plan.mi, spec.link_name))

    async def sync_apply(c: ExecContext) -> None:
        await wait_for_seeding(c, spec)

    steps += [
        Step(f"link.{key}.ag", f"Create availability group {spec.sql_ag}", "sql", ag_check, ag_apply, ag_undo),
        Step(f"link.{key}.dag", f"Create distributed availability group {spec.link_name}", "sql", dag_check,
             dag_apply, dag_undo),
        Step(f"link.{key}.mi_link", f"Join {plan.mi.name} to link {spec.link_name}", "azure", link_check,
             link_apply, link_undo),
        Step(f"link.{key}.seeding", f"Seed {spec.database} and start synchronizing", "azure", sync_check,
             sync_apply, None),
    ]
    return steps


def is_synchronizing(link: dict[str, Any] | None) -> bool:
    if not link:
        return False
    dbs = link.get("databases") or []
    return bool(dbs) and all(
        d.get("connectedState") == "CONNECTED" and d.get("synchronizationHealth") == "HEALTHY"
        and d.get("replicaState") not in ("CreatingLink", "Seeding") for d in dbs)


async def wait_for_seeding(c: ExecContext, spec: LinkSpec) -> None:
    """Poll the link until every database synchronizes; report seeding progress on the way."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + c.seeding_timeout
    while True:
        link = await c.azure.get_link(c.plan.mi, spec.link_name)
        if is_synchronizing(link):
            return
        dbs = (link or {}).get("databases") or [{}]
        d = dbs[0]
        if d.get("mostRecentLinkError") and "Error" in (d.get("replicaState") or ""):
            raise RuntimeError(f"link error {d['mostRecentLinkError']}: {d.get('replicaState')}")
        if c.progress:
            pct = (d.get("seedingProgress") or "0%").rstrip("%")
            c.progress(f"link.{spec.database}.seeding", float(pct or 0) / 100,
                       f"{d.get('replicaState', 'waiting')} {d.get('seedingProgress') or ''}".strip())
        if loop.time() > deadline:
            raise TimeoutError(f"{spec.database} did not finish seeding in {c.seeding_timeout:.0f} s")
        await asyncio.sleep(c.poll_interval)


def build_steps(plan: LinkPlan) -> list[Step]:
    """Every step of the plan in execution order."""
    steps = instance_steps(plan)
    for spec in plan.links:
        steps += link_steps(plan, spec)
    return steps
