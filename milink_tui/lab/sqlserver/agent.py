"""SQL Server Agent, as far as the link's network test needs it: msdb jobs that really run.

``msdb.dbo.sp_add_job`` / ``sp_add_jobstep`` / ``sp_add_jobserver`` / ``sp_start_job`` /
``sp_stop_job`` / ``sp_delete_job`` keep jobs in :class:`AgentState`; a started job runs asynchronously on the
lab clock (each step takes a few simulated seconds) and writes ``sysjobhistory`` (step rows,
then the step 0 outcome row), ``sysjobactivity`` and, with ``@flags`` 8/16, ``sysjobstepslogs``.
Progress is computed when T-SQL next looks (any Agent procedure or msdb job view), so no
ticker is needed and the result is the same as if Agent had run in the background.

The PowerShell subsystem interprets exactly the documented probe,
``tnc <host> -port <n> | select ComputerName, RemoteAddress, TcpTestSucceeded | Format-List``
(and ``-InformationLevel Quiet``); reachability comes from :meth:`World.probe_tcp` (or
:meth:`World.probe_tcp_from_mi` on a managed instance). Anything else
fails like a PowerShell error. On Linux the PowerShell subsystem does not load, as on a real
SQL Server on Linux.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..model import TcpProbe
from .context import ExecEnv, is_windows
from .errors import TsqlError
from .procedures import Param, ProcResult, proc
from .render import login_sid, ts

OK_SECONDS = 1.5  # a tnc that connects
FAIL_SECONDS = 4.0  # a tnc that times out (about 21 s on Windows; shortened for the lab)
SUBSYSTEMS = ("TSQL", "PowerShell", "CmdExec", "ActiveScripting", "Snapshot", "LogReader", "Distribution",
              "Merge", "QueueReader", "ANALYSISQUERY", "ANALYSISCOMMAND", "SSIS")
_TNC = re.compile(
    r"^\s*(?:tnc|test-netconnection)\s+(?:-computername\s+)?(?P<host>[A-Za-z0-9.\-]+)\s+-port\s+(?P<port>\d{1,5})"
    r"(?:\s*\|\s*select(?:-object)?\s+ComputerName\s*,\s*RemoteAddress\s*,\s*TcpTestSucceeded\s*\|\s*"
    r"Format-List|\s+-InformationLevel\s+Quiet)\s*$", re.I)


@dataclass
class JobStep:
    step_id: int
    step_name: str
    subsystem: str
    command: str
    database_name: str | None
    on_success_action: int = 1
    on_success_step_id: int = 0
    on_fail_action: int = 2
    on_fail_step_id: int = 0
    cmdexec_success_code: int = 0
    flags: int = 0
    retry_attempts: int = 0
    retry_interval: int = 0
    step_uid: uuid.UUID = field(default_factory=uuid.uuid4)
    last_run_outcome: int = 0
    last_run_duration: int = 0
    last_run_date: int = 0
    last_run_time: int = 0


@dataclass
class Job:
    job_id: uuid.UUID
    name: str
    owner: str
    created: dt.datetime
    enabled: int = 1
    description: str = "No description available."
    start_step_id: int = 1
    delete_level: int = 0
    steps: list[JobStep] = field(default_factory=list)
    servers: list[str] = field(default_factory=list)
    modified: dt.datetime | None = None
    version_number: int = 1


@dataclass
class History:
    instance_id: int
    job_id: uuid.UUID
    step_id: int
    step_name: str
    message: str
    run_status: int
    started: dt.datetime
    seconds: float
    server: str
    sql_message_id: int = 0
    sql_severity: int = 0


@dataclass
class StepLog:
    log_id: int
    step_uid: uuid.UUID
    log: str
    created: dt.datetime
    modified: dt.datetime


@dataclass
class Run:
    """One execution of a job, advanced lazily on the lab clock."""

    job: Job
    invoked_by: str
    started: dt.datetime
    step: JobStep | None = None
    step_started: dt.datetime | None = None
    step_ends: dt.datetime | None = None
    outcome: tuple[bool, str] = (True, "")  # the running step's (succeeded, message)
    last_step: JobStep | None = None
    done: bool = False


@dataclass
class Activity:
    session_id: int
    job_id: uuid.UUID
    run_requested_date: dt.datetime | None = None
    start_execution_date: dt.datetime | None = None
    last_executed_step_id: int | None = None
    last_executed_step_date: dt.datetime | None = None
    stop_execution_date: dt.datetime | None = None
    job_history_id: int | None = None


class AgentState:
    """msdb's job tables for one instance plus the jobs that are running."""

    def __init__(self) -> None:
        self.jobs: dict[uuid.UUID, Job] = {}
        self.history: list[History] = []
        self.logs: list[StepLog] = []
        self.activity: dict[uuid.UUID, Activity] = {}
        self.runs: dict[uuid.UUID, Run] = {}
        self.session_id = 1
        self._next_instance = 1
        self._next_log = 1

    def find(self, job_id: Any, job_name: Any) -> Job | None:
        if job_id is not None:
            return self.jobs.get(job_id if isinstance(job_id, uuid.UUID) else uuid.UUID(str(job_id)))
        for job in self.jobs.values():
            if job.name.lower() == str(job_name).lower():
                return job
        return None

    # ------------------------------------------------------------------ running jobs

    def advance(self, env: ExecEnv) -> None:
        """Finish every step whose time has come (on the lab clock) and start the next one."""
        now = env.world.clock.now()
        for run in list(self.runs.values()):
            while not run.done and run.step_ends is not None and run.step_ends <= now:
                self._finish_step(env, run)
            if run.done:
                del self.runs[run.job.job_id]

    def start(self, env: ExecEnv, job: Job, invoked_by: str) -> None:
        now = env.world.clock.now()
        run = Run(job, invoked_by, now)
        self.runs[job.job_id] = run
        self.activity[job.job_id] = Activity(self.session_id, job.job_id, run_requested_date=now,
                                             start_execution_date=now)
        first = next((s for s in job.steps if s.step_id == job.start_step_id), job.steps[0])
        self._start_step(env, run, first, now)

    def _start_step(self, env: ExecEnv, run: Run, step: JobStep, when: dt.datetime) -> None:
        ok, message, seconds = run_step(env, step)
        run.step, run.step_started, run.outcome = step, when, (ok, message)
        run.step_ends = when + dt.timedelta(seconds=seconds)
        act = self.activity[run.job.job_id]
        act.last_executed_step_id, act.last_executed_step_date = step.step_id, when

    def _finish_step(self, env: ExecEnv, run: Run) -> None:
        step, began, ends = run.step, run.step_started, run.step_ends
        assert step is not None and began is not None and ends is not None
        ok, message = run.outcome
        seconds = (ends - began).total_seconds()
        self._history(run.job, step.step_id, step.step_name, message, int(ok), began, seconds, env)
        step.last_run_outcome, step.last_run_duration = int(ok), hhmmss(seconds)
        step.last_run_date, step.last_run_time = yyyymmdd(began), hhmmss_of(began)
        if step.flags & (8 | 16):
            self._log(step, message, ends, append=bool(step.flags & 16))
        action, target = (step.on_success_action, step.on_success_step_id) if ok else (
            step.on_fail_action, step.on_fail_step_id)
        run.last_step = step
        following = None
        if action == 3:
            following = next((s for s in run.job.steps if s.step_id == step.step_id + 1), None)
            job_ok = ok if following is None else True
        elif action == 4:
            following = next((s for s in run.job.steps if s.step_id == target), None)
            job_ok = ok
        else:
            job_ok = action == 1
        if following is not None:
            self._start_step(env, run, following, ends)
            return
        self._end(env, run, job_ok, ends)

    def _end(self, env: ExecEnv, run: Run, ok: bool, ends: dt.datetime) -> None:
        last = run.last_step
        text = (f"The job {'succeeded' if ok else 'failed'}.  The Job was invoked by User {run.invoked_by}.  "
                f"The last step to run was step {last.step_id} ({last.step_name}).") if last else ""
        row = self._history(run.job, 0, "(Job outcome)", text, int(ok), run.started,
                            (ends - run.started).total_seconds(), env)
        act = self.activity[run.job.job_id]
        act.stop_execution_date, act.job_history_id = ends, row.instance_id
        run.done = True

    def _history(self, job: Job, step_id: int, step_name: str, message: str, status: int, began: dt.datetime,
                 seconds: float, env: ExecEnv) -> History:
        row = History(self._next_instance, job.job_id, step_id, step_name, message[:4000], status, began, seconds,
                      env.inst.name)
        self._next_instance += 1
        self.history.append(row)
        return row

    def _log(self, step: JobStep, text: str, when: dt.datetime, append: bool) -> None:
        old = next((lg for lg in self.logs if lg.step_uid == step.step_uid), None)
        if old is not None and append:
            old.log, old.modified = old.log + text, when
            return
        if old is not None:
            self.logs.remove(old)
        self.logs.append(StepLog(self._next_log, step.step_uid, text, when, when))
        self._next_log += 1

    def stop(self, env: ExecEnv, run: Run, by: str) -> None:
        """sp_stop_job: the run ends now with a "Job Canceled" (run_status 3) outcome row.

        Real Agent stops asynchronously, after the running step reaches a stable point; the lab
        stops at once, which a caller that polls sysjobactivity cannot tell apart.
        """
        now = env.world.clock.now()
        last = run.step
        text = (f"The job was stopped prior to completion by User {by}.  The Job was invoked by User "
                f"{run.invoked_by}.") + (f"  The last step to run was step {last.step_id} ({last.step_name})."
                                         if last else "")
        row = self._history(run.job, 0, "(Job outcome)", text, 3, run.started,
                            (now - run.started).total_seconds(), env)
        act = self.activity[run.job.job_id]
        act.stop_execution_date, act.job_history_id = now, row.instance_id
        run.done = True
        self.runs.pop(run.job.job_id, None)

    def delete(self, job: Job, history: bool) -> None:
        self.jobs.pop(job.job_id, None)
        self.runs.pop(job.job_id, None)
        self.activity.pop(job.job_id, None)
        uids = {s.step_uid for s in job.steps}
        self.logs = [lg for lg in self.logs if lg.step_uid not in uids]
        if history:
            self.history = [h for h in self.history if h.job_id != job.job_id]


