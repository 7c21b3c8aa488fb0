"""Azure sign-in for a terminal app that usually runs over SSH on a jump host.

The user picks one method (``cli``, ``device-code``, ``sp-secret``, ``sp-cert``, ``msi``,
``env``) instead of a DefaultAzureCredential chain that never does device code and fails
opaquely. Device code is the one that works over SSH, but azure-identity only has it in sync
form: it runs on a worker thread and its prompt is forwarded to a callback the UI marshals to
its own thread. The sign-in is remembered as an AuthenticationRecord (non-secret) in the state
dir; token persistence is opt-in because without a Secret Service on D-Bus (the normal SSH
case) it means a plaintext file.

Heavy imports (azure.identity, msal) stay inside functions so importing this module is cheap.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import inspect
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from .azure_errors import CANCELLED, CONFIG, AzureError, explain

log = logging.getLogger("milink.azure.auth")

Method = Literal["cli", "device-code", "sp-secret", "sp-cert", "msi", "env"]
METHODS: tuple[str, ...] = ("device-code", "cli", "sp-secret", "sp-cert", "msi", "env")
PromptCallback = Callable[[str, str, dt.datetime], None]
CACHE_NAME = "milink"
# azure-cli's public client id: what device-code sign-in uses unless the user names their own app
DEVELOPER_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"


# --------------------------------------------------------------------------- clouds


SQL_SCOPE = "https://database.windows.net/.default"


@dataclass(frozen=True)
class Cloud:
    """Where ARM and the sign-in authority live. ``custom`` clouds (the lab) skip instance discovery.

    ``sql_scope`` is the token scope for Microsoft Entra logins to SQL Server / a managed
    instance: each sovereign cloud has its own SQL resource, and a token for another is refused.
    """

    name: str
    arm_url: str
    authority: str  # host ("login.microsoftonline.us") or URL ("https://localhost:8443")
    scope: str  # ARM token scope
    sdk_cloud: str | None = None  # azure.core.AzureClouds member for ``cloud_setting``
    custom: bool = False
    sql_scope: str = SQL_SCOPE

    @property
    def authority_host(self) -> str:
        """host[:port] of the authority, as an AuthenticationRecord stores it."""
        return (urlparse(self.authority).netloc if "://" in self.authority else self.authority).lower()

    @classmethod
    def named(cls, name: str) -> Cloud:
        """AzureCloud / AzureUSGovernment / AzureChinaCloud (as ``az cloud list`` names them)."""
        for cloud in CLOUDS:
            if cloud.name.lower() == name.lower():
                return cloud
        raise AzureError(f"Unknown Azure cloud '{name}' (known: {', '.join(c.name for c in CLOUDS)})",
                         cause=CONFIG)

    @classmethod
    def lab(cls, base_url: str, authority: str | None = None,
            scope: str = "https://management.azure.com/.default", sql_scope: str | None = None) -> Cloud:
        """The milink lab (or any private ARM): ARM and authority at ``base_url``.

        ``sql_scope``: what the lab's SQL Servers accept (lab.json ``entra.sql_scope``).
        """
        return cls("lab", base_url.rstrip("/"), (authority or base_url).rstrip("/"), scope, None, True,
                   sql_scope or SQL_SCOPE)


AZURE_PUBLIC = Cloud("AzureCloud", "https://management.azure.com", "login.microsoftonline.com",
                     "https://management.azure.com/.default", "AZURE_PUBLIC_CLOUD")
AZURE_US_GOVERNMENT = Cloud("AzureUSGovernment", "https://management.usgovcloudapi.net", "login.microsoftonline.us",
                            "https://management.core.usgovcloudapi.net/.default", "AZURE_US_GOVERNMENT",
                            sql_scope="https://database.usgovcloudapi.net/.default")
AZURE_CHINA = Cloud("AzureChinaCloud", "https://management.chinacloudapi.cn", "login.chinacloudapi.cn",
                    "https://management.chinacloudapi.cn/.default", "AZURE_CHINA_CLOUD",
                    sql_scope="https://database.chinacloudapi.cn/.default")
CLOUDS: tuple[Cloud, ...] = (AZURE_PUBLIC, AZURE_US_GOVERNMENT, AZURE_CHINA)


# --------------------------------------------------------------------------- settings


@dataclass
class SignIn:
    """The sign-in the user picked. Secrets are kept out of ``repr`` (and never written anywhere)."""

    method: Method = "device-code"
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    certificate_path: str | None = None
    certificate_password: str | None = field(default=None, repr=False)
    persist_cache: bool = False  # keep tokens across runs (opt-in; see token_cache_storage)
    allow_unencrypted_cache: bool = False  # explicit consent to a 0600 plaintext cache file
    remember: bool = True  # save / reuse the device-code AuthenticationRecord
    timeout: float = 300.0  # how long device code waits for the user; az CLI process timeout


def state_dir() -> Path:
    """``MILINK_STATE_DIR`` or the platform's user state dir for milink (created, 0700)."""
    env = os.environ.get("MILINK_STATE_DIR")
    if env:
        path = Path(env).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_state_dir("milink"))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


