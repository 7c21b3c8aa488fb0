"""The link engine end to end against the lab, over real sockets (pyodbc + ODBC Driver 18, Azure SDK).

fresh → every failing check explains itself → remediations applied → plan → execute → the link
SYNCHRONIZED on both sides; managed instance first; several databases; a kill at every step
resumes to the same end state; a rollback after every step returns the lab to where it was.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from milink_tui.clients.auth import Cloud, SignIn
from milink_tui.clients.azure import AzureClient, AzureSession
from milink_tui.clients.connstr import SqlTarget
from milink_tui.clients.sql import connect
from milink_tui.engine import checks, eligibility, fixes
from milink_tui.engine.executor import Executor, StepFailed
from milink_tui.engine.facts import read_databases, read_server
from milink_tui.engine.journal import Journal
from milink_tui.engine.plan import LinkPlan, link_specs
from milink_tui.engine.steps import ExecContext, Secrets, build_steps
from milink_tui.services.lab_process import control

SENTINEL = "Sentinel-Pa55-0xC0FFEE"
SPEED = 40


@contextlib.asynccontextmanager
async def clients(lab, state_dir: Path):
    info = lab.info
    sql = await connect(SqlTarget("localhost", info.sql["port"], user=info.sql["user"],
                                  password=info.sql["password"], trust_server_certificate=True))
    sign_in = SignIn(method="sp-secret", tenant_id=info.entra["tenant_id"], client_id=info.entra["sp_client_id"],
                     client_secret=info.entra["sp_client_secret"], remember=False)
    session = AzureSession(sign_in, cloud=Cloud.lab(info.arm["base_url"]), ca_file=info.ca_file,
                           polling_interval=0.1, directory=state_dir)
    azure = AzureClient(session)
    try:
        yield sql, azure
    finally:
        await azure.close()
        await session.close()
        await sql.close()


def enable_hadr(lab) -> None:
    """What a DBA does in Configuration Manager / mssql-conf: enable Always On, restart the service."""
    control(lab.info.control_url, "/sql/config", {"hadr_enabled": True, "restart": True})


async def make_plan(sql, azure, databases, direction="sql-first") -> LinkPlan:
    facts = await read_server(sql)
    mi = await azure.find_managed_instance("sqlmi-lab-gp")
    return LinkPlan(direction=direction, sql_server_name=facts.server_name, sql_endpoint_host="10.0.0.4",
                    mi=mi.ref(), links=link_specs(databases, "link" if len(databases) > 1 else None))


def context(plan, sql, azure) -> ExecContext:
    return ExecContext(plan, sql, azure, Secrets(SENTINEL), seeding_timeout=120, poll_interval=0.1)


async def sql_link_state(sql, link_name: str) -> tuple:
    res = await sql.run(
        "SELECT rs.connected_state_desc, rs.synchronization_health_desc FROM sys.availability_groups ag "
        "JOIN sys.dm_hadr_availability_replica_states rs ON rs.group_id = ag.group_id "
        "WHERE ag.name = ? AND rs.is_local = 0", (link_name,))
    return tuple(res.first.rows[0]) if res.first.rows else ()


def assert_secret_nowhere(state_dir: Path, log_text: str) -> None:
    """The master key password was used, but is in no journal or file, no log, no process's arguments."""
    for path in state_dir.rglob("*"):
        if path.is_file():
            assert SENTINEL not in path.read_text(errors="ignore"), path
    assert SENTINEL not in log_text
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            assert SENTINEL.encode() not in cmdline.read_bytes(), cmdline


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MILINK_STATE_DIR", str(tmp_path))
    return tmp_path


