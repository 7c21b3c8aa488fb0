"""A fake Microsoft Entra authority: OIDC discovery, device code, client credentials, refresh, MSI.

azure-identity (MSAL underneath) and az only need these endpoints to sign in fully offline
(lab-fidelity.md, "Sign-in over SSH"). Tokens are JWTs the clients never verify; the lab signs
them with an HMAC key derived from the tenant id so ARM can tell its own tokens from anything
else while tokens cached by az survive a lab restart.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .errors import ArmError

UTC = dt.timezone.utc
MANAGEMENT_AUDIENCES = ("https://management.core.windows.net", "https://management.azure.com")
# What SQL Server / managed instance accept for Microsoft Entra logins (scope ``.../.default``).
SQL_AUDIENCES = ("https://database.windows.net",)
OIDC_SCOPES = {"openid", "profile", "offline_access", "email"}
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
USER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TENANT_ALIASES = {"common", "organizations", "consumers"}
DEFAULT_SP_CLIENT_ID = "5f4e8f55-3c2b-4b4e-9a55-1ab0c0de1ab0"
DEFAULT_MSI_CLIENT_ID = "7c1d0a6e-2f59-4f7e-8d2a-00000000a11b"


# --------------------------------------------------------------------------- JWT helpers


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_jwt(claims: dict[str, Any], key: bytes | None) -> str:
    """A compact JWT: HS256 with ``key``, or unsigned (``alg: none``) without one."""
    header = {"typ": "JWT", "alg": "HS256" if key else "none", "kid": "milink-lab"}
    signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
    sig = hmac.new(key, signing_input.encode(), hashlib.sha256).digest() if key else b""
    return f"{signing_input}.{_b64url(sig)}"


def decode_jwt(token: str, key: bytes | None = None) -> dict[str, Any]:
    """The claims of a JWT; with ``key`` the HS256 signature must match (ValueError otherwise)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT")
    claims = json.loads(_unb64url(parts[1]))
    if not isinstance(claims, dict):
        raise ValueError("JWT payload is not an object")
    if key is not None:
        expected = hmac.new(key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64url(parts[2])):
            raise ValueError("bad signature")
    return claims


def audience_of(scope: str) -> str:
    """The resource a v2 scope names: 'https://management.core.windows.net//.default' -> '...net/'."""
    for item in scope.split():
        if item.lower() in OIDC_SCOPES:
            continue
        if item.endswith("/.default"):
            return item[: -len("/.default")]
        if "/" in item and item.startswith(("http://", "https://", "api://")):
            return item.rsplit("/", 1)[0]
        return item
    return ""


# --------------------------------------------------------------------------- state


@dataclass
class LabUser:
    upn: str = "labadmin@milinklab.onmicrosoft.com"
    display_name: str = "Lab Admin"
    oid: str = "3b7a3f1e-0c4b-4d7c-9a55-5e1d0c0de001"
    password: str = "Lab-Passw0rd!"


@dataclass
class DeviceCode:
    """One device-code sign-in waiting for 'the user' (a test or the lab CLI) to approve it."""

    device_code: str
    user_code: str
    client_id: str
    scope: str
    tenant_id: str
    created: float
    expires_in: int = 900
    polls: int = 0
    approved: bool = False
    denied: bool = False
    redeemed: bool = False

    @property
    def expired(self) -> bool:
        return time.time() > self.created + self.expires_in


@dataclass
class _Refresh:
    client_id: str
    tenant_id: str
    user: bool
    created: float = field(default_factory=time.time)