# --------------------------------------------------------------------------- token cache


@dataclass(frozen=True)
class CacheStorage:
    """Where persisted tokens would go, and whether that is encrypted — for a plain UI notice."""

    persistent: bool
    encrypted: bool
    location: str
    notice: str


@functools.lru_cache(maxsize=1)
def encrypted_cache_available() -> bool:
    """Whether the OS can encrypt a token cache here (DPAPI, Keychain, or libsecret on D-Bus)."""
    if sys.platform.startswith("win"):
        return "LOCALAPPDATA" in os.environ
    if sys.platform == "darwin":
        return True
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return False  # the usual SSH session: no Secret Service to talk to
    try:
        from msal_extensions.libsecret import trial_run

        trial_run()
        return True
    except Exception as e:  # noqa: BLE001 - gi missing, no keyring daemon, locked collection ...
        log.info("no encrypted token cache: %s", e)
        return False


def cache_would_be_unencrypted() -> bool:
    """True when persisting tokens here can only mean a plaintext file (needs explicit consent)."""
    return not encrypted_cache_available()


def token_cache_storage(sign_in: SignIn) -> CacheStorage:
    """What ``sign_in``'s cache settings amount to on this machine, said plainly."""
    location = str(Path("~/.IdentityService").expanduser() / f"{CACHE_NAME}.nocae")
    if not sign_in.persist_cache:
        return CacheStorage(False, False, "memory",
                            "Tokens are kept in memory only; you sign in again when milink restarts.")
    if encrypted_cache_available():
        return CacheStorage(True, True, location, "Tokens are cached encrypted by the operating system.")
    if sign_in.allow_unencrypted_cache:
        return CacheStorage(True, False, location,
                            f"No keyring is reachable (no Secret Service over SSH): tokens are cached UNENCRYPTED "
                            f"in {location} (mode 0600). Anyone with your account can reuse them.")
    return CacheStorage(False, False, "memory",
                        "No keyring is reachable (no Secret Service over SSH), so tokens stay in memory. "
                        "Allow an unencrypted cache file to stay signed in across restarts.")


def cache_options(sign_in: SignIn) -> Any:
    """TokenCachePersistenceOptions when persistence is wanted and possible, else None (memory)."""
    if not token_cache_storage(sign_in).persistent:
        return None
    from azure.identity import TokenCachePersistenceOptions

    return TokenCachePersistenceOptions(name=CACHE_NAME, allow_unencrypted_storage=sign_in.allow_unencrypted_cache)


# --------------------------------------------------------------------------- authentication record


def record_path(cloud: Cloud, directory: Path | None = None) -> Path:
    """One remembered sign-in per cloud."""
    slug = re.sub(r"[^A-Za-z0-9_.-]", "_", cloud.name) or "cloud"
    return (directory or state_dir()) / f"auth-record.{slug}.json"


def load_record(path: Path, cloud: Cloud) -> Any:
    """The saved AuthenticationRecord, or None if absent, unreadable or for another authority."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    from azure.identity import AuthenticationRecord

    try:
        record = AuthenticationRecord.deserialize(text)
    except (ValueError, KeyError, TypeError) as e:
        log.warning("ignoring unreadable sign-in record %s: %s", path, e)
        return None
    host = (urlparse(record.authority).netloc if "://" in record.authority else record.authority).lower()
    if host != cloud.authority_host:
        log.info("ignoring sign-in record for %s (cloud %s uses %s)", record.authority, cloud.name,
                 cloud.authority_host)
        return None
    if ":" in host and "://" not in record.authority:
        # azure-identity reads "host:port" as a URL scheme and rejects it: give it the https URL
        record = AuthenticationRecord(record.tenant_id, record.client_id, f"https://{host}",
                                      record.home_account_id, record.username)
    return record


def save_record(path: Path, record: Any) -> None:
    """Write the record (account name, tenant, ids — no tokens) atomically with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, record.serialize().encode("utf-8"))
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- sync -> async


