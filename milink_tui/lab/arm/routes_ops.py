"""The polling URLs handed out in Azure-AsyncOperation and Location headers."""

from __future__ import annotations

from aiohttp import web

from .routing import Ctx, Router, subscription


def async_operation(ctx: Ctx) -> web.Response:
    subscription(ctx, ctx.params["sub"])
    return ctx.state.lro.status_response(ctx.params["op"])


def operation_result(ctx: Ctx) -> web.Response:
    subscription(ctx, ctx.params["sub"])
    return ctx.state.lro.result_response(ctx.params["op"], ctx.origin)


def register(router: Router) -> None:
    loc = "/subscriptions/{sub}/providers/Microsoft.Sql/locations/{loc}/"
    for family in ("distributedAvailabilityGroups", "serverTrustCertificates", "managedDatabases"):
        router.add("GET", loc + family + "AzureAsyncOperation/{op}", async_operation, type_name="operations")
        router.add("GET", loc + family + "OperationResults/{op}", operation_result, type_name="operations")
