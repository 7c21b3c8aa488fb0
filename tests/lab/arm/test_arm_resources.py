"""Accounts, managed instances, certificates and ARM conventions, through the real SDK where it can go."""

from __future__ import annotations

import hashlib

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest

from .conftest import SUB, TENANT, _transport, raw

MI_PATH = f"/subscriptions/{SUB}/resourceGroups/rg-prod/providers/Microsoft.Sql/managedInstances/mi-prod"


async def test_subscriptions_tenants_and_resource_groups(arm, subs, sql, session, world):
    listed = [s async for s in subs.subscriptions.list()]
    assert [(s.subscription_id, s.display_name, s.tenant_id, s.state) for s in listed] == [
        (SUB, "Lab Production", TENANT, "Enabled")]
    one = await subs.subscriptions.get(SUB)
    assert one.id == f"/subscriptions/{SUB}"
    tenants = [t async for t in subs.tenants.list()]
    assert [t.tenant_id for t in tenants] == [TENANT]
    # resource groups: the SDK's lower-case 'resourcegroups' path, sent through the SQL client's pipeline
    resp = await sql.send_request(HttpRequest("GET", f"{arm.base_url}/subscriptions/{SUB}/resourcegroups"
                                                     "?api-version=2025-04-01"))
    assert resp.status_code == 200
    assert sorted(g["name"] for g in resp.json()["value"]) == ["rg-dr", "rg-prod"]
    status, _, body = await raw(arm, session, "GET", f"/subscriptions/{SUB}/resourceGroups/RG-DR?api-version=2021-04-01")
    assert status == 200 and body["location"] == "northeurope"
    assert world.round_trips["arm"] >= 5


async def test_metadata_endpoint_for_az_cloud_register(arm, session):
    status, headers, body = await raw(arm, session, "GET", "//metadata/endpoints?api-version=2022-09-01", token=None)
    assert status == 200
    assert body["resourceManager"] == arm.base_url + "/"
    assert body["authentication"]["loginEndpoint"] == arm.authority
    assert body["authentication"]["audiences"][0] == "https://management.core.windows.net/"
    assert body["suffixes"]["sqlServerHostname"] == ".database.windows.net"
    assert "x-ms-request-id" in {k.lower() for k in headers}


async def test_managed_instances(sql):
    names = sorted([mi.name async for mi in sql.managed_instances.list()])
    assert names == ["mi-dr", "mi-prod"]
    in_dr = [mi.name async for mi in sql.managed_instances.list_by_resource_group("rg-dr")]
    assert in_dr == ["mi-dr"]
    mi = await sql.managed_instances.get("rg-prod", "mi-prod")
    assert mi.fully_qualified_domain_name == "mi-prod.a1b2c3d4e5f6.database.windows.net"
    assert (mi.state, mi.database_format, mi.v_cores, mi.storage_size_in_gb) == ("Ready", "SQLServer2022", 8, 256)
    assert (mi.sku.name, mi.sku.tier, mi.sku.family, mi.sku.capacity) == ("GP_Gen5", "GeneralPurpose", "Gen5", 8)
    assert mi.hybrid_secondary_usage == "Active" and mi.hybrid_secondary_usage_detected == "Active"
    assert mi.subnet_id.endswith("/subnets/ManagedInstance") and mi.dns_zone == "a1b2c3d4e5f6"
    assert mi.is_general_purpose_v2 is False and mi.zone_redundant is False
    assert mi.public_data_endpoint_enabled is False and mi.license_type == "LicenseIncluded"
    assert mi.id == "/subscriptions/" + SUB + "/resourceGroups/rg-prod/providers/Microsoft.Sql/managedInstances/mi-prod"
    dr = await sql.managed_instances.get("rg-dr", "mi-dr")
    assert (dr.sku.name, dr.location, dr.hybrid_secondary_usage) == ("BC_Gen5", "northeurope", "Passive")
    with pytest.raises(ResourceNotFoundError) as e:
        await sql.managed_instances.get("rg-prod", "mi-dr")  # wrong group
    assert e.value.error.code == "ResourceNotFound"


