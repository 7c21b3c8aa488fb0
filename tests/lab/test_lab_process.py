"""The lab as users and the test suite meet it: a child process, real clients, real sockets.

Each client logs in and reads the monitoring queries published in the reference (domain.md
§8.2), typed as a DBA would. Failover semantics are proven with T-SQL over TDS and the real
Azure SDK over HTTPS, with the lab's own counters as the referee.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import struct
import subprocess
import sys
import time

import pytest

from milink_tui.services.lab_process import LabProcess, control

from .reference_queries import DASHBOARD_QUERY, HEALTH_QUERY, LAG_QUERY, SEEDING_QUERY

LINK_HEALTH = HEALTH_QUERY.replace("<DAGname>", "DAG_SalesDb")
LAG = LAG_QUERY.replace("<DAGname>", "DAG_SalesDb")
DASHBOARD = DASHBOARD_QUERY
SEEDING = SEEDING_QUERY


@pytest.fixture(scope="module")
def linked_lab():
    lab = LabProcess("linked")
    lab.start()
    yield lab
    lab.stop()


def odbc18(info, validate: bool = False):
    import pyodbc

    sql = info.sql
    trust = "TrustServerCertificate=no" if validate else "TrustServerCertificate=yes"
    return pyodbc.connect(
        f"DRIVER={{ODBC Driver 18 for SQL Server}};SERVER=tcp:localhost,{sql['port']};UID={sql['user']};"
        f"PWD={sql['password']};Encrypt=yes;{trust};LoginTimeout=10", autocommit=True, timeout=20)


def monitoring_rows(cursor) -> dict:
    out = {}
    for name, query in (("health", LINK_HEALTH), ("lag", LAG), ("dashboard", DASHBOARD), ("seeding", SEEDING)):
        cursor.execute(query)
        while cursor.description is None and cursor.nextset():
            pass
        cols = [d[0] for d in cursor.description]
        out[name] = (cols, [tuple(r) for r in cursor.fetchall()])
    return out


def test_serve_json_is_ready_and_exits_cleanly_on_sigterm() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "milink_tui", "lab", "serve", "--scenario", "linked", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        assert set(info) >= {"sql", "arm", "entra", "control"}
        assert set(info["sql"]) >= {"host", "port", "user", "password", "ca_file"}
        assert set(info["arm"]) >= {"base_url", "ca_file", "subscription_id"}
        assert info["arm"]["base_url"].startswith("https://")
        with socket.create_connection(("127.0.0.1", info["sql"]["port"]), timeout=5):
            pass
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=15)
        err = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
    assert code == 0, err
    assert "Traceback" not in err and "Task was destroyed" not in err


def test_odbc18_reads_the_monitoring_queries(linked_lab) -> None:
    with odbc18(linked_lab.info) as conn:
        rows = monitoring_rows(conn.cursor())
    assert rows["health"][1] == [("HEALTHY",)]
    cols, lag = rows["lag"]
    assert cols == ["Link name", "Link role", "Link connected state", "Link sync health",
                    "Link replication latency (seconds)"]
    assert lag[0][:4] == ("DAG_SalesDb", "PRIMARY", "CONNECTED", "HEALTHY")
    cols, dash = rows["dashboard"]
    assert "synchronization_state_desc" in cols
    remote = [r for r in dash if r[0] == "DAG_SalesDb" and not r[3]]
    assert remote and remote[0][6] == "SYNCHRONIZING" and remote[0][7] == "HEALTHY"
    assert rows["seeding"][1] == []  # no seeding running in a linked lab


def test_odbc18_full_certificate_validation_against_the_lab_ca(linked_lab) -> None:
    code = (
        "import os, pyodbc; "
        f"c = pyodbc.connect('DRIVER={{ODBC Driver 18 for SQL Server}};SERVER=tcp:localhost,{linked_lab.info.sql['port']};"
        f"UID=sa;PWD={linked_lab.info.sql['password']};Encrypt=yes;TrustServerCertificate=no;LoginTimeout=10'); "
        "print(c.cursor().execute('SELECT @@SERVERNAME').fetchone()[0])"
    )
    env = {**os.environ, "SSL_CERT_FILE": linked_lab.info.ca_file}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "SQLLAB01"


def test_freetds_reads_the_monitoring_queries(linked_lab) -> None:
    import pyodbc

    sql = linked_lab.info.sql
    conn = pyodbc.connect(f"DRIVER={{FreeTDS}};SERVER=127.0.0.1;Port={sql['port']};TDS_Version=7.4;"
                          f"UID={sql['user']};PWD={sql['password']}", autocommit=True, timeout=20)
    try:
        rows = monitoring_rows(conn.cursor())
    finally:
        conn.close()
    assert rows["health"][1] == [("HEALTHY",)]
    assert rows["lag"][1][0][:4] == ("DAG_SalesDb", "PRIMARY", "CONNECTED", "HEALTHY")


def test_mssql_python_reads_the_monitoring_queries(linked_lab) -> None:
    import mssql_python

    sql = linked_lab.info.sql
    conn = mssql_python.connect(f"SERVER=tcp:localhost,{sql['port']};UID={sql['user']};PWD={sql['password']};"
                                "Encrypt=yes;TrustServerCertificate=yes")
    try:
        cur = conn.cursor()
        cur.execute(LINK_HEALTH)
        assert [tuple(r) for r in cur.fetchall()] == [("HEALTHY",)]
        cur.execute(LAG)
        assert tuple(cur.fetchall()[0])[:4] == ("DAG_SalesDb", "PRIMARY", "CONNECTED", "HEALTHY")
    finally:
        conn.close()


def test_python_tds_reads_the_monitoring_queries(linked_lab) -> None:
    import pytds

    sql = linked_lab.info.sql
    with pytds.connect(server="127.0.0.1", port=sql["port"], user=sql["user"], password=sql["password"],
                       autocommit=True, login_timeout=10) as conn:
        cur = conn.cursor()
        cur.execute(LINK_HEALTH)
        assert [tuple(r) for r in cur.fetchall()] == [("HEALTHY",)]
        cur.execute(DASHBOARD)
        assert any(r[0] == "DAG_SalesDb" for r in cur.fetchall())


def test_unknown_tsql_is_rejected_with_a_real_error(linked_lab) -> None:
    import pyodbc

    with odbc18(linked_lab.info) as conn:
        cur = conn.cursor()
        with pytest.raises(pyodbc.Error, match=r"\(2812\)"):
            cur.execute("EXEC sp_does_not_exist")
        with pytest.raises(pyodbc.Error, match=r"\(208\)"):
            cur.execute("SELECT * FROM sys.no_such_view")
        with pytest.raises(pyodbc.Error, match=r"\(102\)|\(156\)"):
            cur.execute("FROBNICATE THE DATABASE")
        assert cur.execute("SELECT 1").fetchone()[0] == 1


def test_malformed_tds_packet_does_not_take_the_lab_down(linked_lab) -> None:
    port = linked_lab.info.sql["port"]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(struct.pack(">BBHHBB", 0x12, 0x01, 0x0004, 0, 0, 0) + b"\xff" * 64)  # length < header
        s.settimeout(5)
        try:
            while s.recv(4096):
                pass
        except (TimeoutError, ConnectionResetError):
            pass
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(os.urandom(3000))
    with odbc18(linked_lab.info) as conn:
        assert conn.cursor().execute("SELECT @@SERVERNAME").fetchone()[0] == "SQLLAB01"


def test_certificate_mismatch_keeps_the_link_disconnected(lab_factory) -> None:
    lab = lab_factory("broken")
    time.sleep(0.5)
    with odbc18(lab.info) as conn:
        row = conn.cursor().execute(
            "SELECT rs.connected_state_desc, rs.last_connect_error_number, rs.last_connect_error_description "
            "FROM sys.dm_hadr_availability_replica_states rs JOIN sys.availability_groups ag "
            "ON ag.group_id = rs.group_id WHERE ag.name = 'DAG_SalesDb' AND rs.is_local = 0").fetchone()
    assert row[0] == "DISCONNECTED"
    assert row[1] == 41974
    assert "endpoint certificate from SQL Azure SQL Managed Instance has not been imported" in row[2]


def _state(lab) -> dict:
    return control(lab.info.control_url, "/state")


def test_planned_failover_under_workload_loses_nothing(lab_factory) -> None:
    lab = lab_factory("linked", speed=5)
    time.sleep(1)
    with odbc18(lab.info) as conn:
        cur = conn.cursor()
        cur.execute("ALTER AVAILABILITY GROUP [DAG_SalesDb] FAILOVER")
        role = cur.execute(
            "SELECT rs.role_desc FROM sys.availability_groups ag JOIN sys.dm_hadr_availability_replica_states rs "
            "ON ag.group_id = rs.group_id WHERE rs.is_local = 1 AND ag.is_distributed = 1 "
            "AND ag.name = 'DAG_SalesDb'").fetchone()[0]
    assert role == "SECONDARY"
    state = _state(lab)
    link = next(x for x in state["links"] if x["link"] == "DAG_SalesDb")
    assert link["mi_role"] == "Primary"
    assert state["lost_transactions"] == 0


def test_dropping_a_link_after_failover_to_the_mi_leaves_sql_server_restoring(lab_factory) -> None:
    """SQL Server is now the secondary: DROP AVAILABILITY GROUP leaves its copy RESTORING, not writable."""
    lab = lab_factory("linked", speed=5)
    time.sleep(0.5)
    state = "SELECT state_desc FROM sys.databases WHERE name = ?"
    with odbc18(lab.info) as conn:
        cur = conn.cursor()
        cur.execute("ALTER AVAILABILITY GROUP [DAG_SalesDb] FAILOVER")
        assert cur.execute(state, "SalesDb").fetchone()[0] == "ONLINE"
        cur.execute("DROP AVAILABILITY GROUP [DAG_SalesDb]")
        cur.execute("DROP AVAILABILITY GROUP [AG_SalesDb]")
        assert cur.execute(state, "SalesDb").fetchone()[0] == "RESTORING"
        cur.execute("RESTORE DATABASE [SalesDb] WITH RECOVERY")  # what a DBA does to use that copy again
        assert cur.execute(state, "SalesDb").fetchone()[0] == "ONLINE"
        cur.execute("DROP AVAILABILITY GROUP [DAG_Orders]")  # Orders stayed primary on SQL Server
        cur.execute("DROP AVAILABILITY GROUP [AG_Orders]")
        assert cur.execute(state, "Orders").fetchone()[0] == "ONLINE"


def test_forced_failover_during_partition_loses_exactly_the_unhardened(lab_factory) -> None:
    lab = lab_factory("linked", speed=5)
    time.sleep(0.5)
    control(lab.info.control_url, "/fault", {"partition": True})
    time.sleep(1.5)
    before = _state(lab)
    sales = next(x for x in before["links"] if x["link"] == "DAG_SalesDb")
    assert not sales["connected"]
    # Stop the workload so the count can't move between reading it and failing over.
    control(lab.info.control_url, "/workload", {"database": "SalesDb", "transactions_per_second": 0})
    time.sleep(0.3)
    state = _state(lab)
    written = state["sql_servers"]["SQLLAB01"]["databases"]["SalesDb"]["transactions"]
    hardened = next(x for x in state["links"] if x["link"] == "DAG_SalesDb")["hardened_transactions"]
    assert written > hardened
    _arm_forced_failover(lab, "DAG_SalesDb")
    after = _state(lab)
    assert after["lost_transactions"] == written - hardened
    assert after["managed_instances"]["sqlmi-lab-gp"]["databases"]["SalesDb"]["transactions"] == hardened


def _arm_forced_failover(lab, link_name: str) -> None:
    """The real azure-mgmt-sql aio client, trusting the lab CA through one shared aiohttp session."""
    import asyncio

    async def go() -> None:
        import aiohttp
        from azure.core.pipeline.transport import AioHttpTransport
        from azure.identity.aio import ClientSecretCredential
        from azure.mgmt.sql.aio import SqlManagementClient

        info = lab.info
        ctx = ssl.create_default_context(cafile=info.ca_file)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as session:
            transport = AioHttpTransport(session=session, session_owner=False)
            cred = ClientSecretCredential(info.entra["tenant_id"], info.entra["sp_client_id"], info.entra["sp_client_secret"],
                                          authority=info.entra["authority"], disable_instance_discovery=True,
                                          transport=AioHttpTransport(session=session, session_owner=False))
            async with SqlManagementClient(cred, info.arm["subscription_id"], base_url=info.arm["base_url"],
                                           transport=transport) as client:
                poller = await client.distributed_availability_groups.begin_failover(
                    "rg-milink-lab", "sqlmi-lab-gp", link_name, {"failoverType": "ForcedAllowDataLoss"},
                    polling_interval=0.1)  # ARM's read limit (25 a second) would throttle a tighter poll
                result = await poller.result()
                assert result.instance_link_role == "Primary"
            await cred.close()

    asyncio.run(go())


def test_injected_tds_drop_breaks_one_connection_and_the_next_one_works(lab_factory) -> None:
    import pyodbc

    lab = lab_factory("linked")
    conn = odbc18(lab.info)
    control(lab.info.control_url, "/fault", {"tds_drop": 1})
    with pytest.raises(pyodbc.Error, match=r"08S01|Communication link failure|TCP Provider"):
        conn.cursor().execute("SELECT 1").fetchone()
    with contextlib.suppress(pyodbc.Error):
        conn.close()
    with odbc18(lab.info) as again:
        assert again.cursor().execute("SELECT 1").fetchone()[0] == 1


def test_the_lab_stops_when_its_launcher_dies() -> None:
    code = ("from milink_tui.services.lab_process import LabProcess; import time; "
            "lab = LabProcess('fresh'); lab.start(); print(lab.proc.pid, flush=True); time.sleep(60)")
    launcher = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    lab_pid = int(launcher.stdout.readline())
    launcher.kill()  # like a dropped SSH session taking the app down without cleanup
    launcher.wait()
    launcher.stdout.close()
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            with open(f"/proc/{lab_pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return  # exited; waiting for init to reap it
        except FileNotFoundError:
            return
        time.sleep(0.1)
    os.kill(lab_pid, signal.SIGKILL)
    raise AssertionError("the lab kept running after its launcher died")


def test_the_control_api_sets_arm_read_limits_and_refuses_nonsense(lab_factory) -> None:
    lab = lab_factory("linked")
    faults = control(lab.info.control_url, "/fault", {"arm_read_limit": [5, 1]})
    assert faults["arm_read_limit"] == [5.0, 1.0] and faults["arm_limits"] is True
    for bad in ([0, 1], [5, 0], "x", [5]):
        with pytest.raises(RuntimeError, match="HTTP 400.*arm_read_limit"):
            control(lab.info.control_url, "/fault", {"arm_read_limit": bad})
    faults = control(lab.info.control_url, "/fault", {"arm_read_limit": None, "arm_limits": False})
    assert faults["arm_read_limit"] is None and faults["arm_limits"] is False
