"""milink's Azure client against the in-process lab ARM (real azure-mgmt-sql over TLS)."""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
import time

import pytest

from milink_tui.clients.azure import AzureClient, AzureOperation, AzureSession
from milink_tui.clients.azure_errors import AzureError
from milink_tui.engine.plan import ManagedInstanceRef
from milink_tui.lab import scenarios
from milink_tui.lab.model import World

from .conftest import make_cert

SUB = scenarios.SUBSCRIPTION_ID
RG = scenarios.RESOURCE_GROUP


def ref(world: World, name: str) -> ManagedInstanceRef:
    mi = world.managed_instances[name]
    return ManagedInstanceRef(mi.name, mi.resource_group, mi.subscription_id, mi.fqdn)


def link_body(db: str, role: str = "Secondary") -> dict:
    return {"properties": {
        "databases": [{"databaseName": db}], "partnerEndpoint": "TCP://10.0.0.4:5022",
        "instanceAvailabilityGroupName": f"AG_{db}_MI", "partnerAvailabilityGroupName": f"AG_{db}",
        "instanceLinkRole": role, "failoverMode": "Manual", "seedingMode": "Automatic", "replicationMode": "Async",
    }}


def test_importing_the_clients_stays_cheap() -> None:
    code = ("import sys, milink_tui.clients.azure, milink_tui.clients.auth, milink_tui.clients.azure_errors; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'azure', 'aiohttp', 'msal', 'keyring', "
            "'textual'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


async def test_one_shared_http_session_and_lazy_clients(session: AzureSession, az: AzureClient) -> None:
    await az.list_managed_instances(SUB)
    await az.list_subscriptions()
    sql = session.sql(SUB)
    assert session.sql(SUB.upper()) is sql  # created once per subscription
    assert session.subscriptions() is session.subscriptions()
    http = session._http
    assert sql._client._pipeline._transport.session is http
    assert session.subscriptions()._client._pipeline._transport.session is http
    assert not http.closed
    await session.close()
    assert http.closed
    with pytest.raises(AzureError, match="closed"):
        session.sql(SUB)


async def test_sdk_logs_go_to_a_file_not_the_terminal(session: AzureSession, state) -> None:
    await session.start()
    logger = logging.getLogger("azure")
    assert not logger.propagate
    assert [type(h).__name__ for h in logger.handlers] == ["FileHandler"]
    assert logger.handlers[0].baseFilename == str((state / "azure.log").resolve())


async def test_sign_in_with_a_service_principal(session: AzureSession, arm) -> None:
    who = await session.sign_in()
    assert who.kind == "app" and who.name == arm.sp_client_id and who.tenant_id == arm.tenant_id


async def test_subscriptions_instances_and_groups(az: AzureClient, world: World) -> None:
    subs = await az.list_subscriptions()
    assert [s.display_name for s in subs] == ["Contoso Lab", "Contoso Sandbox"]
    assert subs[0].state == "Enabled" and subs[0].tenant_id == world.tenant_id

    every = await az.list_managed_instances()
    assert sorted(m.name for m in every) == ["sqlmi-dr", "sqlmi-lab-bc", "sqlmi-lab-gp"]
    in_rg = await az.list_managed_instances(SUB, RG)
    assert [m.name for m in in_rg] == ["sqlmi-lab-bc", "sqlmi-lab-gp"]
    gp = next(m for m in in_rg if m.name == "sqlmi-lab-gp")
    assert (gp.fqdn, gp.state, gp.tier, gp.database_format, gp.resource_group, gp.subscription_id) == (
        world.managed_instances["sqlmi-lab-gp"].fqdn, "Ready", "GeneralPurpose", "SQLServer2022", RG, SUB)
    assert gp.ref() == ref(world, "sqlmi-lab-gp")
    assert await az.list_resource_groups(SUB) == ["rg-dr", RG]
    assert (await az.find_managed_instance("SQLMI-DR")).resource_group == "rg-dr"
    with pytest.raises(AzureError, match="'nope' not found"):
        await az.find_managed_instance("nope")


async def test_instance_facts(az: AzureClient, world: World) -> None:
    facts = await az.instance_facts(ref(world, "sqlmi-lab-gp"))
    assert facts.state == "Ready" and facts.tier == "GeneralPurpose" and facts.database_format == "SQLServer2022"
    assert facts.storage_gb == 512 and facts.collation == "SQL_Latin1_General_CP1_CI_AS"
    assert facts.is_general_purpose_v2 is False and facts.max_links == 100
    assert facts.link_count == 3 and sorted(facts.link_names) == ["DAG_CRM", "DAG_Orders", "DAG_SalesDb"]
    # the link secondaries are databases on the instance; failover groups are not served: unknown
    assert facts.database_names == ["CRM", "Orders", "SalesDb"] and facts.in_failover_group is None


async def test_links_carry_the_wire_names_the_engine_reads(az: AzureClient, world: World) -> None:
    link = await az.get_link(ref(world, "sqlmi-lab-gp"), "dag_salesdb")  # ARM names are case-insensitive
    assert link is not None and link["partnerAvailabilityGroupName"] == "AG_SalesDb"
    db = link["databases"][0]
    assert (db["connectedState"], db["synchronizationHealth"], db["replicaState"]) == (
        "CONNECTED", "HEALTHY", "LinkSynchronizing")
    assert "properties" not in link and db["partnerAuthCertValidity"]["certificateName"] == "Cert_SQLLAB01_endpoint"


async def test_the_link_api_sequence(az: AzureClient, world: World) -> None:
    mi = ref(world, "sqlmi-lab-bc")
    der, _ = make_cert("Certificate for SQLLAB02 endpoint")
    thumb = hashlib.sha1(der).hexdigest().upper()

    await az.upload_trust_certificate(mi, "Cert_SQLLAB02_endpoint", der)
    certs = {c["name"]: c for c in await az.trust_certificates(mi)}
    assert certs["Cert_SQLLAB02_endpoint"]["thumbprint"].upper() == thumb

    assert await az.endpoint_certificate(mi) == world.managed_instances["sqlmi-lab-bc"].endpoint_certificate.der

    assert await az.get_link(mi, "DAG_Inventory") is None
    await az.create_link(mi, "DAG_Inventory", link_body("Inventory"))
    link = await az.get_link(mi, "DAG_Inventory")
    assert link is not None and link["name"] == "DAG_Inventory" and link["instanceLinkRole"] == "Secondary"
    db = link["databases"][0]
    assert db["databaseName"] == "Inventory" and db["replicaState"] and "connectedState" in db
    assert [x["name"] for x in await az.list_links(mi)] == ["DAG_Inventory"]

    await az.delete_link(mi, "DAG_Inventory")
    assert await az.get_link(mi, "DAG_Inventory") is None
    await az.delete_link(mi, "DAG_Inventory")  # undo is repeatable
    await az.delete_trust_certificate(mi, "Cert_SQLLAB02_endpoint")
    assert "Cert_SQLLAB02_endpoint" not in {c["name"] for c in await az.trust_certificates(mi)}
    await az.delete_trust_certificate(mi, "Cert_SQLLAB02_endpoint")


async def test_update_failover_and_set_role(az: AzureClient, world: World) -> None:
    mi = ref(world, "sqlmi-lab-gp")
    link = await az.update_replication_mode(mi, "DAG_SalesDb", "Sync")
    assert link is not None and link["replicationMode"] == "Sync"
    link = await az.failover(mi, "DAG_SalesDb", "ForcedAllowDataLoss")
    assert link is not None and link["instanceLinkRole"] == "Primary"
    link = await az.set_role(mi, "DAG_SalesDb", "Secondary", "Forced")
    assert link is not None and link["instanceLinkRole"] == "Secondary"


async def test_lro_progress_and_resume_from_a_continuation_token(session: AzureSession, world: World) -> None:
    started: list[AzureOperation] = []
    az = AzureClient(session, on_operation=started.append, progress_interval=0.001)
    mi = ref(world, "sqlmi-lab-bc")
    seen: list[tuple[str, float]] = []
    await az.create_link(mi, "DAG_Inventory", link_body("Inventory"), progress=lambda s, t: seen.append((s, t)))
    assert seen[-1][0] == "Succeeded" and all(s in ("InProgress", "Succeeded") for s, _ in seen)
    assert [(o.kind, o.name) for o in started] == [("create_link", "DAG_Inventory")]
    assert started[0].continuation_token

    # a later run re-attaches to an operation from its journaled token
    op = await az.begin("delete_link", mi, "DAG_Inventory")
    token = op.continuation_token
    again = AzureClient(session)
    resumed = await again.resume("delete_link", mi, "DAG_Inventory", token)
    assert await resumed.wait() is None and resumed.status() == "Succeeded"
    assert await az.get_link(mi, "DAG_Inventory") is None
    assert len(started) == 2  # resume does not announce a new operation


# --------------------------------------------------------------------------- errors


async def test_not_found_is_one_readable_line(az: AzureClient, world: World, arm) -> None:
    mi = ref(world, "sqlmi-lab-gp")
    err = await _raises(az.failover(mi, "nope", "ForcedAllowDataLoss"))
    assert err.status == 404 and err.code == "ResourceNotFound" and err.cause == "not_found"
    assert str(err).startswith("Link 'nope' not found (ResourceNotFound, request ")
    assert "\n" not in str(err)
    assert err.request_id and err.request_id[:8] in str(err) and err.correlation_id
    assert err.request_id in {r.get("request_id") for r in arm.requests}
    assert err.request_id in err.diagnostics() and err.correlation_id in err.diagnostics()


async def test_a_missing_instance_is_an_error_not_a_missing_link(az: AzureClient, world: World) -> None:
    mi = ManagedInstanceRef("ghost", RG, SUB, "ghost.example")
    err = await _raises(az.get_link(mi, "DAG_SalesDb"))
    assert err.code == "ParentResourceNotFound" and "ghost" in str(err)


async def test_a_failed_operation_reports_code_and_message(az: AzureClient, world: World) -> None:
    world.faults.fail_next_lro = "DistributedAvailabilityGroupFailoverSecondariesNotSynchronizing"
    err = await _raises(az.update_replication_mode(ref(world, "sqlmi-lab-gp"), "DAG_Orders", "Sync"))
    assert err.status == 200 and err.cause == "operation"
    assert err.code == "DistributedAvailabilityGroupFailoverSecondariesNotSynchronizing"
    assert str(err).startswith("Update link 'DAG_Orders' on sqlmi-lab-gp failed: Planned failover cannot be "
                               "executed if secondaries are not synchronizing. "
                               "(DistributedAvailabilityGroupFailoverSecondariesNotSynchronizing, request ")


async def test_a_refusal_keeps_the_service_message(az: AzureClient, world: World) -> None:
    err = await _raises(az.failover(ref(world, "sqlmi-lab-gp"), "DAG_CRM", "Planned"))
    assert err.status == 409 and err.cause == "conflict"
    assert "primary role only" in str(err) and "DistributedAvailabilityGroupFailoverInvalidInstanceRole" in str(err)


@pytest.mark.parametrize(("status", "code", "cause", "text"), [
    (500, "InternalServerError", "server", "Azure failed: List links on sqlmi-lab-gp hit a service error (HTTP 500); "
                                           "retry (InternalServerError, request "),
    (503, "ServiceUnavailable", "server", "Azure failed: "),
    (429, "SubscriptionRequestsThrottled", "throttled", "Azure is busy: List links on sqlmi-lab-gp was throttled; "
                                                        "retry in a moment (SubscriptionRequestsThrottled, request "),
])
async def test_storms_say_retry_with_the_request_id(az: AzureClient, world: World, status: int, code: str,
                                                    cause: str, text: str) -> None:
    mi = ref(world, "sqlmi-lab-gp")
    await az.session.sign_in()  # the storm hits ARM, not the token request
    world.faults.arm_status, world.faults.arm_status_remaining = status, 5
    err = await _raises(az.list_links(mi))
    assert err.status == status and err.code == code and err.cause == cause and err.retryable
    assert str(err).startswith(text) and err.request_id
    assert err.retry_after == (1 if status == 429 else None)  # ARM's Retry-After: the poller honours it
    world.faults.arm_status_remaining = 0
    assert len(await az.list_links(mi)) == 3


async def test_the_dashboard_list_keeps_auth_retries_and_request_ids(arm, ca_pem: str, state, world: World) -> None:
    """list_links_raw reads through a lean pipeline (AzureSession.reader); what it keeps works.

    The token (the lab refuses a request without one), the retry policy (a 503 is retried when
    retries are on, and surfaces at once with the request ids when they are off), a client
    request id per request and the SDK's user agent (as the lab logged them), and list_links's answer.
    """
    import uuid

    from milink_tui.clients.auth import Cloud

    from .conftest import sp_sign_in

    mi = ref(world, "sqlmi-lab-gp")
    for retries in (1, 0):
        session = AzureSession(sp_sign_in(arm), cloud=Cloud.lab(arm.base_url), ca_file=ca_pem, polling_interval=0,
                               retry_total=retries)
        az = AzureClient(session)
        try:
            await session.sign_in()  # the storm hits ARM, not the token request
            world.faults.arm_status, world.faults.arm_status_remaining = 503, 1
            if retries:
                raw = await az.list_links_raw(mi)
                assert world.faults.arm_status_remaining == 0  # the 503 was answered, and retried
                assert raw.items == await az.list_links(mi) and raw.pages == 1
                assert session.reader(mi.subscription_id) is session.reader(mi.subscription_id.upper())
                lists = [r for r in arm.requests if r["path"].endswith("/distributedAvailabilityGroups")]
                ids = [r["client_request_id"] for r in lists]  # the 503, its retry, then list_links's
                assert ids[0] == ids[1] != ids[2] and uuid.UUID(ids[0]).version == 4  # a retry keeps its id
                assert all("azsdk-python-mgmt-sql" in r["user_agent"] for r in lists)
            else:
                err = await _raises(az.list_links_raw(mi))
                assert err.status == 503 and err.cause == "server" and err.retryable and err.request_id
                assert str(err).startswith("Azure failed: List links on sqlmi-lab-gp")
        finally:
            await az.close()


class StaticToken:
    """A credential that hands out one lab token (keeps identity's own retries out of the test)."""

    def __init__(self, token: str) -> None:
        self.token = token

    async def get_token(self, *scopes: str, **kwargs) -> object:
        from azure.core.credentials import AccessToken

        return AccessToken(self.token, int(time.time()) + 3600)

    async def close(self) -> None:
        pass


async def test_an_untrusted_certificate_is_refused(arm, state) -> None:
    from milink_tui.clients.auth import Cloud

    session = AzureSession(credential=StaticToken(arm.access_token()), cloud=Cloud.lab(arm.base_url),
                           polling_interval=0, retry_total=0)  # no ca_file: the lab CA is not trusted
    try:
        err = await _raises(AzureClient(session).list_subscriptions())
    finally:
        await session.close()
    assert err.cause == "network" and "not trusted" in str(err) and "\n" not in str(err)


async def test_an_expired_token_says_sign_in_again(arm, state, ca_pem) -> None:
    from milink_tui.clients.auth import Cloud

    token = arm.app.entra.issue_access_token("https://management.azure.com/", lifetime=-60)
    session = AzureSession(credential=StaticToken(token), cloud=Cloud.lab(arm.base_url), ca_file=ca_pem,
                           polling_interval=0, retry_total=0)
    try:
        err = await _raises(AzureClient(session).list_subscriptions())
    finally:
        await session.close()
    assert err.status == 401 and err.code == "ExpiredAuthenticationToken" and err.cause == "auth"
    assert "sign in again" in str(err) and err.request_id


async def _raises(awaitable) -> AzureError:
    try:
        await awaitable
    except AzureError as e:
        return e
    raise AssertionError("no AzureError")