class AsyncCredentialAdapter:
    """Lets a sync-only credential serve the async SDK: each token request runs on a worker thread.

    Requests are serialised so concurrent management calls never start two interactive flows.
    """

    def __init__(self, credential: Any) -> None:
        self._credential = credential
        self._lock = asyncio.Lock()

    async def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                        enable_cae: bool = False, **kwargs: Any) -> Any:
        async with self._lock:
            return await asyncio.to_thread(functools.partial(
                self._credential.get_token, *scopes, claims=claims, tenant_id=tenant_id, enable_cae=enable_cae,
                **kwargs))

    async def close(self) -> None:
        closer = getattr(self._credential, "close", None)
        if closer is not None:
            await asyncio.to_thread(closer)

    async def __aenter__(self) -> AsyncCredentialAdapter:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


class _CancellableApp:
    """Wraps MSAL's app so a device-code poll loop also stops when the user cancels."""

    def __init__(self, app: Any, cancelled: threading.Event) -> None:
        self._app = app
        self._cancelled = cancelled

    def acquire_token_by_device_flow(self, flow: dict[str, Any], claims_challenge: Any = None,
                                     **kwargs: Any) -> Any:
        inner = kwargs.pop("exit_condition", None) or (lambda f: f.get("expires_at", 0) < time.time())
        cancelled = self._cancelled
        return self._app.acquire_token_by_device_flow(
            flow, claims_challenge=claims_challenge, exit_condition=lambda f: cancelled.is_set() or inner(f),
            **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)


class DeviceCodeSignIn(AsyncCredentialAdapter):
    """Device-code sign-in over SSH, as an async credential for the management clients.

    Token requests are silent (``disable_automatic_authentication``); when a sign-in is needed
    and a prompt callback is set, :meth:`sign_in` runs the device flow on a worker thread and
    ``prompt(verification_uri, user_code, expires_on)`` is called from that thread.
    """

    def __init__(self, cloud: Cloud, *, tenant_id: str | None = None, client_id: str | None = None,
                 prompt: PromptCallback | None = None, timeout: float = 300.0, cache: Any = None,
                 record_file: Path | None = None, ca_bundle: str | None = None) -> None:
        self.cloud = cloud
        self.prompt = prompt
        self.record_file = record_file
        self._tenant_id = tenant_id
        self._client_id = client_id or DEVELOPER_CLIENT_ID
        self._timeout = timeout
        self._cache = cache
        self._ca_bundle = ca_bundle
        self._cancelled = threading.Event()
        self.record = load_record(record_file, cloud) if record_file else None
        super().__init__(self._build())

    def _build(self) -> Any:
        from azure.identity import DeviceCodeCredential

        kwargs: dict[str, Any] = {
            "timeout": max(1, int(self._timeout)),
            "prompt_callback": self._on_prompt,
            "disable_automatic_authentication": True,
            "disable_instance_discovery": self.cloud.custom,
        }
        if self._cache is not None:
            kwargs["cache_persistence_options"] = self._cache
        if self._ca_bundle:
            kwargs["connection_verify"] = self._ca_bundle
        if self._tenant_id:
            kwargs["tenant_id"] = self._tenant_id
        if self.record is not None:
            # the record carries client id and authority; passing authority as well is a TypeError
            cred = DeviceCodeCredential(authentication_record=self.record, **kwargs)
        else:
            cred = DeviceCodeCredential(self._client_id, authority=self.cloud.authority, **kwargs)
        original = getattr(cred, "_get_app", None)
        if original is not None:  # private hook; without it cancel just waits for the timeout
            cred._get_app = lambda **kw: _CancellableApp(original(**kw), self._cancelled)
        return cred

    def _on_prompt(self, verification_uri: str, user_code: str, expires_on: dt.datetime) -> None:
        if self.prompt is not None:
            self.prompt(verification_uri, user_code, expires_on)
        else:  # never print: the TUI owns the terminal
            log.warning("device code sign-in needs a prompt callback (code %s at %s)", user_code, verification_uri)

    @property
    def username(self) -> str | None:
        return self.record.username if self.record is not None else None

    def cancel(self) -> None:
        """Stop a device-code wait (thread-safe); the pending :meth:`sign_in` raises a CANCELLED error."""
        self._cancelled.set()

    async def sign_in(self, scopes: tuple[str, ...] | None = None) -> Any:
        """Run the device flow now; returns (and saves) the AuthenticationRecord."""
        async with self._lock:
            return await self._authenticate(scopes or (self.cloud.scope,))

    async def _authenticate(self, scopes: tuple[str, ...]) -> Any:
        self._cancelled.clear()
        try:
            record = await asyncio.to_thread(self._credential.authenticate, scopes=list(scopes))
        except asyncio.CancelledError:
            self._cancelled.set()
            raise
        except Exception as e:
            if self._cancelled.is_set():
                raise AzureError("Azure sign-in cancelled", cause=CANCELLED) from e
            raise explain(e, "Azure sign-in") from e
        self.record = record
        if self.record_file is not None:
            save_record(self.record_file, record)
        return record

    async def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                        enable_cae: bool = False, **kwargs: Any) -> Any:
        from azure.identity import AuthenticationRequiredError

        call = functools.partial(self._credential.get_token, *scopes, claims=claims, tenant_id=tenant_id,
                                 enable_cae=enable_cae, **kwargs)
        async with self._lock:
            try:
                return await asyncio.to_thread(call)
            except AuthenticationRequiredError:
                if self.prompt is None:
                    raise
            await self._authenticate(tuple(scopes))
            return await asyncio.to_thread(call)

    def forget(self) -> None:
        """Sign out: drop the saved record (cached tokens, if persisted, stay with azure-identity)."""
        self.record = None
        if self.record_file is not None:
            self.record_file.unlink(missing_ok=True)


