"""The public example payloads (arm-examples/*.json) as contract fixtures.

Our responses must deserialize into the same SDK model fields, with the same Python types, as
the service's documented examples; the CreateMax request body must be accepted as is.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from azure.mgmt.sql import models as m
from azure.mgmt.sql.aio import SqlManagementClient

from milink_tui.lab.model import DbStream, ManagedInstance, MiDatabase, MiLink, Subscription

from .conftest import REFERENCE, TENANT, _transport

EX_SUB = "00000000-1111-2222-3333-444444444444"
NOT_MODELLED = {"lastBackupLsn", "lastBackupTime"}  # the lab has no MI backup history


def example(name: str) -> dict[str, Any]:
    return json.loads((REFERENCE / f"{name}.json").read_text())


def add_testcl(world) -> ManagedInstance:
    world.subscriptions[EX_SUB] = Subscription(EX_SUB, "Examples", TENANT, resource_groups={"testrg": "westus"})
    mi = ManagedInstance("testcl", EX_SUB, "testrg", location="westus")
    mi.databases["testdb"] = MiDatabase("testdb")
    world.managed_instances["testcl"] = mi
    return mi


def assert_same_shape(ours: Any, theirs: Any, path: str = "") -> None:
    """Every field the example populates is populated by us, with the same Python type after deserializing."""
    for key, value in theirs.items():
        if key in NOT_MODELLED:
            continue
        assert key in ours, f"missing {path}{key}"
        if isinstance(value, dict):
            assert_same_shape(ours[key], value, f"{path}{key}.")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            assert len(ours[key]) == len(value), f"{path}{key}"
            for i, (mine, theirs) in enumerate(zip(ours[key], value, strict=True)):
                assert_same_shape(mine, theirs, f"{path}{key}[{i}].")


def typed(model: Any, fields: list[str]) -> dict[str, type]:
    return {f: type(getattr(model, f)) for f in fields}


async def test_create_max_body_is_accepted(arm, credential, session, world):
    add_testcl(world)
    ex = example("DistributedAvailabilityGroupsCreateMax")
    async with SqlManagementClient(credential, EX_SUB, base_url=arm.base_url, transport=_transport(session),
                                   polling_interval=0) as sql:
        poller = await sql.distributed_availability_groups.begin_create_or_update(
            "testrg", "testcl", "dag", ex["parameters"]["parameters"])
        result = await poller.result()
    expected = ex["responses"]["200"]["body"]
    ours = result.as_dict()
    assert_same_shape(ours, expected)
    for key in ("instanceLinkRole", "instanceAvailabilityGroupName", "partnerAvailabilityGroupName",
                "partnerEndpoint", "failoverMode", "seedingMode", "distributedAvailabilityGroupName"):
        assert ours["properties"][key] == expected["properties"][key]
    assert (ours["id"], ours["name"], ours["type"]) == (expected["id"], expected["name"], expected["type"])
    assert [d["databaseName"] for d in ours["properties"]["databases"]] == ["testdb"]


async def test_list_by_instance_matches_example(arm, credential, session, world):
    mi = add_testcl(world)
    mi.databases["testdb2"] = MiDatabase("testdb2", state="Restoring", created_by_link="dag2")
    t = dt.datetime(2023, 8, 1)
    primary = MiLink("dag", "BoxLocalAg1", "testcl", "TCP://SERVER:7022", instance_link_role="Primary",
                     databases=["testdb"])
    primary.streams["testdb"] = DbStream(
        "testdb", primary_side="mi", connected=True, phase="SYNCHRONIZED", end_of_log_lsn=71000009408100001,
        sent_lsn=71000009408100001, hardened_lsn=71000009407900001, redone_lsn=71000009407900001,
        primary_last_commit_time=t, secondary_last_commit_time=t, last_sent_time=t, last_hardened_time=t,
        last_redone_time=t)
    secondary = MiLink("dag2", "BoxLocalAg2", "testcl2", "TCP://SERVER:7022", databases=["testdb2"])
    secondary.streams["testdb2"] = DbStream(
        "testdb2", connected=True, phase="SEEDING", seeding_total_bytes=10, seeding_done_bytes=8,
        hardened_lsn=71000009408100001, redone_lsn=71000009407900004, last_received_time=t, last_hardened_time=t,
        secondary_last_commit_time=t)
    mi.links.update({"dag": primary, "dag2": secondary})

    ex_items = example("DistributedAvailabilityGroupsListByInstance")["responses"]["200"]["body"]["value"]
    async with SqlManagementClient(credential, EX_SUB, base_url=arm.base_url, transport=_transport(session)) as sql:
        ours = [x async for x in sql.distributed_availability_groups.list_by_instance("testrg", "testcl")]
    assert [x.name for x in ours] == ["dag", "dag2"]
    for mine, raw_theirs in zip(ours, ex_items, strict=True):
        theirs = m.DistributedAvailabilityGroup(raw_theirs)
        assert_same_shape(mine.as_dict(), theirs.as_dict())
        top = ["partner_link_role", "instance_link_role", "replication_mode", "partner_endpoint",
               "distributed_availability_group_id", "partner_availability_group_name"]
        assert typed(mine, top) == typed(theirs, top)
        assert (mine.partner_link_role, mine.instance_link_role) == (theirs.partner_link_role, theirs.instance_link_role)
        db_fields = [k for k in theirs.databases[0].as_dict() if k not in NOT_MODELLED]
        snake = {f: _snake(f) for f in db_fields}
        assert typed(mine.databases[0], list(snake.values())) == typed(theirs.databases[0], list(snake.values()))
    assert ours[1].databases[0].seeding_progress == "80%"
    assert ours[0].databases[0].last_received_lsn == "71000009407900001"
    assert ours[0].databases[0].last_commit_time == t.replace(tzinfo=dt.timezone.utc)


async def test_set_role_example(arm, credential, session, world, engine):
    mi = add_testcl(world)
    mi.links["dag"] = MiLink("dag", "BoxLocalAg1", "testcl", "TCP://SERVER:7022", databases=["testdb"])
    ex = example("DistributedAvailabilityGroupsSetRole")
    async with SqlManagementClient(credential, EX_SUB, base_url=arm.base_url, transport=_transport(session),
                                   polling_interval=0) as sql:
        poller = await sql.distributed_availability_groups.begin_set_role("testrg", "testcl", "dag",
                                                                          ex["parameters"]["parameters"])
        result = await poller.result()
    expected = ex["responses"]["200"]["body"]
    assert_same_shape(result.as_dict(), expected)
    assert result.instance_link_role == expected["properties"]["instanceLinkRole"] == "Primary"
    assert result.id == expected["id"]


def _snake(name: str) -> str:
    out = "".join("_" + c.lower() if c.isupper() else c for c in name)
    return out
