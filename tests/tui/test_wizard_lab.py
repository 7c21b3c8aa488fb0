"""The wizard end to end through the lab, driven with Pilot like a user (keys and clicks).

scenario fresh → fix requirements in the wizard → one link, SYNCHRONIZED; two databases → two
links; a managed instance first (mi-primary); a failure injected mid-execution → Resume
completes (in the wizard, and from the home screen after a restart).
"""

from __future__ import annotations

from milink_tui.app import MilinkApp
from milink_tui.services.lab_process import control
from milink_tui.services.session import Session

from . import driver as d
from .conftest import LAB_SPEED

SIZE = (80, 24)


def app_for(lab) -> MilinkApp:  # type: ignore[no-untyped-def]
    return MilinkApp(lab_info=lab.info, session=Session(persist=False))


def lab_links(lab) -> dict:  # type: ignore[no-untyped-def]
    return {x["link"]: x for x in control(lab.info.control_url, "/state")["links"]}


async def results(pilot) -> object:  # type: ignore[no-untyped-def]
    w = await d.next_page(pilot, "results")
    await d.until(pilot, lambda: bool(w.state.link_states), 20, "link states")
    return w


async def test_fresh_server_fix_requirements_then_one_synchronized_link(fresh_lab) -> None:
    app = app_for(fresh_lab)
    async with app.run_test(size=SIZE) as pilot:
        w = await d.create_link_sql_first(pilot, ["SalesDb"])
        assert w.state.run_outcome == "done"
        # what the requirements page fixed, as the lab saw it
        sql = control(fresh_lab.info.control_url, "/state")["sql_servers"]["SQLLAB01"]
        assert sql["hadr_enabled"] and {1800, 9567, 12381} <= set(sql["trace_flags"])
        w = await results(pilot)
        table = w.query_one("#res-links")
        row = [str(c) for c in table.get_row("DAG_SalesDb")]
        assert row[2] == "✓ SYNCHRONIZED" and "HEALTHY" in row[3]
        await pilot.press("f8")  # Close
        await d.until(pilot, lambda: type(app.screen).__name__ == "HomeScreen", 5, "home")
        await d.until(pilot, lambda: any(r[0] == "DAG_SalesDb" and r[1].startswith("both") for r in
                                         app.screen.link_rows), 20, "the link on both sides on the home screen")
    link = lab_links(fresh_lab)["DAG_SalesDb"]
    assert link["connected"] and link["phase"] in ("SYNCHRONIZING", "SYNCHRONIZED")


async def test_two_databases_make_two_links_with_suffixed_names(fresh_lab) -> None:
    app = app_for(fresh_lab)
    async with app.run_test(size=SIZE) as pilot:
        w = await d.create_link_sql_first(pilot, ["Orders", "CRM"], link_name="erp")
        assert w.state.run_outcome == "done"
        assert [s.link_name for s in w.state.run_plan.links] == ["erp_Orders", "erp_CRM"]
        w = await results(pilot)
        assert set(w.state.link_states) == {"erp_Orders", "erp_CRM"}
    links = lab_links(fresh_lab)
    assert {"erp_Orders", "erp_CRM"} <= set(links)
    assert all(links[n]["connected"] for n in ("erp_Orders", "erp_CRM"))


async def test_failure_mid_execution_offers_resume_and_resuming_completes(fresh_lab) -> None:
    app = app_for(fresh_lab)
    async with app.run_test(size=SIZE) as pilot:
        w = await d.create_link_sql_first(pilot, ["Finance"], stop_at="summary")
        control(fresh_lab.info.control_url, "/fault", {"fail_next_lro": "OperationTimedOut"})
        await d.next_page(pilot, "execute")
        await d.execute(pilot)
        assert w.state.run_outcome == "failed"
        page = w.current_page
        failed = [r for r in page.rows.values() if r.state == "failed"]
        # the first Azure operation: the link itself (or the certificate upload when run alone)
        assert len(failed) == 1 and failed[0].id in ("link.Finance.mi_link", "azure.trust_certificate")
        assert any(r.state == "done" for r in page.rows.values())  # mid-execution: SQL steps were done
        assert page.query_one("#ex-resume").display and page.query_one("#ex-rollback").display
        assert "Resume" in str(page.query_one("#ex-status").render())
        await d.click(pilot, "#ex-resume")
        await d.execute(pilot)
        assert w.state.run_outcome == "done"
        w = await results(pilot)
        assert str(w.query_one("#res-links").get_row("DAG_Finance")[2]) == "✓ SYNCHRONIZED"


