"""What the wizard knows and what the user chose — plain data, no Textual.

Every page reads and writes this one object, so Back/Next keep what was typed and the page
order can change (connectivity troubleshooting, direction) without losing anything. The plan
is derived from it on demand; secrets live in :class:`~milink_tui.engine.steps.Secrets`, never
here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from milink_tui.engine.plan import Direction, LinkPlan, LinkSpec, ManagedInstanceRef, link_specs

if TYPE_CHECKING:
    from milink_tui.clients.azure import Identity, ManagedInstanceInfo, SubscriptionInfo
    from milink_tui.engine.checks import CheckResult
    from milink_tui.engine.eligibility import Eligibility
    from milink_tui.engine.facts import DatabaseFacts, ManagedInstanceFacts, ServerFacts
    from milink_tui.engine.network import NetworkReport


@dataclass
class MiDatabaseRow:
    """A database on the managed instance (managed instance as initial primary)."""

    name: str
    reasons: list[str] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return not self.reasons

    @property
    def status(self) -> str:
        return "✗ Not eligible" if self.reasons else "✓ Ready"


@dataclass
class WizardState:
    direction: Direction = "sql-first"
    link_name: str = ""
    troubleshooting: bool = False
    two_way: bool = True
    # SQL Server
    server: ServerFacts | None = None
    databases: list[DatabaseFacts] = field(default_factory=list)
    eligibility: list[Eligibility] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    selected: list[str] = field(default_factory=list)
    # Azure
    identity: Identity | None = None
    subscriptions: list[SubscriptionInfo] = field(default_factory=list)
    subscription: SubscriptionInfo | None = None
    resource_groups: list[str] = field(default_factory=list)
    resource_group: str | None = None
    instances: list[ManagedInstanceInfo] = field(default_factory=list)
    mi: ManagedInstanceInfo | None = None
    mi_facts: ManagedInstanceFacts | None = None
    mi_databases: list[MiDatabaseRow] = field(default_factory=list)
    # Endpoints / Backups / Link endpoint tabs
    endpoint_name: str = "database_mirroring_endpoint"
    endpoint_port: int = 5022
    sql_endpoint_host: str = ""
    certificate_name: str = ""
    backup_path: str = "NUL"
    replication_mode: str = "Async"
    certificate_expiry: dt.date | None = None  # None: a year from today
    ag_overrides: dict[str, tuple[str, str]] = field(default_factory=dict)  # database -> (sql_ag, mi_ag)
    # Network Checker: the last test and the redirect target the user typed (node:port)
    network_report: NetworkReport | None = None
    mi_redirect: str = ""
    # results of later pages
    validation: list[CheckResult] = field(default_factory=list)
    plan_error: str = ""
    run_id: str = ""
    run_plan: LinkPlan | None = None  # the plan being (or last) executed, fixed at Finish
    run_outcome: str = ""  # "", "running", "done", "failed", "cancelled", "rolled-back"
    step_counts: dict[str, int] = field(default_factory=dict)
    link_states: dict[str, dict[str, Any]] = field(default_factory=dict)

    # ------------------------------------------------------------- derived

    @property
    def mi_first(self) -> bool:
        return self.direction == "mi-first"

    def eligible_names(self) -> list[str]:
        if self.mi_first:
            return [r.name for r in self.mi_databases if r.eligible]
        return [e.database.name for e in self.eligibility if e.eligible]

    def specs(self) -> list[LinkSpec]:
        """One link per selected database; several get the link name suffixed (SSMS convention)."""
        base = self.link_name.strip() or None
        specs = link_specs(list(self.selected), base)
        for spec in specs:
            if spec.database in self.ag_overrides:
                spec.sql_ag, spec.mi_ag = self.ag_overrides[spec.database]
        return specs

    def plan(self) -> LinkPlan:
        """The plan the Summary shows and the executor runs (raises PlanError when incomplete)."""
        from milink_tui.engine.plan import PlanError

        if self.server is None:
            raise PlanError("SQL Server has not been read yet.")
        if self.mi is None:
            raise PlanError("Choose a managed instance.")
        kwargs: dict[str, Any] = {}
        if self.certificate_name:
            kwargs["certificate_name"] = self.certificate_name
        if self.certificate_expiry is not None:
            kwargs["certificate_expiry"] = self.certificate_expiry
        return LinkPlan(
            direction=self.direction, sql_server_name=self.server.server_name,
            sql_endpoint_host=self.sql_endpoint_host.strip(),
            mi=ManagedInstanceRef(self.mi.name, self.mi.resource_group, self.mi.subscription_id, self.mi.fqdn),
            links=self.specs(), endpoint_name=self.endpoint_name.strip() or "database_mirroring_endpoint",
            endpoint_port=int(self.endpoint_port), replication_mode=self.replication_mode,  # type: ignore[arg-type]
            failover_mode="Manual" if (self.two_way or self.mi_first) else "None",
            backup_path=self.backup_path.strip() or "NUL", **kwargs)