async def test_paths_are_case_insensitive(arm, session):
    path = MI_PATH.upper().replace("API", "api") + "?api-version=2024-11-01-preview"
    status, _, body = await raw(arm, session, "GET", path.replace(SUB.upper(), SUB))
    assert status == 200 and body["name"] == "mi-prod"


async def test_trust_and_endpoint_certificates(sql, world, ders):
    blob = "0x" + ders["sql1"].hex()
    poller = await sql.server_trust_certificates.begin_create_or_update(
        "rg-prod", "mi-prod", "Cert_sql1_endpoint", {"properties": {"publicBlob": blob}})
    cert = await poller.result()
    assert cert.certificate_name == "Cert_sql1_endpoint"
    assert cert.thumbprint == hashlib.sha1(ders["sql1"]).hexdigest().upper()
    stored = world.managed_instances["mi-prod"].trust_certificates["Cert_sql1_endpoint"]
    assert stored.subject == "Certificate for Cert_sql1_endpoint" and stored.der == ders["sql1"]
    listed = [c.name async for c in sql.server_trust_certificates.list_by_instance("rg-prod", "mi-prod")]
    assert listed == ["Cert_sql1_endpoint"]
    got = await sql.server_trust_certificates.get("rg-prod", "mi-prod", "cert_SQL1_endpoint")
    assert got.public_blob.lower() == blob.lower()
    # the same public key under another name is refused
    with pytest.raises(HttpResponseError) as e:
        await sql.server_trust_certificates.begin_create_or_update(
            "rg-prod", "mi-prod", "again", {"properties": {"publicBlob": blob}})
    assert e.value.status_code == 409
    with pytest.raises(HttpResponseError) as e:
        await sql.server_trust_certificates.begin_create_or_update(
            "rg-prod", "mi-prod", "bad", {"properties": {"publicBlob": "0x3082DEADBEEF"}})
    assert e.value.status_code == 400 and "Invalid public blob" in e.value.error.message

    ec = await sql.endpoint_certificates.get("rg-prod", "mi-prod", "DATABASE_MIRRORING")
    assert not ec.public_blob.startswith("0x") and bytes.fromhex(ec.public_blob) == ders["mi-prod"]
    types = [c.name async for c in sql.endpoint_certificates.list_by_instance("rg-prod", "mi-prod")]
    assert types == ["DATABASE_MIRRORING", "SERVICE_BROKER"]

    poller = await sql.server_trust_certificates.begin_delete("rg-prod", "mi-prod", "Cert_sql1_endpoint")
    await poller.result()
    assert world.managed_instances["mi-prod"].trust_certificates == {}
    with pytest.raises(ResourceNotFoundError) as e:
        await sql.server_trust_certificates.get("rg-prod", "mi-prod", "Cert_sql1_endpoint")
    assert e.value.error.message == ("The requested resource of type 'Microsoft.Sql/managedInstances/"
                                     "serverTrustCertificates' with name 'Cert_sql1_endpoint' was not found.")