async def test_an_interrupted_run_is_offered_at_start_up_and_resumes(fresh_lab) -> None:
    # In-Memory OLTP (Telemetry) needs the Business Critical instance; its always-up-to-date update
    # policy allows a one-way link only
    lab = fresh_lab
    app = app_for(lab)
    async with app.run_test(size=SIZE) as pilot:
        w = await d.create_link_sql_first(pilot, ["Telemetry"], stop_at="summary", instance="sqlmi-lab-bc",
                                          two_way=False)
        control(lab.info.control_url, "/fault", {"fail_next_lro": "InternalServerError"})
        await d.next_page(pilot, "execute")
        await d.execute(pilot)
        assert w.state.run_outcome == "failed"
    # a new session (think: the SSH connection dropped): the journal still has the run
    app = app_for(lab)
    async with app.run_test(size=SIZE) as pilot:
        await d.home_ready(pilot)
        home = app.screen
        await d.until(pilot, lambda: home.query_one("#recovery").display, 10, "the recovery banner")
        text = str(home.query_one("#recovery-text").render())
        assert "interrupted link setup" in text and "DAG_Telemetry" in text
        await pilot.press("u")  # Resume
        await d.until(pilot, lambda: type(app.screen).__name__ == "WizardScreen", 10, "the wizard (resume)")
        w = d.wizard(pilot)
        assert w.current == "execute"
        await d.execute(pilot)
        assert w.state.run_outcome == "done"
        w = await results(pilot)
        assert str(w.query_one("#res-links").get_row("DAG_Telemetry")[2]) == "✓ SYNCHRONIZED"


async def test_managed_instance_first_links_a_cloud_database_to_sql_server(lab_factory) -> None:
    lab = lab_factory("mi-primary", speed=LAB_SPEED)
    app = app_for(lab)
    async with app.run_test(size=SIZE) as pilot:
        await d.home_ready(pilot)
        await pilot.press("n")
        await d.until(pilot, lambda: type(app.screen).__name__ == "WizardScreen", 5, "wizard")
        w = d.wizard(pilot)
        await d.until(pilot, lambda: w.state.server is not None, 20, "server facts")
        await pilot.pause(0.1)
        radio = w.query_one("#dir-mi-first")
        assert not radio.disabled
        await pilot.click("#dir-mi-first")
        await d.until(pilot, lambda: w.state.mi_first, 5, "direction")
        assert d.wizard(pilot).keys()[3] == "login_azure"
        await d.next_page(pilot, "options")
        assert w.query_one("#two-way").disabled and w.state.two_way
        await d.next_page(pilot, "requirements")
        await d.fix_requirements(pilot)
        await d.next_page(pilot, "login_azure")
        await d.pick_instance(pilot, "sqlmi-lab-gp", sign_in=False)
        # the always-up-to-date instance is listed disabled, with its reason
        w.query_one("#mi-filter").value = ""
        await pilot.pause()
        ol = w.query_one("#mi-list")
        bc = next(ol.get_option_at_index(i) for i in range(ol.option_count)
                  if "sqlmi-lab-bc" in str(ol.get_option_at_index(i).prompt))
        assert bc.disabled and "update policy AlwaysUpToDate; needs SQLServer2022" in str(bc.prompt)
        await d.until(pilot, lambda: w.state.mi_facts is not None, 20, "instance databases")
        await d.next_page(pilot, "databases")
        assert [r.name for r in w.state.mi_databases if r.eligible] == ["CloudDb", "WebShop"]
        await d.choose_databases(pilot, ["CloudDb"])
        await d.next_page(pilot, "replica")
        await d.next_page(pilot, "validation")
        await d.until(pilot, lambda: bool(w.state.validation), 20, "validation")
        await d.next_page(pilot, "summary")
        await d.next_page(pilot, "execute")
        await d.execute(pilot)
        assert w.state.run_outcome == "done", [r.log for r in w.current_page.rows.values() if r.state == "failed"]
        w = await results(pilot)
        assert str(w.query_one("#res-links").get_row("DAG_CloudDb")[2]) == "✓ SYNCHRONIZED"
    link = lab_links(lab)["DAG_CloudDb"]
    assert link["primary_side"] == "mi" and link["connected"]
