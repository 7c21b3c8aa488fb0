"""The Network Checker's test (engine/network.py) against the lab over real sockets (pyodbc + ODBC
Driver 18): reachable → pass; 11000-11999 blocked → fail with the rules to open; Agent stopped or
SQL Server on Linux → explained, nothing created; the job is always deleted, even on a timeout.
With a T-SQL login to the lab managed instance: the redirect target is read there, and the
managed instance → SQL Server direction runs as a NetHelper job on the managed instance."""

from __future__ import annotations

import contextlib

import pytest

from milink_tui.clients.connstr import SqlTarget
from milink_tui.clients.sql import connect
from milink_tui.engine.checks import CheckContext, check_network
from milink_tui.engine.facts import read_server
from milink_tui.engine.network import (
    JOB_NAME,
    MI_JOB_NAME,
    RedirectTarget,
    UnsafeHost,
    read_redirect_target,
    run_both_directions,
    run_inbound_test,
    run_network_test,
    valid_host,
)
from milink_tui.services.lab_process import LabProcess, control


@pytest.fixture(scope="module")
def lab(windows_lab: LabProcess) -> LabProcess:
    return windows_lab


@contextlib.asynccontextmanager
async def sql_of(lab: LabProcess):
    info = lab.info.sql
    sql = await connect(SqlTarget("localhost", info["port"], user=info["user"], password=info["password"],
                                  trust_server_certificate=True))
    try:
        yield sql
    finally:
        await sql.close()


@contextlib.asynccontextmanager
async def mi_sql_of(lab: LabProcess, name: str = "sqlmi-lab-gp"):
    """The lab managed instance's T-SQL endpoint (from lab.json), as its SQL admin."""
    entry = next(m for m in lab.info.raw["managed_instances"] if m["name"] == name)
    sql = await connect(SqlTarget(entry["host"], entry["port"], user=entry["user"], password=entry["password"],
                                  trust_server_certificate=True))
    try:
        yield sql
    finally:
        await sql.close()


def mi(lab: LabProcess) -> dict:
    return control(lab.info.control_url, "/state")["managed_instances"]["sqlmi-lab-gp"]


async def jobs_left(sql, name: str = JOB_NAME) -> int:  # type: ignore[no-untyped-def]
    return (await sql.run("SELECT COUNT(*) FROM msdb.dbo.sysjobs WHERE name = ?", (name,))).first.rows[0][0]


def by_id(report) -> dict:  # type: ignore[no-untyped-def]
    return {r.id: r for r in report.results}


async def test_reachable_instance_passes_both_ports_and_deletes_the_job(lab: LabProcess) -> None:
    m = mi(lab)
    seen: list[tuple[float, str]] = []
    async with sql_of(lab) as sql:
        report = await run_network_test(sql, m["fqdn"], RedirectTarget(m["node_name"], m["hadr_port"]),
                                        poll_interval=0.1, progress=lambda f, t: seen.append((f, t)))
        assert await jobs_left(sql) == 0
    rows = by_id(report)
    assert [r.status for r in report.results] == ["pass", "pass", "pass", "skip"], report.results
    assert m["subnet"].rsplit(".", 1)[0] in rows["net_5022"].evidence and "TcpTestSucceeded True" in rows[
        "net_5022"].evidence
    assert rows["net_inbound"].evidence.startswith("not tested: needs a T-SQL login to the managed instance")
    assert report.job_deleted and report.status == "pass"
    assert seen[0][0] == 0.0 and any("steps done" in t for _, t in seen)
    assert [f for f, _ in seen] == sorted(f for f, _ in seen)  # progress never goes backwards


async def test_without_a_redirect_target_the_range_is_not_tested_and_says_why(lab: LabProcess) -> None:
    async with sql_of(lab) as sql:
        report = await run_network_test(sql, mi(lab)["fqdn"], poll_interval=0.1)
    rows = by_id(report)
    assert rows["net_5022"].status == "pass"
    assert rows["net_redirect"].status == "skip"
    assert rows["net_redirect"].evidence == "11000–11999 not tested: needs a T-SQL login to the managed instance"
    assert "sys.dm_hadr_fabric_config_parameters" in rows["net_redirect"].remediation


