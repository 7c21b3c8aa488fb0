"""Subscriptions, tenants, resource groups and the cloud metadata document.

What the app's sign-in and picker screens list, and what ``az cloud register`` and
``az login`` fetch before any Microsoft.Sql call.
"""

from __future__ import annotations

from aiohttp import web

from . import render
from .routing import Ctx, Router, ok, paged, resource_group, resource_groups, subscription


def metadata(ctx: Ctx) -> web.Response:
    return ok(render.metadata_json(ctx.origin, ctx.state.entra.authority))


def list_subscriptions(ctx: Ctx) -> web.Response:
    tid = str(ctx.claims.get("tid", "")).lower()
    subs = [s for s in ctx.world.subscriptions.values() if not tid or s.tenant_id.lower() == tid]
    return paged(ctx, [render.subscription_json(s) for s in sorted(subs, key=lambda s: s.display_name.lower())])


def get_subscription(ctx: Ctx) -> web.Response:
    return ok(render.subscription_json(subscription(ctx, ctx.params["sub"])))


def list_tenants(ctx: Ctx) -> web.Response:
    home = ctx.world.tenant_id
    others = sorted({s.tenant_id for s in ctx.world.subscriptions.values()} - {home})
    return paged(ctx, [render.tenant_json(home, True)] + [render.tenant_json(t, False) for t in others])


def list_resource_groups(ctx: Ctx) -> web.Response:
    sub = subscription(ctx, ctx.params["sub"])
    groups = resource_groups(ctx.world, sub)
    return paged(ctx, [render.resource_group_json(sub.subscription_id, name, loc)
                       for name, loc in sorted(groups.items(), key=lambda kv: kv[0].lower())])


def get_resource_group(ctx: Ctx) -> web.Response:
    sub = subscription(ctx, ctx.params["sub"])
    name, loc = resource_group(ctx, sub, ctx.params["rg"])
    return ok(render.resource_group_json(sub.subscription_id, name, loc))


def head_resource_group(ctx: Ctx) -> web.Response:
    """``resource_groups.check_existence``: 204 or 404 without a body."""
    get_resource_group(ctx)
    return web.Response(status=204)


def register(router: Router) -> None:
    router.add("GET", "/metadata/endpoints", metadata, kind="metadata", auth=False)
    router.add("GET", "/subscriptions", list_subscriptions, kind="subscriptions")
    router.add("GET", "/tenants", list_tenants, kind="subscriptions")
    router.add("GET", "/subscriptions/{sub}", get_subscription, kind="subscriptions")
    router.add("GET", "/subscriptions/{sub}/resourcegroups", list_resource_groups, kind="resourcegroups")
    router.add("GET", "/subscriptions/{sub}/resourcegroups/{rg}", get_resource_group, kind="resourcegroups")
    router.add("HEAD", "/subscriptions/{sub}/resourcegroups/{rg}", head_resource_group, kind="resourcegroups")