async def test_api_version_and_auth_conventions(arm, session, sql):
    status, _, body = await raw(arm, session, "GET", MI_PATH)
    assert status == 400 and body["error"]["code"] == "MissingApiVersionParameter"
    status, _, body = await raw(arm, session, "GET", MI_PATH + "?api-version=2099-01-01")
    assert status == 400 and body["error"]["code"] == "NoRegisteredProviderFound"
    status, _, body = await raw(arm, session, "GET", "/subscriptions?api-version=1999-01-01")
    assert status == 400 and body["error"]["code"] == "InvalidApiVersionParameter"
    # the links resource did not exist in 2020 api-versions
    status, _, body = await raw(arm, session, "GET", MI_PATH + "/distributedAvailabilityGroups?api-version=2020-11-01-preview")
    assert status == 400 and body["error"]["code"] == "NoRegisteredProviderFound"
    for version in ("2025-01-01", "2024-11-01-preview", "2025-08-01-preview"):
        assert (await raw(arm, session, "GET", f"{MI_PATH}?api-version={version}"))[0] == 200

    status, headers, body = await raw(arm, session, "GET", MI_PATH + "?api-version=2025-01-01", token=None)
    assert status == 401 and body["error"]["code"] == "AuthenticationFailed"
    assert "WWW-Authenticate" in headers
    status, _, body = await raw(arm, session, "GET", MI_PATH + "?api-version=2025-01-01", token="a.b.c")
    assert status == 401 and body["error"]["code"] == "InvalidAuthenticationToken"
    wrong_aud = arm.entra.issue_access_token("https://database.windows.net/")
    status, _, body = await raw(arm, session, "GET", MI_PATH + "?api-version=2025-01-01", token=wrong_aud)
    assert status == 401 and body["error"]["code"] == "InvalidAuthenticationTokenAudience"
    other_tenant = arm.entra.issue_access_token("https://management.azure.com", tenant_id="00000000-0000-0000-0000-0000000000aa")
    status, _, body = await raw(arm, session, "GET", MI_PATH + "?api-version=2025-01-01", token=other_tenant)
    assert status == 401 and body["error"]["code"] == "InvalidAuthenticationTokenTenant"

    # the SDK without a bearer policy -> ClientAuthenticationError
    from azure.core.pipeline.policies import SansIOHTTPPolicy
    from azure.mgmt.sql.aio import SqlManagementClient

    client = SqlManagementClient(object(), SUB, base_url=arm.base_url, authentication_policy=SansIOHTTPPolicy(),
                                 transport=_transport(session))
    with pytest.raises(ClientAuthenticationError):
        await client.managed_instances.get("rg-prod", "mi-prod")

    # ids are echoed for "copy diagnostics"
    async with session.get(arm.base_url + MI_PATH + "?api-version=2025-01-01",
                           headers={"Authorization": f"Bearer {arm.access_token()}",
                                    "x-ms-client-request-id": "cid-1"}) as resp:
        assert resp.headers["x-ms-client-request-id"] == "cid-1"
        assert resp.headers["x-ms-correlation-request-id"] == "cid-1"
        assert resp.headers["x-ms-request-id"]
    assert any(r["path"].lower() == MI_PATH.lower() for r in arm.requests)


async def test_unavailable_instance_keeps_state_visible(sql, world):
    world.managed_instances["mi-prod"].available = False
    world.managed_instances["mi-prod"].state = "Stopped"
    mi = await sql.managed_instances.get("rg-prod", "mi-prod")
    assert mi.state == "Stopped"
    with pytest.raises(HttpResponseError) as e:
        [x async for x in sql.distributed_availability_groups.list_by_instance("rg-prod", "mi-prod")]
    assert e.value.status_code == 409 and e.value.error.code == "ManagedInstanceNotInReadyState"


async def test_storms(sql_no_retry, world):
    world.faults.arm_status, world.faults.arm_status_remaining = 500, 2
    for _ in range(2):
        with pytest.raises(HttpResponseError) as e:
            await sql_no_retry.managed_instances.get("rg-prod", "mi-prod")
        assert e.value.status_code == 500
        assert e.value.response.headers["x-ms-request-id"]
        assert e.value.response.headers["x-ms-correlation-request-id"]
    assert (await sql_no_retry.managed_instances.get("rg-prod", "mi-prod")).name == "mi-prod"
    world.faults.arm_status, world.faults.arm_status_remaining = 429, 1
    with pytest.raises(HttpResponseError) as e:
        await sql_no_retry.managed_instances.get("rg-prod", "mi-prod")
    assert e.value.status_code == 429 and e.value.response.headers["Retry-After"] == "1"
    assert world.faults.arm_status_remaining == 0