# --------------------------------------------------------------------------- SQL tokens


def sql_token_provider(credential: Any, cloud: Cloud) -> Callable[[], Awaitable[str]]:
    """A token provider for Microsoft Entra SQL logins from the app's Azure credential.

    Each call asks the credential (its cache makes that cheap) for ``cloud.sql_scope``, so a
    reconnect after an hour gets a live token. Sync credentials run on a worker thread.
    """
    async def provide() -> str:
        get_token = credential.get_token
        if inspect.iscoroutinefunction(get_token):
            result = await get_token(cloud.sql_scope)
        else:
            result = await asyncio.to_thread(get_token, cloud.sql_scope)
        return str(result.token)

    return provide


# --------------------------------------------------------------------------- the factory


def _need(value: str | None, what: str, method: str) -> str:
    if not value:
        raise AzureError(f"Sign-in method '{method}' needs {what}", cause=CONFIG)
    return value


def make_credential(sign_in: SignIn, cloud: Cloud, *, transport: Any = None, ca_bundle: str | None = None,
                    prompt: PromptCallback | None = None, directory: Path | None = None) -> Any:
    """An async credential for ``sign_in`` on ``cloud``.

    ``transport`` (an AioHttpTransport on the shared session) carries async credentials' token
    requests so they trust the same CAs as ARM calls; ``ca_bundle`` (a PEM path) is for the
    sync device-code credential, which uses requests.
    """
    method = sign_in.method
    common: dict[str, Any] = {}
    if transport is not None:
        common["transport"] = transport
    elif ca_bundle:
        common["connection_verify"] = ca_bundle
    msal: dict[str, Any] = {"authority": cloud.authority, "disable_instance_discovery": cloud.custom}
    cache = cache_options(sign_in)
    if cache is not None:
        msal["cache_persistence_options"] = cache

    if method == "device-code":
        record_file = record_path(cloud, directory) if sign_in.remember else None
        return DeviceCodeSignIn(cloud, tenant_id=sign_in.tenant_id, client_id=sign_in.client_id, prompt=prompt,
                                timeout=sign_in.timeout, cache=cache, record_file=record_file, ca_bundle=ca_bundle)
    if method == "cli":
        from azure.identity.aio import AzureCliCredential

        return AzureCliCredential(tenant_id=sign_in.tenant_id or "", process_timeout=max(1, int(sign_in.timeout)))
    if method == "sp-secret":
        from azure.identity.aio import ClientSecretCredential

        return ClientSecretCredential(_need(sign_in.tenant_id, "a tenant id", method),
                                      _need(sign_in.client_id, "a client (application) id", method),
                                      _need(sign_in.client_secret, "a client secret", method), **msal, **common)
    if method == "sp-cert":
        from azure.identity.aio import CertificateCredential

        return CertificateCredential(_need(sign_in.tenant_id, "a tenant id", method),
                                     _need(sign_in.client_id, "a client (application) id", method),
                                     _need(sign_in.certificate_path, "a certificate file (PEM or PFX)", method),
                                     password=sign_in.certificate_password, **msal, **common)
    if method == "msi":
        from azure.identity.aio import ManagedIdentityCredential

        return ManagedIdentityCredential(client_id=sign_in.client_id or None, **common)
    if method == "env":
        from azure.identity.aio import EnvironmentCredential

        if cloud != AZURE_PUBLIC:
            common.update(msal)  # AZURE_AUTHORITY_HOST would otherwise decide
        return EnvironmentCredential(**common)
    raise AzureError(f"Unknown sign-in method '{method}' (choose one of: {', '.join(METHODS)})", cause=CONFIG)