async def test_fresh_to_synchronized_sql_first(lab_factory, state_dir, caplog) -> None:
    caplog.set_level("DEBUG")
    lab = lab_factory("fresh", speed=SPEED)
    async with clients(lab, state_dir) as (sql, azure):
        server = await read_server(sql)
        results = {r.id: r for r in checks.run_checks(checks.CheckContext(server))}
        assert results["hadr"].status == "fail" and results["hadr"].remediation
        assert all(r.explanation for r in results.values())
        assert results["master_key"].status == "warn" and results["endpoint"].status == "warn"

        enable_hadr(lab)
        for r in results.values():
            if r.fix and r.fix.startswith("traceon:"):
                assert (await fixes.apply(r.fix, sql)).applied
        server = await read_server(sql)
        after = checks.run_checks(checks.CheckContext(server))
        assert checks.blocking(after) == []
        assert {1800, 9567, 12381} <= server.trace_flags

        dbs = {e.database.name: e for e in eligibility.evaluate_all(await read_databases(sql))}
        assert dbs["SalesDb"].eligible
        assert not dbs["HRDb"].eligible and "1475" in dbs["HRDb"].reasons[0]
        assert not dbs["Inventory"].eligible and not dbs["Legacy"].eligible

        plan = await make_plan(sql, azure, ["SalesDb"])
        journal = Journal.new(plan.to_json(), state_dir / "runs")
        events = []
        await Executor(build_steps(plan), journal, context(plan, sql, azure), events.append).run()
        assert journal.finished
        link = await azure.get_link(plan.mi, "DAG_SalesDb")
        assert link["databases"][0]["connectedState"] == "CONNECTED"
        assert link["databases"][0]["synchronizationHealth"] == "HEALTHY"
        assert await sql_link_state(sql, "DAG_SalesDb") == ("CONNECTED", "HEALTHY")
        assert any(e.state == "done" for e in events)
    assert_secret_nowhere(state_dir, caplog.text)


async def test_two_databases_make_two_links(lab_factory, state_dir) -> None:
    lab = lab_factory("ready", speed=SPEED)
    async with clients(lab, state_dir) as (sql, azure):
        plan = await make_plan(sql, azure, ["Orders", "CRM"])
        assert [s.link_name for s in plan.links] == ["link_Orders", "link_CRM"]
        await Executor(build_steps(plan), Journal.new(plan.to_json(), state_dir / "runs"),
                       context(plan, sql, azure)).run()
        names = {x["name"] for x in await azure.list_links(plan.mi)}
        assert {"link_Orders", "link_CRM"} <= names
        for spec in plan.links:
            assert await sql_link_state(sql, spec.link_name) == ("CONNECTED", "HEALTHY")


async def test_managed_instance_first(lab_factory, state_dir) -> None:
    lab = lab_factory("mi-primary", speed=SPEED)
    async with clients(lab, state_dir) as (sql, azure):
        server = await read_server(sql)
        assert checks.check_version(checks.CheckContext(server, direction="mi-first")).status == "pass"
        plan = await make_plan(sql, azure, ["CloudDb"], direction="mi-first")
        await Executor(build_steps(plan), Journal.new(plan.to_json(), state_dir / "runs"),
                       context(plan, sql, azure)).run()
        link = await azure.get_link(plan.mi, "DAG_CloudDb")
        assert link["instanceLinkRole"] == "Primary"
        assert link["databases"][0]["synchronizationHealth"] == "HEALTHY"
        res = await sql.run("SELECT state_desc FROM sys.databases WHERE name = N'CloudDb'")
        assert res.first.rows[0][0] == "ONLINE"  # seeded from the managed instance


async def test_managed_instance_first_rollback_removes_the_seeded_copy(lab_factory, state_dir) -> None:
    """Undoing an MI-first run leaves SQL Server as it was: no AG, no DAG, no seeded database."""
    lab = lab_factory("mi-primary", speed=SPEED)
    async with clients(lab, state_dir) as (sql, azure):
        plan = await make_plan(sql, azure, ["CloudDb"], direction="mi-first")
        before = await snapshot(sql, azure, plan)
        journal = Journal.new(plan.to_json(), state_dir / "runs")
        await Executor(build_steps(plan), journal, context(plan, sql, azure)).run()
        await Executor(build_steps(plan), journal, context(plan, sql, azure)).rollback()
        assert await snapshot(sql, azure, plan) == before  # databases included


