"""The dashboard against the lab (a child process): real TDS + ODBC, real ARM + Azure SDK.

Acceptance: lag rises within 2 refreshes when the workload rises; a partition shows
DISCONNECTED and growing ages; healing recovers without restarting; a source that stops
answering goes stale and comes back; seeding progress moves; a certificate expiring in 10
days raises an alert. Lab time runs faster than the clock and the refresh is short.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from dash_helpers import wait_until
from screen_text import screen_text

from milink_tui.screens.dashboard import DashboardApp, DashboardScreen
from milink_tui.services.dashboard_sources import lab_sources
from milink_tui.services.lab_process import LabProcess, control

INTERVAL = 0.3
SPEED = 4.0
LAB_MIS = [("sqlmi-lab-gp", "rg-milink-lab")]


@pytest.fixture
def lab(request, lab_factory) -> LabProcess:
    return lab_factory(getattr(request, "param", "linked"), speed=SPEED)


async def _app(lab: LabProcess, tmp_path: Path, mis=LAB_MIS, **kw) -> DashboardApp:
    sources = await lab_sources(lab.info, tmp_path, managed_instances=mis)
    opts = {"interval": INTERVAL, "min_interval": 0.1, "timeout": 5.0, "backoff_cap": 1.0, **kw}
    return DashboardApp(lambda: DashboardScreen(sources, **opts))


def sql_polls(screen: DashboardScreen) -> int:
    return screen.model.status["sql:SQLLAB01"].round_trips


async def test_lag_rises_within_two_refreshes_of_a_workload_rise(lab: LabProcess, tmp_path: Path) -> None:
    app = await _app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.dashboard
        assert await wait_until(pilot, lambda: "DAG_SalesDb" in screen.model.views and sql_polls(screen) >= 2)
        before = screen.model.views["DAG_SalesDb"]
        assert before.health.word == "HEALTHY" and (before.lag_seconds or 0) < 1
        # the workload outruns the link: 40 MB/s of log over a 4 MB/s link
        control(lab.info.control_url, "/fault", {"bandwidth_bps": 4 * 1024 * 1024})
        control(lab.info.control_url, "/workload", {"database": "SalesDb", "transactions_per_second": 5000,
                                                    "bytes_per_transaction": 8192})
        start = sql_polls(screen)
        assert await wait_until(pilot, lambda: sql_polls(screen) >= start + 2 and screen._flush_scheduled is False)
        after = screen.model.views["DAG_SalesDb"]
        assert after.send_queue_kb > 0
        assert after.lag_seconds >= 1, after
        assert after.data_loss_mb > 0 and not after.failover_safe
        # the chart history has it too, and the other links are untouched
        assert max(screen.model.history.series("DAG_SalesDb", "send_queue_kb")) > 0
        assert screen.model.views["DAG_Orders"].send_queue_kb == 0


async def test_partition_shows_disconnected_and_ages_then_heals(lab: LabProcess, tmp_path: Path) -> None:
    app = await _app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.dashboard
        assert await wait_until(pilot, lambda: len(screen.model.views) == 3)
        screen.query_one("#links").select("DAG_SalesDb")
        control(lab.info.control_url, "/fault", {"partition": True})
        assert await wait_until(pilot, lambda: all(
            v.health.word == "DISCONNECTED" for v in screen.model.views.values()), timeout=10)
        alerts = [a.text for a in screen.model.alerts()]
        assert any("DAG_SalesDb DISCONNECTED" in a for a in alerts)
        assert await wait_until(pilot, lambda: _hardened_age(screen_text(app)) >= 2, timeout=10)
        text = screen_text(app)
        assert "✖ DISCONNECTED" in text and "not safe" in text
        # heal: the same app, no restart
        control(lab.info.control_url, "/fault", {"partition": False})
        assert await wait_until(pilot, lambda: all(
            v.health.word == "HEALTHY" for v in screen.model.views.values()), timeout=10)
        assert not [a for a in screen.model.alerts() if "DISCONNECTED" in a.text]


def _hardened_age(text: str) -> int:
    m = re.search(r"hardened (\d+) s ago", text)
    return int(m.group(1)) if m else -1


async def test_a_source_that_stops_answering_goes_stale_and_recovers(lab: LabProcess, tmp_path: Path) -> None:
    app = await _app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.dashboard
        assert await wait_until(pilot, lambda: len(screen.model.views) == 3 and not screen.model.views[
            "DAG_SalesDb"].stale)
        control(lab.info.control_url, "/fault", {"arm_status": 503, "arm_count": 1000})
        arm = screen.model.status["arm:sqlmi-lab-gp"]
        assert await wait_until(pilot, lambda: arm.stale and arm.age_seconds >= 1, timeout=10)
        assert await wait_until(pilot, lambda: "stale" in screen_text(app))
        view = screen.model.views["DAG_SalesDb"]
        assert view.stale and view.arm is not None and view.arm.data["mi"] == "sqlmi-lab-gp"  # last data kept
        assert not view.failover_safe
        assert any("arm:sqlmi-lab-gp not answering" in a.text for a in screen.model.alerts())
        # the SQL side keeps its own interval while ARM backs off
        sql_before, arm_failures = sql_polls(screen), arm.failures
        await pilot.pause(1.2)
        assert sql_polls(screen) - sql_before >= 3
        assert arm.failures - arm_failures <= 3  # backoff: 0.3, 0.6, 1.0 (cap) …
        control(lab.info.control_url, "/fault", {"arm_status": None})
        screen.action_refresh_now()
        assert await wait_until(pilot, lambda: not arm.stale and not screen.model.views["DAG_SalesDb"].stale,
                                timeout=10)
        assert not [a for a in screen.model.alerts() if a.kind == "source"]


async def test_certificate_expiring_in_ten_days_raises_an_alert(lab: LabProcess, tmp_path: Path) -> None:
    app = await _app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.dashboard
        assert await wait_until(pilot, lambda: len(screen.model.views) == 3)
        assert not [a for a in screen.model.alerts() if a.kind == "certificate"]
        control(lab.info.control_url, "/fault", {"cert_expires_in_days": {"sql": {"days": 10}}})
        assert await wait_until(pilot, lambda: any(a.kind == "certificate" for a in screen.model.alerts()))
        cert = [a for a in screen.model.alerts() if a.kind == "certificate"]
        assert {a.link for a in cert} == {"DAG_SalesDb", "DAG_Orders", "DAG_CRM"}
        assert re.search(r"certificate expires in (9|10) days", cert[0].text)
        assert 9 <= screen.model.views["DAG_SalesDb"].cert_days <= 10
        assert "certificate expires in" in screen_text(app)


# -------------------------------------------------------------------------- seeding

AG = """CREATE AVAILABILITY GROUP [AG_Orders]
WITH (CLUSTER_TYPE = NONE)
FOR DATABASE [Orders]
REPLICA ON N'SQLLAB01' WITH (ENDPOINT_URL = 'TCP://10.0.0.4:5022', AVAILABILITY_MODE = SYNCHRONOUS_COMMIT,
    FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC);"""
DAG = """CREATE AVAILABILITY GROUP [DAG_Orders]
WITH (DISTRIBUTED)
AVAILABILITY GROUP ON
N'AG_Orders' WITH (LISTENER_URL = 'TCP://10.0.0.4:5022', AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT,
    FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC, SESSION_TIMEOUT = 20),
