"""SQL Server Agent in the simulated engine: msdb job procedures, job tables, and PowerShell tnc
steps that run on the lab clock against the lab's network (in process; tests/lab/test_agent_lab.py
drives the same over TDS with pyodbc)."""

from __future__ import annotations

import pytest

from milink_tui.lab.hooks import NoOps
from milink_tui.lab.model import ManagedInstance, PortBlock, SqlInstance, World
from milink_tui.lab.sqlserver import SqlServerBackend

from .sqlserver_helpers import Client, assert_no_errors, errors_of, make_world

# The documented script (managed-instance-link-preparation, "Test the connection from SQL Server to
# SQL Managed Instance"), with its parameters filled in by format().
DOC_SCRIPT = """
DECLARE @node NVARCHAR(512) = N'{node}'
DECLARE @port NVARCHAR(512) = N'{port}'
DECLARE @serverName NVARCHAR(512) = N'{fqdn}'
IF EXISTS (SELECT job_id FROM msdb.dbo.sysjobs_view WHERE name = N'TestMILinkConnection')
EXEC msdb.dbo.sp_delete_job @job_name = N'TestMILinkConnection', @delete_unused_schedule=1
DECLARE @jobId BINARY(16), @cmd NVARCHAR(MAX)
EXEC  msdb.dbo.sp_add_job @job_name=N'TestMILinkConnection', @enabled=1, @job_id = @jobId OUTPUT
SET @cmd = (N'tnc ' + @serverName + N' -port 5022 | select ComputerName, RemoteAddress, TcpTestSucceeded | Format-List')
EXEC msdb.dbo.sp_add_jobstep @job_id = @jobId, @step_name = N'Test Port 5022'
, @step_id = 1, @cmdexec_success_code = 0, @on_success_action = 3, @on_fail_action = 3
, @subsystem = N'PowerShell', @command = @cmd, @database_name = N'master'
SET @cmd = (N'tnc ' + @node + N' -port ' + @port +' | select ComputerName, RemoteAddress, TcpTestSucceeded | Format-List')
EXEC msdb.dbo.sp_add_jobstep @job_id = @jobId, @step_name = N'Test HADR Port'
, @step_id = 2, @cmdexec_success_code = 0, @subsystem = N'PowerShell', @command = @cmd, @database_name = N'master'
EXEC msdb.dbo.sp_add_jobserver @job_id = @jobId, @server_name = N'(local)'
GO
EXEC msdb.dbo.sp_start_job @job_name = N'TestMILinkConnection'
"""

RESULTS = """SELECT [step_name]
 ,SUBSTRING([message], CHARINDEX('TcpTestSucceeded',[message]), CHARINDEX('Process Exit', [message])
   -CHARINDEX('TcpTestSucceeded',[message])) as TcpTestResult
 ,SUBSTRING([message], CHARINDEX('RemoteAddress',[message]), CHARINDEX ('TcpTestSucceeded',[message])
   -CHARINDEX('RemoteAddress',[message])) as RemoteAddressResult
 ,[run_status] ,[run_duration], [message]
FROM [msdb].[dbo].[sysjobhistory] JH JOIN [msdb].[dbo].[sysjobs] J ON JH.job_id= J.job_id
WHERE J.name = N'TestMILinkConnection' and step_id <> 0 ORDER BY step_id"""

OUTCOME = """SELECT run_status, message FROM msdb.dbo.sysjobhistory JH JOIN msdb.dbo.sysjobs J ON JH.job_id = J.job_id
WHERE J.name = N'TestMILinkConnection' AND step_id = 0"""


@pytest.fixture
def lab() -> tuple[World, SqlInstance, ManagedInstance, Client]:
    world, inst = make_world(host_platform="Windows")
    mi = ManagedInstance("sqlmi1", "sub", "rg", dns_zone="0123456789ab")
    world.managed_instances["sqlmi1"] = mi
    return world, inst, mi, Client(SqlServerBackend(world, inst.name, NoOps()))


def script(mi: ManagedInstance, port: int | None = None) -> str:
    return DOC_SCRIPT.format(node=mi.node_name, port=port or mi.hadr_port, fqdn=mi.fqdn)


