"""The link (distributedAvailabilityGroups) lifecycle and its errors through azure-mgmt-sql."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.sql import models as m

from milink_tui.lab.hooks import LabError
from milink_tui.lab.model import DbStream, MiLink

from .conftest import SUB, raw

LINKS = f"/subscriptions/{SUB}/resourceGroups/rg-prod/providers/Microsoft.Sql/managedInstances/mi-prod/distributedAvailabilityGroups"


def link_body(db: str = "db1", endpoint: str = "TCP://10.0.0.4:5022", role: str = "Secondary") -> m.DistributedAvailabilityGroup:
    return m.DistributedAvailabilityGroup(properties=m.DistributedAvailabilityGroupProperties(
        partner_availability_group_name=f"AG_{db}", instance_availability_group_name=f"AG_{db}_MI",
        partner_endpoint=endpoint, instance_link_role=role, failover_mode="Manual", seeding_mode="Automatic",
        databases=[m.DistributedAvailabilityGroupDatabase(database_name=db)]))


async def upload_sql_cert(sql, ders) -> None:
    poller = await sql.server_trust_certificates.begin_create_or_update(
        "rg-prod", "mi-prod", "Cert_sql1_endpoint", {"properties": {"publicBlob": "0x" + ders["sql1"].hex()}})
    await poller.result()


async def test_link_lifecycle(sql, world, engine, ders):
    mi = world.managed_instances["mi-prod"]
    await upload_sql_cert(sql, ders)

    poller = await sql.distributed_availability_groups.begin_create_or_update("rg-prod", "mi-prod", "dag-db1",
                                                                              link_body())
    created = await poller.result()
    assert (created.name, created.partner_link_role, created.instance_link_role) == ("dag-db1", "Primary", "Secondary")
    assert created.partner_endpoint == "TCP://10.0.0.4:5022" and created.replication_mode == "Async"
    assert created.failover_mode == "Manual" and created.seeding_mode == "Automatic"
    db = created.databases[0]
    # the replication engine has not paired the database yet
    assert (db.database_name, db.replica_state, db.connected_state, db.synchronization_health) == (
        "db1", "CreatingLink", "DISCONNECTED", "NOT_HEALTHY")
    assert db.partner_auth_cert_validity.certificate_name == "Cert_sql1_endpoint"
    assert mi.databases["db1"].state == "Restoring"
    assert mi.databases["db1"].collation == "Latin1_General_CI_AS"
    assert engine.calls[-1] == ("mi_link_created", ("mi-prod", "dag-db1"))
    link = mi.links["dag-db1"]
    assert str(link.dag_id) == created.distributed_availability_group_id

    # the replication engine pairs and seeds: the ARM view renders the stream
    now = dt.datetime(2026, 5, 1, 12, 0, 0)
    stream = DbStream("db1", connected=True, phase="SEEDING", seeding_total_bytes=1000, seeding_done_bytes=300)
    link.streams["db1"] = stream
    got = await sql.distributed_availability_groups.get("rg-prod", "mi-prod", "dag-db1")
    assert (got.databases[0].replica_state, got.databases[0].seeding_progress) == ("CreatingLink", "30%")
    stream.phase, stream.end_of_log_lsn, stream.hardened_lsn, stream.redone_lsn = "SYNCHRONIZING", 9000, 8000, 7000
    stream.last_hardened_time = stream.last_received_time = now
    stream.secondary_last_commit_time = now - dt.timedelta(seconds=2)
    listed = [x async for x in sql.distributed_availability_groups.list_by_instance("rg-prod", "mi-prod")]
    assert [x.name for x in listed] == ["dag-db1"]
    d = listed[0].databases[0]
    assert (d.replica_state, d.synchronization_health, d.connected_state) == ("LinkSynchronizing", "HEALTHY", "CONNECTED")
    assert (d.last_hardened_lsn, d.last_received_lsn, d.last_commit_lsn) == ("8000", "8000", "7000")
    assert d.last_hardened_time == now.replace(tzinfo=dt.timezone.utc)
    assert d.seeding_progress is None and d.instance_send_replication_lag_seconds is None
    assert d.instance_replica_id == str(stream.instance_replica_id)
    stream.last_error = (41976, "cannot connect", now)
    stream.connected = False
    got = await sql.distributed_availability_groups.get("rg-prod", "mi-prod", "DAG-DB1")
    assert (got.databases[0].most_recent_link_error, got.databases[0].synchronization_health) == ("41976", "NOT_HEALTHY")
    stream.last_error, stream.connected = None, True

    poller = await sql.distributed_availability_groups.begin_update("rg-prod", "mi-prod", "dag-db1",
                                                                    {"properties": {"replicationMode": "Sync"}})
    assert (await poller.result()).replication_mode == "Sync"
    assert engine.calls[-1] == ("mi_link_updated", ("mi-prod", "dag-db1", "Sync"))

    # planned failover only from the primary side: the MI is secondary here
    with pytest.raises(HttpResponseError) as e:
        await sql.distributed_availability_groups.begin_failover("rg-prod", "mi-prod", "dag-db1",
                                                                 {"failoverType": "Planned"})
    assert e.value.status_code == 409
    assert e.value.error.code == "DistributedAvailabilityGroupFailoverInvalidInstanceRole"
    assert "primary role only" in e.value.error.message

    poller = await sql.distributed_availability_groups.begin_failover(
        "rg-prod", "mi-prod", "dag-db1", m.DistributedAvailabilityGroupsFailoverRequest(failover_type="ForcedAllowDataLoss"))
    after = await poller.result()  # read from the Location URL
    assert (after.instance_link_role, after.partner_link_role) == ("Primary", "Secondary")
    assert engine.calls[-1] == ("mi_failover", ("mi-prod", "dag-db1", "ForcedAllowDataLoss"))
    got = await sql.distributed_availability_groups.get("rg-prod", "mi-prod", "dag-db1")
    assert got.databases[0].instance_send_replication_lag_seconds is not None  # MI primary now

    with pytest.raises(HttpResponseError) as e:  # already primary
        await sql.distributed_availability_groups.begin_set_role(
            "rg-prod", "mi-prod", "dag-db1", {"instanceRole": "Primary", "roleChangeType": "Forced"})
    assert e.value.error.code == "DistributedAvailabilityGroupSetRoleInstanceAlreadyInRequestedRole"
    poller = await sql.distributed_availability_groups.begin_set_role(
        "rg-prod", "mi-prod", "dag-db1", m.DistributedAvailabilityGroupSetRole(instance_role="Secondary",
                                                                            role_change_type="Forced"))
    assert (await poller.result()).instance_link_role == "Secondary"
    assert engine.calls[-1] == ("mi_set_role", ("mi-prod", "dag-db1", "Secondary", "Forced"))

    poller = await sql.distributed_availability_groups.begin_delete("rg-prod", "mi-prod", "dag-db1")
    await poller.result()
    assert engine.calls[-1] == ("mi_link_deleted", ("mi-prod", "dag-db1"))
    assert mi.links == {} and mi.databases["db1"].state == "Online"  # a normal read-write database now
    with pytest.raises(ResourceNotFoundError) as e:
        await sql.distributed_availability_groups.get("rg-prod", "mi-prod", "dag-db1")
    assert e.value.error.code == "ResourceNotFound"
    assert e.value.error.message == ("The requested resource of type 'Microsoft.Sql/managedInstances/"
                                     "distributedAvailabilityGroups' with name 'dag-db1' was not found.")


async def test_create_validation(sql, world, engine):
    dag = sql.distributed_availability_groups
    for endpoint in ("10.0.0.4:5022", "http://10.0.0.4:5022", "TCP://10.0.0.4", "TCP://10.0.0.4:99999"):
        with pytest.raises(HttpResponseError) as e:
            await dag.begin_create_or_update("rg-prod", "mi-prod", "x", link_body(endpoint=endpoint))
        assert e.value.status_code == 400 and e.value.error.code == "InvalidParameterValue", endpoint
    ok = await dag.begin_create_or_update("rg-prod", "mi-prod", "lower", link_body(endpoint="tcp://sql1.lab.local:5022"))
    await ok.result()
    with pytest.raises(HttpResponseError) as e:  # the database already exists on the MI
        await dag.begin_create_or_update("rg-prod", "mi-prod", "y", link_body(db="appdb"))
    assert e.value.error.code == "ManagedDatabaseNameInUse"
    assert e.value.error.message == "Database 'appdb' already exists. Choose a different database name."
    with pytest.raises(HttpResponseError) as e:  # MI as initial primary needs the database on the MI
        await dag.begin_create_or_update("rg-prod", "mi-prod", "z", link_body(db="nodb", role="Primary"))
    assert e.value.status_code == 400
    with pytest.raises(HttpResponseError) as e:
        await dag.begin_create_or_update("rg-prod", "mi-prod", "w", {"properties": {
            "partnerAvailabilityGroupName": "a", "instanceAvailabilityGroupName": "b",
            "partnerEndpoint": "TCP://h:5022", "databases": []}})
    assert e.value.error.code == "InvalidParameterValue" and "databases" in e.value.error.message
    with pytest.raises(HttpResponseError) as e:  # same name, different definition
        await dag.begin_create_or_update("rg-prod", "mi-prod", "LOWER", link_body(db="other"))
    assert e.value.status_code == 409
    with pytest.raises(ResourceNotFoundError) as e:
        await dag.get("rg-prod", "no-such-mi", "x")
    assert e.value.error.code == "ParentResourceNotFound"
    with pytest.raises(ResourceNotFoundError) as e:
        await dag.get("rg-nope", "mi-prod", "x")
    assert e.value.error.code == "ResourceGroupNotFound"
    mi = world.managed_instances["mi-prod"]
    mi.links.update({f"l{i}": MiLink(f"l{i}", "a", "b", "TCP://h:1") for i in range(mi.max_links)})
    with pytest.raises(HttpResponseError) as e:
        await dag.begin_create_or_update("rg-prod", "mi-prod", "one-too-many", link_body(db="db9"))
    assert e.value.status_code == 409
    # a refusal from the replication engine becomes the ARM error and rolls the link back
    for name in [k for k in mi.links if k.startswith("l")]:
        del mi.links[name]
    engine.refuse["mi_link_created"] = LabError("no", code="OperationCanNotStartDueToMiLink", status=400)
    with pytest.raises(HttpResponseError) as e:
        await dag.begin_create_or_update("rg-prod", "mi-prod", "refused", link_body(db="db7"))
    assert e.value.error.code == "OperationCanNotStartDueToMiLink"
    assert "refused" not in mi.links and "db7" not in mi.databases


async def test_set_role_and_failover_bodies(arm, session, sql):
    poller = await sql.distributed_availability_groups.begin_create_or_update("rg-prod", "mi-prod", "dag",
                                                                              link_body())
    await poller.result()
    cases = [
        ({}, "InvalidDistributedAvailabilityGroupSetRoleRequest"),
        ({"instanceRole": "Boss", "roleChangeType": "Forced"}, "InvalidDistributedAvailabilityGroupRole"),
        ({"instanceRole": "Primary", "roleChangeType": "Soon"}, "InvalidDistributedAvailabilityGroupChangeType"),
        ({"instanceRole": "Primary", "roleChangeType": "Planned"},
         "DistributedAvailabilityGroupSetRolePrimaryPlannedNotSupported"),
    ]
    for body, code in cases:
        status, _, data = await raw(arm, session, "POST", f"{LINKS}/dag/setRole?api-version=2025-01-01", body=body)
        assert data["error"]["code"] == code and status in (400, 409), body
    status, _, data = await raw(arm, session, "POST", f"{LINKS}/dag/failover?api-version=2025-01-01",
                                body={"failoverType": "Sometime"})
    assert status == 400 and data["error"]["code"] == "InvalidParameterValue"
    status, _, data = await raw(arm, session, "POST", f"{LINKS}/dag/failover?api-version=2022-11-01-preview",
                                body={"failoverType": "Planned"})
    assert status == 400 and data["error"]["code"] == "NoRegisteredProviderFound"


async def test_failed_lro_and_retry_after(arm, session, sql, world, engine):
    world.faults.fail_next_lro = "DistributedAvailabilityGroupFailoverSecondariesNotSynchronizing"
    poller = await sql.distributed_availability_groups.begin_create_or_update("rg-prod", "mi-prod", "dag",
                                                                              link_body())
    with pytest.raises(HttpResponseError) as e:
        await poller.result()
    assert e.value.error.code == "DistributedAvailabilityGroupFailoverSecondariesNotSynchronizing"
    assert world.faults.fail_next_lro is None and "dag" not in world.managed_instances["mi-prod"].links
    assert not engine.calls  # a failed operation has no effect

    # raw protocol: 202 + both headers, no Retry-After unless the lab asks for it
    body = link_body().as_dict()
    status, headers, _ = await raw(arm, session, "PUT", f"{LINKS}/dag?api-version=2025-08-01-preview", body=body)
    assert status == 202 and "Retry-After" not in headers
    status_url, location = headers["Azure-AsyncOperation"], headers["Location"]
    assert "2025-08-01-preview" in status_url and status_url.startswith(arm.base_url)
    # finishes on the lab clock without anyone polling (az --no-wait)
    op = list(arm.lro.operations.values())[-1]
    for _ in range(100):
        if op.status != "InProgress":
            break
        await asyncio.sleep(0.02)
    assert op.status == "Succeeded"
    async with session.get(status_url, headers={"Authorization": f"Bearer {arm.access_token()}"}) as r:
        assert (await r.json())["status"] == "Succeeded"
    async with session.get(location, headers={"Authorization": f"Bearer {arm.access_token()}"}) as r:
        assert r.status == 200 and (await r.json())["properties"]["linkMode"] == "SingleDatabase"

    world.faults.arm_retry_after = 1  # what az needs to poll faster than every 30 s
    world.clock.set_speed(1.0)  # keep the next operation running while we look at it
    status, headers, _ = await raw(arm, session, "PATCH", f"{LINKS}/dag?api-version=2025-01-01",
                                   body={"properties": {"replicationMode": "Sync"}})
    assert status == 202 and headers["Retry-After"] == "1"
    auth = {"Authorization": f"Bearer {arm.access_token()}"}
    async with session.get(headers["Azure-AsyncOperation"], headers=auth) as r:
        assert r.headers["Retry-After"] == "1" and (await r.json())["status"] == "InProgress"
    async with session.get(headers["Location"], headers=auth) as r:
        assert r.status == 202 and r.headers["Retry-After"] == "1"
    world.clock.advance(5)  # the control API can jump simulated time
    async with session.get(headers["Azure-AsyncOperation"], headers=auth) as r:
        assert "Retry-After" not in r.headers and (await r.json())["status"] == "Succeeded"
    assert world.managed_instances["mi-prod"].links["dag"].replication_mode == "Sync"


async def test_paging_and_schema_versions(arm, session, sql, world):
    mi = world.managed_instances["mi-prod"]
    mi.is_general_purpose_v2 = True
    for i in range(120):
        mi.links[f"link{i:03d}"] = MiLink(f"link{i:03d}", "ag", "ag_mi", "TCP://10.0.0.4:5022", databases=[f"db{i}"])
    names = [x.name async for x in sql.distributed_availability_groups.list_by_instance("rg-prod", "mi-prod")]
    assert names == [f"link{i:03d}" for i in range(120)]
    pages = [r for r in arm.requests if r["path"].lower().endswith("/distributedavailabilitygroups")]
    assert len(pages) == 3
    status, _, old = await raw(arm, session, "GET", f"{LINKS}/link007?api-version=2021-11-01")
    assert status == 200 and old["properties"]["targetDatabase"] == "db7"
    assert old["properties"]["sourceEndpoint"] == "TCP://10.0.0.4:5022"
    status, _, new = await raw(arm, session, "GET", f"{LINKS}/link007?api-version=2025-08-01-preview")
    assert new["properties"]["linkMode"] == "SingleDatabase" and "targetDatabase" not in new["properties"]


async def test_multi_database_links_and_old_schema_create(arm, session, world, engine):
    mi = world.managed_instances["mi-prod"]
    body = {"properties": {"partnerAvailabilityGroupName": "AG_multi", "instanceAvailabilityGroupName": "AG_multi_MI",
                           "partnerEndpoint": "tcp://10.0.0.4:5022", "instanceLinkRole": "Secondary",
                           "seedingMode": "Automatic", "linkMode": "MultiDatabase",
                           "databases": [{"databaseName": "db1"}, {"databaseName": "Db2"}]}}
    status, headers, _ = await raw(arm, session, "PUT", f"{LINKS}/multi?api-version=2025-01-01", body=body)
    assert status == 400  # two databases need linkMode, which 2025-01-01 does not know
    status, headers, _ = await raw(arm, session, "PUT", f"{LINKS}/multi?api-version=2025-08-01-preview", body=body)
    assert status == 202
    assert {k: d.state for k, d in mi.databases.items()} == {"appdb": "Online", "db1": "Restoring", "db2": "Restoring"}
    patch = {"properties": {"databases": [{"databaseName": "db1"}, {"databaseName": "db3"}]}}
    status, headers, _ = await raw(arm, session, "PATCH", f"{LINKS}/multi?api-version=2025-08-01-preview", body=patch)
    assert status == 202
    assert mi.links["multi"].databases == ["db1", "db3"]
    assert (mi.databases["db2"].state, mi.databases["db3"].state) == ("Online", "Restoring")
    status, _, got = await raw(arm, session, "GET", f"{LINKS}/multi?api-version=2025-08-01-preview")
    assert got["properties"]["linkMode"] == "MultiDatabase"
    assert [d["databaseName"] for d in got["properties"]["databases"]] == ["db1", "db3"]

    old = {"properties": {"targetDatabase": "db9", "sourceEndpoint": "TCP://10.0.0.4:5022",
                          "primaryAvailabilityGroupName": "AG_db9", "secondaryAvailabilityGroupName": "AG_db9_MI"}}
    status, _, _ = await raw(arm, session, "PUT", f"{LINKS}/old?api-version=2021-11-01", body=old)
    assert status == 202
    link = mi.links["old"]
    assert (link.partner_availability_group_name, link.databases, link.instance_link_role) == (
        "AG_db9", ["db9"], "Secondary")
    status, _, got = await raw(arm, session, "GET", f"{LINKS}/old?api-version=2022-08-01-preview")
    assert got["properties"]["instanceRole"] == "Secondary" and got["properties"]["linkState"] == "Seeding"
