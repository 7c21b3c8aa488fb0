"""The lab's Azure Resource Manager + Entra authority over HTTPS (aiohttp).

One TLS port serves both: ARM paths start with /subscriptions, /tenants, /providers or
/metadata; everything else is the authority (``/{tenant}/oauth2/v2.0/...``), plus the managed
identity endpoint at /msi/token. Real clients (azure-mgmt-sql, azure-identity, az) talk to it
unmodified: bearer auth refuses http://, so TLS with a lab CA is mandatory.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import secrets
import socket
import ssl
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..hooks import LinkOps
from ..model import World
from . import api_versions, routes_account, routes_links, routes_mi, routes_ops
from .entra import DEFAULT_SP_CLIENT_ID, MANAGEMENT_AUDIENCES, FakeEntra
from .errors import ArmError, invalid_content
from .lro import LroManager
from .routing import ArmState, Ctx, Router, normalise_path
from .throttle import LIMITS, Throttle, Throttled

log = logging.getLogger(__name__)
UTC = dt.timezone.utc
ARM_ROOTS = {"subscriptions", "tenants", "providers", "metadata"}


def build_router() -> Router:
    router = Router()
    for module in (routes_account, routes_mi, routes_links, routes_ops):
        module.register(router)
    return router


class ArmApp:
    """Request dispatch: ARM conventions (auth, api-version, storms, ids) around the routes."""

    def __init__(self, world: World, ops: LinkOps, entra: FakeEntra, lro: LroManager, page_size: int) -> None:
        self.world = world
        self.ops = ops
        self.entra = entra
        self.state = ArmState(lro=lro, entra=entra, page_size=page_size)
        self.throttle = Throttle()  # ARM's read/write/delete token buckets (faults.arm_limits)
        self.router = build_router()
        self.audiences: tuple[str, ...] = MANAGEMENT_AUDIENCES
        self.requests: deque[dict[str, Any]] = deque(maxlen=2000)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        client_id = request.headers.get("x-ms-client-request-id")
        correlation = request.headers.get("x-ms-correlation-request-id") or client_id or str(uuid.uuid4())
        path = normalise_path(request.path)
        first = path.split("/")[1].lower() if len(path) > 1 else ""
        entry: dict[str, Any] = {"method": request.method, "path": path,
                                 "api_version": request.query.get("api-version"), "body": None,
                                 "client_request_id": client_id, "user_agent": request.headers.get("User-Agent")}
        try:
            if first in ARM_ROOTS:
                response = await self._arm(request, path, entry)
            else:
                self.world.count("entra")
                if first == "msi":
                    response = await self.entra.msi(request)
                else:
                    response = await self.entra.handle(request, path)
        except ArmError as e:
            response = e.response()
            entry["error"] = e.code
        except Exception:
            log.exception("lab ARM failed on %s %s", request.method, path)
            err = ArmError(500, "InternalServerError",
                           f"Encountered internal server error. Diagnostic information: tracking id "
                           f"'{request_id}', request correlation id '{correlation}'.")
            response = err.response()
            entry["error"] = err.code
        for name, value in entry.pop("ratelimit", {}).items():
            response.headers[name] = value
        response.headers["x-ms-request-id"] = request_id
        response.headers["x-ms-correlation-request-id"] = correlation
        if client_id:
            response.headers["x-ms-client-request-id"] = client_id
        if first in ARM_ROOTS:
            stamp = dt.datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            response.headers["x-ms-routing-request-id"] = f"WESTEUROPE:{stamp}:{request_id}"
            response.headers["Cache-Control"] = "no-cache"
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        entry["status"] = response.status
        entry["request_id"] = request_id
        self.requests.append(entry)
        return response

    async def _arm(self, request: web.Request, path: str, entry: dict[str, Any]) -> web.StreamResponse:
        self.world.count("arm")
        claims: dict[str, Any] = {}
        if not path.lower().startswith("/metadata/"):
            claims = self.entra.verify_bearer(request.headers.get("Authorization"), self.audiences)
            self._storm()
            self._limit(request.method, path, claims, entry)
        version = request.query.get("api-version")
        route, params = self.router.match(request.method, path)
        version = api_versions.check(version, route.kind, route.type_name)
        body: Any = None
        if request.method in ("PUT", "PATCH", "POST") and request.can_read_body:
            raw = await request.read()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except (ValueError, UnicodeDecodeError) as e:
                    raise invalid_content(str(e)) from None
        entry["body"] = body
        ctx = Ctx(world=self.world, ops=self.ops, state=self.state, method=request.method, path=path,
                  params=params, query=request.query, api_version=version, body=body,
                  origin=f"{request.scheme}://{request.host}", claims=claims)
        with self.world.lock:
            return route.handler(ctx)

    def _limit(self, method: str, path: str, claims: dict[str, Any], entry: dict[str, Any]) -> None:
        """ARM's token buckets (throttle.py): the remaining counts go on the answer; empty, a 429."""
        parts = path.split("/")
        subscription = parts[2] if len(parts) > 2 and parts[1].lower() == "subscriptions" else None
        principal = str(claims.get("oid") or claims.get("appid") or claims.get("sub") or "")
        with self.world.lock:
            f = self.world.faults
            limits = None if not f.arm_limits else (
                {**LIMITS, "reads": tuple(f.arm_read_limit)} if f.arm_read_limit else LIMITS)
            try:
                entry["ratelimit"] = self.throttle.take(method, subscription, principal, limits)
            except Throttled as t:
                raise ArmError(429, "SubscriptionRequestsThrottled",
                               f"Number of '{t.kind}' requests for subscription '{subscription}' actor "
                               f"'{principal}' exceeded. Please try again after '{t.retry_after}' seconds.",
                               headers={"Retry-After": str(t.retry_after), **t.headers}) from None

    def _storm(self) -> None:
        """faults.arm_status + arm_status_remaining: answer that status for the next N requests."""
        faults = self.world.faults
        with self.world.lock:
            if not faults.arm_status or faults.arm_status_remaining <= 0:
                return
            faults.arm_status_remaining -= 1
            status = faults.arm_status
        if status == 429:
            raise ArmError(429, "SubscriptionRequestsThrottled",
                           "Number of requests for the subscription exceeded the limit of '12000' for time "
                           "interval '01:00:00'. Please try again after '1' seconds.",
                           headers={"Retry-After": "1"})
        if status == 503:
            raise ArmError(503, "ServiceUnavailable", "The service is temporarily unavailable. Please retry.")
        raise ArmError(status, "InternalServerError", "Encountered internal server error. Please retry.")


