"""The dashboard's sources: one batched DMV query per SQL Server, one ARM link list per MI.

Each source keeps its own connection and reconnects after a failure (the poller backs off);
each fetch is exactly one round trip (``round_trips`` counts them for the bench). Heavy
imports (pyodbc, azure) happen inside the clients, on first use.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from milink_tui.engine.dashboard import SourceReport, normalize_arm, normalize_sql, utcnow

if TYPE_CHECKING:
    from milink_tui.clients.azure import AzureClient, AzureSession
    from milink_tui.clients.connstr import SqlTarget
    from milink_tui.clients.sql import SqlConnection
    from milink_tui.engine.plan import ManagedInstanceRef
    from milink_tui.services.lab_process import LabInfo


class SqlDashboardSource:
    """``dashboard.sql`` on one SQL Server: every link on it in one batch."""

    kind = "sql"

    def __init__(self, target: SqlTarget, name: str | None = None, query_timeout: int = 10) -> None:
        self.target = target
        self.server = name or target.display
        self.name = f"sql:{self.server}"
        self.query_timeout = query_timeout
        self.round_trips = 0
        self._conn: SqlConnection | None = None

    async def fetch(self) -> SourceReport:
        from milink_tui.clients.sql import connect

        if self._conn is None:
            self._conn = await connect(self.target, attempts=1, query_timeout=self.query_timeout)
        try:
            self.round_trips += 1
            batch = await self._conn.query("dashboard")
        except Exception:
            await self._drop()
            raise
        report = normalize_sql(batch.sets, utcnow(), self.server)  # rows as the driver gave them
        report.source = self.name  # stable even if @@SERVERNAME differs from what the user typed
        return report

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close()
            except Exception:  # the connection is already broken; the fetch error is what matters
                pass

    async def close(self) -> None:
        await self._drop()


class ArmDashboardSource:
    """The ARM link list of one managed instance (``databases[]`` health per link)."""

    kind = "arm"

    def __init__(self, client: AzureClient, mi: ManagedInstanceRef, owns_client: bool = False) -> None:
        self.client = client
        self.mi = mi
        self.name = f"arm:{mi.name}"
        self.round_trips = 0  # list operations (one per refresh)
        self.http_requests = 0  # pages of that list
        self.owns_client = owns_client
        self.budget_key = f"arm:{mi.subscription_id.lower()}"  # ARM limits reads per subscription
        self.reads_per_poll = 1  # pages of the last list (the poller paces ARM reads by them)

    async def fetch(self) -> SourceReport:
        self.round_trips += 1
        raw = await self.client.list_links_raw(self.mi)
        self.http_requests += raw.pages
        self.reads_per_poll = raw.pages
        return normalize_arm(self.mi.name, self.mi.resource_group, raw.items, utcnow(), round_trips=1)

    async def close(self) -> None:
        if self.owns_client:
            await self.client.close()


class SharedAzure:
    """One AzureSession for many ARM sources; closed once by the last source."""

    def __init__(self, session: AzureSession) -> None:
        from milink_tui.clients.azure import AzureClient

        self.session = session
        self.client = AzureClient(session)
        self._users = 0

    def source(self, mi: ManagedInstanceRef) -> ArmDashboardSource:
        self._users += 1
        src = ArmDashboardSource(self.client, mi)
        shared = self

        async def close() -> None:
            shared._users -= 1
            if shared._users == 0:
                await shared.session.close()

        src.close = close  # type: ignore[method-assign]
        return src


class FixtureSource:
    """Canned reports (tests, snapshots): answers them in turn, the last one forever."""

    def __init__(self, name: str, kind: str, reports: list[SourceReport | Exception]) -> None:
        self.name, self.kind = name, kind
        self.reports = list(reports)
        self.round_trips = 0
        self.fail: Exception | None = None

    async def fetch(self) -> SourceReport:
        self.round_trips += 1
        if self.fail is not None:
            raise self.fail
        item = self.reports.pop(0) if len(self.reports) > 1 else self.reports[0]
        if isinstance(item, Exception):
            raise item
        return SourceReport(item.source, item.kind, utcnow(), item.links, server_time=item.server_time)

    async def close(self) -> None:
        return None


async def lab_sources(info: LabInfo, directory: Path, *, query_timeout: int = 10,
                      managed_instances: list[tuple[str, str]] | None = None) -> list[Any]:
    """Sources for every SQL Server and managed instance of a running lab (SP sign-in, lab CA).

    ``managed_instances`` as (name, resource group) skips the one-off discovery call.
    """
    from milink_tui.clients.auth import Cloud, SignIn
    from milink_tui.clients.azure import AzureSession
    from milink_tui.clients.connstr import SqlTarget
    from milink_tui.engine.plan import ManagedInstanceRef

    sources: list[Any] = []
    for server in info.raw.get("sql_servers") or [{"server_name": info.sql.get("server_name"), **info.sql}]:
        target = SqlTarget(server.get("host", "localhost"), int(server["port"]), user=info.sql["user"],
                           password=info.sql["password"], app_name="milink-dashboard", login_timeout=5,
                           # the lab listens on loopback with its own throw-away CA, which the ODBC
                           # driver only reads from SSL_CERT_FILE at load time: trusting it is the
                           # lab's explicit choice (the wire is still encrypted)
                           trust_server_certificate=True)
        sources.append(SqlDashboardSource(target, server.get("server_name"), query_timeout=query_timeout))
    e = info.entra
    session = AzureSession(SignIn("sp-secret", tenant_id=e["tenant_id"], client_id=e["sp_client_id"],
                                  client_secret=e["sp_client_secret"]),
                           cloud=Cloud.lab(info.arm["base_url"], e.get("authority")), ca_file=info.arm["ca_file"],
                           retry_total=0, directory=directory, polling_interval=0)
    shared = SharedAzure(session)
    sub = info.arm["subscription_id"]
    if managed_instances is None:
        found = await shared.client.list_managed_instances(sub)
        managed_instances = [(m.name, m.resource_group) for m in found]
    for name, rg in managed_instances:
        sources.append(shared.source(ManagedInstanceRef(name, rg, sub, f"{name}.lab")))
    if not managed_instances:
        await session.close()
    return sources


def fixed_now(value: str = "2026-11-23T12:00:00Z") -> dt.datetime:
    """A frozen clock for snapshots and tests."""
    from milink_tui.engine.dashboard import as_utc

    out = as_utc(value)
    assert out is not None
    return out
