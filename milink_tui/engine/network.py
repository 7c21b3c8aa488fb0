"""The SSMS Network Checker, run through SQL Server Agent on both sides.

A TCP probe from the machine running milink would test the wrong path: what matters is the
SQL Server host reaching the managed instance subnet, and back. So, like SSMS and the documented
script, milink creates a temporary Agent job on SQL Server whose PowerShell steps run
``tnc <host> -port <n>``, starts it, polls ``msdb.dbo.sysjobhistory`` until the job outcome
row appears (bounded), reads ``TcpTestSucceeded`` / ``RemoteAddress`` from the step messages and
always deletes the job. The statements are the named files ``sql/network_*.sql``; every value
is a parameter and host names are validated first (they end up in a PowerShell command).

Port 5022 is tested on the instance's FQDN. The redirect range (11000-11999) needs the node
hosting the primary and its HadrPort, which only a T-SQL login to the managed instance reveals
(``sys.dm_hadr_fabric_config_parameters``, :func:`read_redirect_target`); ARM does not expose
them. Without that target the row says so instead of guessing. The managed instance -> SQL
Server direction (:func:`run_inbound_test`) needs that login too: a ``NetHelper`` job on the
managed instance probes SQL Server's endpoint; without a login it is listed as not tested, with
the rules to open. :func:`run_both_directions` does all of it when both logins are available.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from .checks import DOC_PREP, CheckResult, Status
from .facts import SqlRunner

JOB_NAME = "TestMILinkConnection"
MI_JOB_NAME = "NetHelper"
REDIRECT_LOW, REDIRECT_HIGH = 11000, 11999
Progress = Callable[[float, str], None]

_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_SUCCEEDED = re.compile(r"TcpTestSucceeded\s*:\s*(True|False)", re.I)
_REMOTE = re.compile(r"RemoteAddress\s*:\s*([0-9A-Fa-f:.]*)")
_QUIET = re.compile(r"\b(True|False)\b")

MI_PARAMETERS_QUERY = (
    "-- on the managed instance (needs a T-SQL login there):\n"
    "SELECT parameter_name, value FROM sys.dm_hadr_fabric_config_parameters\n"
    "WHERE parameter_name IN (N'HadrPort', N'ClusterName');\n"
    "-- the node: see 'Test the connection from SQL Server to SQL Managed Instance' in the docs"
)


class UnsafeHost(ValueError):
    """A host name that is not a plain DNS name or IP address (it would reach a PowerShell command)."""


def valid_host(host: str) -> str:
    """The host, stripped, if it is a DNS name or an IP address; :class:`UnsafeHost` otherwise."""
    text = (host or "").strip().rstrip(".")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    labels = text.split(".")
    if not text or len(text) > 253 or not all(_LABEL.match(label) for label in labels):
        raise UnsafeHost(f"{host!r} is not a host name or IP address")
    return text


@dataclass(frozen=True)
class RedirectTarget:
    """The node hosting the managed instance's primary replica and its HadrPort (11000-11999)."""

    node: str
    port: int

    @classmethod
    def parse(cls, text: str) -> RedirectTarget | None:
        """'node:port' as the user pastes it from the MI query; None when empty; ValueError when bad."""
        text = (text or "").strip()
        if not text:
            return None
        node, sep, port = text.rpartition(":")
        if not sep or not port.strip().isdigit():
            raise ValueError("write the redirect target as node:port, e.g. DB123.tr1.westeurope.worker."
                             "database.windows.net:11002")
        number = int(port)
        if not 1 <= number <= 65535:
            raise ValueError(f"port {number} is out of range")
        return cls(valid_host(node), number)


@dataclass
class NetworkReport:
    """What one run of the test found; ``results`` are check rows for the Network Checker page."""

    results: list[CheckResult] = field(default_factory=list)
    finished: dt.datetime | None = None
    job_deleted: bool = False
    elapsed: float = 0.0
    # the managed instance side: None = not attempted, "" = both directions ran, else why not
    mi_note: str | None = None

    @property
    def status(self) -> Status:
        order: list[Status] = ["fail", "warn", "pass", "skip"]
        statuses = {r.status for r in self.results}
        return next((s for s in order if s in statuses), "skip")