class TokenRejected(Exception):
    """A bearer token the lab would not accept; ``kind`` is bad | expired | audience | tenant."""

    def __init__(self, kind: str, message: str, claims: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.kind, self.claims = kind, claims or {}


def token_principal(claims: dict[str, Any]) -> str:
    """The name SQL Server gives a token's principal: the UPN for a user, ``appid@tenant`` for an app."""
    if claims.get("idtyp") == "app" or not (claims.get("upn") or claims.get("unique_name")):
        return f"{claims.get('appid', '')}@{claims.get('tid', '')}"
    return str(claims.get("upn") or claims.get("unique_name"))


# How SQL Server answers a token it will not accept (Azure SQL's wording; always error 18456).
SQL_TOKEN_REFUSALS = {
    "bad": "Login failed for user '<token-identified principal>'.",
    "expired": "Login failed for user '<token-identified principal>'. Token is expired.",
    "audience": "Login failed for user '<token-identified principal>'. The server is not currently configured "
                "to accept this token.",
    "tenant": "Login failed for user '<token-identified principal>'. The server is not currently configured "
              "to accept this token.",
}


class EntraError(Exception):
    """An OAuth error response (AADSTS-style)."""

    def __init__(self, error: str, aadsts: int, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.aadsts, self.description, self.status = error, aadsts, description, status


class FakeEntra:
    """The authority's state and handlers. ``authority`` is set once the server knows its port."""

    def __init__(self, tenant_id: str | Callable[[], str], *, sp_client_id: str, sp_client_secret: str,
                 identity_header: str, known_tenants: Callable[[], set[str]] | None = None,
                 pending_polls: int | None = 2, token_lifetime: int = 3600) -> None:
        # a callable follows the world when the lab switches scenario in place
        self._home = tenant_id if callable(tenant_id) else (lambda: tenant_id)
        self.sp_client_id = sp_client_id
        self.sp_client_secret = sp_client_secret
        self.identity_header = identity_header
        self.msi_client_id = DEFAULT_MSI_CLIENT_ID
        self.user = LabUser()
        self.pending_polls = pending_polls  # None: wait for approve(); N: approve after N pending polls
        self.token_lifetime = token_lifetime
        self.authority = ""
        self.key = hashlib.sha256(f"milink-lab-entra:{self.tenant_id}".encode()).digest()
        self.device_codes: dict[str, DeviceCode] = {}
        self.refresh_tokens: dict[str, _Refresh] = {}
        self.tokens_issued = 0
        self._known_tenants = known_tenants or (lambda: set())

    @property
    def tenant_id(self) -> str:
        """The home tenant (the world's)."""
        return self._home()

    # ----------------------------------------------------------------- control (tests, lab CLI)

    def pending(self) -> list[DeviceCode]:
        """Device codes still waiting for approval, oldest first."""
        return [d for d in self.device_codes.values()
                if not (d.approved or d.denied or d.redeemed or d.expired)]

    def approve(self, user_code: str | None = None) -> str:
        """Act as the user entering ``user_code`` (default: the newest pending code). Returns the code."""
        return self._decide(user_code, approve=True)

    def deny(self, user_code: str | None = None) -> str:
        """Act as the user declining the sign-in."""
        return self._decide(user_code, approve=False)

    def _decide(self, user_code: str | None, approve: bool) -> str:
        waiting = self.pending()
        if user_code is not None:
            waiting = [d for d in waiting if d.user_code.upper() == user_code.strip().upper()]
        if not waiting:
            raise LookupError(f"no pending device code {user_code or ''}".strip())
        code = waiting[-1]
        code.approved, code.denied = approve, not approve
        return code.user_code

    # ----------------------------------------------------------------- tokens

    def _tenants(self) -> set[str]:
        return {self.tenant_id.lower(), "milinklab.onmicrosoft.com"} | {t.lower() for t in self._known_tenants()}

    def resolve_tenant(self, tenant: str) -> str:
        t = tenant.lower()
        if t in TENANT_ALIASES or t == "milinklab.onmicrosoft.com":
            return self.tenant_id
        if t in self._tenants():
            return tenant
        raise EntraError("invalid_tenant", 90002,
                         f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct "
                         "tenant ID and are signing into the correct cloud.")

    def issue_access_token(self, audience: str, *, tenant_id: str | None = None, app: bool = False,
                           client_id: str | None = None, lifetime: int | None = None) -> str:
        """A token ARM accepts (for tests and the MSI endpoint): user token unless ``app``."""
        now = int(time.time())
        tid = tenant_id or self.tenant_id
        claims: dict[str, Any] = {
            "aud": audience, "iss": f"https://sts.windows.net/{tid}/", "iat": now, "nbf": now - 300,
            "exp": now + (lifetime or self.token_lifetime), "tid": tid, "ver": "1.0",
            "uti": _b64url(secrets.token_bytes(16)), "appid": client_id or self.sp_client_id,
            "xms_lab": "milink",
        }
        if app:
            oid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{claims['appid']}"))
            claims.update(oid=oid, sub=oid, idtyp="app", appidacr="1")
        else:
            claims.update(oid=self.user.oid, sub=_b64url(hashlib.sha256(self.user.oid.encode()).digest()[:24]),
                          idtyp="user", appidacr="0", name=self.user.display_name, upn=self.user.upn,
                          unique_name=self.user.upn, scp="user_impersonation")
        self.tokens_issued += 1
        return encode_jwt(claims, self.key)

    def _id_token(self, client_id: str, tid: str) -> str:
        now = int(time.time())
        claims = {
            "aud": client_id, "iss": f"{self.authority}/{tid}/v2.0", "iat": now, "nbf": now - 300,
            "exp": now + self.token_lifetime, "name": self.user.display_name, "oid": self.user.oid,
            "preferred_username": self.user.upn, "sub": self.user.oid, "tid": tid, "ver": "2.0",
        }
        return encode_jwt(claims, None)

    def _token_response(self, scope: str, client_id: str, tid: str, *, user: bool) -> dict[str, Any]:
        aud = audience_of(scope) or client_id
        body: dict[str, Any] = {
            "token_type": "Bearer", "scope": " ".join(s for s in scope.split() if s.lower() not in OIDC_SCOPES)
            or scope, "expires_in": self.token_lifetime, "ext_expires_in": self.token_lifetime,
            "access_token": self.issue_access_token(aud, tenant_id=tid, app=not user, client_id=client_id),
        }
        if user:
            rt = "lab-rt." + secrets.token_urlsafe(32)
            self.refresh_tokens[rt] = _Refresh(client_id, tid, True)
            body["refresh_token"] = rt
            body["id_token"] = self._id_token(client_id, tid)
            body["client_info"] = _b64url(json.dumps({"uid": self.user.oid, "utid": tid}).encode())
        return body

    def verify_token(self, token: str, audiences: tuple[str, ...], *, tenants: set[str] | None = None
                     ) -> dict[str, Any]:
        """The claims of a token this authority issued for one of ``audiences``; TokenRejected otherwise.

        Shared by ARM (bearer header) and the lab's SQL Servers (TDS FEDAUTH): the lab issues the
        tokens, so both sides check the HMAC signature, expiry, audience and (for SQL) the tenant.
        """
        try:
            claims = decode_jwt(token.strip(), self.key)
        except (ValueError, UnicodeDecodeError, json.JSONDecodeError):
            raise TokenRejected("bad", "The access token is invalid.") from None
        now = time.time()
        if float(claims.get("exp", 0)) < now:
            expiry = dt.datetime.fromtimestamp(float(claims.get("exp", 0)), UTC).strftime("%m/%d/%Y %H:%M:%S")
            current = dt.datetime.fromtimestamp(now, UTC).strftime("%m/%d/%Y %H:%M:%S")
            raise TokenRejected("expired", f"The access token expiry UTC time '{expiry}' is earlier than current "
                                f"UTC time '{current}'.", claims)
        allowed = {a.rstrip("/").lower() for a in audiences}
        if str(claims.get("aud", "")).rstrip("/").lower() not in allowed:
            listed = ",".join(f"'{a}/','{a}'" for a in audiences)
            raise TokenRejected("audience", f"The access token has been obtained for wrong audience or resource "
                                f"'{claims.get('aud')}'. It should exactly match with one of the allowed "
                                f"audiences {listed}.", claims)
        if tenants is not None and str(claims.get("tid", "")).lower() not in {t.lower() for t in tenants}:
            raise TokenRejected("tenant", f"The access token is from tenant '{claims.get('tid')}'.", claims)
        return claims

    def verify_bearer(self, header: str | None, audiences: tuple[str, ...]) -> dict[str, Any]:
        """Check an ``Authorization`` header as ARM would; returns the token's claims."""
        def fail(code: str, message: str) -> ArmError:
            challenge = (f'Bearer authorization_uri="{self.authority}/{self.tenant_id}", '
                         f'error="invalid_token", error_description="{message}"')
            return ArmError(401, code, message, headers={"WWW-Authenticate": challenge})

        if not header or not header.lower().startswith("bearer ") or not header[7:].strip():
            raise fail("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
        codes = {"bad": "InvalidAuthenticationToken", "expired": "ExpiredAuthenticationToken",
                 "audience": "InvalidAuthenticationTokenAudience"}
        try:
            return self.verify_token(header[7:], audiences)
        except TokenRejected as e:
            raise fail(codes.get(e.kind, "InvalidAuthenticationToken"), str(e)) from None

    def sql_admins(self) -> set[str]:
        """Principals that are Microsoft Entra admins of every lab SQL Server: the user and the app."""
        return {self.user.upn, f"{self.sp_client_id}@{self.tenant_id}"}

    def sql_sid(self, principal: str) -> bytes:
        """The SID SQL Server gives an Entra login: the user's object ID or the app's client ID, as a
        uniqueidentifier's bytes (what CAST(CAST(id AS uniqueidentifier) AS varbinary(16)) returns)."""
        if principal.lower() == self.user.upn.lower():
            return uuid.UUID(self.user.oid).bytes_le
        return uuid.UUID(principal.split("@", 1)[0]).bytes_le

    def sql_principal(self, token: str) -> str:
        """The principal a SQL Server login token names; TokenRejected (kind -> SQL_TOKEN_REFUSALS) if invalid."""
        return token_principal(self.verify_token(token, SQL_AUDIENCES, tenants={self.tenant_id}))

    # ----------------------------------------------------------------- HTTP

    async def handle(self, request: web.Request, path: str) -> web.Response:
        """Serve ``/{tenant}/...`` authority paths (``path`` already normalised)."""
        parts = [p for p in path.split("/") if p]
        try:
            if not parts:
                raise EntraError("invalid_request", 900144, "AADSTS900144: Unknown endpoint.", 404)
            tenant, rest = parts[0], "/".join(parts[1:]).lower()
            if tenant.lower() == "common" and rest.startswith("userrealm/"):
                return self._userrealm(parts[-1])
            if tenant.lower() == "devicelogin":
                return await self._devicelogin(request)
            tid = self.resolve_tenant(tenant)
            if rest in ("v2.0/.well-known/openid-configuration", ".well-known/openid-configuration"):
                return web.json_response(self._openid_config(tenant, tid, v2=rest.startswith("v2.0")))
            if rest in ("discovery/v2.0/keys", "discovery/keys"):
                return web.json_response({"keys": []})
            form = await self._form(request)
            if rest in ("oauth2/v2.0/devicecode", "oauth2/devicecode") and request.method == "POST":
                return web.json_response(self._devicecode(form, tid))
            if rest in ("oauth2/v2.0/token", "oauth2/token") and request.method == "POST":
                return web.json_response(self._token(form, tid, v1=rest == "oauth2/token"))
            raise EntraError("invalid_request", 900144, f"AADSTS900144: Unsupported endpoint '{path}'.", 404)
        except EntraError as e:
            return self._error(e)

    async def _form(self, request: web.Request) -> dict[str, str]:
        if request.method != "POST":
            return dict(request.query)
        data = await request.post()
        return {k: str(v) for k, v in data.items()}

    def _error(self, e: EntraError) -> web.Response:
        trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = dt.datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        body = {
            "error": e.error,
            "error_description": f"{e.description}\r\nTrace ID: {trace}\r\nCorrelation ID: {corr}\r\n"
                                 f"Timestamp: {stamp}",
            "error_codes": [e.aadsts], "timestamp": stamp, "trace_id": trace, "correlation_id": corr,
            "error_uri": f"{self.authority}/error?code={e.aadsts}",
        }
        return web.json_response(body, status=e.status)

    def _openid_config(self, tenant: str, tid: str, v2: bool) -> dict[str, Any]:
        base = f"{self.authority}/{tenant}"
        shown_tid = "{tenantid}" if tenant.lower() in TENANT_ALIASES else tid
        ver = "/v2.0" if v2 else ""
        return {
            "token_endpoint": f"{base}/oauth2{ver}/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                      "client_secret_basic"],
            "jwks_uri": f"{base}/discovery{ver}/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{self.authority}/{shown_tid}/v2.0" if v2 else f"https://sts.windows.net/{shown_tid}/",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{self.authority}/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2{ver}/authorize",
            "device_authorization_endpoint": f"{base}/oauth2{ver}/devicecode",
            "http_logout_supported": True, "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2{ver}/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce",
                                 "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
            "kerberos_endpoint": f"{base}/kerberos",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }

    def _userrealm(self, username: str) -> web.Response:
        return web.json_response({
            "ver": "1.0", "account_type": "Managed", "domain_name": username.rpartition("@")[2],
            "cloud_instance_name": "microsoftonline.com", "cloud_audience_urn": "urn:federation:MicrosoftOnline",
        })

    def _devicecode(self, form: dict[str, str], tid: str) -> dict[str, Any]:
        client_id = form.get("client_id", "")
        if not client_id:
            raise EntraError("invalid_request", 900144,
                             "AADSTS900144: The request body must contain the following parameter: 'client_id'.")
        code = DeviceCode(
            device_code=secrets.token_urlsafe(48),
            user_code="".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(9)),
            client_id=client_id, scope=form.get("scope", ""), tenant_id=tid, created=time.time(),
        )
        self.device_codes[code.device_code] = code
        uri = f"{self.authority}/devicelogin"
        return {
            "user_code": code.user_code, "device_code": code.device_code, "verification_uri": uri,
            "expires_in": code.expires_in, "interval": 1,
            "message": f"To sign in, use a web browser to open the page {uri} and enter the code "
                       f"{code.user_code} to authenticate.",
        }

    def _token(self, form: dict[str, str], tid: str, v1: bool) -> dict[str, Any]:
        grant = form.get("grant_type", "")
        client_id = form.get("client_id", "")
        scope = form.get("scope", "")
        if v1 and not scope and form.get("resource"):
            scope = form["resource"].rstrip("/") + "/.default"
        if grant == DEVICE_GRANT:
            return self._redeem_device_code(form, client_id)
        if grant == "client_credentials":
            self._check_client(form, client_id)
            return self._token_response(scope, client_id, tid, user=False)
        if grant == "refresh_token":
            entry = self.refresh_tokens.get(form.get("refresh_token", ""))
            if entry is None or entry.client_id != client_id:
                raise EntraError("invalid_grant", 9002313,
                                 "AADSTS9002313: Invalid request. Request is malformed or invalid.")
            # a refresh token is multi-tenant: the token is for the tenant the request names
            return self._token_response(scope, client_id, tid, user=entry.user)
        if grant == "password":
            if (form.get("username", "").lower() != self.user.upn.lower()
                    or form.get("password") != self.user.password):
                raise EntraError("invalid_grant", 50126,
                                 "AADSTS50126: Error validating credentials due to invalid username or password.")
            return self._token_response(scope, client_id, tid, user=True)
        raise EntraError("unsupported_grant_type", 70003,
                         f"AADSTS70003: The app requested an unsupported grant type '{grant}'.")

    def _check_client(self, form: dict[str, str], client_id: str) -> None:
        if client_id.lower() != self.sp_client_id.lower():
            raise EntraError("unauthorized_client", 700016,
                             f"AADSTS700016: Application with identifier '{client_id}' was not found in the "
                             f"directory '{self.tenant_id}'. This can happen if the application has not been "
                             "installed by the administrator of the tenant or consented to by any user in the "
                             "tenant. You may have sent your authentication request to the wrong tenant.")
        if "client_assertion" in form:
            # certificate credential: the lab trusts the assertion's subject, not its signature
            try:
                claims = decode_jwt(form["client_assertion"])
            except (ValueError, UnicodeDecodeError, json.JSONDecodeError):
                claims = {}
            if str(claims.get("sub", "")).lower() != client_id.lower():
                raise EntraError("invalid_client", 700027,
                                 "AADSTS700027: Client assertion failed signature validation.", 401)
            return
        if form.get("client_secret") != self.sp_client_secret:
            raise EntraError("invalid_client", 7000215,
                             "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
                             f"request is the client secret value, not the client secret ID, for a secret added "
                             f"to app '{client_id}'.", 401)

    def _redeem_device_code(self, form: dict[str, str], client_id: str) -> dict[str, Any]:
        code = self.device_codes.get(form.get("device_code", ""))
        if code is None or code.redeemed or code.client_id != client_id:
            raise EntraError("invalid_grant", 70000,
                             "AADSTS70000: The provided value for the 'device_code' is not valid.")
        if code.expired:
            raise EntraError("expired_token", 70020, "AADSTS70020: The provided value for the input parameter "
                             "'device_code' is not valid. This device code has expired.")
        if code.denied:
            raise EntraError("authorization_declined", 70019, "AADSTS70019: The user declined the sign-in.")
        code.polls += 1
        if not code.approved and self.pending_polls is not None and code.polls > self.pending_polls:
            code.approved = True
        if not code.approved:
            raise EntraError("authorization_pending", 70016,
                             "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. "
                             "Continue polling.")
        code.redeemed = True
        return self._token_response(code.scope or form.get("scope", ""), client_id, code.tenant_id, user=True)

    async def _devicelogin(self, request: web.Request) -> web.Response:
        """The 'browser' page: GET shows a form, POST code=XXXX approves it (for a human using the lab)."""
        if request.method == "POST":
            form = await self._form(request)
            try:
                done = self.approve(form.get("code") or None)
                text = f"Signed in: code {done} approved. You can close this page."
            except LookupError as e:
                text = str(e)
            return web.Response(text=text, content_type="text/plain")
        html = ("<html><body><h1>milink lab sign-in</h1><form method='post'>"
                "<input name='code' placeholder='code'/><button>Approve</button></form></body></html>")
        return web.Response(text=html, content_type="text/html")

    async def msi(self, request: web.Request) -> web.Response:
        """App Service style managed identity endpoint (IDENTITY_ENDPOINT / IDENTITY_HEADER)."""
        if request.headers.get("X-IDENTITY-HEADER") != self.identity_header:
            return web.json_response({"statusCode": 401, "message": "Unauthorized request: the "
                                      "X-IDENTITY-HEADER header is missing or invalid."}, status=401)
        resource = request.query.get("resource") or audience_of(request.query.get("scope", ""))
        if not resource:
            return web.json_response({"statusCode": 400, "message": "The 'resource' parameter is required."},
                                     status=400)
        token = self.issue_access_token(resource, app=True, client_id=self.msi_client_id)
        return web.json_response({
            "access_token": token, "expires_on": str(int(time.time()) + self.token_lifetime),
            "resource": resource, "token_type": "Bearer", "client_id": self.msi_client_id,
        })