async def test_documented_script_runs_asynchronously_and_reports_both_ports(lab) -> None:
    world, inst, mi, c = lab
    out = await c.script(script(mi))
    assert_no_errors(out)
    assert any("started successfully" in getattr(o, "text", "") for o in out)
    assert not (await c.result(OUTCOME)).rows  # still running
    world.clock.advance(1)
    assert not (await c.result(OUTCOME)).rows  # step 1 takes 1.5 s of lab time
    world.clock.advance(5)
    steps = await c.rows(RESULTS)
    assert [s[0] for s in steps] == ["Test Port 5022", "Test HADR Port"]
    assert all(s[1].startswith("TcpTestSucceeded : True") and s[3] == 1 for s in steps)
    assert mi.listener_ip in steps[0][2] and mi.node_ip in steps[1][2]
    assert steps[0][5].startswith("Executed as user: NT Service\\SQLSERVERAGENT.")
    status, message = (await c.rows(OUTCOME))[0]
    assert status == 1 and message == ("The job succeeded.  The Job was invoked by User sa.  The last step to run "
                                       "was step 2 (Test HADR Port).")
    act = await c.dicts("SELECT a.start_execution_date, a.stop_execution_date, a.last_executed_step_id "
                        "FROM msdb.dbo.sysjobactivity a JOIN msdb.dbo.sysjobs j ON j.job_id = a.job_id")
    assert act[0]["stop_execution_date"] > act[0]["start_execution_date"] and act[0]["last_executed_step_id"] == 2


async def test_blocked_redirect_range_fails_tcp_but_the_step_and_job_succeed(lab) -> None:
    world, inst, mi, c = lab
    world.network_blocks.append(PortBlock(11000, 11999, "sql-outbound"))
    assert_no_errors(await c.script(script(mi)))
    world.clock.advance(10)
    steps = await c.rows(RESULTS)
    assert steps[0][1].startswith("TcpTestSucceeded : True")
    assert steps[1][1].startswith("TcpTestSucceeded : False")
    assert f"WARNING: TCP connect to ({mi.node_ip} : {mi.hadr_port}) failed" in steps[1][5]
    assert steps[1][4] == 4 and steps[1][3] == 1  # tnc does not throw: the step succeeds, slower
    assert (await c.rows(OUTCOME))[0][0] == 1


async def test_partition_unknown_names_and_closed_ports(lab) -> None:
    world, inst, mi, c = lab
    world.faults.partitioned = True
    assert not world.probe_tcp(inst, mi.fqdn, 5022).succeeded
    world.faults.partitioned = False
    assert world.probe_tcp(inst, mi.fqdn, 5022).succeeded
    assert world.probe_tcp(inst, mi.node_name, 11003).reason == "refused"
    assert world.probe_tcp(inst, "nowhere.example", 5022).remote_address is None
    assert not world.probe_tcp(inst, mi.fqdn, 5022).reason
    world.network_blocks.append(PortBlock(5022, 5022, "mi-inbound", managed_instance="other"))
    assert world.probe_tcp(inst, mi.fqdn, 5022).succeeded  # a rule for another instance


async def test_linux_agent_cannot_load_the_powershell_subsystem(lab) -> None:
    world, inst, mi, c = lab
    inst.host_platform = "Linux"
    assert_no_errors(await c.script(script(mi)))
    world.clock.advance(5)
    steps = await c.rows(RESULTS)
    assert steps[0][3] == 0 and "The PowerShell subsystem failed to load" in steps[0][5]
    assert (await c.rows(OUTCOME))[0][0] == 0  # step 2 failed too (step 1 goes to next on failure)


async def test_agent_stopped_refuses_sp_start_job_with_22022(lab) -> None:
    world, inst, mi, c = lab
    inst.agent_running = False
    out = await c.script(script(mi))
    err = errors_of(out)[0]
    assert err.number == 22022
    assert err.text == "SQLServerAgent is not currently running so it cannot be notified of this action."
    rows = await c.rows("SELECT servicename, status_desc FROM sys.dm_server_services")
    assert ("SQL Server Agent (MSSQLSERVER)", "Stopped") in rows
    assert await c.rows("SELECT CAST(value_in_use AS int) FROM sys.configurations WHERE name = N'Agent XPs'") == [(0,)]


async def test_other_commands_fail_like_powershell_and_flags_40_write_the_step_log(lab) -> None:
    world, inst, mi, c = lab
    assert_no_errors(await c.script(f"""
DECLARE @jobId BINARY(16)
EXEC msdb.dbo.sp_add_job @job_name = N'NetHelper', @job_id = @jobId OUTPUT
EXEC msdb.dbo.sp_add_jobstep @job_id = @jobId, @step_name = N'probe', @step_id = 1, @subsystem = N'PowerShell',
    @command = N'tnc {mi.fqdn} -port 5022 -InformationLevel Quiet', @database_name = N'master', @flags = 40,
    @on_success_action = 3, @on_fail_action = 3
EXEC msdb.dbo.sp_add_jobstep @job_id = @jobId, @step_name = N'bad', @step_id = 2, @subsystem = N'PowerShell',
    @command = N'Get-ChildItem C:\\', @database_name = N'master'
EXEC msdb.dbo.sp_add_jobserver @job_id = @jobId
EXEC msdb.dbo.sp_start_job @job_name = N'NetHelper'"""))
    world.clock.advance(5)
    logs = await c.rows("SELECT sjs.step_name, sjsl.log FROM msdb.dbo.sysjobs sj "
                        "JOIN msdb.dbo.sysjobsteps sjs ON sj.job_id = sjs.job_id "
                        "JOIN msdb.dbo.sysjobstepslogs sjsl ON sjs.step_uid = sjsl.step_uid WHERE sj.name = 'NetHelper'")
    assert logs == [("probe", "Executed as user: NT Service\\SQLSERVERAGENT. True.  Process Exit Code 0.  "
                              "The step succeeded.")]
    bad = await c.rows("SELECT run_status, message FROM msdb.dbo.sysjobhistory WHERE step_id = 2")
    assert bad[0][0] == 0 and "The term 'Get-ChildItem' is not recognized" in bad[0][1]