def agent_of(env: ExecEnv) -> AgentState:
    state = env.state
    agent = getattr(state, "agent", None)
    if agent is None:
        agent = state.agent = AgentState()  # type: ignore[attr-defined]
    return agent


# --------------------------------------------------------------------------- step execution

def _service_account(env: ExecEnv) -> str:
    return "NT Service\\SQLSERVERAGENT" if is_windows(env.inst) else "mssql"


def run_step(env: ExecEnv, step: JobStep) -> tuple[bool, str, float]:
    """(succeeded, sysjobhistory message, simulated seconds) for one step, decided now."""
    user = f"Executed as user: {_service_account(env)}."
    if step.subsystem.lower() != "powershell":
        return False, (f"Unable to start execution of step {step.step_id} (reason: the milink lab runs only "
                       f"PowerShell job steps).  The step failed."), 0.5
    if not is_windows(env.inst):
        return False, (f"Unable to start execution of step {step.step_id} (reason: The PowerShell subsystem failed "
                       "to load [see the SQLAGENT.OUT file for details]; The job has been suspended).  "
                       "The step failed."), 0.5
    m = _TNC.match(step.command or "")
    if m is None:
        return False, f"{user} {_powershell_error(step.command or '')}  Process Exit Code -1.  The step failed.", 0.5
    mi = getattr(env.inst, "managed_instance", None)  # a managed instance's Agent probes from its subnet
    probe = (env.world.probe_tcp_from_mi(mi, m.group("host"), int(m.group("port"))) if mi is not None
             else env.world.probe_tcp(env.inst, m.group("host"), int(m.group("port"))))
    seconds = OK_SECONDS if probe.succeeded else (1.0 if probe.reason == "resolve" else FAIL_SECONDS)
    output = tnc_output(probe, quiet="quiet" in step.command.lower())
    return True, f"{user} {output}.  Process Exit Code 0.  The step succeeded.", seconds