N'AG_Orders_MI' WITH (LISTENER_URL = 'tcp://{fqdn}:5022;Server=[sqlmi-lab-gp]',
    AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT, FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC);"""


async def _create_seeding_link(lab: LabProcess, tmp_path: Path) -> None:
    """The wizard's two halves by hand: AG + DAG by T-SQL, then the ARM link (seeding starts)."""
    from milink_tui.clients.auth import Cloud, SignIn
    from milink_tui.clients.azure import AzureClient, AzureSession
    from milink_tui.clients.connstr import SqlTarget
    from milink_tui.clients.sql import connect

    info = lab.info
    conn = await connect(SqlTarget("localhost", info.sql["port"], user="sa", password=info.sql["password"],
                                   trust_server_certificate=True))
    e = info.entra
    session = AzureSession(SignIn("sp-secret", tenant_id=e["tenant_id"], client_id=e["sp_client_id"],
                                  client_secret=e["sp_client_secret"]),
                           cloud=Cloud.lab(info.arm["base_url"], e["authority"]), ca_file=info.ca_file,
                           polling_interval=0.2, retry_total=0, directory=tmp_path / "az")  # as the app polls the lab
    try:
        az = AzureClient(session, progress_interval=0.01)
        mi_info = await az.find_managed_instance("sqlmi-lab-gp", info.arm["subscription_id"])
        await conn.run(AG)
        await conn.run(DAG.format(fqdn=mi_info.fqdn))
        await az.create_link(mi_info.ref(), "DAG_Orders", {"properties": {
            "databases": [{"databaseName": "Orders"}], "partnerEndpoint": "TCP://10.0.0.4:5022",
            "instanceAvailabilityGroupName": "AG_Orders_MI", "partnerAvailabilityGroupName": "AG_Orders",
            "instanceLinkRole": "Secondary", "failoverMode": "Manual", "seedingMode": "Automatic",
            "replicationMode": "Async"}})
    finally:
        await conn.close()
        await session.close()


@pytest.mark.parametrize("lab", ["ready"], indirect=True)
async def test_seeding_progress_moves(lab: LabProcess, tmp_path: Path) -> None:
    # Orders is ~1 GB: at 20 MB/s and 4x lab speed it seeds in ~13 s of wall time
    control(lab.info.control_url, "/fault", {"bandwidth_bps": 20 * 1024 * 1024})
    await _create_seeding_link(lab, tmp_path)
    app = await _app(lab, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.dashboard

        def pct() -> float:
            v = screen.model.views.get("DAG_Orders")
            return -1 if v is None or v.seeding_percent is None else v.seeding_percent

        assert await wait_until(pilot, lambda: pct() >= 0, timeout=10)
        first = pct()
        assert screen.model.views["DAG_Orders"].health.word.startswith("SEEDING")
        assert await wait_until(pilot, lambda: pct() > first, timeout=10)
        view = screen.model.views["DAG_Orders"]
        assert view.seeding_eta_seconds is not None and view.seeding_eta_seconds > 0
        assert "◐ SEEDING" in screen_text(app)
        await asyncio.sleep(0)