async def test_blocked_redirect_range_fails_with_the_firewall_rule(lab: LabProcess) -> None:
    m = mi(lab)
    control(lab.info.control_url, "/network", {"clear": True, "block": [{"low": 11000, "high": 11999}]})
    try:
        async with sql_of(lab) as sql:
            report = await run_network_test(sql, m["fqdn"], RedirectTarget(m["node_name"], m["hadr_port"]),
                                            poll_interval=0.1)
            assert await jobs_left(sql) == 0
    finally:
        control(lab.info.control_url, "/network", {"clear": True})
    rows = by_id(report)
    assert rows["net_5022"].status == "pass"
    red = rows["net_redirect"]
    assert red.status == "fail" and report.status == "fail"
    assert "TcpTestSucceeded False" in red.evidence and f":{m['hadr_port']}" in red.evidence
    assert "-RemotePort 11000-11999" in red.remediation and "Direction Outbound" in red.remediation
    ctx_rows = check_network(CheckContext(server=await _facts(lab), network=report))
    assert [r.id for r in ctx_rows] == [r.id for r in report.results]  # the checklist reflects the last run


async def test_partition_fails_5022(lab: LabProcess) -> None:
    control(lab.info.control_url, "/fault", {"partition": True})
    try:
        async with sql_of(lab) as sql:
            report = await run_network_test(sql, mi(lab)["fqdn"], poll_interval=0.1)
    finally:
        control(lab.info.control_url, "/fault", {"partition": False})
    assert by_id(report)["net_5022"].status == "fail"


async def test_agent_stopped_is_explained_and_nothing_is_created(lab: LabProcess) -> None:
    control(lab.info.control_url, "/sql/config", {"agent_running": False})
    try:
        async with sql_of(lab) as sql:
            report = await run_network_test(sql, mi(lab)["fqdn"], poll_interval=0.1)
            assert await jobs_left(sql) == 0
    finally:
        control(lab.info.control_url, "/sql/config", {"agent_running": True})
    rows = by_id(report)
    assert rows["net_agent"].status == "fail" and rows["net_agent"].evidence.startswith("Agent Stopped")
    assert "Start SQL Server Agent" in rows["net_agent"].remediation
    assert rows["net_5022"].status == "skip" and "Agent Stopped" in rows["net_5022"].evidence


async def test_linux_warns_that_agent_cannot_run_powershell(lab: LabProcess) -> None:
    control(lab.info.control_url, "/sql/config", {"host_platform": "Linux"})
    try:
        facts = await _facts(lab)
        assert [r.status for r in check_network(CheckContext(server=facts))] == ["warn"]  # before any run
        async with sql_of(lab) as sql:
            report = await run_network_test(sql, mi(lab)["fqdn"], poll_interval=0.1)
            assert await jobs_left(sql) == 0
    finally:
        control(lab.info.control_url, "/sql/config", {"host_platform": "Windows"})
    rows = by_id(report)
    assert rows["net_agent"].status == "warn" and "no PowerShell subsystem" in rows["net_agent"].explanation
    assert rows["net_5022"].status == "warn"


async def test_a_timeout_still_deletes_the_job(lab: LabProcess) -> None:
    async with sql_of(lab) as sql:
        report = await run_network_test(sql, mi(lab)["fqdn"], timeout=0.0, poll_interval=0.1)
        assert await jobs_left(sql) == 0
    assert report.job_deleted
    assert "did not finish within 0 s" in by_id(report)["net_5022"].evidence


async def test_a_job_left_behind_is_replaced_not_duplicated(lab: LabProcess) -> None:
    async with sql_of(lab) as sql:
        await sql.run("EXEC msdb.dbo.sp_add_job @job_name = ?", (JOB_NAME,))
        report = await run_network_test(sql, mi(lab)["fqdn"], poll_interval=0.1)
        assert await jobs_left(sql) == 0
    assert by_id(report)["net_5022"].status == "pass"


def test_host_names_are_validated_before_they_reach_powershell() -> None:
    assert valid_host(" sqlmi.abc.database.windows.net. ") == "sqlmi.abc.database.windows.net"
    assert valid_host("10.0.0.4") == "10.0.0.4"
    for bad in ("a; Remove-Item C:\\ -Recurse", "host name", "$(whoami)", "", "-port", "a" * 64 + ".net"):
        with pytest.raises(UnsafeHost):
            valid_host(bad)
    assert RedirectTarget.parse("") is None
    assert RedirectTarget.parse("DB1.tr2.westeurope.worker.database.windows.net:11002").port == 11002
    for bad in ("node", "node:abc", "node:70000", "bad host:11002"):
        with pytest.raises(ValueError):
            RedirectTarget.parse(bad)


async def _facts(lab: LabProcess):  # type: ignore[no-untyped-def]
    async with sql_of(lab) as sql:
        return await read_server(sql)


