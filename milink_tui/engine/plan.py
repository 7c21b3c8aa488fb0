"""The link plan: one link per database, with every name and endpoint settled and validated.

A plan is pure data (JSON-serialisable, no secrets) so it can be shown on the Summary page,
exported as scripts, written to the journal and resumed after a crash.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Literal

Direction = Literal["sql-first", "mi-first"]

# ARM resource names for links: letters, digits, hyphens and underscores; SQL AG names: sysname.
LINK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class PlanError(ValueError):
    """A plan that cannot work; the message says which field and why."""


@dataclass
class LinkSpec:
    """One link = one DAG on SQL Server = one ARM distributedAvailabilityGroups resource."""

    database: str
    link_name: str
    sql_ag: str
    mi_ag: str


@dataclass
class ManagedInstanceRef:
    name: str
    resource_group: str
    subscription_id: str
    fqdn: str


@dataclass
class LinkPlan:
    direction: Direction
    sql_server_name: str  # @@SERVERNAME
    sql_endpoint_host: str  # IP or DNS name the managed instance reaches SQL Server on
    mi: ManagedInstanceRef
    links: list[LinkSpec]
    endpoint_name: str = "database_mirroring_endpoint"
    endpoint_port: int = 5022
    certificate_name: str = ""
    certificate_expiry: dt.date = field(default_factory=lambda: dt.date.today() + dt.timedelta(days=365))
    replication_mode: Literal["Async", "Sync"] = "Async"
    failover_mode: Literal["Manual", "None"] = "Manual"
    seeding_mode: Literal["Automatic", "Manual"] = "Automatic"
    backup_path: str = "NUL"  # where the wizard's full backups go (when one is needed)

    def __post_init__(self) -> None:
        if not self.certificate_name:
            self.certificate_name = certificate_name_for(self.sql_server_name)

    @property
    def sql_endpoint_url(self) -> str:
        return f"TCP://{self.sql_endpoint_host}:{self.endpoint_port}"

    def mi_listener_url(self, spec: LinkSpec) -> str:
        url = f"tcp://{self.mi.fqdn}:5022;Server=[{self.mi.name}]"
        if self.direction == "mi-first":
            url += f";Database=[{spec.database}]"
        return url

    @property
    def mi_role(self) -> str:
        return "Primary" if self.direction == "mi-first" else "Secondary"

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["certificate_expiry"] = self.certificate_expiry.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LinkPlan:
        data = dict(data)
        data["mi"] = ManagedInstanceRef(**data["mi"])
        data["links"] = [LinkSpec(**x) for x in data["links"]]
        data["certificate_expiry"] = dt.date.fromisoformat(data["certificate_expiry"])
        return cls(**data)


def certificate_name_for(server_name: str) -> str:
    """``Cert_<@@SERVERNAME>_endpoint``, with the ``\\`` of a named instance replaced (the docs forbid it)."""
    return f"Cert_{server_name.replace(chr(92), '_')}_endpoint"


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("_-") or "db"


def link_specs(databases: list[str], base_name: str | None = None) -> list[LinkSpec]:
    """One link per database. With several databases a chosen base name is suffixed with each
    database name (the SSMS convention); without one, ``DAG_<db>``."""
    if not databases:
        raise PlanError("Choose at least one database.")
    if len({d.lower() for d in databases}) != len(databases):
        raise PlanError("A database was chosen twice.")
    specs = []
    for db in databases:
        if base_name:
            name = base_name if len(databases) == 1 else f"{base_name}_{_safe(db)}"
        else:
            name = f"DAG_{_safe(db)}"
        specs.append(LinkSpec(db, name[:128], f"AG_{db}"[:128], f"AG_{db}_MI"[:128]))
    return specs


def validate(plan: LinkPlan, existing_links: list[str] = (), existing_ags: list[str] = ()) -> None:
    """Raise PlanError for the first problem a DBA must fix before anything runs."""
    if not plan.links:
        raise PlanError("The plan has no links.")
    seen: set[str] = set()
    taken = {n.lower() for n in existing_links}
    ags = {n.lower() for n in existing_ags}
    for spec in plan.links:
        if not LINK_NAME.match(spec.link_name):
            raise PlanError(f"Link name {spec.link_name!r}: use letters, digits, '-' and '_' (1–128, starting with "
                            "a letter or digit).")
        if spec.link_name.lower() in seen:
            raise PlanError(f"Link name {spec.link_name!r} is used twice.")
        seen.add(spec.link_name.lower())
        if spec.link_name.lower() in taken:
            raise PlanError(f"A link named {spec.link_name!r} already exists on {plan.mi.name}.")
        if spec.link_name.lower() in ags:
            raise PlanError(f"An availability group named {spec.link_name!r} already exists on SQL Server.")
        for label, value in (("SQL Server AG", spec.sql_ag), ("managed instance AG", spec.mi_ag)):
            if not value or len(value) > 128:
                raise PlanError(f"{label} name must be 1–128 characters.")
    if not plan.sql_endpoint_host or any(c in plan.sql_endpoint_host for c in " /;[]"):
        raise PlanError("The SQL Server address must be an IP address or DNS name the managed instance can reach.")
    if not 1 <= plan.endpoint_port <= 65535:
        raise PlanError("The endpoint port must be between 1 and 65535.")
    if "\\" in plan.certificate_name:
        raise PlanError("The certificate name must not contain '\\'.")
    if plan.direction == "mi-first" and plan.failover_mode != "Manual":
        raise PlanError("A link with the managed instance as initial primary is two-way: failover mode Manual.")


def count_of(n: int, noun: str) -> str:
    """``1 link``, ``2 links``: counts read as English on every screen and script header."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