async def test_errors_permissions_and_delete(lab) -> None:
    world, inst, mi, c = lab
    assert (await c.error("EXEC sp_add_job @job_name = N'x'")).number == 2812  # lives in msdb
    assert_no_errors(await c.run("EXEC msdb.dbo.sp_add_job @job_name = N'x'"))
    assert (await c.error("EXEC msdb.dbo.sp_add_job @job_name = N'x'")).number == 14261
    assert (await c.error("EXEC msdb.dbo.sp_start_job @job_name = N'x'")).number == 14256  # no job server
    assert (await c.error("EXEC msdb.dbo.sp_add_jobstep @job_name = N'x', @step_name = N's', "
                          "@subsystem = N'Bogus'")).number == 14234
    assert (await c.error("EXEC msdb.dbo.sp_delete_job @job_name = N'nope'")).text == \
        "The specified @job_name ('nope') does not exist."
    assert (await c.error("DECLARE @v int; EXEC msdb.dbo.sp_delete_job @job_name = N'x', "
                          "@delete_history = @v OUTPUT")).number == 8162
    monitor = Client(c.backend, "monitor", "M0nitor!")
    assert (await monitor.error("EXEC msdb.dbo.sp_add_job @job_name = N'y'")).number == 229
    assert_no_errors(await c.run("USE msdb; EXEC sp_delete_job @job_name = N'x'"))
    assert await c.rows("SELECT COUNT(*) FROM msdb.dbo.sysjobs") == [(0,)]


async def test_delete_removes_history_and_a_running_job(lab) -> None:
    world, inst, mi, c = lab
    assert_no_errors(await c.script(script(mi)))
    world.clock.advance(2)
    assert (await c.rows("SELECT COUNT(*) FROM msdb.dbo.sysjobhistory"))[0][0] == 1
    assert_no_errors(await c.run("EXEC msdb.dbo.sp_delete_job @job_name = N'TestMILinkConnection'"))
    world.clock.advance(10)
    for table in ("sysjobs", "sysjobsteps", "sysjobhistory", "sysjobactivity"):
        assert await c.rows(f"SELECT COUNT(*) FROM msdb.dbo.{table}") == [(0,)], table


async def test_sp_stop_job_cancels_a_running_job_and_refuses_one_that_is_not_running(lab) -> None:
    """22022 (the real refusal text) when nothing runs; a stop ends the run with run_status 3 (Canceled)."""
    world, inst, mi, c = lab
    assert_no_errors(await c.script(script(mi)))
    world.clock.advance(0.5)  # step 1 still running
    out = await c.run("EXEC msdb.dbo.sp_stop_job @job_name = N'TestMILinkConnection'")
    assert_no_errors(out)
    assert any(getattr(o, "text", "") == "Job 'TestMILinkConnection' stopped successfully." for o in out)
    status, message = (await c.rows(OUTCOME))[0]
    assert status == 3
    assert message == ("The job was stopped prior to completion by User sa.  The Job was invoked by User sa.  "
                       "The last step to run was step 1 (Test Port 5022).")
    world.clock.advance(10)
    assert await c.rows(RESULTS) == []  # the cancelled run writes no step results afterwards
    stopped = await c.rows("SELECT a.stop_execution_date FROM msdb.dbo.sysjobactivity a")
    assert stopped[0][0] is not None
    err = await c.error("EXEC msdb.dbo.sp_stop_job @job_name = N'TestMILinkConnection'")
    assert (err.number, err.severity, err.text) == (
        22022, 16, "SQLServerAgent Error: Request to stop job TestMILinkConnection (from User sa) refused because "
                   "the job is not currently running.")
    assert (await c.error("EXEC msdb.dbo.sp_stop_job @job_name = N'nope'")).number == 14262
    assert_no_errors(await c.run("EXEC msdb.dbo.sp_start_job @job_name = N'TestMILinkConnection'"))  # can rerun
    inst.agent_running = False
    err = await c.error("EXEC msdb.dbo.sp_stop_job @job_name = N'TestMILinkConnection'")
    assert err.number == 22022 and err.text.startswith("SQLServerAgent is not currently running")
