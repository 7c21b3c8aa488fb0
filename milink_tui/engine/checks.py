"""Instance requirements (the SSMS Requirements page and more), as pure functions of facts.

Each check yields an id, a status (pass / warn / fail / skip), the evidence it read, a plain
explanation, a remediation (T-SQL, an Azure action or a service step) and a doc link. A
``fix`` names a remediation milink can apply safely itself (see ``fixes.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from .facts import DatabaseFacts, ManagedInstanceFacts, ServerFacts

if TYPE_CHECKING:
    from .network import NetworkReport
from .versions import MAJOR_NAMES, MATCHING_POLICY, fmt, support_for

Status = Literal["pass", "warn", "fail", "skip"]
Direction = Literal["sql-first", "mi-first"]

DOCS = "https://learn.microsoft.com/azure/azure-sql/managed-instance/"
DOC_PREP = DOCS + "managed-instance-link-preparation"
DOC_SCRIPTS = DOCS + "managed-instance-link-configure-how-to-scripts"
DOC_TROUBLE = DOCS + "managed-instance-link-troubleshoot-how-to"
DOC_OVERVIEW = DOCS + "managed-instance-link-feature-overview"

GLYPH = {"pass": "✓", "warn": "▲", "fail": "✗", "skip": "–"}
CERT_WARN_DAYS = 30


@dataclass
class CheckResult:
    id: str
    title: str
    status: Status
    evidence: str
    explanation: str
    remediation: str = ""
    fix: str | None = None  # id of an automatic fix in fixes.py
    doc: str = DOC_PREP
    tab: Literal["server", "ag", "mi", "network"] = "server"

    @property
    def blocking(self) -> bool:
        """A failed network test advises but never blocks: TCP probes have false negatives (ICMP,
        packet inspection) and the DBA may be opening the ports while the wizard runs."""
        return self.status == "fail" and self.tab != "network"

    @property
    def label(self) -> str:
        """Glyph + word: status is never colour alone."""
        return f"{GLYPH[self.status]} {self.status.upper()}"


@dataclass
class CheckContext:
    server: ServerFacts
    direction: Direction = "sql-first"
    two_way: bool = False
    mi: ManagedInstanceFacts | None = None
    databases: list[DatabaseFacts] = field(default_factory=list)  # the ones chosen
    network: NetworkReport | None = None  # the last Network Checker run, if any
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))


def check_version(c: CheckContext) -> CheckResult:
    s = c.server
    sup = support_for(s.version)
    ev = f"{MAJOR_NAMES.get(s.major, f'major {s.major}')} {fmt(s.version)} {s.update_level or s.product_level}"
    title = "SQL Server: Version check"
    if sup is None:
        return CheckResult("version", title, "fail", ev,
                           "This SQL Server version cannot host a Managed Instance link (2016 SP3 or later only).",
                           "Upgrade SQL Server to 2022 or 2025.", doc=DOC_OVERVIEW)
    minimum = sup.minimum_mi_first if c.direction == "mi-first" else sup.minimum_sql_first
    if minimum is None:
        return CheckResult("version", title, "fail", ev,
                           f"{sup.name} cannot receive a link from a managed instance (it needs SQL Server 2022 "
                           "CU10 or later).", "Use SQL Server as the initial primary, or upgrade.", doc=DOC_OVERVIEW)
    if s.version < minimum:
        return CheckResult("version", title, "fail", ev,
                           f"{sup.name} needs build {fmt(minimum)} or later for this direction. {sup.note}",
                           f"Install the cumulative update that brings build {fmt(minimum)} or later, then restart.",
                           doc=DOC_OVERVIEW)
    if c.two_way and not sup.two_way:
        return CheckResult("version", title, "warn", ev,
                           f"{sup.name} supports one-way links only: failing over to the managed instance ends the "
                           "link and there is no way back.", "Use SQL Server 2022 or 2025 for two-way disaster recovery.",
                           doc=DOC_OVERVIEW)
    note = "" if sup.two_way else " One way only: a failover to the managed instance ends the link."
    return CheckResult("version", title, "pass", ev, f"{sup.name} at this build supports the link.{note}",
                       doc=DOC_OVERVIEW)


def check_edition(c: CheckContext) -> CheckResult:
    s = c.server
    ev = f"{s.edition} (EngineEdition {s.engine_edition})"
    if s.engine_edition == 4 or "express" in s.edition.lower():
        return CheckResult("edition", "SQL Server: Edition", "fail", ev,
                           "Express edition cannot host availability groups.",
                           "Use Enterprise, Developer or Standard edition.", doc=DOC_OVERVIEW)
    if s.engine_edition == 2:
        return CheckResult("edition", "SQL Server: Edition", "warn", ev,
                           "Standard edition uses basic availability groups: one database per link, no multi-database "
                           "links.", doc=DOC_OVERVIEW)
    return CheckResult("edition", "SQL Server: Edition", "pass", ev, "This edition supports the link.", doc=DOC_OVERVIEW)


def check_platform(c: CheckContext) -> CheckResult:
    s = c.server
    if s.major == 13 and s.platform != "Windows":
        return CheckResult("platform", "SQL Server: Host platform", "fail", s.platform,
                           "SQL Server 2016 links are supported on Windows only.", doc=DOC_OVERVIEW)
    return CheckResult("platform", "SQL Server: Host platform", "pass", s.platform,
                       "The host platform is supported.", doc=DOC_OVERVIEW)


def check_hadr(c: CheckContext) -> CheckResult:
    s = c.server
    ev = f"IsHadrEnabled = {int(s.hadr_enabled)}"
    if s.hadr_enabled:
        return CheckResult("hadr", "SQL Server: Always On Availability Groups", "pass", ev,
                           "Always On availability groups are enabled.")
    how = ("sudo /opt/mssql/bin/mssql-conf set hadr.hadrenabled 1 && sudo systemctl restart mssql-server"
           if s.platform == "Linux" else
           "SQL Server Configuration Manager → SQL Server service → Always On Availability Groups tab → "
           "Enable, then restart the service.")
    return CheckResult("hadr", "SQL Server: Always On Availability Groups", "fail", ev,
                       "The link is a distributed availability group, so Always On must be enabled. Enabling it "
                       "restarts the SQL Server service: plan it.", how)


def check_sysadmin(c: CheckContext) -> CheckResult:
    ok = c.server.is_sysadmin
    return CheckResult("sysadmin", "SQL Server: Sysadmin role membership", "pass" if ok else "fail",
                       f"IS_SRVROLEMEMBER('sysadmin') = {int(ok)}",
                       "Creating certificates, endpoints and availability groups needs sysadmin."
                       if not ok else "The login is a member of sysadmin.",
                       "" if ok else "Connect with a sysadmin login.")


def check_trace_flags(c: CheckContext) -> list[CheckResult]:
    out = []
    for flag, why in ((1800, "aligns log I/O sizes between SQL Server and the managed instance's storage"),
                      (9567, "compresses the initial seeding stream, which shortens seeding")):
        on = flag in c.server.trace_flags
        out.append(CheckResult(
            f"tf{flag}", f"Recommended trace flag {flag}", "pass" if on else "warn",
            f"trace flag {flag} {'on (global)' if on else 'not enabled globally'}",
            f"Trace flag {flag} {why}. Recommended, not required.",
            "" if on else (f"Add -T{flag} to the startup parameters and restart (Linux: "
                           f"sudo /opt/mssql/bin/mssql-conf traceflag {flag} on). Until then: DBCC TRACEON({flag}, -1);"),
            fix=None if on else f"traceon:{flag}", doc=DOC_PREP))
    return out


def check_master_key(c: CheckContext) -> CheckResult:
    ok = c.server.master_key
    return CheckResult("master_key", "Database master key in master", "pass" if ok else "warn",
                       "master.sys.symmetric_keys id 101 " + ("present" if ok else "absent"),
                       "The master key protects the endpoint certificate's private key." +
                       ("" if ok else " milink creates it during the link setup (you choose its password)."),
                       "" if ok else "USE master; CREATE MASTER KEY ENCRYPTION BY PASSWORD = N'$(MasterKeyPassword)';",
                       fix=None if ok else "master_key", tab="ag", doc=DOC_SCRIPTS)


def _endpoint_problems(e) -> list[str]:
    problems = []
    if e.state != "STARTED":
        problems.append(f"state is {e.state}")
    if "CERTIFICATE" not in e.connection_auth.upper():
        problems.append("certificate authentication is not enabled")
    if not e.encryption_enabled:
        problems.append("encryption is not required")
    if "AES" not in e.algorithm.upper():
        problems.append(f"algorithm is {e.algorithm or 'none'}, not AES")
    if e.role not in ("ALL", "PARTNER"):
        problems.append(f"role is {e.role}")
    return problems


def check_endpoint(c: CheckContext) -> CheckResult:
    eps = c.server.endpoints
    title = "Database mirroring endpoint"
    if not eps:
        return CheckResult("endpoint", title, "warn", "no DATABASE_MIRRORING endpoint",
                           "The link talks over the database mirroring endpoint (TCP 5022). milink creates it, "
                           "secured with the endpoint certificate.", "CREATE ENDPOINT … (see the exported script)",
                           fix="endpoint", tab="ag", doc=DOC_SCRIPTS)
    e = eps[0]
    ev = (f"{e.name}: {e.state}, {e.role}, auth {e.connection_auth}, encryption "
          f"{'on' if e.encryption_enabled else 'off'} {e.algorithm}, port {e.port}")
    problems = _endpoint_problems(e)
    if problems:
        return CheckResult("endpoint", title, "fail", ev,
                           "The existing endpoint cannot carry the link: " + "; ".join(problems) + ".",
                           "ALTER ENDPOINT with STATE = STARTED, AUTHENTICATION = WINDOWS NEGOTIATE CERTIFICATE "
                           "[<certificate>], ENCRYPTION = REQUIRED ALGORITHM AES (keeps Windows auth for existing AGs).",
                           fix="endpoint", tab="ag", doc=DOC_SCRIPTS)
    note = "" if e.port == 5022 else f" It listens on {e.port}; make sure firewalls allow that port."
    return CheckResult("endpoint", title, "pass", ev, "The endpoint is ready for the link." + note, tab="ag")


def check_endpoint_certificate(c: CheckContext) -> CheckResult:
    title = "Endpoint certificate"
    eps = c.server.endpoints
    name = eps[0].certificate_name if eps else None
    cert = c.server.certificate(name) if name else None
    if cert is None:
        return CheckResult("endpoint_cert", title, "warn", "no certificate bound to the endpoint",
                           "The link authenticates with certificates only. milink creates "
                           f"Cert_{c.server.server_name.replace(chr(92), '_')}_endpoint.", fix="endpoint", tab="ag",
                           doc=DOC_SCRIPTS)
    if cert.expiry is None:
        return CheckResult("endpoint_cert", title, "warn", cert.name, "The certificate has no expiry date recorded.",
                           tab="ag")
    days = (cert.expiry - c.now).total_seconds() / 86400
    ev = f"{cert.name} expires {cert.expiry:%Y-%m-%d} ({days:.0f} days)"
    if days < 0:
        return CheckResult("endpoint_cert", title, "fail", ev, "The endpoint certificate has expired: the link "
                           "cannot connect.", "Rotate it: create a new certificate, upload it to the managed "
                           "instance, ALTER ENDPOINT to use it, then drop the old one.", tab="ag",
                           doc=DOCS + "managed-instance-link-best-practices")
    if days < CERT_WARN_DAYS:
        return CheckResult("endpoint_cert", title, "warn", ev, "The endpoint certificate expires soon.",
                           "Plan a rotation before it expires.", tab="ag",
                           doc=DOCS + "managed-instance-link-best-practices")
    return CheckResult("endpoint_cert", title, "pass", ev, "The certificate is valid.", tab="ag")


def check_root_certificates(c: CheckContext) -> CheckResult:
    have = {cert.name for cert in c.server.certificates}
    missing = [n for n in ("MicrosoftPKI", "DigiCertPKI") if n not in have]
    ok = not missing
    return CheckResult("root_cas", "Azure root certificates", "pass" if ok else "warn",
                       "present" if ok else "missing: " + ", ".join(missing),
                       "SQL Server must trust the CAs that issue managed instance certificates." +
                       ("" if ok else " milink imports them and binds them with sp_certificate_add_issuer."),
                       fix=None if ok else "root_cas", tab="ag", doc=DOC_SCRIPTS)


def check_connect_pack(c: CheckContext) -> CheckResult:
    s = c.server
    if s.major not in (13, 14):
        return CheckResult("connect_pack", "Azure Connect pack", "skip", f"not needed on {MAJOR_NAMES.get(s.major)}",
                           "Only SQL Server 2016 and 2017 need the Azure Connect pack.")
    ok = s.connect_procs
    return CheckResult("connect_pack", "Azure Connect pack", "pass" if ok else "fail",
                       "sp_certificate_add_issuer and sp_get_endpoint_certificate " + ("present" if ok else "missing"),
                       "SQL Server 2016/2017 understand the link only with the Azure Connect pack installed.",
                       "" if ok else "Install the Azure Connect pack for your version, then restart.")


def check_collation(c: CheckContext) -> CheckResult:
    if c.mi is None:
        return CheckResult("collation", "Collation matches the managed instance", "skip", c.server.collation,
                           "Checked once a managed instance is chosen.", tab="mi")
    same = c.server.collation.lower() == c.mi.collation.lower()
    return CheckResult("collation", "Collation matches the managed instance", "pass" if same else "fail",
                       f"SQL Server {c.server.collation}, managed instance {c.mi.collation}",
                       "The server collations must match, or server-name casing can prevent the connection.",
                       "" if same else "Choose a managed instance with the same collation.", tab="mi",
                       doc=DOC_SCRIPTS)


def check_seeding_log_guard(c: CheckContext) -> CheckResult:
    on = 12381 in c.server.trace_flags
    return CheckResult("tf12381", "Log truncation guard while seeding (trace flag 12381)",
                       "pass" if on else "warn", f"trace flag 12381 {'on' if on else 'off'}",
                       "A log backup taken while seeding runs can truncate log the seed still needs (errors "
                       "1408/1412) and the link must then be recreated. Trace flag 12381 prevents that; turn it off "
                       "after seeding. Otherwise pause log backups until seeding completes.",
                       "" if on else "DBCC TRACEON(12381, -1);", fix=None if on else "traceon:12381",
                       doc=DOC_TROUBLE)


def check_mi(c: CheckContext) -> list[CheckResult]:
    mi = c.mi
    if mi is None:
        return []
    out = [CheckResult("mi_state", "Managed instance is ready", "pass" if mi.state == "Ready" else "fail",
                       f"{mi.name}: {mi.state}", "The managed instance must be Ready.", tab="mi")]
    wanted = MATCHING_POLICY.get(c.server.major)
    policy_ok = wanted is not None and mi.database_format == wanted
    if c.direction == "mi-first" or c.two_way:
        out.append(CheckResult(
            "mi_policy", "Update policy allows two-way disaster recovery", "pass" if policy_ok else "fail",
            f"update policy {mi.database_format}; SQL Server {c.server.major}",
            "Failing back to SQL Server (and a managed instance as initial primary) needs the managed instance's "
            f"update policy to match SQL Server ({wanted or 'SQL Server 2022/2025 only'}).",
            "" if policy_ok else "Choose an instance with the matching update policy, or link one way only.", tab="mi",
            doc=DOC_OVERVIEW))
    elif not policy_ok:
        out.append(CheckResult(
            "mi_policy", "Update policy allows failback", "warn", f"update policy {mi.database_format}",
            "With this update policy you can fail over to the managed instance, but not back.", tab="mi",
            doc=DOC_OVERVIEW))
    if mi.in_failover_group:
        out.append(CheckResult("mi_fog", "Not in a failover group", "fail", "instance is in a failover group",
                               "A managed instance in a failover group cannot host a link.", tab="mi"))
    room = mi.max_links - mi.link_count
    out.append(CheckResult("mi_link_limit", "Link count limit", "pass" if room >= max(1, len(c.databases)) else "fail",
                           f"{mi.link_count} of {mi.max_links} links used", "Each instance has a link limit.",
                           tab="mi", doc=DOC_OVERVIEW))
    if c.databases:
        need = sum(d.size_mb for d in c.databases)
        free = mi.storage_gb * 1024 - (mi.used_storage_mb or 0)
        out.append(CheckResult("mi_storage", "Enough storage on the managed instance",
                               "pass" if need <= free else "fail",
                               f"needs {need:,.0f} MB, {free:,.0f} MB free", "The databases must fit the instance's "
                               "reserved storage.", "" if need <= free else "Increase the instance's storage.",
                               tab="mi"))
        in_memory = [d.name for d in c.databases if d.memory_optimized]
        if in_memory and mi.tier != "BusinessCritical":
            out.append(CheckResult("mi_tier", "In-Memory OLTP needs Business Critical", "fail",
                                   f"{', '.join(in_memory)} on {mi.tier}",
                                   "General Purpose instances have no In-Memory OLTP.",
                                   "Choose a Business Critical instance.", tab="mi"))
        clashes = [d.name for d in c.databases if d.name.lower() in {n.lower() for n in mi.database_names}]
        out.append(CheckResult("mi_db_absent", "Database absent on the managed instance",
                               "fail" if clashes and c.direction == "sql-first" else "pass",
                               ", ".join(clashes) or "no clash", "A database of the same name must not exist there.",
                               tab="mi"))
    return out


def check_network(c: CheckContext) -> list[CheckResult]:
    """Reachability SQL Server -> managed instance: the last test's rows, or why there are none."""
    title = "Network test: SQL Server → managed instance"
    if c.network is not None:
        return list(c.network.results)
    if c.server.platform == "Linux":
        return [CheckResult("net_test", title, "warn", "SQL Server on Linux",
                            "The documented test is a PowerShell SQL Agent job, and Agent on Linux has no PowerShell "
                            "subsystem: milink cannot run it here. Have the network team confirm outbound TCP 5022 "
                            "and 11000–11999 to the instance subnet (and inbound 5022 from it).",
                            "# on the SQL Server host: timeout 5 bash -c '</dev/tcp/<managed instance FQDN>/5022'",
                            tab="network")]
    return [CheckResult("net_test", title, "skip", "not tested yet",
                        "Run the test on the Network Checker page (tick Enable connectivity troubleshooting on Specify "
                        "Link Options): it creates, runs and deletes a SQL Agent job on SQL Server.",
                        tab="network")]


SERVER_CHECKS: list[Callable[[CheckContext], CheckResult | list[CheckResult]]] = [
    check_version, check_edition, check_platform, check_hadr, check_sysadmin, check_trace_flags,
    check_connect_pack, check_master_key, check_endpoint, check_endpoint_certificate, check_root_certificates,
    check_collation, check_seeding_log_guard, check_mi, check_network,
]


def run_checks(ctx: CheckContext) -> list[CheckResult]:
    """Every check over the same facts (pure: no I/O, so the page re-validates instantly)."""
    out: list[CheckResult] = []
    for check in SERVER_CHECKS:
        r = check(ctx)
        out.extend(r if isinstance(r, list) else [r])
    return out


def blocking(results: list[CheckResult]) -> list[CheckResult]:
    return [r for r in results if r.blocking]