@dataclass
class ArmServer:
    """A running lab ARM + authority. ``authority`` is what azure-identity/az take as the login host."""

    base_url: str
    port: int
    host: str
    sp_client_id: str
    sp_client_secret: str
    identity_header: str
    app: ArmApp
    runner: web.AppRunner = field(repr=False)

    @property
    def tenant_id(self) -> str:
        return self.app.world.tenant_id

    @property
    def authority(self) -> str:
        return self.base_url

    @property
    def identity_endpoint(self) -> str:
        return f"{self.base_url}/msi/token"

    @property
    def entra(self) -> FakeEntra:
        return self.app.entra

    @property
    def lro(self) -> LroManager:
        return self.app.state.lro

    @property
    def requests(self) -> deque[dict[str, Any]]:
        """Recent requests (method, path, api_version, body, status) for comparing clients' traffic."""
        return self.app.requests

    def approve_device_code(self, user_code: str | None = None) -> str:
        """Act as the user: approve a pending device code (newest if none given)."""
        return self.app.entra.approve(user_code)

    def deny_device_code(self, user_code: str | None = None) -> str:
        return self.app.entra.deny(user_code)

    def access_token(self, audience: str = "https://management.azure.com/") -> str:
        """A user token ARM accepts, for raw HTTP calls in tests."""
        return self.app.entra.issue_access_token(audience)

    @property
    def client_info(self) -> dict[str, Any]:
        """What a client needs to sign in to the fake authority (written to lab.json by the lead)."""
        entra = self.app.entra
        return {
            "sp_client_id": self.sp_client_id, "sp_client_secret": self.sp_client_secret,
            "identity_endpoint": self.identity_endpoint, "identity_header": self.identity_header,
            "user": entra.user.upn, "user_password": entra.user.password,
            "verification_uri": f"{self.base_url}/devicelogin",
            "device_code_pending_polls": entra.pending_polls,
        }

    @property
    def control_actions(self) -> dict[str, Callable[..., Any]]:
        """Named actions for the lab's control API (called as ``fn(**json_body)``)."""
        entra = self.app.entra

        def decide(approve: bool, user_code: str | None = None) -> dict[str, Any]:
            try:
                code = entra.approve(user_code) if approve else entra.deny(user_code)
            except LookupError as e:
                return {"error": str(e)}
            return {"approved" if approve else "denied": code}

        def pending() -> dict[str, Any]:
            now = time.time()
            return {"pending": [{"user_code": d.user_code, "client_id": d.client_id, "polls": d.polls,
                                 "age_seconds": round(now - d.created, 1)} for d in entra.pending()]}

        def polls(pending_polls: int | None = None) -> dict[str, Any]:
            entra.pending_polls = pending_polls
            return {"device_code_pending_polls": pending_polls}

        def requests(limit: int = 50) -> dict[str, Any]:
            return {"requests": list(self.app.requests)[-int(limit):]}

        return {
            "approve_device_code": lambda user_code=None: decide(True, user_code),
            "deny_device_code": lambda user_code=None: decide(False, user_code),
            "device_codes": pending,
            "device_code_polls": polls,
            "arm_requests": requests,
        }

    async def close(self) -> None:
        await self.app.state.lro.close()
        await self.runner.cleanup()


