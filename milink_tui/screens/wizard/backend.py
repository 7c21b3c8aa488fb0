"""The wizard's only door to the outside world: SQL Server, Azure, the lab and the executor.

Pages never import a client. They call these async methods from workers and post the
results as messages. Tests and snapshots swap in a backend with canned data (same methods),
so every page renders without a network.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from milink_tui.clients.auth import SignIn
    from milink_tui.clients.azure import Identity, ManagedInstanceInfo, SubscriptionInfo
    from milink_tui.clients.connstr import SqlTarget
    from milink_tui.engine.executor import Executor, StepEvent
    from milink_tui.engine.facts import DatabaseFacts, ManagedInstanceFacts, ServerFacts
    from milink_tui.engine.fixes import FixOutcome
    from milink_tui.engine.journal import Journal
    from milink_tui.engine.network import NetworkReport, Progress, RedirectTarget
    from milink_tui.engine.plan import LinkPlan, ManagedInstanceRef
    from milink_tui.engine.steps import Secrets
    from milink_tui.services.session import Session

PromptCallback = Callable[[str, str, Any], None]


class WizardBackend(Protocol):
    """What the pages need. ``lab`` says whether lab-only actions (restart with Always On) exist."""

    lab: bool

    def clock(self) -> float: ...

    def now(self) -> dt.datetime: ...

    def default_sign_in(self) -> SignIn: ...

    def identity(self) -> Identity | None: ...

    def default_endpoint_host(self) -> str: ...

    async def read_server(self) -> ServerFacts: ...

    async def read_databases(self) -> list[DatabaseFacts]: ...

    async def apply_fix(self, fix: str, secrets: Secrets) -> FixOutcome: ...

    async def lab_enable_hadr(self) -> str: ...

    async def sign_in(self, settings: SignIn, prompt: PromptCallback | None) -> Identity: ...

    def cancel_sign_in(self) -> None: ...

    async def subscriptions(self) -> list[SubscriptionInfo]: ...

    async def resource_groups(self, subscription_id: str) -> list[str]: ...

    async def managed_instances(self, subscription_id: str, resource_group: str) -> list[ManagedInstanceInfo]: ...

    async def instance_facts(self, mi: ManagedInstanceRef) -> ManagedInstanceFacts: ...

    async def linked_databases(self, mi: ManagedInstanceRef) -> set[str]: ...

    async def link_state(self, mi: ManagedInstanceRef, name: str) -> dict[str, Any] | None: ...

    async def network_test(self, mi_fqdn: str, redirect: RedirectTarget | None, progress: Progress | None,
                           sql_host: str = "", port: int = 5022) -> NetworkReport: ...

    def executor(self, plan: LinkPlan, secrets: Secrets, on_event: Callable[[StepEvent], None],
                 journal: Journal | None = None) -> Executor: ...


class LiveBackend:
    """The real thing, over the app's :class:`Session` (the lab is just another server)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def lab(self) -> bool:
        return self.session.lab is not None

    def clock(self) -> float:
        import time

        return time.monotonic()

    def now(self) -> dt.datetime:
        """Naive UTC, as the engine's checks compare certificate dates."""
        return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)

    def default_sign_in(self) -> SignIn:
        return self.session.default_sign_in()

    def identity(self) -> Identity | None:
        return self.session.identity

    def default_endpoint_host(self) -> str:
        """The host the managed instance should reach SQL Server on (the lab's simulated address)."""
        conn = self.session.active
        if conn is None:
            return ""
        if conn.lab and self.session.lab is not None:
            return str(self.session.lab.sql.get("address") or conn.server)
        return conn.server

    def _sql(self) -> Any:
        if self.session.sql is None:
            raise RuntimeError("Not connected to SQL Server: connect from the home screen first.")
        return self.session.sql

    def _az(self) -> Any:
        if self.session.azure is None:
            raise RuntimeError("Not signed in to Azure.")
        return self.session.azure

    async def read_server(self) -> ServerFacts:
        from milink_tui.engine.facts import read_server

        try:
            return await read_server(self._sql())
        except Exception:
            await self.session.reconnect()  # the lab (or a DBA) may have restarted the service
            return await read_server(self._sql())

    async def read_databases(self) -> list[DatabaseFacts]:
        from milink_tui.engine.facts import read_databases

        return await read_databases(self._sql())

    async def apply_fix(self, fix: str, secrets: Secrets) -> FixOutcome:
        from milink_tui.engine.fixes import apply

        return await apply(fix, self._sql(), secrets)

    async def lab_enable_hadr(self) -> str:
        """What a DBA does in Configuration Manager: enable Always On, restart the service."""
        out = await asyncio.to_thread(self.session.lab_control, "/sql/config", {"hadr_enabled": True, "restart": True})
        await self.session.reconnect()
        return f"The lab SQL Server {out.get('server')} restarted with Always On enabled."

    async def sign_in(self, settings: SignIn, prompt: PromptCallback | None) -> Identity:
        return await self.session.sign_in(settings, prompt)

    def cancel_sign_in(self) -> None:
        self.session.cancel_sign_in()

    async def subscriptions(self) -> list[SubscriptionInfo]:
        return await self._az().list_subscriptions()

    async def resource_groups(self, subscription_id: str) -> list[str]:
        return await self._az().list_resource_groups(subscription_id)

    async def managed_instances(self, subscription_id: str, resource_group: str) -> list[ManagedInstanceInfo]:
        return await self._az().list_managed_instances(subscription_id, resource_group)

    async def instance_facts(self, mi: ManagedInstanceRef) -> ManagedInstanceFacts:
        return await self._az().instance_facts(mi)

    async def linked_databases(self, mi: ManagedInstanceRef) -> set[str]:
        out: set[str] = set()
        for link in await self._az().list_links(mi):
            for d in link.get("databases") or []:
                out.add(str(d.get("databaseName") or "").lower())
        return out

    async def link_state(self, mi: ManagedInstanceRef, name: str) -> dict[str, Any] | None:
        return await self._az().get_link(mi, name)

    def mi_sql_target(self, mi_fqdn: str) -> SqlTarget:
        """Where the managed instance's T-SQL listens and how to log in (Entra, the signed-in account).

        Azure: the instance FQDN on 1433. The lab: its loopback endpoint from lab.json. Raises
        RuntimeError with the reason when there is no way to log in.
        """
        from milink_tui.clients.auth import sql_token_provider
        from milink_tui.clients.connstr import SqlTarget

        az = self.session.azure
        if az is None:
            raise RuntimeError("not signed in to Azure (the managed instance login uses that account)")
        provider = sql_token_provider(az.session.credential, az.session.cloud)
        if self.session.lab is not None:
            entry = next((m for m in self.session.lab.raw.get("managed_instances") or []
                          if str(m.get("fqdn", "")).lower() == mi_fqdn.lower()), None)
            if entry is None:
                raise RuntimeError(f"the lab has no T-SQL endpoint for {mi_fqdn}")
            return SqlTarget(entry["host"], int(entry["port"]), auth="entra", token_provider=provider,
                             trust_server_certificate=True, login_timeout=10, app_name="milink network checker")
        return SqlTarget(mi_fqdn, 1433, auth="entra", token_provider=provider, login_timeout=15,
                         app_name="milink network checker")

    async def network_test(self, mi_fqdn: str, redirect: RedirectTarget | None, progress: Progress | None,
                           sql_host: str = "", port: int = 5022) -> NetworkReport:
        """The SSMS Network Checker: both directions when a T-SQL login to the managed instance works
        (the redirect target is read there), else the SQL Server side only with the typed redirect
        target; ``report.mi_note`` says which and why. Polls faster against the lab."""
        from milink_tui.clients.sql import connect
        from milink_tui.engine.network import run_both_directions, run_network_test

        poll, why = (0.25 if self.lab else 2.0), ""
        mi_sql = None
        try:
            if not sql_host.strip():
                raise RuntimeError("SQL Server's address as seen from Azure is not set (Replica page)")
            if progress is not None:
                progress(0.0, "Logging in to the managed instance…")
            mi_sql = await connect(self.mi_sql_target(mi_fqdn), attempts=1)
        except Exception as exc:  # noqa: BLE001 - any refusal means: fall back, and say why
            why = _short_reason(exc)
        try:
            if mi_sql is not None:
                return await run_both_directions(self._sql(), mi_sql, mi_fqdn, sql_host, port, progress=progress,
                                                 poll_interval=poll, timeout=90.0)
            report = await run_network_test(self._sql(), mi_fqdn, redirect, progress=progress, poll_interval=poll,
                                            timeout=90.0)
            report.mi_note = why
            return report
        finally:
            if mi_sql is not None:
                await mi_sql.close()

    def executor(self, plan: LinkPlan, secrets: Secrets, on_event: Callable[[StepEvent], None],
                 journal: Journal | None = None) -> Executor:
        from milink_tui.engine.executor import Executor
        from milink_tui.engine.journal import Journal
        from milink_tui.engine.steps import ExecContext, build_steps

        lab = self.lab
        ctx = ExecContext(plan, self._sql(), self._az(), secrets, poll_interval=0.25 if lab else 5.0,
                          seeding_timeout=600.0 if lab else 6 * 24 * 3600.0)
        journal = journal or Journal.new(plan.to_json())

        def progress(step: str, fraction: float, message: str) -> None:
            from milink_tui.engine.executor import StepEvent

            on_event(StepEvent(step, "", "progress", fraction, message))

        ctx.progress = progress
        return Executor(build_steps(plan), journal, ctx, on_event)


def _short_reason(exc: BaseException) -> str:
    """One line for the page: the client's own text (never a token: clients do not put them in errors)."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]