def outbound_rules(mi: str, ports: str) -> str:
    """Firewall rules for the SQL Server host, outbound to the managed instance (Windows and Linux)."""
    return (f'New-NetFirewallRule -DisplayName "milink: TCP {ports} to the managed instance" -Direction Outbound '
            f"-Action Allow -Protocol TCP -RemotePort {ports} -RemoteAddress <managed instance subnet>\n"
            f"# Linux: sudo ufw allow out proto tcp to <managed instance subnet> port {ports.replace('-', ':')}\n"
            f"# network firewalls and the instance subnet's NSG must also allow TCP {ports} from SQL Server "
            f"to {mi}")


INBOUND_RULE = ('New-NetFirewallRule -DisplayName "Allow TCP port 5022 inbound" -Direction Inbound -Profile Any '
                "-Action Allow -LocalPort 5022 -Protocol TCP\n"
                "# and the instance subnet's NSG: outbound 5022 to SQL Server's IP")


def _row(id_: str, title: str, status: Status, evidence: str, explanation: str, remediation: str = "") -> CheckResult:
    return CheckResult(id_, title, status, evidence, explanation, remediation, tab="network", doc=DOC_PREP)


def not_tested_rows(mi: str, redirect: RedirectTarget | None, why: str, status: Status = "skip") -> list[CheckResult]:
    """The port rows when the job cannot run (Agent stopped, Linux, no permission)."""
    return [
        _row("net_5022", "SQL Server → managed instance: TCP 5022", status, f"not tested: {why}",
             "The link's database mirroring traffic goes to the managed instance on 5022.",
             outbound_rules(mi, "5022")),
        redirect_row(mi, redirect, None, why),
        inbound_row(mi),
    ]


def redirect_row(mi: str, redirect: RedirectTarget | None, result: CheckResult | None, why: str = "") -> CheckResult:
    title = "SQL Server → managed instance: TCP 11000–11999 (redirect)"
    if result is not None:
        return result
    if redirect is None:
        return _row("net_redirect", title, "skip",
                    "11000–11999 not tested: needs a T-SQL login to the managed instance",
                    "The instance's 5022 listener redirects the link to the node hosting its primary, on that "
                    "node's HadrPort (11000–11999). Only the managed instance knows the node and port "
                    "(sys.dm_hadr_fabric_config_parameters; ARM does not expose them). Run the query there and "
                    "enter node:port to test it, or open the whole range.",
                    MI_PARAMETERS_QUERY + "\n" + outbound_rules(mi, "11000-11999"))
    return _row("net_redirect", title, "skip", f"{redirect.node}:{redirect.port} not tested: {why}",
                "The redirect target is the node hosting the primary, on its HadrPort.",
                outbound_rules(mi, "11000-11999"))


def inbound_row(mi: str) -> CheckResult:
    return _row("net_inbound", "Managed instance → SQL Server: TCP 5022", "skip",
                "not tested: needs a T-SQL login to the managed instance (the test job runs there)",
                "The managed instance connects back to SQL Server's endpoint on 5022; SSMS tests it with a "
                "'NetHelper' Agent job on the managed instance and a temporary endpoint on SQL Server.",
                INBOUND_RULE)