# --------------------------------------------------------------------------- with the managed instance


async def test_redirect_target_is_read_from_the_managed_instance(lab: LabProcess) -> None:
    state = control(lab.info.control_url, "/state")["managed_instances"]
    for name in ("sqlmi-lab-gp", "sqlmi-lab-bc"):  # BC has secondaries on other nodes: the primary's is returned
        async with mi_sql_of(lab, name) as mi_sql:
            target = await read_redirect_target(mi_sql)
        assert target == RedirectTarget(state[name]["node_name"], state[name]["hadr_port"])


async def test_both_directions_pass_and_both_jobs_are_deleted(lab: LabProcess) -> None:
    m = mi(lab)
    seen: list[float] = []
    async with sql_of(lab) as sql, mi_sql_of(lab) as mi_sql:
        report = await run_both_directions(sql, mi_sql, m["fqdn"], lab.info.sql["address"], 5022,
                                           poll_interval=0.1, progress=lambda f, t: seen.append(f))
        assert await jobs_left(sql) == 0 and await jobs_left(mi_sql, MI_JOB_NAME) == 0
        assert await jobs_left(sql, MI_JOB_NAME) == 0  # NetHelper ran on the managed instance, not here
    rows = by_id(report)
    assert [r.status for r in report.results] == ["pass", "pass", "pass", "pass"], report.results
    assert f"{m['node_name']}:{m['hadr_port']}" in rows["net_redirect"].evidence  # typed by nobody
    assert rows["net_inbound"].evidence == f"{lab.info.sql['address']}:5022: reachable from the managed instance (tnc: True)"
    assert report.job_deleted and report.status == "pass" and report.mi_note == ""
    assert seen == sorted(seen) and seen[-1] > 0.9


async def test_sql_server_inbound_5022_blocked_fails_direction_2_only(lab: LabProcess) -> None:
    control(lab.info.control_url, "/network", {"clear": True, "block": [{"low": 5022, "where": "sql-inbound"}]})
    try:
        async with sql_of(lab) as sql, mi_sql_of(lab) as mi_sql:
            report = await run_both_directions(sql, mi_sql, mi(lab)["fqdn"], lab.info.sql["address"], 5022,
                                               poll_interval=0.1)
            assert await jobs_left(mi_sql, MI_JOB_NAME) == 0
    finally:
        control(lab.info.control_url, "/network", {"clear": True})
    rows = by_id(report)
    assert rows["net_5022"].status == "pass" and rows["net_redirect"].status == "pass"  # the other direction is open
    inbound = rows["net_inbound"]
    assert inbound.status == "fail" and report.status == "fail"
    assert "not reachable from the managed instance (tnc: False)" in inbound.evidence
    assert "-Direction Inbound" in inbound.remediation and "-LocalPort 5022" in inbound.remediation
    assert "NSG: allow outbound TCP 5022" in inbound.remediation


async def test_no_endpoint_listening_is_not_blamed_on_the_firewall(lab: LabProcess) -> None:
    async with mi_sql_of(lab) as mi_sql:
        row, deleted = await run_inbound_test(mi_sql, lab.info.sql["address"], 5023, listening=False,
                                              poll_interval=0.1)
    assert deleted and row.status == "warn" and "no endpoint listens" in row.evidence


async def test_a_login_that_is_not_a_managed_instance_falls_back_and_says_why(lab: LabProcess) -> None:
    async with sql_of(lab) as sql, sql_of(lab) as not_mi:
        report = await run_both_directions(sql, not_mi, mi(lab)["fqdn"], lab.info.sql["address"], poll_interval=0.1)
        assert await jobs_left(sql, MI_JOB_NAME) == 0
    rows = by_id(report)
    assert rows["net_5022"].status == "pass"
    assert rows["net_redirect"].status == "skip" and "not an Azure SQL Managed Instance" in rows["net_redirect"].evidence
    assert rows["net_inbound"].status == "skip" and "EngineEdition 3" in rows["net_inbound"].evidence
    assert "not an Azure SQL Managed Instance" in (report.mi_note or "")


async def test_the_nethelper_job_is_deleted_after_a_timeout(lab: LabProcess) -> None:
    async with mi_sql_of(lab) as mi_sql:
        row, deleted = await run_inbound_test(mi_sql, lab.info.sql["address"], timeout=0.0, poll_interval=0.1)
        assert await jobs_left(mi_sql, MI_JOB_NAME) == 0
    assert deleted and row.status == "warn" and "did not finish within 0 s" in row.evidence
