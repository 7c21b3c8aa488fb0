"""Case-insensitive ARM routing, the per-request context, and lookups shared by the routes.

ARM paths are case-insensitive (the SDK asks for ``resourcegroups``, az for ``resourceGroups``),
so routes are regexes matched with IGNORECASE on a path whose slashes are collapsed, and names
keep the caller's spelling.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from aiohttp import web

from ..hooks import LinkOps
from ..model import ManagedInstance, Subscription, World
from .entra import FakeEntra
from .errors import (
    ArmError,
    mi_not_found,
    parent_not_found,
    resource_group_not_found,
    subscription_not_found,
)
from .lro import LroManager


@dataclass
class ArmState:
    """Server-side state that is not part of the world model."""

    lro: LroManager
    entra: FakeEntra
    page_size: int = 50
    link_modes: dict[tuple[str, str], str] = field(default_factory=dict)  # (mi, link) -> linkMode


@dataclass
class Ctx:
    world: World
    ops: LinkOps
    state: ArmState
    method: str
    path: str
    params: dict[str, str]
    query: Mapping[str, str]
    api_version: str
    body: Any
    origin: str
    claims: dict[str, Any]


Handler = Callable[[Ctx], web.Response]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    kind: str  # api-version family: 'sql' | 'subscriptions' | 'resourcegroups' | 'metadata'
    type_name: str  # for the sql api-version minimum
    auth: bool = True


def compile_template(template: str) -> re.Pattern[str]:
    out, pos = "", 0
    for m in re.finditer(r"\{(\w+)\}", template):
        out += re.escape(template[pos:m.start()]) + f"(?P<{m.group(1)}>[^/]+)"
        pos = m.end()
    out += re.escape(template[pos:])
    return re.compile(f"^{out}$", re.IGNORECASE)


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler, kind: str = "sql", type_name: str = "",
            auth: bool = True) -> None:
        self.routes.append(Route(method, compile_template(template), handler, kind, type_name, auth))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed = False
        for route in self.routes:
            m = route.pattern.match(path)
            if m:
                if route.method == method:
                    return route, m.groupdict()
                allowed = True
        if allowed:
            raise ArmError(405, "MethodNotAllowed",
                           f"The requested resource does not support http method '{method}'.")
        raise ArmError(404, "InvalidResourceType",
                       f"The resource type could not be found for the request path '{path}'.")


def normalise_path(path: str) -> str:
    """Collapse repeated slashes (az asks for ``//metadata/endpoints``) and drop a trailing one."""
    path = re.sub(r"/{2,}", "/", path)
    return path.rstrip("/") or "/"


# --------------------------------------------------------------------------- responses


def ok(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(data), content_type="application/json")


def paged(ctx: Ctx, items: list[dict[str, Any]]) -> web.Response:
    """A page of ``value`` with a ``nextLink`` (``$skiptoken`` offset) while more remain."""
    try:
        skip = max(0, int(ctx.query.get("$skiptoken", "0") or 0))
    except ValueError:
        raise ArmError(400, "InvalidSkipToken", "The provided skip token is invalid.") from None
    size = max(1, ctx.state.page_size)
    body: dict[str, Any] = {"value": items[skip:skip + size]}
    if skip + size < len(items):
        body["nextLink"] = (f"{ctx.origin}{quote(ctx.path)}?api-version={ctx.api_version}"
                            f"&$skiptoken={skip + size}")
    return ok(body)


# --------------------------------------------------------------------------- lookups


def subscription(ctx: Ctx, sub_id: str) -> Subscription:
    """The subscription, visible only to tokens from its tenant (as ARM does)."""
    found = next((s for s in ctx.world.subscriptions.values() if s.subscription_id.lower() == sub_id.lower()),
                 None)
    if found is None:
        raise subscription_not_found(sub_id)
    tid = str(ctx.claims.get("tid", ""))
    if tid and tid.lower() != found.tenant_id.lower():
        raise ArmError(401, "InvalidAuthenticationTokenTenant",
                       f"The access token is from the wrong issuer 'https://sts.windows.net/{tid}/'. It must "
                       f"match the tenant 'https://sts.windows.net/{found.tenant_id}/' associated with this "
                       "subscription. Please use the authority (URL) "
                       f"'{ctx.state.entra.authority}/{found.tenant_id}' to get the token.")
    return found


def resource_groups(world: World, sub: Subscription) -> dict[str, str]:
    """Name -> location: the subscription's groups plus any group a managed instance lives in."""
    groups = dict(sub.resource_groups)
    lower = {k.lower() for k in groups}
    for mi in world.managed_instances.values():
        if mi.subscription_id.lower() == sub.subscription_id.lower() and mi.resource_group.lower() not in lower:
            groups[mi.resource_group] = mi.location
            lower.add(mi.resource_group.lower())
    return groups


def resource_group(ctx: Ctx, sub: Subscription, name: str) -> tuple[str, str]:
    for rg, location in resource_groups(ctx.world, sub).items():
        if rg.lower() == name.lower():
            return rg, location
    raise resource_group_not_found(name)


def managed_instance(ctx: Ctx, *, parent: bool = False, ready: bool = False) -> ManagedInstance:
    """The instance named by ``{sub}/{rg}/{mi}``; ``parent`` for nested resources (link, cert).

    ``ready`` refuses an unavailable instance for operations that need to reach it.
    """
    sub = subscription(ctx, ctx.params["sub"])
    rg, _ = resource_group(ctx, sub, ctx.params["rg"])
    mi = ctx.world.find_mi(ctx.params["mi"])
    if (mi is None or mi.subscription_id.lower() != sub.subscription_id.lower()
            or mi.resource_group.lower() != rg.lower()):
        raise parent_not_found(ctx.params["mi"]) if parent else mi_not_found(ctx.params["mi"], rg)
    if ready and not mi.available:
        # UNVERIFIED: code and text invented (an operation on a stopped or busy instance).
        raise ArmError(409, "ManagedInstanceNotInReadyState",
                       f"The operation could not be completed because managed instance '{mi.name}' is not "
                       f"available (state '{mi.state}'). Retry the operation when the instance is ready.")
    return mi