def _verdict(id_: str, title: str, target: str, ports: str, mi: str, step: dict | None) -> CheckResult:
    """One step's history row -> a check row."""
    if step is None:
        return _row(id_, title, "warn", f"{target}: the job did not run this step",
                    "The job ended before this step; see the other rows.", outbound_rules(mi, ports))
    message = str(step.get("message") or "")
    ok = _SUCCEEDED.search(message)
    remote = _REMOTE.search(message)
    address = remote.group(1) if remote and remote.group(1) else ""
    if int(step.get("run_status") or 0) != 1 or ok is None:
        return _row(id_, title, "warn", f"{target}: the test step failed",
                    "The PowerShell step did not produce a result: " + message[:600],
                    "Check the job step in SQL Server Agent's history; the step needs the PowerShell subsystem.")
    if ok.group(1).lower() == "true":
        return _row(id_, title, "pass", f"{target}: TcpTestSucceeded True, RemoteAddress {address}",
                    f"SQL Server reached {target}. RemoteAddress must be in the managed instance's subnet range "
                    "(otherwise the name resolves to a public or wrong address). A TCP test can pass while the "
                    "link fails if a firewall blocks the SQL Server UCS protocol.")
    resolved = f"RemoteAddress {address}" if address else "the name did not resolve"
    return _row(id_, title, "fail", f"{target}: TcpTestSucceeded False, {resolved}",
                f"SQL Server cannot open TCP connections to {target}. Allow outbound TCP {ports} to the managed "
                "instance subnet on every firewall on the SQL Server side (network and host OS) and inbound on "
                "the instance subnet's NSG. If ICMP is blocked, tnc also reports ping failures (ignore them).",
                outbound_rules(mi, ports))


