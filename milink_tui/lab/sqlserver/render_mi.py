"""Azure SQL Managed Instance's Service Fabric DMVs, rendered from the ManagedInstance model.

The documented network test (managed-instance-link-preparation, "Test the connection from SQL
Server to SQL Managed Instance") reads the node hosting the primary replica and its HadrPort from
these views; ARM does not expose them. The rows are shaped so that exactly that query returns
``mi.node_name`` and ``mi.hadr_port``: the replica address starts with the node's short name
before a backslash, the ClusterName parameter is the rest of the node's DNS name, and the
ManagedServer service name ends with the SQL/InstanceName parameter. On a SQL Server the views
are empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .context import ExecEnv, stable_guid
from .render import Row, g


def _mi(env: ExecEnv) -> Any:
    return getattr(env.inst, "managed_instance", None)


def app_name(mi: Any) -> str:
    """The instance's Service Fabric application id (the SQL/InstanceName parameter)."""
    return format(mi._h, "x")[:12]


def _nodes(mi: Any) -> list[str]:
    """Short names of the nodes hosting the instance's replicas: the primary's first (BC has 4)."""
    short, _, _ = mi.node_name.partition(".")
    number = int(short[2:])
    count = 4 if mi.tier == "BusinessCritical" else 1
    return [short] + [f"DB{number + i}" for i in range(1, count)]


def r_fabric_config_parameters(env: ExecEnv) -> Iterable[Row]:
    mi = _mi(env)
    if mi is None:
        return
    _, _, cluster = mi.node_name.partition(".")
    yield {"section_name": "SQL", "parameter_name": "InstanceName", "value": app_name(mi)}
    yield {"section_name": "SQL", "parameter_name": "HadrPort", "value": str(mi.hadr_port)}
    yield {"section_name": "Network", "parameter_name": "DnsRecordName", "value": mi.fqdn}
    yield {"section_name": "Federation", "parameter_name": "ClusterName", "value": cluster}
    # the same parameter name in another section: the documented query filters on section_name
    yield {"section_name": "Trace", "parameter_name": "InstanceName", "value": "MSSQLSERVER"}


def _partitions(mi: Any) -> list[tuple[Any, str]]:
    return [(stable_guid(mi.name, "partition", "sql"), f"fabric:/Worker.CL/ManagedServer/{app_name(mi)}"),
            (stable_guid(mi.name, "partition", "fm"), "fabric:/System/FailoverManagerService")]


def r_fabric_partitions(env: ExecEnv) -> Iterable[Row]:
    mi = _mi(env)
    if mi is None:
        return
    for pid, service in _partitions(mi):
        yield {"partition_id": g(pid), "service_name": service}


def r_fabric_replicas(env: ExecEnv) -> Iterable[Row]:
    mi = _mi(env)
    if mi is None:
        return
    nodes = _nodes(mi)
    (sql_pid, _), (fm_pid, _) = _partitions(mi)
    for i, node in enumerate(nodes):  # role 2 = primary, 3 = active secondary
        yield {"partition_id": g(sql_pid), "replica_id": 132_000_000_000_000_000 + i, "replica_role": 2 if i == 0 else 3,
               "replica_address": f"{node}\\{app_name(mi)}:{mi.hadr_port}", "node_name": node}
    yield {"partition_id": g(fm_pid), "replica_id": 131_000_000_000_000_000, "replica_role": 2,
           "replica_address": f"{nodes[-1]}\\FM", "node_name": nodes[-1]}


def r_fabric_nodes(env: ExecEnv) -> Iterable[Row]:
    mi = _mi(env)
    if mi is None:
        return
    for i, node in enumerate(_nodes(mi)):
        yield {"node_name": node, "node_id": format(mi._h + i, "x")[-32:], "upgrade_domain": str(i),
               "fault_domain": f"fd:/{i}"}


RENDERERS = {
    "sys.dm_hadr_fabric_config_parameters": r_fabric_config_parameters,
    "sys.dm_hadr_fabric_partitions": r_fabric_partitions,
    "sys.dm_hadr_fabric_replicas": r_fabric_replicas,
    "sys.dm_hadr_fabric_nodes": r_fabric_nodes,
}