async def serve_arm(world: World, ops: LinkOps, ssl_context: ssl.SSLContext, host: str = "127.0.0.1",
                    port: int = 0, *, sp_client_id: str | None = None, sp_client_secret: str | None = None,
                    identity_header: str | None = None, page_size: int = 50,
                    lro_durations: dict[str, float] | None = None,
                    device_code_pending_polls: int | None = 2) -> ArmServer:
    """Start the simulated ARM + Entra authority on ``host:port`` (0 = any free port) over TLS.

    ``device_code_pending_polls``: token polls answered ``authorization_pending`` before a device
    code is approved automatically (None: only ``approve_device_code()`` approves).
    """
    entra = FakeEntra(
        lambda: world.tenant_id, sp_client_id=sp_client_id or DEFAULT_SP_CLIENT_ID,
        sp_client_secret=sp_client_secret or secrets.token_urlsafe(24),
        identity_header=identity_header or secrets.token_urlsafe(16),
        known_tenants=lambda: {s.tenant_id for s in world.subscriptions.values()},
        pending_polls=device_code_pending_polls,
    )
    app_state = ArmApp(world, ops, entra, LroManager(world, lro_durations), page_size)
    app = web.Application(client_max_size=8 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", app_state.handle)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    site = web.SockSite(runner, sock, ssl_context=ssl_context)
    await site.start()
    name = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::1", "::", "localhost") else host
    base_url = f"https://{name}:{bound}"
    entra.authority = base_url
    app_state.audiences = (*MANAGEMENT_AUDIENCES, base_url)
    await asyncio.sleep(0)
    return ArmServer(base_url=base_url, port=bound, host=host, sp_client_id=entra.sp_client_id, sp_client_secret=entra.sp_client_secret,
                     identity_header=entra.identity_header, app=app_state, runner=runner)