async def run_network_test(sql: SqlRunner, mi_fqdn: str, redirect: RedirectTarget | None = None, *,
                           timeout: float = 90.0, poll_interval: float = 2.0, progress: Progress | None = None,
                           sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> NetworkReport:
    """Run the Agent-job test on SQL Server; never raises for what it finds, only for bad input."""
    mi = valid_host(mi_fqdn)
    report = NetworkReport()
    began = time.monotonic()

    def tell(fraction: float, text: str) -> None:
        if progress is not None:
            progress(min(1.0, fraction), text)

    tell(0.0, "Checking SQL Server Agent…")
    pre = (await sql.query("network_prereqs")).first.dicts()[0]
    linux = " on Linux" in str(pre.get("version_string") or "")
    agent = str(pre.get("agent_status") or "")
    agent_row = _row("net_agent", "SQL Server Agent runs the test job", "pass" if agent == "Running" else "fail",
                     f"Agent {agent or 'not found'}, Agent XPs {pre.get('agent_xps')}",
                     "The test is a temporary SQL Agent job with PowerShell steps (created, run, then deleted).",
                     "" if agent == "Running" else
                     "Start SQL Server Agent (SQL Server Configuration Manager, or: net start SQLSERVERAGENT); "
                     "starting it turns on Agent XPs.")
    if linux:
        agent_row = _row("net_agent", "SQL Server Agent runs the test job", "warn", "SQL Server on Linux",
                         "SQL Server Agent on Linux has no PowerShell subsystem, so the documented test cannot run "
                         "there. Ask your network team to check the rules below, or test from the host shell.",
                         f"# on the SQL Server host:\ntimeout 5 bash -c '</dev/tcp/{mi}/5022' && echo open")
        report.results = [agent_row, *not_tested_rows(mi, redirect, "SQL Server on Linux", "warn")]
        return _done(report, began)
    if agent != "Running" or not pre.get("is_sysadmin"):
        if agent == "Running":
            agent_row = _row("net_agent", "SQL Server Agent runs the test job", "fail", "not sysadmin",
                             "Creating and starting the test job needs sysadmin (or SQLAgentOperatorRole in msdb).",
                             "Connect with a sysadmin login.")
        report.results = [agent_row, *not_tested_rows(mi, redirect, agent_row.evidence)]
        return _done(report, began)

    steps = 2 if redirect else 1
    timed_out = False
    try:
        cmd = f"tnc {mi} -port 5022 | select ComputerName, RemoteAddress, TcpTestSucceeded | Format-List"
        second = (f"tnc {redirect.node} -port {int(redirect.port)} | select ComputerName, RemoteAddress, "
                  "TcpTestSucceeded | Format-List") if redirect else None
        tell(0.05, f"Creating job {JOB_NAME}…")
        await sql.query("network_test_create", (JOB_NAME, cmd, second))
        await sql.query("network_test_start", (JOB_NAME,))
        rows: list[dict] = []
        deadline = time.monotonic() + timeout
        while True:
            rows = (await sql.query("network_test_poll", (JOB_NAME,))).first.dicts()
            done = [r for r in rows if int(r["step_id"]) != 0]
            if any(int(r["step_id"]) == 0 for r in rows):
                break
            if time.monotonic() >= deadline:
                raise TimeoutError
            tell(0.1 + 0.85 * len(done) / steps, f"Running the test job: {len(done)} of {steps} steps done…")
            await sleep(poll_interval)
        by_step = {int(r["step_id"]): r for r in rows}
        report.results = [agent_row, _verdict("net_5022", "SQL Server → managed instance: TCP 5022",
                                              f"{mi}:5022", "5022", mi, by_step.get(1))]
        title = "SQL Server → managed instance: TCP 11000–11999 (redirect)"
        report.results.append(redirect_row(mi, redirect, _verdict(
            "net_redirect", title, f"{redirect.node}:{redirect.port}", "11000-11999", mi, by_step.get(2))
            if redirect else None))
        report.results.append(inbound_row(mi))
    except TimeoutError:
        timed_out = True
        report.results = [agent_row, *not_tested_rows(
            mi, redirect, f"the job did not finish within {timeout:.0f} s", "warn")]
    except Exception as exc:  # noqa: BLE001 - a refused job (22022, 229, ...) is a finding, not a crash
        report.results = [agent_row, *not_tested_rows(mi, redirect, f"the test job failed to run: {exc}", "warn")]
    finally:
        if timed_out:  # stop the still-running job first, as a DBA would, so no step outlives the test
            with contextlib.suppress(Exception):  # 22022 if it finished meanwhile: nothing to stop
                await sql.run("EXEC msdb.dbo.sp_stop_job @job_name = ?", (JOB_NAME,))
        tell(0.97, f"Deleting job {JOB_NAME}…")
        try:
            left = (await sql.query("network_test_delete", (JOB_NAME,))).first.rows
            report.job_deleted = bool(left) and int(left[0][0]) == 0
        except Exception:  # noqa: BLE001 - reported below; the test's own outcome still stands
            report.job_deleted = False
        if not report.job_deleted and report.results:
            report.results[0].evidence += f"; job {JOB_NAME} could not be deleted: remove it in SQL Server Agent"
    return _done(report, began)


def _done(report: NetworkReport, began: float) -> NetworkReport:
    report.finished = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    report.elapsed = time.monotonic() - began
    return report


# --------------------------------------------------------------------------- the managed instance side


class MiLoginUnusable(RuntimeError):
    """The T-SQL login to the managed instance cannot run the test (not an MI, not sysadmin)."""


async def read_redirect_target(mi_sql: SqlRunner) -> RedirectTarget:
    """The node hosting the primary and its HadrPort, read on the managed instance (documented query).

    Raises :class:`MiLoginUnusable` when the connection is not to a managed instance or the
    fabric views return no node; :class:`UnsafeHost` if the node is not a plain DNS name.
    """
    rows = {str(r["name"]): str(r["value"] or "") for r in (await mi_sql.query("network_mi_parameters")).first.dicts()}
    node, port = rows.get("node", ""), rows.get("port", "")
    if not node or not port.strip().isdigit():
        raise MiLoginUnusable("the managed instance did not return its node and HadrPort "
                              "(sys.dm_hadr_fabric_* returned no primary replica)")
    return RedirectTarget(valid_host(node), int(port))


async def _mi_prereqs(mi_sql: SqlRunner) -> dict:
    pre = (await mi_sql.query("network_mi_prereqs")).first.dicts()[0]
    if int(pre.get("engine_edition") or 0) != 8:
        raise MiLoginUnusable(f"{pre.get('server_name')} is not an Azure SQL Managed Instance "
                              f"(EngineEdition {pre.get('engine_edition')})")
    if not pre.get("is_sysadmin"):
        raise MiLoginUnusable("the managed instance login is not sysadmin (the test creates an Agent job there)")
    return pre


def inbound_rule(host: str, port: int) -> str:
    """The rules for the managed instance -> SQL Server path (host firewall and the subnet's NSG)."""
    return (f'New-NetFirewallRule -DisplayName "milink: TCP {port} from the managed instance" -Direction Inbound '
            f"-Profile Any -Action Allow -LocalPort {port} -Protocol TCP -RemoteAddress <managed instance subnet>\n"
            f"# Linux: sudo ufw allow in proto tcp from <managed instance subnet> to any port {port}\n"
            f"# and the instance subnet's NSG: allow outbound TCP {port} to {host}; network firewalls in between "
            "must allow it too")


def _inbound(status: Status, host: str, port: int, evidence: str, explanation: str, remediation: str = "") -> CheckResult:
    return _row("net_inbound", f"Managed instance → SQL Server: TCP {port}", status, evidence, explanation,
                remediation if remediation else inbound_rule(host, port))


async def run_inbound_test(mi_sql: SqlRunner, sql_host: str, port: int = 5022, *, listening: bool | None = None,
                           timeout: float = 90.0, poll_interval: float = 1.0, progress: Progress | None = None,
                           sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> tuple[CheckResult, bool]:
    """Direction 2: a ``NetHelper`` job on the managed instance runs ``tnc <sql_host> -port <port>``.

    Returns the row and whether the job was deleted (it always is, unless the delete itself
    fails). ``listening`` (from SQL Server: a started endpoint on ``port``) turns a failed probe
    into "nothing listens yet" instead of blaming the firewalls. Raises only for bad input
    (:class:`UnsafeHost`) and :class:`MiLoginUnusable` before anything is created.
    """
    host = valid_host(sql_host)
    port = int(port)
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is out of range")

    def tell(fraction: float, text: str) -> None:
        if progress is not None:
            progress(min(1.0, fraction), text)

    tell(0.0, "Checking the managed instance…")
    await _mi_prereqs(mi_sql)
    target = f"{host}:{port}"
    deleted = False
    timed_out = False
    row: CheckResult
    try:
        tell(0.1, f"Creating job {MI_JOB_NAME} on the managed instance…")
        await mi_sql.query("network_mi_nethelper_create",
                           (MI_JOB_NAME, f"tnc {host} -port {port} -InformationLevel Quiet"))
        await mi_sql.query("network_test_start", (MI_JOB_NAME,))
        deadline = time.monotonic() + timeout
        while True:
            found = (await mi_sql.query("network_mi_nethelper_poll", (MI_JOB_NAME,))).first.dicts()
            state = found[0] if found else {}
            if state.get("stop_execution_date") is not None:
                break
            if time.monotonic() >= deadline:
                raise TimeoutError
            tell(0.4, f"Running {MI_JOB_NAME} on the managed instance…")
            await sleep(poll_interval)
        row = _inbound_verdict(host, port, state, listening)
    except TimeoutError:
        timed_out = True
        row = _inbound("warn", host, port, f"{target}: not tested: the job did not finish within {timeout:.0f} s",
                       "The NetHelper job on the managed instance did not finish in time.")
    except Exception as exc:  # noqa: BLE001 - a refused job is a finding, not a crash
        row = _inbound("warn", host, port, f"{target}: not tested: the job on the managed instance failed to run: "
                                           f"{exc}", "Creating or starting the NetHelper job failed.")
    finally:
        if timed_out:
            with contextlib.suppress(Exception):
                await mi_sql.run("EXEC msdb.dbo.sp_stop_job @job_name = ?", (MI_JOB_NAME,))
        tell(0.95, f"Deleting job {MI_JOB_NAME} on the managed instance…")
        try:
            left = (await mi_sql.query("network_test_delete", (MI_JOB_NAME,))).first.rows
            deleted = bool(left) and int(left[0][0]) == 0
        except Exception:  # noqa: BLE001 - reported on the row
            deleted = False
    if not deleted:
        row.evidence += f"; job {MI_JOB_NAME} could not be deleted on the managed instance: remove it there"
    return row, deleted


def _inbound_verdict(host: str, port: int, state: dict, listening: bool | None) -> CheckResult:
    target = f"{host}:{port}"
    log = str(state.get("log") or "")
    found = _QUIET.findall(log)
    if int(state.get("run_status") or 0) != 1 or not found:
        return _inbound("warn", host, port, f"{target}: the test step failed",
                        "The NetHelper step on the managed instance did not produce a result: "
                        + str(state.get("message") or log)[:600])
    if found[-1] == "True":
        return _inbound("pass", host, port, f"{target}: reachable from the managed instance (tnc: True)",
                        f"The managed instance opened a TCP connection to SQL Server's endpoint at {target}. A TCP "
                        "test can pass while the link fails if a firewall blocks the SQL Server UCS protocol.", "")
    if listening is False:
        return _inbound("warn", host, port, f"{target}: tnc False, but no endpoint listens on SQL Server's port "
                                            f"{port} yet",
                        "Nothing on SQL Server answers this port yet, so the probe cannot succeed whatever the "
                        "firewalls allow. The link's endpoint is created by the Endpoints step; SSMS creates a "
                        "temporary TEST_ENDPOINT for this test instead. Re-run after the endpoint exists.")
    return _inbound("fail", host, port, f"{target}: not reachable from the managed instance (tnc: False)",
                    f"The managed instance cannot open TCP connections to {target}. Allow inbound TCP {port} from the "
                    "managed instance subnet on SQL Server's host firewall and network firewalls, and outbound "
                    f"TCP {port} to SQL Server on the instance subnet's NSG. Check that {host} is SQL Server's "
                    "address as seen from Azure (the link's partner endpoint).")


async def run_both_directions(sql: SqlRunner, mi_sql: SqlRunner, mi_fqdn: str, sql_host: str, port: int = 5022, *,
                              timeout: float = 90.0, poll_interval: float = 2.0, progress: Progress | None = None,
                              sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> NetworkReport:
    """Both directions with a T-SQL login to the managed instance, like SSMS's Network Checker.

    The redirect target comes from the managed instance, so all three ports are tested without
    typing anything. If the managed instance login turns out unusable, the SQL Server side still
    runs and the rows say why the rest was not tested.
    """
    began = time.monotonic()

    def part(low: float, high: float) -> Progress | None:
        if progress is None:
            return None
        return lambda f, t: progress(low + (high - low) * f, t)

    why = ""
    redirect: RedirectTarget | None = None
    try:
        await _mi_prereqs(mi_sql)
        redirect = await read_redirect_target(mi_sql)
    except (MiLoginUnusable, UnsafeHost) as exc:
        why = str(exc)
    except Exception as exc:  # noqa: BLE001 - e.g. the fabric views refused: explain, test the rest
        why = f"reading the redirect target failed: {exc}"
    report = await run_network_test(sql, mi_fqdn, redirect, timeout=timeout, poll_interval=poll_interval,
                                    progress=part(0.0, 0.6), sleep=sleep)
    rows = {r.id: r for r in report.results}
    report.mi_note = why
    if why:
        rows["net_redirect"].evidence = f"11000–11999 not tested: {why}"
        rows["net_inbound"].evidence = f"not tested: {why}"
    else:
        listening: bool | None = None
        with contextlib.suppress(Exception):  # unknown: the verdict then blames nothing in particular
            got = (await sql.query("network_endpoint_listening", (int(port),))).first.rows
            listening = bool(got) and int(got[0][0]) > 0
        row, deleted = await run_inbound_test(mi_sql, sql_host, port, listening=listening, timeout=timeout,
                                              poll_interval=min(poll_interval, 1.0), progress=part(0.6, 1.0),
                                              sleep=sleep)
        report.results = [row if r.id == "net_inbound" else r for r in report.results]
        report.job_deleted = report.job_deleted and deleted
    return _done(report, began)