def tnc_output(probe: TcpProbe, quiet: bool = False) -> str:
    """Test-NetConnection's output as Agent records it (lines joined; warnings first)."""
    warning = ""
    if probe.remote_address is None:
        warning = f"WARNING: Name resolution of {probe.host} failed  "
    elif not probe.succeeded:
        warning = f"WARNING: TCP connect to ({probe.remote_address} : {probe.port}) failed  "
    if quiet:
        return f"{warning}{probe.succeeded}"
    return (f"{warning}ComputerName     : {probe.host}  RemoteAddress    : {probe.remote_address or ''}  "
            f"TcpTestSucceeded : {probe.succeeded}")


def _powershell_error(command: str) -> str:
    line = command.strip().splitlines()[0] if command.strip() else ""
    word = line.split()[0] if line.split() else ""
    if word.lower() in ("tnc", "test-netconnection"):
        why = ("The milink lab's PowerShell host runs only 'tnc <host> -port <n> | select ComputerName, "
               "RemoteAddress, TcpTestSucceeded | Format-List' (or -InformationLevel Quiet).")
    else:
        why = (f"The term '{word}' is not recognized as the name of a cmdlet, function, script file, or operable "
               "program. Check the spelling of the name, or if a path was included, verify that the path is "
               "correct and try again.")
    return (f"A job step received an error at line 1 in a PowerShell script. The corresponding line is "
            f"'{line}'. Correct the script and reschedule the job. The error information returned by PowerShell "
            f"is: '{why}  '.")


