"""Sign-in methods against the lab's fake Entra authority, headless (no browser, no stdout)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import stat
import time
from pathlib import Path

import pytest

from milink_tui.clients import auth
from milink_tui.clients.auth import (
    AZURE_US_GOVERNMENT,
    Cloud,
    DeviceCodeSignIn,
    SignIn,
    load_record,
    record_path,
    token_cache_storage,
)
from milink_tui.clients.azure import AzureClient, AzureSession
from milink_tui.clients.azure_errors import AzureError
from milink_tui.lab.arm import ArmServer, serve_arm

from .conftest import FAST_LROS, SP_SECRET, make_cert, sp_sign_in, write_pem_with_key


@pytest.fixture
async def manual_arm(world, server_ssl) -> ArmServer:
    """A lab whose device codes wait for an explicit approval (like a real user)."""
    from milink_tui.lab.replication import ReplicationEngine

    server = await serve_arm(world, ReplicationEngine(world), server_ssl, sp_client_secret=SP_SECRET,
                             lro_durations=FAST_LROS, device_code_pending_polls=None)
    try:
        yield server
    finally:
        await server.close()


class User:
    """Plays the person at the browser: sees the prompt (on the credential's thread) and approves."""

    def __init__(self, arm: ArmServer, approve: bool = True) -> None:
        self.arm = arm
        self.approve = approve
        self.loop = asyncio.get_running_loop()
        self.prompts: list[tuple[str, str, dt.datetime]] = []

    def __call__(self, uri: str, code: str, expires_on: dt.datetime) -> None:
        self.prompts.append((uri, code, expires_on))
        if self.approve:
            self.loop.call_soon_threadsafe(self.arm.approve_device_code, code)


def device_session(arm: ArmServer, ca_pem: str, user: User | None, **sign_in) -> AzureSession:
    return AzureSession(SignIn("device-code", **sign_in), cloud=Cloud.lab(arm.base_url), ca_file=ca_pem,
                        prompt=user, polling_interval=0, retry_total=0)


async def test_device_code_sign_in_headless_saves_the_record(manual_arm: ArmServer, ca_pem: str,
                                                             state: Path) -> None:
    user = User(manual_arm)
    session = device_session(manual_arm, ca_pem, user)
    try:
        started = time.monotonic()
        who = await session.sign_in()
        assert time.monotonic() - started < 5
        assert [s.display_name for s in await AzureClient(session).list_subscriptions()][0] == "Contoso Lab"
    finally:
        await session.close()
    assert who.kind == "user" and who.name == manual_arm.entra.user.upn and who.tenant_id == manual_arm.tenant_id
    (uri, code, expires_on), = user.prompts
    assert uri == f"{manual_arm.authority}/devicelogin" and len(code) == 9
    assert expires_on > dt.datetime.now(dt.timezone.utc)

    path = record_path(Cloud.lab(manual_arm.base_url), state)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    saved = json.loads(path.read_text())
    assert saved["username"] == manual_arm.entra.user.upn and "token" not in path.read_text().lower()
    session.sign_out()
    assert not path.exists()


async def test_the_saved_record_is_reused(manual_arm: ArmServer, ca_pem: str, state: Path) -> None:
    first = device_session(manual_arm, ca_pem, User(manual_arm))
    try:
        await first.sign_in()
    finally:
        await first.close()
    # next run: the credential is built from the record (and a tenant alongside it is no TypeError)
    user = User(manual_arm)
    second = device_session(manual_arm, ca_pem, user, tenant_id=manual_arm.tenant_id)
    try:
        cred = second.credential
        assert isinstance(cred, DeviceCodeSignIn) and cred.username == manual_arm.entra.user.upn
        assert cred._credential._auth_record is not None
        who = await second.sign_in()  # tokens were in memory only: the same account signs in again
    finally:
        await second.close()
    assert who.name == manual_arm.entra.user.upn and len(user.prompts) == 1


async def test_with_a_persisted_cache_the_next_run_is_silent(manual_arm: ArmServer, ca_pem: str,
                                                              state: Path) -> None:
    opts = {"persist_cache": True, "allow_unencrypted_cache": True}
    first = device_session(manual_arm, ca_pem, User(manual_arm), **opts)
    try:
        await first.sign_in()
    finally:
        await first.close()
    codes = len(manual_arm.entra.device_codes)
    user = User(manual_arm)
    second = device_session(manual_arm, ca_pem, user, **opts)
    try:
        who = await second.sign_in()
        assert len(await AzureClient(second).list_managed_instances()) == 3
    finally:
        await second.close()
    assert who.name == manual_arm.entra.user.upn
    assert user.prompts == [] and len(manual_arm.entra.device_codes) == codes
    cache = Path(os.environ["HOME"]) / ".IdentityService" / "milink.nocae"
    assert cache.exists() and stat.S_IMODE(os.stat(cache).st_mode) & 0o077 == 0


async def test_a_record_from_another_authority_is_ignored(manual_arm: ArmServer, ca_pem: str,
                                                          state: Path) -> None:
    session = device_session(manual_arm, ca_pem, User(manual_arm))
    try:
        await session.sign_in()
    finally:
        await session.close()
    lab = Cloud.lab(manual_arm.base_url)
    assert load_record(record_path(lab, state), lab) is not None
    moved = Cloud.lab("https://localhost:1")  # the lab restarted on another port
    assert load_record(record_path(lab, state), moved) is None


async def test_device_code_sign_in_can_be_cancelled(manual_arm: ArmServer, ca_pem: str, state: Path) -> None:
    holder: dict[str, AzureSession] = {}

    def prompt(uri: str, code: str, expires_on: dt.datetime) -> None:
        holder["s"].cancel_sign_in()  # the user pressed Cancel (any thread)

    session = holder["s"] = AzureSession(SignIn("device-code"), cloud=Cloud.lab(manual_arm.base_url),
                                         ca_file=ca_pem, prompt=prompt)
    try:
        started = time.monotonic()
        with pytest.raises(AzureError) as info:
            await session.sign_in()
        assert time.monotonic() - started < 5
    finally:
        await session.close()
    assert info.value.cause == "cancelled" and str(info.value) == "Azure sign-in cancelled"
    assert not record_path(Cloud.lab(manual_arm.base_url), state).exists()


async def test_service_principal_with_a_certificate(arm: ArmServer, ca_pem: str, state: Path,
                                                    tmp_path: Path) -> None:
    der, key = make_cert("milink-sp")
    pem = write_pem_with_key(tmp_path / "sp.pem", der, key)
    sign_in = SignIn("sp-cert", tenant_id=arm.tenant_id, client_id=arm.sp_client_id, certificate_path=pem)
    async with AzureSession(sign_in, cloud=Cloud.lab(arm.base_url), ca_file=ca_pem) as session:
        who = await session.sign_in()
    assert who.kind == "app" and who.name == arm.sp_client_id


async def test_a_wrong_secret_says_sign_in_again(arm: ArmServer, ca_pem: str, state: Path) -> None:
    async with AzureSession(sp_sign_in(arm, "wrong"), cloud=Cloud.lab(arm.base_url), ca_file=ca_pem) as session:
        with pytest.raises(AzureError) as info:
            await session.sign_in()
    err = info.value
    assert err.cause == "auth" and err.code == "AADSTS7000215"
    assert str(err).startswith("Azure sign-in failed: ") and "sign in again (AADSTS7000215" in str(err)
    assert "\n" not in str(err) and "wrong" not in str(err)


async def test_managed_identity(arm: ArmServer, ca_pem: str, state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", arm.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", arm.identity_header)
    async with AzureSession(SignIn("msi"), cloud=Cloud.lab(arm.base_url), ca_file=ca_pem) as session:
        who = await session.sign_in()
        assert len(await AzureClient(session).list_subscriptions()) == 2
    assert who.kind == "app" and who.name == arm.entra.msi_client_id


async def test_environment_credential(arm: ArmServer, ca_pem: str, state: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_TENANT_ID", arm.tenant_id)
    monkeypatch.setenv("AZURE_CLIENT_ID", arm.sp_client_id)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", SP_SECRET)
    async with AzureSession(SignIn("env"), cloud=Cloud.lab(arm.base_url), ca_file=ca_pem) as session:
        who = await session.sign_in()
    assert who.kind == "app" and who.name == arm.sp_client_id


async def test_cli_without_az_says_what_is_missing(state: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    async with AzureSession(SignIn("cli"), cloud=Cloud.lab("https://localhost:1")) as session:
        with pytest.raises(AzureError) as info:
            await session.sign_in()
    assert info.value.cause == "auth" and "Azure CLI" in str(info.value)


@pytest.mark.parametrize(("sign_in", "text"), [
    (SignIn("sp-secret", tenant_id="t", client_id="c"), "needs a client secret"),
    (SignIn("sp-cert", tenant_id="t"), "needs a client (application) id"),
    (SignIn("password"), "Unknown sign-in method 'password'"),  # type: ignore[arg-type]
])
async def test_incomplete_settings_are_config_errors(sign_in: SignIn, text: str, state: Path) -> None:
    session = AzureSession(sign_in, cloud=Cloud.lab("https://localhost:1"))
    try:
        with pytest.raises(AzureError) as info:
            await session.start()
    finally:
        await session.close()
    assert info.value.cause == "config" and text in str(info.value)
    assert "hunter2" not in repr(SignIn("sp-secret", client_secret="hunter2"))


async def test_sovereign_cloud_settings(state: Path) -> None:
    from azure.core import AzureClouds

    assert Cloud.named("azureusgovernment") is AZURE_US_GOVERNMENT
    with pytest.raises(AzureError, match="Unknown Azure cloud"):
        Cloud.named("Mars")
    session = AzureSession(SignIn("cli"), cloud=AZURE_US_GOVERNMENT)
    try:
        await session.start()
        kwargs = session._client_kwargs()
        assert kwargs["base_url"] == "https://management.usgovcloudapi.net"
        assert kwargs["credential_scopes"] == ["https://management.core.usgovcloudapi.net/.default"]
        assert kwargs["cloud_setting"] is AzureClouds.AZURE_US_GOVERNMENT
    finally:
        await session.close()


def test_token_cache_persistence_is_opt_in_and_says_when_unencrypted(state: Path) -> None:
    assert auth.cache_would_be_unencrypted()  # no D-Bus session bus here (as over SSH)
    memory = token_cache_storage(SignIn())
    assert not memory.persistent and "memory" in memory.notice
    refused = token_cache_storage(SignIn(persist_cache=True))
    assert not refused.persistent and "unencrypted" in refused.notice.lower()
    assert auth.cache_options(SignIn(persist_cache=True)) is None
    plain = token_cache_storage(SignIn(persist_cache=True, allow_unencrypted_cache=True))
    assert plain.persistent and not plain.encrypted and "UNENCRYPTED" in plain.notice
    opts = auth.cache_options(SignIn(persist_cache=True, allow_unencrypted_cache=True))
    assert opts.name == "milink" and opts.allow_unencrypted_storage is True


async def test_without_a_prompt_device_code_never_starts_a_flow(manual_arm: ArmServer, ca_pem: str, state: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    async with device_session(manual_arm, ca_pem, None) as session:
        with pytest.raises(AzureError) as info:
            await session.sign_in()
    assert info.value.cause == "auth" and str(info.value).startswith("Not signed in to Azure")
    assert manual_arm.entra.device_codes == {} and capsys.readouterr().out == ""
