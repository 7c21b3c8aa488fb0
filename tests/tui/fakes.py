"""Canned data for snapshots and fast Pilot tests: a backend with no network and a fixed clock.

The data mirror the lab's `fresh` scenario (SQLLAB01, SalesDb/Orders/CRM eligible, one database
per eligibility rule, three managed instances), so snapshots look like the gallery.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from milink_tui.clients.auth import SignIn
from milink_tui.clients.azure import Identity, ManagedInstanceInfo, SubscriptionInfo
from milink_tui.engine.executor import StepEvent
from milink_tui.engine.facts import (
    CertificateFacts,
    DatabaseFacts,
    EndpointFacts,
    ManagedInstanceFacts,
    ServerFacts,
)
from milink_tui.engine.fixes import FixOutcome
from milink_tui.engine.journal import Journal
from milink_tui.engine.plan import LinkPlan, ManagedInstanceRef
from milink_tui.engine.steps import Secrets, build_steps
from milink_tui.engine.versions import parse_version

NOW = dt.datetime(2026, 11, 23, 12, 0)
SUB = "5f1c3a9e-0b7d-4c62-9a51-2d8e6f4b7c10"


def server(**kw: Any) -> ServerFacts:
    base: dict[str, Any] = dict(
        server_name="SQLLAB01", version=parse_version("16.0.4135.4"), product_level="RTM", update_level="CU15",
        edition="Developer Edition (64-bit)", engine_edition=3, platform="Linux", hadr_enabled=False,
        hadr_manager_status=None, collation="SQL_Latin1_General_CP1_CI_AS", is_sysadmin=True, master_key=False,
        connect_procs=False, trace_flags=set(), agent_running=None)
    base.update(kw)
    return ServerFacts(**base)


def ready_server() -> ServerFacts:
    cert = CertificateFacts("Cert_SQLLAB01_endpoint", "Certificate for Cert_SQLLAB01_endpoint", "x",
                            NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=365), "MK", b"\x01" * 20)
    ep = EndpointFacts("database_mirroring_endpoint", "STARTED", "ALL", "CERTIFICATE", cert.name, cert.expiry,
                       True, "AES", 5022)
    return server(hadr_enabled=True, hadr_manager_status=1, master_key=True, trace_flags={1800, 9567, 12381},
                  endpoints=[ep], certificates=[cert,
                                                dataclasses.replace(cert, name="MicrosoftPKI"),
                                                dataclasses.replace(cert, name="DigiCertPKI")])


def db(name: str, size: float, **kw: Any) -> DatabaseFacts:
    base: dict[str, Any] = dict(
        name=name, database_id=5, state="ONLINE", recovery_model="FULL", is_read_only=False, is_in_standby=False,
        collation="SQL_Latin1_General_CP1_CI_AS", is_encrypted=False, is_broker_enabled=False, is_published=False,
        is_cdc_enabled=False, is_distributor=False, in_availability_group=None, log_chain_started=True, log_files=1,
        size_mb=size, last_full_backup=NOW, copy_only_backups=0)
    base.update(kw)
    return DatabaseFacts(**base)


def databases() -> list[DatabaseFacts]:
    return [
        db("SalesDb", 2112, is_broker_enabled=True), db("Orders", 1088), db("CRM", 832),
        db("HRDb", 320, log_chain_started=False, last_full_backup=None),
        db("Inventory", 364, recovery_model="SIMPLE", log_chain_started=False), db("Archive", 964, filestream=True),
        db("Telemetry", 464, memory_optimized=True, xtp_containers=1), db("Finance", 704, is_encrypted=True),
        db("Legacy", 328, log_files=2),
        db("Reporting", 414, log_chain_started=False, last_full_backup=None, copy_only_backups=1),
    ]


def instance(name: str, tier: str, fmt: str, rg: str = "rg-milink-lab") -> ManagedInstanceInfo:
    return ManagedInstanceInfo(name, rg, SUB, f"{name}.a1b2c3d4e5f6.database.windows.net", "Ready", tier, fmt,
                               "westeurope", 8, 512, False, "SQL_Latin1_General_CP1_CI_AS", None,
                               f"/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Sql/managedInstances/"
                               f"{name}")


INSTANCES = [instance("sqlmi-lab-bc", "BusinessCritical", "AlwaysUpToDate"),
             instance("sqlmi-lab-gp", "GeneralPurpose", "SQLServer2022")]


class FakeExecutor:
    """Runs the real step list without touching anything: every step reports done at once."""

    def __init__(self, plan: LinkPlan, on_event: Callable[[StepEvent], None], journal: Journal) -> None:
        self.steps = build_steps(plan)
        self.on_event = on_event
        self.journal = journal
        self.fail_at: str | None = None
        self.delay = 0.0
        self.cancelled = False
        self.done: set[str] = set()

    def cancel(self) -> None:
        self.cancelled = True

    async def run(self) -> None:
        import asyncio

        for step in self.steps:
            if step.id in self.done:
                continue
            if self.cancelled:
                raise asyncio.CancelledError("cancelled by the user")
            self.on_event(StepEvent(step.id, step.title, "running"))
            if self.delay:
                await asyncio.sleep(self.delay)
            if step.id == self.fail_at:
                self.on_event(StepEvent(step.id, step.title, "failed", message="The operation timed out and "
                                        "automatically rolled back. Please retry the operation."))
                raise RuntimeError("failed")
            present = step.id in ("sql.master_key", f"link.{step.id.split('.')[1]}.backup")
            self.done.add(step.id)
            self.on_event(StepEvent(step.id, step.title, "skipped" if present else "done",
                                    message="already in place" if present else ""))

    async def rollback(self) -> list[str]:
        return []


class FakeBackend:
    """The WizardBackend protocol with canned answers (no network, fixed clocks)."""

    lab = True

    def __init__(self, server_facts: ServerFacts | None = None, fail_at: str | None = None,
                 delay: float = 0.0) -> None:
        self.server_facts = server_facts or server()
        self.signed_in: Identity | None = None
        self.fail_at = fail_at
        self.delay = delay
        self.executors: list[FakeExecutor] = []
        self.fixes: list[str] = []

    def clock(self) -> float:
        return 1000.0

    def now(self) -> dt.datetime:
        return NOW

    def default_sign_in(self) -> SignIn:
        return SignIn("sp-secret", tenant_id="72f988bf-86f1-41af-91ab-2d7cd011db47",
                      client_id="5f4e8f55-3c2b-4b4e-9a55-1ab0c0de1ab0", client_secret="not-a-real-secret")

    def identity(self) -> Identity | None:
        return self.signed_in

    def default_endpoint_host(self) -> str:
        return "10.0.0.4"

    async def read_server(self) -> ServerFacts:
        return self.server_facts

    async def read_databases(self) -> list[DatabaseFacts]:
        return databases()

    async def apply_fix(self, fix: str, secrets: Secrets) -> FixOutcome:
        self.fixes.append(fix)
        if fix.startswith("traceon:"):
            self.server_facts.trace_flags.add(int(fix.split(":")[1]))
        elif fix == "master_key":
            self.server_facts.master_key = True
        return FixOutcome(fix, True, "done")

    async def lab_enable_hadr(self) -> str:
        self.server_facts.hadr_enabled = True
        return "The lab SQL Server SQLLAB01 restarted with Always On enabled."

    async def sign_in(self, settings: SignIn, prompt: Any) -> Identity:
        self.signed_in = Identity("5f4e8f55-3c2b-4b4e-9a55-1ab0c0de1ab0", "72f988bf", "app")
        return self.signed_in

    def cancel_sign_in(self) -> None:
        pass

    async def subscriptions(self) -> list[SubscriptionInfo]:
        return [SubscriptionInfo(SUB, "Contoso Lab", "72f988bf", "Enabled")]

    async def resource_groups(self, subscription_id: str) -> list[str]:
        return ["rg-dr", "rg-milink-lab"]

    async def managed_instances(self, subscription_id: str, resource_group: str) -> list[ManagedInstanceInfo]:
        return [m for m in INSTANCES if m.resource_group == resource_group]

    async def instance_facts(self, mi: ManagedInstanceRef) -> ManagedInstanceFacts:
        info = next(m for m in INSTANCES if m.name == mi.name)
        return ManagedInstanceFacts(info.name, info.resource_group, SUB, info.fqdn, "Ready", info.database_format,
                                    info.tier, False, 512, info.collation, 0,
                                    database_names=["CloudDb", "WebShop"] if info.name == "sqlmi-lab-gp" else [])

    async def linked_databases(self, mi: ManagedInstanceRef) -> set[str]:
        return set()

    async def link_state(self, mi: ManagedInstanceRef, name: str) -> dict[str, Any] | None:
        return {"name": name, "databases": [{"replicaState": "LinkSynchronizing", "connectedState": "CONNECTED",
                                             "synchronizationHealth": "HEALTHY"}]}

    def executor(self, plan: LinkPlan, secrets: Secrets, on_event: Callable[[StepEvent], None],
                 journal: Journal | None = None) -> FakeExecutor:
        ex = FakeExecutor(plan, on_event, journal or Journal.new(plan.to_json()))
        ex.fail_at, ex.delay = self.fail_at, self.delay
        if self.executors:  # a resume: what the earlier run finished stays finished
            ex.done = set(self.executors[-1].done)
        self.executors.append(ex)
        return ex
