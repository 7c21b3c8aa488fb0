"""``managedInstances/{mi}/distributedAvailabilityGroups``: the link resource and its actions.

Static validation (body shapes, enum values, endpoint form, name and database clashes, the
documented "planned failover only from the primary" rule) happens here and answers
synchronously; anything that depends on how replication is doing is the replication engine's
call through the LinkOps hooks, which may refuse with a LabError. Role flips on failover and
setRole are the engine's job too: this module never changes ``instance_link_role``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ..hooks import LabError
from ..model import ManagedInstance, MiDatabase, MiLink
from . import api_versions, render
from .errors import LINK_TYPE, ArmError, invalid_content, invalid_parameter, resource_not_found
from .routing import Ctx, Router, managed_instance, ok, paged

REPLICATION_MODES = {"async": "Async", "sync": "Sync"}
ROLES = {"primary": "Primary", "secondary": "Secondary"}
FAILOVER_MODES = {"none": "None", "manual": "Manual"}
SEEDING_MODES = {"automatic": "Automatic", "manual": "Manual"}
LINK_MODES = {"singledatabase": "SingleDatabase", "multidatabase": "MultiDatabase"}
FAILOVER_TYPES = {"planned": "Planned", "forcedallowdataloss": "ForcedAllowDataLoss"}
CHANGE_TYPES = {"planned": "Planned", "forced": "Forced"}
ENDPOINT = re.compile(r"^tcp://(?P<host>[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>\d{1,5})$", re.IGNORECASE)


def _enum(value: Any, table: dict[str, str], param: str, default: str | None = None) -> str:
    if value is None and default is not None:
        return default
    if not isinstance(value, str) or value.lower() not in table:
        raise invalid_parameter(param)
    return table[value.lower()]


def _text(props: dict[str, Any], name: str) -> str:
    value = props.get(name)
    if not isinstance(value, str) or not value.strip():
        raise invalid_parameter(name)
    return value.strip()


def _properties(ctx: Ctx) -> dict[str, Any]:
    if not isinstance(ctx.body, dict):
        raise invalid_content("the request body must be a JSON object")
    props = ctx.body.get("properties")
    if not isinstance(props, dict):
        raise invalid_parameter("properties")
    return props


def _database_names(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise invalid_parameter("databases")
    names: list[str] = []
    for item in value:
        name = item.get("databaseName") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise invalid_parameter("databases.databaseName")
        if name.strip().lower() in (n.lower() for n in names):
            raise invalid_parameter("databases")
        names.append(name.strip())
    return names


def find_link(mi: ManagedInstance, name: str) -> MiLink | None:
    for key, link in mi.links.items():
        if key.lower() == name.lower():
            return link
    return None


def _link_or_404(mi: ManagedInstance, name: str) -> MiLink:
    link = find_link(mi, name)
    if link is None:
        raise resource_not_found(LINK_TYPE, name)
    return link


def find_mi_database(mi: ManagedInstance, name: str) -> MiDatabase | None:
    for key, db in mi.databases.items():
        if key.lower() == name.lower() or db.name.lower() == name.lower():
            return db
    return None


def _key(mi: ManagedInstance, link: MiLink) -> tuple[str, str]:
    return (mi.name.lower(), link.name.lower())


def _render(ctx: Ctx, mi: ManagedInstance, link: MiLink) -> dict[str, Any]:
    return render.link_json(ctx.world, mi, link, ctx.api_version,
                            failover=ctx.state.lro.role_change_running(_key(mi, link)),
                            link_mode=ctx.state.link_modes.get(_key(mi, link)))


def _current(ctx: Ctx, mi: ManagedInstance, name: str) -> dict[str, Any]:
    """The link as it is now (the final GET/Location document of an operation)."""
    return _render(ctx, mi, _link_or_404(mi, name))


# --------------------------------------------------------------------------- reads


def list_links(ctx: Ctx) -> web.Response:
    mi = managed_instance(ctx, parent=True, ready=True)
    return paged(ctx, [_render(ctx, mi, link) for link in mi.links.values()])


def get_link(ctx: Ctx) -> web.Response:
    mi = managed_instance(ctx, parent=True, ready=True)
    return ok(_render(ctx, mi, _link_or_404(mi, ctx.params["link"])))


# --------------------------------------------------------------------------- create


@dataclass
class _Spec:
    partner_ag: str
    instance_ag: str
    endpoint: str
    role: str
    failover_mode: str
    seeding_mode: str
    replication_mode: str | None
    databases: list[str]
    link_mode: str | None


def _create_spec(ctx: Ctx) -> _Spec:
    props = dict(_properties(ctx))
    if not api_versions.at_least(ctx.api_version, api_versions.NEW_LINK_SCHEMA):
        # the 2021-2023 schema: one target database, source/primary/secondary names
        props = {
            "partnerAvailabilityGroupName": props.get("primaryAvailabilityGroupName"),
            "instanceAvailabilityGroupName": props.get("secondaryAvailabilityGroupName"),
            "partnerEndpoint": props.get("sourceEndpoint"),
            "databases": [{"databaseName": props.get("targetDatabase")}],
            "instanceLinkRole": "Secondary",
            "replicationMode": props.get("replicationMode"),
        }
    partner_ag = _text(props, "partnerAvailabilityGroupName")
    instance_ag = _text(props, "instanceAvailabilityGroupName")
    endpoint = _text(props, "partnerEndpoint")
    m = ENDPOINT.match(endpoint)
    if not m or not 0 < int(m.group("port")) < 65536:
        raise ArmError(400, "InvalidParameterValue",
                       f"Invalid value given for parameter partnerEndpoint. Specify a valid parameter value. "
                       f"The partner endpoint '{endpoint}' must have the form TCP://<host>:<port>.")
    databases = _database_names(props.get("databases"))
    link_mode = None
    if api_versions.at_least(ctx.api_version, api_versions.LINK_MODE):
        link_mode = _enum(props.get("linkMode"), LINK_MODES, "linkMode", "SingleDatabase")
    if len(databases) > 1 and link_mode != "MultiDatabase":
        raise ArmError(400, "InvalidParameterValue",
                       "Invalid value given for parameter databases. Specify a valid parameter value. "
                       "A link in single database mode replicates exactly one database.")
    return _Spec(
        partner_ag=partner_ag, instance_ag=instance_ag, endpoint=endpoint,
        role=_enum(props.get("instanceLinkRole"), ROLES, "instanceLinkRole", "Secondary"),
        failover_mode=_enum(props.get("failoverMode"), FAILOVER_MODES, "failoverMode", "None"),
        seeding_mode=_enum(props.get("seedingMode"), SEEDING_MODES, "seedingMode", "Automatic"),
        replication_mode=(_enum(props["replicationMode"], REPLICATION_MODES, "replicationMode")
                          if props.get("replicationMode") is not None else None),
        databases=databases, link_mode=link_mode,
    )


def _check_databases(ctx: Ctx, mi: ManagedInstance, role: str, databases: list[str],
                     ignore: MiLink | None = None) -> None:
    for name in databases:
        for other in mi.links.values():
            if other is not ignore and name.lower() in (d.lower() for d in other.databases):
                # UNVERIFIED: code and text invented; no public source shows ARM's answer to a
                # second link for a database that another link already replicates.
                raise ArmError(409, "DatabaseAlreadyInDistributedAvailabilityGroup",
                               f"Database '{name}' is already replicated by link '{other.name}'.")
        existing = find_mi_database(mi, name)
        if role == "Secondary" and existing is not None:
            raise ArmError(400, "ManagedDatabaseNameInUse",
                           f"Database '{name}' already exists. Choose a different database name.")
        if role == "Primary" and existing is None:
            # UNVERIFIED: code and text invented (MI-first with no such database on the instance).
            raise ArmError(400, "ManagedDatabaseNotFound",
                           f"Database '{name}' does not exist on managed instance '{mi.name}'. When the managed "
                           "instance is the initial primary, the database must already exist on it.")


def _collation(ctx: Ctx, link: MiLink, database: str, default: str) -> str:
    inst = render.partner_instance(ctx.world, link)
    db = inst.find_database(database) if inst else None
    return db.collation if db else default


def _add_secondary_databases(ctx: Ctx, mi: ManagedInstance, link: MiLink, names: list[str]) -> list[str]:
    added = []
    for name in names:
        if find_mi_database(mi, name) is None:
            # keyed by lower-case name, like the replication engine and the scenarios
            mi.databases[name.lower()] = MiDatabase(name=name, state="Restoring", created_by_link=link.name,
                                                    collation=_collation(ctx, link, name, mi.collation))
            added.append(name)
    return added


def _release_databases(mi: ManagedInstance, names: list[str]) -> None:
    """After a link stops replicating a database, the MI copy is a normal read-write database."""
    for name in names:
        db = find_mi_database(mi, name)
        if db is not None and db.state.lower() == "restoring":
            db.state = "Online"


def put_link(ctx: Ctx) -> web.Response:
    mi = managed_instance(ctx, parent=True, ready=True)
    name = ctx.params["link"]
    spec = _create_spec(ctx)
    existing = find_link(mi, name)
    if existing is not None:
        return _put_existing(ctx, mi, existing, spec)
    if len(mi.links) >= mi.max_links:
        # UNVERIFIED: code and text invented; Learn documents the per-instance link limit, not the error.
        raise ArmError(409, "DistributedAvailabilityGroupLimitReached",
                       f"Managed instance '{mi.name}' already has the maximum number of links ({mi.max_links}).")
    if spec.role == "Primary" and mi.in_failover_group:
        raise ArmError(409, "DistributedAvailabilityGroupMiPrimaryWithGeodr",
                       "A link with the managed instance as primary is not allowed while the instance is in an "
                       "auto-failover group.")
    _check_databases(ctx, mi, spec.role, spec.databases)
    link = MiLink(
        name=name, partner_availability_group_name=spec.partner_ag,
        instance_availability_group_name=spec.instance_ag, partner_endpoint=spec.endpoint,
        instance_link_role=spec.role,  # type: ignore[arg-type]
        replication_mode=spec.replication_mode or "Async",  # type: ignore[arg-type]
        failover_mode=spec.failover_mode,  # type: ignore[arg-type]
        seeding_mode=spec.seeding_mode,  # type: ignore[arg-type]
        databases=list(spec.databases),
    )

    def apply() -> None:
        link.created = ctx.world.clock.now()
        mi.links[link.name] = link
        added = _add_secondary_databases(ctx, mi, link, spec.databases) if spec.role == "Secondary" else []
        if spec.link_mode:
            ctx.state.link_modes[_key(mi, link)] = spec.link_mode
        try:
            ctx.ops.mi_link_created(mi, link)
        except LabError:
            mi.links.pop(link.name, None)
            for db in added:
                mi.databases.pop(db.lower(), None)
            ctx.state.link_modes.pop(_key(mi, link), None)
            raise

    return ctx.state.lro.start(
        kind="create", family="distributedAvailabilityGroups", subscription_id=mi.subscription_id,
        location=mi.location, api_version=ctx.api_version, origin=ctx.origin, apply=apply,
        result=lambda: _current(ctx, mi, name))


def _put_existing(ctx: Ctx, mi: ManagedInstance, link: MiLink, spec: _Spec) -> web.Response:
    """PUT on an existing link: an idempotent retry may only change the replication mode."""
    same = (spec.partner_ag.lower() == link.partner_availability_group_name.lower()
            and spec.instance_ag.lower() == link.instance_availability_group_name.lower()
            and spec.endpoint.lower() == link.partner_endpoint.lower()
            and spec.failover_mode == link.failover_mode and spec.seeding_mode == link.seeding_mode
            and sorted(d.lower() for d in spec.databases) == sorted(d.lower() for d in link.databases))
    if not same:
        # UNVERIFIED: code and text invented for a PUT that changes more than the replication mode.
        raise ArmError(409, "DistributedAvailabilityGroupAlreadyExists",
                       f"Link '{link.name}' already exists on managed instance '{mi.name}' with different "
                       "properties. Delete it first or choose another name.")
    return _start_update(ctx, mi, link, spec.replication_mode, None)


# --------------------------------------------------------------------------- update / delete


def patch_link(ctx: Ctx) -> web.Response:
    mi = managed_instance(ctx, parent=True, ready=True)
    link = _link_or_404(mi, ctx.params["link"])
    props = _properties(ctx)
    mode = _enum(props["replicationMode"], REPLICATION_MODES, "replicationMode") \
        if props.get("replicationMode") is not None else None
    databases = None
    if props.get("databases") is not None and api_versions.at_least(ctx.api_version, api_versions.LINK_MODE):
        databases = _database_names(props["databases"])
        current = {d.lower() for d in link.databases}
        new = [d for d in databases if d.lower() not in current]
        if len(databases) > 1 and ctx.state.link_modes.get(_key(mi, link)) != "MultiDatabase":
            raise invalid_parameter("databases")
        _check_databases(ctx, mi, link.instance_link_role, new, ignore=link)
    return _start_update(ctx, mi, link, mode, databases)


def _start_update(ctx: Ctx, mi: ManagedInstance, link: MiLink, mode: str | None,
                  databases: list[str] | None) -> web.Response:
    def apply() -> None:
        before_mode, before_dbs = link.replication_mode, list(link.databases)
        added: list[str] = []
        if mode:
            link.replication_mode = mode  # type: ignore[assignment]
        if databases is not None:
            dropped = [d for d in before_dbs if d.lower() not in {n.lower() for n in databases}]
            link.databases = list(databases)
            if link.instance_link_role == "Secondary":
                added = _add_secondary_databases(ctx, mi, link, databases)
            _release_databases(mi, dropped)
        try:
            ctx.ops.mi_link_updated(mi, link)
        except LabError:
            link.replication_mode, link.databases = before_mode, before_dbs
            for db in added:
                mi.databases.pop(db.lower(), None)
            raise

    return ctx.state.lro.start(
        kind="update", family="distributedAvailabilityGroups", subscription_id=mi.subscription_id,
        location=mi.location, api_version=ctx.api_version, origin=ctx.origin, apply=apply,
        result=lambda: _current(ctx, mi, link.name))


def delete_link(ctx: Ctx) -> web.Response:
    mi = managed_instance(ctx, parent=True, ready=True)
    link = find_link(mi, ctx.params["link"])
    if link is None:
        return web.Response(status=204)

    def apply() -> None:
        key = next(k for k, v in mi.links.items() if v is link)
        names = {d.lower() for d in link.databases}
        before = {k: (db, db.state) for k, db in mi.databases.items() if db.name.lower() in names}
        del mi.links[key]
        mode = ctx.state.link_modes.pop(_key(mi, link), None)
        try:
            # the engine decides what a drop leaves behind (a copy still seeding is discarded)
            ctx.ops.mi_link_deleted(mi, link)
        except LabError:
            mi.links[key] = link
            for k, (db, state) in before.items():
                mi.databases[k] = db
                db.state = state
            if mode:
                ctx.state.link_modes[_key(mi, link)] = mode
            raise
        _release_databases(mi, link.databases)

    return ctx.state.lro.start(
        kind="delete", family="distributedAvailabilityGroups", subscription_id=mi.subscription_id,
        location=mi.location, api_version=ctx.api_version, origin=ctx.origin, apply=apply)


# --------------------------------------------------------------------------- failover / setRole


# The 409 codes below are the Microsoft.Sql error catalog's (domain.md §5.2); the catalog gives only
# their meaning, so the message texts are the lab's (UNVERIFIED wording), except the planned-failover
# one, which Az.Sql's tests quote.
def _role_change_guard(ctx: Ctx, mi: ManagedInstance, link: MiLink) -> None:
    if ctx.state.lro.role_change_running(_key(mi, link)):
        raise ArmError(409, "DistributedAvailabilityGroupSetRoleChangeRoleAlreadyInProgress",
                       "A previous role change on this link is still in progress. Wait for it to finish.")


def failover(ctx: Ctx) -> web.Response:
    mi = managed_instance(ctx, parent=True, ready=True)
    link = _link_or_404(mi, ctx.params["link"])
    if not isinstance(ctx.body, dict):
        raise invalid_content("the request body must be a JSON object")
    failover_type = _enum(ctx.body.get("failoverType"), FAILOVER_TYPES, "failoverType")
    _role_change_guard(ctx, mi, link)
    if failover_type == "Planned" and link.instance_link_role != "Primary":
        raise ArmError(409, "DistributedAvailabilityGroupFailoverInvalidInstanceRole",
                       "Planned failover can be executed on a link in the primary role only. Current state of "
                       "the specified link is secondary.")
    return ctx.state.lro.start(
        kind="failover", family="distributedAvailabilityGroups", subscription_id=mi.subscription_id,
        location=mi.location, api_version=ctx.api_version, origin=ctx.origin,
        apply=lambda: ctx.ops.mi_failover(mi, link, failover_type),
        result=lambda: _current(ctx, mi, link.name), link_key=_key(mi, link))


def set_role(ctx: Ctx) -> web.Response:
    mi = managed_instance(ctx, parent=True, ready=True)
    link = _link_or_404(mi, ctx.params["link"])
    body = ctx.body
    if not isinstance(body, dict) or ("instanceRole" not in body and "roleChangeType" not in body):
        raise ArmError(400, "InvalidDistributedAvailabilityGroupSetRoleRequest",
                       "The set role request is invalid: instanceRole and roleChangeType are required.")
    role = body.get("instanceRole")
    if not isinstance(role, str) or role.lower() not in ROLES:
        raise ArmError(400, "InvalidDistributedAvailabilityGroupRole",
                       f"The instance role '{role}' is invalid. Valid values are 'Primary' and 'Secondary'.")
    change = body.get("roleChangeType")
    if not isinstance(change, str) or change.lower() not in CHANGE_TYPES:
        raise ArmError(400, "InvalidDistributedAvailabilityGroupChangeType",
                       f"The role change type '{change}' is invalid. Valid values are 'Planned' and 'Forced'.")
    role, change = ROLES[role.lower()], CHANGE_TYPES[change.lower()]
    if role == "Primary" and change == "Planned":
        raise ArmError(409, "DistributedAvailabilityGroupSetRolePrimaryPlannedNotSupported",
                       "Setting the instance role to primary with a planned role change is not supported. "
                       "Use a forced role change or a planned failover.")
    _role_change_guard(ctx, mi, link)
    if link.instance_link_role == role:
        raise ArmError(409, "DistributedAvailabilityGroupSetRoleInstanceAlreadyInRequestedRole",
                       f"The managed instance is already in the requested role '{role}' on this link.")
    return ctx.state.lro.start(
        kind="setRole", family="distributedAvailabilityGroups", subscription_id=mi.subscription_id,
        location=mi.location, api_version=ctx.api_version, origin=ctx.origin,
        apply=lambda: ctx.ops.mi_set_role(mi, link, role, change),
        result=lambda: _current(ctx, mi, link.name), link_key=_key(mi, link))


def register(router: Router) -> None:
    base = ("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Sql/managedInstances/{mi}"
            "/distributedAvailabilityGroups")
    t = "distributedAvailabilityGroups"
    router.add("GET", base, list_links, type_name=t)
    for method, handler in (("GET", get_link), ("PUT", put_link), ("PATCH", patch_link), ("DELETE", delete_link)):
        router.add(method, base + "/{link}", handler, type_name=t)
    router.add("POST", base + "/{link}/failover", failover, type_name="failover")
    router.add("POST", base + "/{link}/setRole", set_role, type_name="setRole")
