"""SQL Server Agent in the lab process, over TDS with pyodbc + ODBC Driver 18: Microsoft's documented
network test script runs unchanged (including its WAITFOR polling loop), and the control API's
network rules and Agent switch decide what it finds."""

from __future__ import annotations

import pyodbc
import pytest

from milink_tui.services.lab_process import LabProcess, control

from .sqlserver.test_sqlserver_agent import DOC_SCRIPT, RESULTS

POLL = """DECLARE @RunStatus INT
SET @RunStatus=10
WHILE ( @RunStatus >= 4)
BEGIN
SELECT distinct @RunStatus = run_status
FROM [msdb].[dbo].[sysjobhistory] JH JOIN [msdb].[dbo].[sysjobs] J ON JH.job_id = J.job_id
WHERE J.name=N'TestMILinkConnection' and step_id = 0
WAITFOR DELAY '00:00:01';
END
SELECT @RunStatus AS run_status"""


@pytest.fixture(scope="module")
def lab(windows_lab: LabProcess) -> LabProcess:
    return windows_lab


def connect(lab: LabProcess) -> pyodbc.Connection:
    sql = lab.info.sql
    return pyodbc.connect(f"DRIVER={{ODBC Driver 18 for SQL Server}};SERVER=tcp:localhost,{sql['port']};"
                          f"UID={sql['user']};PWD={sql['password']};TrustServerCertificate=yes", autocommit=True)


def run_script(conn: pyodbc.Connection, text: str) -> None:
    for batch in text.split("\nGO\n"):
        cur = conn.cursor()
        cur.execute(batch)
        while cur.nextset():
            pass


def mi_of(lab: LabProcess) -> dict:
    return control(lab.info.control_url, "/state")["managed_instances"]["sqlmi-lab-gp"]


def documented_test(lab: LabProcess) -> list[tuple]:
    mi = mi_of(lab)
    with connect(lab) as conn:
        run_script(conn, DOC_SCRIPT.format(node=mi["node_name"], port=mi["hadr_port"], fqdn=mi["fqdn"]))
        cur = conn.cursor()
        cur.execute(POLL)
        assert cur.fetchone()[0] == 1  # the job succeeded (tnc reports, it does not fail the step)
        cur.execute(RESULTS)
        return [tuple(r) for r in cur.fetchall()]


def test_documented_script_and_polling_loop_over_tds(lab: LabProcess) -> None:
    steps = documented_test(lab)
    assert [(s[0], s[1].split(".")[0], s[3]) for s in steps] == [
        ("Test Port 5022", "TcpTestSucceeded : True", 1), ("Test HADR Port", "TcpTestSucceeded : True", 1)]
    subnet = mi_of(lab)["subnet"].rsplit(".", 1)[0] + "."
    assert all(subnet in s[2] for s in steps)  # RemoteAddress inside the instance subnet


def test_network_rules_from_the_control_api_decide_the_redirect_port(lab: LabProcess) -> None:
    url = lab.info.control_url
    out = control(url, "/network", {"clear": True, "block": [{"low": 11000, "high": 11999}]})
    assert out["network"][0]["where"] == "sql-outbound"
    try:
        steps = documented_test(lab)
        assert steps[0][1].startswith("TcpTestSucceeded : True")
        assert steps[1][1].startswith("TcpTestSucceeded : False") and "WARNING: TCP connect" in steps[1][5]
    finally:
        control(url, "/network", {"clear": True})
    assert control(url, "/state")["network"] == []


def test_agent_stopped_through_the_control_api(lab: LabProcess) -> None:
    url = lab.info.control_url
    assert control(url, "/sql/config", {"agent_running": False})["agent_running"] is False
    try:
        with connect(lab) as conn:
            cur = conn.cursor()
            cur.execute("SELECT status_desc FROM sys.dm_server_services WHERE servicename LIKE N'SQL Server Agent%'")
            assert cur.fetchone()[0] == "Stopped"
            mi = mi_of(lab)
            with pytest.raises(pyodbc.Error, match=r"SQLServerAgent is not currently running.*\(22022\)"):
                run_script(conn, DOC_SCRIPT.format(node=mi["node_name"], port=mi["hadr_port"], fqdn=mi["fqdn"]))
    finally:
        control(url, "/sql/config", {"agent_running": True})


class _Recording:
    """The app's SQL client, recording each ad-hoc batch and the messages it returned."""

    def __init__(self, sql) -> None:  # type: ignore[no-untyped-def]
        self.sql = sql
        self.batches: list[tuple[str, list[str]]] = []

    async def run(self, text: str, params=()):  # type: ignore[no-untyped-def]
        result = await self.sql.run(text, params)
        self.batches.append((text, [str(m) for m in result.messages]))
        return result

    async def query(self, name: str, params=()):  # type: ignore[no-untyped-def]
        return await self.sql.query(name, params)


async def test_network_checker_stops_a_timed_out_job_before_deleting_it(lab: LabProcess) -> None:
    """engine/network.py at its timeout: sp_stop_job on the running job (it answers 'stopped'), then delete."""
    from milink_tui.clients.connstr import SqlTarget
    from milink_tui.clients.sql import connect as app_connect
    from milink_tui.engine.network import run_network_test

    info = lab.info.sql
    sql = await app_connect(SqlTarget("localhost", info["port"], user=info["user"], password=info["password"],
                                      trust_server_certificate=True))
    try:
        recording = _Recording(sql)
        report = await run_network_test(recording, mi_of(lab)["fqdn"], timeout=0.0, poll_interval=0.1)
        left = (await sql.run("SELECT COUNT(*) FROM msdb.dbo.sysjobs WHERE name = N'TestMILinkConnection'"))
    finally:
        await sql.close()
    stops = [messages for text, messages in recording.batches if "sp_stop_job" in text]
    assert stops and any("Job 'TestMILinkConnection' stopped successfully." in m for m in stops[0])
    assert report.job_deleted and left.first.rows[0][0] == 0


def test_a_windows_host_keeps_its_files_where_windows_setup_puts_them(lab: LabProcess) -> None:
    with connect(lab) as cn:
        names = [r[0] for r in cn.execute("SELECT physical_name FROM sys.master_files WHERE database_id > 4")]
        platform = cn.execute("SELECT host_platform FROM sys.dm_os_host_info").fetchone()[0]
    assert platform == "Windows"
    assert names and all(n.startswith("C:\\Program Files\\Microsoft SQL Server\\MSSQL16.MSSQLSERVER\\MSSQL\\DATA\\")
                         for n in names), names
