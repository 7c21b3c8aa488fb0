"""Checks, eligibility, plans and quoting as pure functions of facts (no server needed)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from milink_tui.engine import checks, eligibility, plan, tsql
from milink_tui.engine.facts import (
    CertificateFacts,
    DatabaseFacts,
    EndpointFacts,
    ManagedInstanceFacts,
    ServerFacts,
)
from milink_tui.engine.versions import parse_version

NOW = dt.datetime(2026, 11, 23, 12, 0)


def server(**kw) -> ServerFacts:
    base = dict(server_name="SQLLAB01", version=parse_version("16.0.4135.4"), product_level="RTM", update_level="CU15",
                edition="Developer Edition (64-bit)", engine_edition=3, platform="Linux", hadr_enabled=True,
                hadr_manager_status=1, collation="SQL_Latin1_General_CP1_CI_AS", is_sysadmin=True,
                master_key=True, connect_procs=True, trace_flags={1800, 9567})
    base.update(kw)
    return ServerFacts(**base)


def db(name: str = "SalesDb", **kw) -> DatabaseFacts:
    base = dict(name=name, database_id=5, state="ONLINE", recovery_model="FULL", is_read_only=False,
                is_in_standby=False, collation="SQL_Latin1_General_CP1_CI_AS", is_encrypted=False,
                is_broker_enabled=False, is_published=False, is_cdc_enabled=False, is_distributor=False,
                in_availability_group=None, log_chain_started=True, log_files=1, size_mb=512.0,
                last_full_backup=NOW, copy_only_backups=0)
    base.update(kw)
    return DatabaseFacts(**base)


def mi(**kw) -> ManagedInstanceFacts:
    base = dict(name="sqlmi-lab-gp", resource_group="rg", subscription_id="s", fqdn="sqlmi-lab-gp.x.database.windows.net",
                state="Ready", database_format="SQLServer2022", tier="GeneralPurpose", is_general_purpose_v2=False,
                storage_gb=256, collation="SQL_Latin1_General_CP1_CI_AS", link_count=0)
    base.update(kw)
    return ManagedInstanceFacts(**base)


def by_id(results):
    return {r.id: r for r in results}


def test_a_fresh_2022_server_explains_every_missing_piece() -> None:
    s = server(hadr_enabled=False, master_key=False, trace_flags=set())
    r = by_id(checks.run_checks(checks.CheckContext(s, now=NOW)))
    assert r["hadr"].status == "fail" and "mssql-conf set hadr.hadrenabled 1" in r["hadr"].remediation
    assert r["master_key"].status == "warn" and r["master_key"].fix == "master_key"
    assert r["endpoint"].status == "warn" and r["endpoint"].fix == "endpoint"
    assert r["tf1800"].status == "warn" and r["tf1800"].fix == "traceon:1800"
    assert r["version"].status == "pass"
    assert [x.id for x in checks.blocking(checks.run_checks(checks.CheckContext(s, now=NOW)))] == ["hadr"]
    assert r["hadr"].label == "✗ FAIL"


@pytest.mark.parametrize(("version", "direction", "status"), [
    ("16.0.1000.6", "sql-first", "pass"),
    ("16.0.4085.2", "mi-first", "fail"),   # below CU10
    ("16.0.4095.4", "mi-first", "pass"),
    ("15.0.4312.2", "sql-first", "pass"),
    ("15.0.4298.1", "sql-first", "fail"),  # below CU20
    ("15.0.4322.2", "mi-first", "fail"),   # 2019 cannot be a link secondary
    ("12.0.6024.0", "sql-first", "fail"),
])
def test_version_matrix(version: str, direction: str, status: str) -> None:
    r = checks.check_version(checks.CheckContext(server(version=parse_version(version)), direction=direction))
    assert r.status == status, r.explanation


def test_endpoint_without_certificate_auth_fails_with_the_reason() -> None:
    ep = EndpointFacts("Hadr_endpoint", "STARTED", "ALL", "NEGOTIATE", None, None, True, "AES", 5022)
    r = checks.check_endpoint(checks.CheckContext(server(endpoints=[ep])))
    assert r.status == "fail" and "certificate authentication is not enabled" in r.explanation


def test_expiring_certificate_warns_and_expired_fails() -> None:
    ep = EndpointFacts("e", "STARTED", "ALL", "CERTIFICATE", "Cert_X", None, True, "AES", 5022)
    soon = CertificateFacts("Cert_X", "s", "s", NOW, NOW + dt.timedelta(days=10), "MK", b"")
    gone = dataclasses.replace(soon, expiry=NOW - dt.timedelta(days=1))
    assert checks.check_endpoint_certificate(checks.CheckContext(server(endpoints=[ep], certificates=[soon]),
                                                                 now=NOW)).status == "warn"
    assert checks.check_endpoint_certificate(checks.CheckContext(server(endpoints=[ep], certificates=[gone]),
                                                                 now=NOW)).status == "fail"


def test_two_way_needs_matching_update_policy() -> None:
    ctx = checks.CheckContext(server(), direction="mi-first", mi=mi(database_format="AlwaysUpToDate"))
    r = by_id(checks.check_mi(ctx))
    assert r["mi_policy"].status == "fail" and "SQLServer2022" in r["mi_policy"].explanation


def test_in_memory_database_needs_business_critical() -> None:
    ctx = checks.CheckContext(server(), mi=mi(), databases=[db(memory_optimized=True)])
    assert by_id(checks.check_mi(ctx))["mi_tier"].status == "fail"


@pytest.mark.parametrize(("facts", "reason"), [
    (dict(recovery_model="SIMPLE"), "Recovery model is SIMPLE"),
    (dict(log_chain_started=False, last_full_backup=None), "error 1475"),
    (dict(log_chain_started=False, last_full_backup=None, copy_only_backups=1), "COPY_ONLY"),
    (dict(log_files=2), "2 log files"),
    (dict(filestream=True), "FILESTREAM"),
    (dict(state="OFFLINE"), "OFFLINE"),
    (dict(name="msdb", database_id=4), "System databases"),
])
def test_ineligible_databases_say_why(facts: dict, reason: str) -> None:
    e = eligibility.evaluate(db(**facts), mi())
    assert not e.eligible and any(reason in r for r in e.reasons), e.reasons
    assert e.status.startswith("✗")


def test_eligible_database_and_name_clash_on_mi() -> None:
    assert eligibility.evaluate(db(), mi()).eligible
    e = eligibility.evaluate(db(), mi(database_names=["salesdb"]))
    assert not e.eligible and "already exists" in e.reasons[0]


def test_plan_validation_rejects_bad_names() -> None:
    from .sample import sample_plan

    p = sample_plan()
    plan.validate(p)
    p.links[0].link_name = "bad name!"
    with pytest.raises(plan.PlanError, match="letters, digits"):
        plan.validate(p)
    p = sample_plan()
    with pytest.raises(plan.PlanError, match="already exists"):
        plan.validate(p, existing_links=["LINK_SALESDB"])


def test_certificate_name_of_a_named_instance_has_no_backslash() -> None:
    assert plan.certificate_name_for("HOST\\INST") == "Cert_HOST_INST_endpoint"


@given(st.text(min_size=1, max_size=128).filter(lambda s: "\x00" not in s))
def test_quote_name_round_trips(name: str) -> None:
    quoted = tsql.quote_name(name)
    assert quoted.startswith("[") and quoted.endswith("]")
    inner = quoted[1:-1]
    assert inner.replace("]]", "") .count("]") == 0  # every ] inside is doubled
    assert inner.replace("]]", "]") == name


@given(st.text(max_size=200).filter(lambda s: "\x00" not in s))
def test_quote_literal_round_trips(text: str) -> None:
    q = tsql.quote_literal(text)
    assert q.startswith("N'") and q.endswith("'")
    assert q[2:-1].replace("''", "") .count("'") == 0
    assert q[2:-1].replace("''", "'") == text


def test_quote_name_refuses_impossible_names() -> None:
    for bad in ("", "x" * 129, "a\x00b"):
        with pytest.raises(tsql.UnsafeName):
            tsql.quote_name(bad)


def test_counts_read_as_english() -> None:
    from milink_tui.engine.plan import count_of

    assert count_of(1, "link") == "1 link"
    assert [count_of(n, "step") for n in (0, 2)] == ["0 steps", "2 steps"]