def yyyymmdd(when: dt.datetime) -> int:
    return when.year * 10000 + when.month * 100 + when.day


def hhmmss_of(when: dt.datetime) -> int:
    return when.hour * 10000 + when.minute * 100 + when.second


def hhmmss(seconds: float) -> int:
    s = int(round(seconds))
    return (s // 3600) * 10000 + (s // 60 % 60) * 100 + s % 60


# --------------------------------------------------------------------------- procedures

def _need_sysadmin(env: ExecEnv, name: str) -> None:
    """Without sysadmin (or an SQLAgent*Role the lab does not model) msdb denies EXECUTE."""
    if not env.sysadmin:
        raise TsqlError(229, f"The EXECUTE permission was denied on the object '{name}', database 'msdb', "
                             "schema 'dbo'.", 14, 5)


def _job(agent: AgentState, a: dict[str, Any]) -> Job:
    job_id, name = a.get("@job_id"), a.get("@job_name")
    if (job_id is None) == (name is None):
        raise TsqlError(14294, "Supply either @job_id or @job_name to identify the job.", 16, 1)
    job = agent.find(job_id, name)
    if job is None:
        which = ("@job_id", str(job_id).upper()) if job_id is not None else ("@job_name", name)
        raise TsqlError(14262, f"The specified {which[0]} ('{which[1]}') does not exist.", 16, 1)
    return job


@proc("sp_add_job", [Param("@job_name", "sysname"), Param("@enabled", "tinyint", 1),
                     Param("@description", "nvarchar(512)", None), Param("@start_step_id", "int", 1),
                     Param("@category_name", "sysname", None), Param("@category_id", "int", None),
                     Param("@owner_login_name", "sysname", None), Param("@notify_level_eventlog", "int", 2),
                     Param("@notify_level_email", "int", 0), Param("@notify_level_netsend", "int", 0),
                     Param("@notify_level_page", "int", 0), Param("@notify_email_operator_name", "sysname", None),
                     Param("@notify_netsend_operator_name", "sysname", None),
                     Param("@notify_page_operator_name", "sysname", None), Param("@delete_level", "int", 0),
                     Param("@job_id", "uniqueidentifier", None, output=True)], home="msdb")
def _sp_add_job(env: ExecEnv, a: dict[str, Any]) -> ProcResult:
    _need_sysadmin(env, "sp_add_job")
    agent = agent_of(env)
    agent.advance(env)
    name = str(a["@job_name"] or "").strip()
    if not name:
        raise TsqlError(14234, "The specified '@job_name' is invalid.", 16, 1)
    if agent.find(None, name) is not None:
        raise TsqlError(14261, f"The specified @job_name ('{name}') already exists.", 16, 1)
    job = Job(uuid.uuid4(), name, str(a["@owner_login_name"] or env.session.login), env.now,
              enabled=int(a["@enabled"] or 0), start_step_id=int(a["@start_step_id"] or 1),
              delete_level=int(a["@delete_level"] or 0))
    if a["@description"] is not None:
        job.description = str(a["@description"])
    agent.jobs[job.job_id] = job
    a["@job_id"] = job.job_id
    return [], 0


@proc("sp_add_jobstep", [Param("@job_id", "uniqueidentifier", None), Param("@job_name", "sysname", None),
                         Param("@step_id", "int", None), Param("@step_name", "sysname"),
                         Param("@subsystem", "nvarchar(40)", "TSQL"), Param("@command", "nvarchar(max)", None),
                         Param("@additional_parameters", "nvarchar(max)", None),
                         Param("@cmdexec_success_code", "int", 0), Param("@on_success_action", "tinyint", 1),
                         Param("@on_success_step_id", "int", 0), Param("@on_fail_action", "tinyint", 2),
                         Param("@on_fail_step_id", "int", 0), Param("@server", "sysname", None),
                         Param("@database_name", "sysname", None), Param("@database_user_name", "sysname", None),
                         Param("@retry_attempts", "int", 0), Param("@retry_interval", "int", 0),
                         Param("@os_run_priority", "int", 0), Param("@output_file_name", "nvarchar(200)", None),
                         Param("@flags", "int", 0), Param("@proxy_id", "int", None),
                         Param("@proxy_name", "sysname", None), Param("@step_uid", "uniqueidentifier", None,
                                                                      output=True)], home="msdb")
def _sp_add_jobstep(env: ExecEnv, a: dict[str, Any]) -> ProcResult:
    _need_sysadmin(env, "sp_add_jobstep")
    agent = agent_of(env)
    job = _job(agent, a)
    subsystem = next((s for s in SUBSYSTEMS if s.lower() == str(a["@subsystem"] or "").lower()), None)
    if subsystem is None:
        raise TsqlError(14234, "The specified '@subsystem' is invalid (valid values are returned by "
                               "sp_enum_sqlagent_subsystems).", 16, 1)
    count = len(job.steps)
    step_id = int(a["@step_id"]) if a["@step_id"] is not None else count + 1
    if not 1 <= step_id <= count + 1:
        raise TsqlError(14266, f"The specified '@step_id' is invalid (valid values are: 1..{count + 1}).", 16, 1)
    for action, target in (("@on_success_action", "@on_success_step_id"), ("@on_fail_action", "@on_fail_step_id")):
        if int(a[action]) not in (1, 2, 3, 4):
            raise TsqlError(14266, f"The specified '{action}' is invalid (valid values are: 1, 2, 3, 4).", 16, 1)
        if int(a[action]) == 4 and int(a[target] or 0) == step_id:
            raise TsqlError(14235, f"The specified '{target}' is invalid (a step cannot go to itself).", 16, 1)
    for s in job.steps:
        if s.step_id >= step_id:
            s.step_id += 1
    step = JobStep(step_id, str(a["@step_name"]), subsystem, str(a["@command"] or ""), a["@database_name"],
                   on_success_action=int(a["@on_success_action"]), on_success_step_id=int(a["@on_success_step_id"]),
                   on_fail_action=int(a["@on_fail_action"]), on_fail_step_id=int(a["@on_fail_step_id"]),
                   cmdexec_success_code=int(a["@cmdexec_success_code"]), flags=int(a["@flags"] or 0),
                   retry_attempts=int(a["@retry_attempts"]), retry_interval=int(a["@retry_interval"]))
    job.steps.append(step)
    job.steps.sort(key=lambda s: s.step_id)
    job.modified, job.version_number = env.now, job.version_number + 1
    a["@step_uid"] = step.step_uid
    return [], 0


@proc("sp_add_jobserver", [Param("@job_id", "uniqueidentifier", None), Param("@job_name", "sysname", None),
                           Param("@server_name", "sysname", None)], home="msdb")
def _sp_add_jobserver(env: ExecEnv, a: dict[str, Any]) -> ProcResult:
    _need_sysadmin(env, "sp_add_jobserver")
    job = _job(agent_of(env), a)
    server = str(a["@server_name"] or "(local)")
    local = server.upper() in ("(LOCAL)", env.inst.name.upper())
    if not local:
        raise TsqlError(14262, f"The specified @server_name ('{server}') does not exist.", 16, 1)
    if job.servers:
        raise TsqlError(14269, f"Job '{job.name}' is already targeted at server '{env.inst.name}'.", 16, 1)
    job.servers.append(env.inst.name)
    return [], 0


@proc("sp_start_job", [Param("@job_name", "sysname", None), Param("@job_id", "uniqueidentifier", None),
                       Param("@error_flag", "int", 1), Param("@server_name", "sysname", None),
                       Param("@step_name", "sysname", None), Param("@output_flag", "int", 1)], home="msdb")
def _sp_start_job(env: ExecEnv, a: dict[str, Any]) -> ProcResult:
    _need_sysadmin(env, "sp_start_job")
    agent = agent_of(env)
    agent.advance(env)
    job = _job(agent, a)
    if not job.servers:
        raise TsqlError(14256, f"Cannot start job '{job.name}' (ID {str(job.job_id).upper()}) because it does not "
                               "have any job server or servers defined. Associate the job with a job server by "
                               "calling sp_add_jobserver.", 16, 1)
    if not env.inst.agent_running:
        raise TsqlError(22022, "SQLServerAgent is not currently running so it cannot be notified of this action.",
                        16, 1)
    if job.job_id in agent.runs:
        raise TsqlError(22022, f"SQLServerAgent Error: Request to run job {job.name} (from User "
                               f"{env.session.login}) refused because the job is already running from a request by "
                               f"User {agent.runs[job.job_id].invoked_by}.", 16, 1)
    if not job.steps:
        raise TsqlError(14424, f"The job '{job.name}' has no steps.", 16, 1)
    agent.start(env, job, env.session.login)
    from ..tds.backend import Message

    return [Message(0, f"Job '{job.name}' started successfully.", 0)], 0


@proc("sp_stop_job", [Param("@job_name", "sysname", None), Param("@job_id", "uniqueidentifier", None),
                      Param("@originating_server", "sysname", None), Param("@server_name", "sysname", None)],
      home="msdb")
def _sp_stop_job(env: ExecEnv, a: dict[str, Any]) -> ProcResult:
    """Stop a running job; 22022 when Agent is down or the job is not running (both real texts)."""
    _need_sysadmin(env, "sp_stop_job")
    agent = agent_of(env)
    agent.advance(env)
    job = _job(agent, a)
    if not env.inst.agent_running:
        raise TsqlError(22022, "SQLServerAgent is not currently running so it cannot be notified of this action.",
                        16, 1)
    run = agent.runs.get(job.job_id)
    if run is None:
        raise TsqlError(22022, f"SQLServerAgent Error: Request to stop job {job.name} (from User "
                               f"{env.session.login}) refused because the job is not currently running.", 16, 1)
    agent.stop(env, run, env.session.login)
    from ..tds.backend import Message

    return [Message(0, f"Job '{job.name}' stopped successfully.", 0)], 0


@proc("sp_delete_job", [Param("@job_id", "uniqueidentifier", None), Param("@job_name", "sysname", None),
                        Param("@originating_server", "sysname", None), Param("@delete_history", "bit", 1),
                        Param("@delete_unused_schedule", "bit", 1)], home="msdb")
def _sp_delete_job(env: ExecEnv, a: dict[str, Any]) -> ProcResult:
    _need_sysadmin(env, "sp_delete_job")
    agent = agent_of(env)
    agent.advance(env)
    agent.delete(_job(agent, a), history=bool(a["@delete_history"]))
    return [], 0


# --------------------------------------------------------------------------- msdb views

Row = dict[str, Any]


def _g(value: uuid.UUID) -> str:
    return str(value).upper()


def r_sysjobs(env: ExecEnv) -> Iterable[Row]:
    agent = agent_of(env)
    agent.advance(env)
    for job in agent.jobs.values():
        yield {"job_id": _g(job.job_id), "originating_server_id": 0, "name": job.name, "enabled": job.enabled,
               "description": job.description, "start_step_id": job.start_step_id, "category_id": 0,
               "owner_sid": login_sid(env, job.owner), "delete_level": job.delete_level,
               "date_created": ts(job.created), "date_modified": ts(job.modified or job.created),
               "version_number": job.version_number}


def r_sysjobs_view(env: ExecEnv) -> Iterable[Row]:
    for row in r_sysjobs(env):
        yield {**row, "originating_server": env.inst.name}


def r_sysjobsteps(env: ExecEnv) -> Iterable[Row]:
    agent = agent_of(env)
    agent.advance(env)
    for job in agent.jobs.values():
        for s in job.steps:
            yield {"job_id": _g(job.job_id), "step_id": s.step_id, "step_name": s.step_name,
                   "subsystem": s.subsystem, "command": s.command, "flags": s.flags,
                   "cmdexec_success_code": s.cmdexec_success_code, "on_success_action": s.on_success_action,
                   "on_success_step_id": s.on_success_step_id, "on_fail_action": s.on_fail_action,
                   "on_fail_step_id": s.on_fail_step_id, "database_name": s.database_name,
                   "retry_attempts": s.retry_attempts, "retry_interval": s.retry_interval,
                   "last_run_outcome": s.last_run_outcome, "last_run_duration": s.last_run_duration,
                   "last_run_date": s.last_run_date, "last_run_time": s.last_run_time,
                   "step_uid": _g(s.step_uid)}


def r_sysjobhistory(env: ExecEnv) -> Iterable[Row]:
    agent = agent_of(env)
    agent.advance(env)
    for h in agent.history:
        yield {"instance_id": h.instance_id, "job_id": _g(h.job_id), "step_id": h.step_id, "step_name": h.step_name,
               "sql_message_id": h.sql_message_id, "sql_severity": h.sql_severity, "message": h.message,
               "run_status": h.run_status, "run_date": yyyymmdd(h.started), "run_time": hhmmss_of(h.started),
               "run_duration": hhmmss(h.seconds), "server": h.server}


def r_sysjobactivity(env: ExecEnv) -> Iterable[Row]:
    agent = agent_of(env)
    agent.advance(env)
    for act in agent.activity.values():
        yield {"session_id": act.session_id, "job_id": _g(act.job_id),
               "run_requested_date": ts(act.run_requested_date),
               "run_requested_source": "4" if act.run_requested_date else None,
               "start_execution_date": ts(act.start_execution_date),
               "last_executed_step_id": act.last_executed_step_id,
               "last_executed_step_date": ts(act.last_executed_step_date),
               "stop_execution_date": ts(act.stop_execution_date), "job_history_id": act.job_history_id}


def r_sysjobstepslogs(env: ExecEnv) -> Iterable[Row]:
    agent = agent_of(env)
    agent.advance(env)
    for lg in agent.logs:
        yield {"log_id": lg.log_id, "log": lg.log, "date_created": ts(lg.created), "date_modified": ts(lg.modified),
               "log_size": len(lg.log.encode("utf-16-le")), "step_uid": _g(lg.step_uid)}


RENDERERS = {
    "dbo.sysjobs": r_sysjobs, "dbo.sysjobs_view": r_sysjobs_view, "dbo.sysjobsteps": r_sysjobsteps,
    "dbo.sysjobhistory": r_sysjobhistory, "dbo.sysjobactivity": r_sysjobactivity,
    "dbo.sysjobstepslogs": r_sysjobstepslogs,
}

__all__ = ["AgentState", "agent_of", "run_step", "tnc_output", "RENDERERS"]