async def test_managed_instance_first_refuses_an_existing_database(lab_factory, state_dir) -> None:
    lab = lab_factory("mi-primary", speed=SPEED)
    async with clients(lab, state_dir) as (sql, azure):
        plan = await make_plan(sql, azure, ["CloudDb"], direction="mi-first")
        await sql.run("CREATE DATABASE [CloudDb]")
        journal = Journal.new(plan.to_json(), state_dir / "runs")
        with pytest.raises(StepFailed, match="already exists on SQL Server"):
            await Executor(build_steps(plan), journal, context(plan, sql, azure)).run()
        await Executor(build_steps(plan), journal, context(plan, sql, azure)).rollback()
        res = await sql.run("SELECT COUNT(*) FROM sys.databases WHERE name = N'CloudDb'")
        assert res.first.rows[0][0] == 1  # the user's database stays


async def snapshot(sql, azure, plan) -> dict:
    """Everything the steps can create, to compare before/after."""
    certs = await sql.run("SELECT name FROM master.sys.certificates ORDER BY name")
    keys = await sql.run("SELECT COUNT(*) FROM master.sys.symmetric_keys WHERE symmetric_key_id = 101")
    eps = await sql.run("SELECT name FROM sys.database_mirroring_endpoints")
    ags = await sql.run("SELECT name FROM sys.availability_groups ORDER BY name")
    trust = sorted(c.get("name") or c.get("certificateName") for c in await azure.trust_certificates(plan.mi))
    links = sorted(x["name"] for x in await azure.list_links(plan.mi))
    dbs = await sql.run("SELECT name FROM sys.databases ORDER BY name")
    return {"certs": certs.first.rows, "master_key": keys.first.rows, "endpoints": eps.first.rows,
            "ags": ags.first.rows, "trust": trust, "links": links, "databases": dbs.first.rows}


class Killed(Exception):
    """Stands in for SIGKILL / a dropped SSH session right after a step's apply."""


@pytest.mark.parametrize(("scenario", "database", "direction"), [
    ("fresh", "SalesDb", "sql-first"), ("mi-primary", "CloudDb", "mi-first")])
async def test_kill_at_every_step_resumes_and_rollback_restores(lab_factory, state_dir, scenario, database,
                                                                 direction) -> None:
    lab = lab_factory(scenario, speed=SPEED)
    if scenario == "fresh":
        enable_hadr(lab)
    async with clients(lab, state_dir) as (sql, azure):
        plan = await make_plan(sql, azure, [database], direction=direction)
        before = await snapshot(sql, azure, plan)
        n = len(build_steps(plan))
        final = None
        for k in range(n):
            # run until step k has applied, then die before the journal records it
            steps = build_steps(plan)
            victim = steps[k]
            real_apply = victim.apply

            async def dying(ctx, real_apply=real_apply):
                await real_apply(ctx)
                raise Killed()

            victim.apply = dying
            journal = Journal.new(plan.to_json(), state_dir / "runs")
            try:
                await Executor(steps, journal, context(plan, sql, azure)).run()
            except StepFailed as e:
                assert isinstance(e.cause, Killed) and e.step is victim
            else:  # nothing to kill: the step's result was already there (e.g. an existing full backup)
                assert journal.steps()[victim.id].state == "present"
            if k % 2:
                # roll back straight after the crash: back to the state before
                await Executor(build_steps(plan), journal, context(plan, sql, azure)).rollback()
                assert await snapshot(sql, azure, plan) == before, f"rollback right after step {k} ({victim.id})"
                journal = Journal.new(plan.to_json(), state_dir / "runs")
            # resume with the same journal: ends complete, no duplicates
            await Executor(build_steps(plan), journal, context(plan, sql, azure)).run()
            state = await snapshot(sql, azure, plan)
            if final is None:
                final = state
            assert state == final, f"resume after step {k} ({victim.id}) differs"
            # roll back what this run created: back to the state before
            await Executor(build_steps(plan), journal, context(plan, sql, azure)).rollback()
            await asyncio.sleep(0.2)
            assert await snapshot(sql, azure, plan) == before, f"rollback after step {k} ({victim.id})"
