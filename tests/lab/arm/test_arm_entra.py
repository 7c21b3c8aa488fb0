"""The fake Entra authority driven by the real azure-identity credentials (MSAL underneath)."""

from __future__ import annotations

import asyncio
import time

import pytest
from azure.core.exceptions import ClientAuthenticationError

from milink_tui.lab.arm import serve_arm
from milink_tui.lab.arm.entra import decode_jwt

from .conftest import SUB, raw

MI_PATH = f"/subscriptions/{SUB}/resourceGroups/rg-prod/providers/Microsoft.Sql/managedInstances/mi-prod"


def device_code_token(authority: str, tenant: str, ca_pem: str, on_prompt) -> tuple[str, object]:
    from azure.identity import DeviceCodeCredential

    cred = DeviceCodeCredential(tenant_id=tenant, client_id="04b07795-8ddb-461a-bbee-02f9e1bf7b46",
                                authority=authority, disable_instance_discovery=True, connection_verify=ca_pem,
                                prompt_callback=on_prompt, timeout=30)
    with cred:
        record = cred.authenticate(scopes=["https://management.azure.com/.default"])
        # a second resource comes from the refresh token, silently
        token = cred.get_token("https://management.core.windows.net//.default")
    return token.token, record


async def test_device_code_flow_with_headless_approval(world, engine, server_ssl, session, ca_pem):
    arm = await serve_arm(world, engine, server_ssl, device_code_pending_polls=None)
    try:
        loop = asyncio.get_running_loop()
        prompts: list[tuple[str, str]] = []

        def on_prompt(uri: str, code: str, expires_on) -> None:  # runs on the credential's thread
            prompts.append((uri, code))
            loop.call_soon_threadsafe(arm.approve_device_code, code)  # "the user" approves it

        started = time.monotonic()
        token, record = await asyncio.to_thread(device_code_token, arm.authority, arm.tenant_id, ca_pem, on_prompt)
        assert time.monotonic() - started < 10
        assert prompts and prompts[0][0] == f"{arm.authority}/devicelogin" and len(prompts[0][1]) == 9
        assert record.username == arm.entra.user.upn and record.tenant_id == arm.tenant_id
        claims = decode_jwt(token)
        assert claims["aud"] == "https://management.core.windows.net/" and claims["tid"] == arm.tenant_id
        assert claims["exp"] - time.time() >= 3500
        status, _, body = await raw(arm, session, "GET", MI_PATH + "?api-version=2024-11-01-preview", token=token)
        assert status == 200 and body["name"] == "mi-prod"
        with pytest.raises(LookupError):
            arm.approve_device_code("NOSUCHCODE")
    finally:
        await arm.close()


async def test_device_code_auto_approves_after_pending_polls(arm, ca_pem):
    prompts: list[str] = []
    token, _ = await asyncio.to_thread(device_code_token, arm.authority, "organizations", ca_pem,
                                       lambda uri, code, exp: prompts.append(code))
    assert prompts and decode_jwt(token)["tid"] == arm.tenant_id
    code = next(iter(arm.entra.device_codes.values()))
    assert code.polls == 3 and code.redeemed


async def test_service_principal_secret_is_checked(arm, ca_pem):
    from azure.identity.aio import ClientSecretCredential

    async with ClientSecretCredential(arm.tenant_id, arm.sp_client_id, "wrong", authority=arm.authority,
                                      disable_instance_discovery=True, connection_verify=ca_pem) as cred:
        with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
            await cred.get_token("https://management.azure.com/.default")
    async with ClientSecretCredential(arm.tenant_id, arm.sp_client_id, arm.sp_client_secret,
                                      authority=arm.authority, disable_instance_discovery=True,
                                      connection_verify=ca_pem) as cred:
        token = await cred.get_token("https://management.azure.com/.default")
    claims = decode_jwt(token.token)
    assert claims["idtyp"] == "app" and claims["appid"] == arm.sp_client_id


async def test_managed_identity_endpoint(arm, session, monkeypatch, ca_pem):
    from azure.identity.aio import ManagedIdentityCredential

    monkeypatch.setenv("IDENTITY_ENDPOINT", arm.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", arm.identity_header)
    async with ManagedIdentityCredential(connection_verify=ca_pem) as cred:
        token = await cred.get_token("https://management.azure.com/.default")
    status, _, _ = await raw(arm, session, "GET", MI_PATH + "?api-version=2025-01-01", token=token.token)
    assert status == 200
    async with session.get(arm.identity_endpoint + "?api-version=2019-08-01&resource=x") as resp:
        assert resp.status == 401
