"""The replication engine's semantics, in-process (the wire protocols are tested over sockets)."""

from __future__ import annotations

import pytest

from milink_tui.lab import scenarios
from milink_tui.lab.hooks import LabError
from milink_tui.lab.model import Workload
from milink_tui.lab.replication import TF_SEEDING_LOG_GUARD, ReplicationEngine


def lab(name: str):
    world = scenarios.build(name)
    return world, ReplicationEngine(world)


def run(engine: ReplicationEngine, seconds: float, step: float = 0.5) -> None:
    engine.advance(seconds, step)


def stream(engine: ReplicationEngine, db: str):
    for p in engine.pairings():
        if db in p.link.streams:
            return p, p.link.streams[db]
    raise AssertionError(f"no stream for {db}")


def test_linked_links_keep_up_with_the_workload() -> None:
    world, engine = lab("linked")
    sql_db = world.sql_instances["SQLLAB01"].databases["SalesDb"]
    start = sql_db.transactions
    run(engine, 10)
    _, s = stream(engine, "SalesDb")
    assert sql_db.transactions - start == 500  # 50 tps for 10 s
    assert s.connected and s.phase == "SYNCHRONIZING"
    assert s.hardened_transactions == sql_db.transactions
    assert s.log_send_queue_kb == 0
    assert s.log_send_rate_kbs > 0


def test_lagging_send_queue_and_lag_grow() -> None:
    world, engine = lab("lagging")
    run(engine, 4)
    _, s = stream(engine, "SalesDb")
    q1 = s.log_send_queue_kb
    run(engine, 4)
    assert s.log_send_queue_kb > q1 > 0
    assert s.secondary_lag_seconds >= 1


def test_certificate_mismatch_keeps_the_link_disconnected_with_41974() -> None:
    world, engine = lab("broken")
    run(engine, 3)
    p, s = stream(engine, "SalesDb")
    assert not s.connected
    assert s.last_error is not None and s.last_error[0] == 41974
    assert "has not been imported to SQL Server" in s.last_error[1]
    assert p.dag.last_connect_error[0] == 41974


def test_planned_failover_under_workload_loses_nothing_and_back() -> None:
    world, engine = lab("linked")
    inst = world.sql_instances["SQLLAB01"]
    run(engine, 3)
    p, s = stream(engine, "SalesDb")
    engine.sql_failover(inst, p.dag, force=False)
    assert p.dag.role == "SECONDARY" and p.link.instance_link_role == "Primary"
    assert world.lost_transactions == 0
    mi_db = p.mi.databases["salesdb"]
    assert mi_db.transactions == inst.databases["SalesDb"].transactions
    run(engine, 4)  # the workload now writes to the managed instance
    assert mi_db.transactions > inst.databases["SalesDb"].transactions - 1
    engine.mi_failover(p.mi, p.link, "Planned")
    assert p.dag.role == "PRIMARY" and p.link.instance_link_role == "Secondary"
    assert world.lost_transactions == 0
    assert inst.databases["SalesDb"].transactions == mi_db.transactions


def test_planned_failover_on_a_secondary_mi_is_refused() -> None:
    world, engine = lab("linked")
    p, _ = stream(engine, "SalesDb")
    with pytest.raises(LabError) as e:
        engine.mi_failover(p.mi, p.link, "Planned")
    assert e.value.code == "DistributedAvailabilityGroupFailoverInvalidInstanceRole"


def test_forced_failover_during_partition_loses_exactly_the_unhardened() -> None:
    world, engine = lab("linked")
    run(engine, 2)
    p, s = stream(engine, "SalesDb")
    world.faults.partitioned = True
    run(engine, 5)
    sql_db = world.sql_instances["SQLLAB01"].databases["SalesDb"]
    mi_db = p.mi.databases["salesdb"]
    unhardened = sql_db.transactions - s.hardened_transactions
    assert unhardened == 250  # 50 tps x 5 s written while the MI could not receive them
    assert world.lost_transactions == 0
    engine.mi_failover(p.mi, p.link, "ForcedAllowDataLoss")
    assert p.link.instance_link_role == "Primary"
    assert p.dag.role == "PRIMARY"  # partitioned: SQL Server never heard of it (split brain)
    assert world.lost_transactions == unhardened  # only SalesDb is in this link
    assert mi_db.transactions == s.hardened_transactions


def test_seeding_moves_then_synchronizes() -> None:
    world, engine = lab("ready")
    inst = world.sql_instances["SQLLAB01"]
    gp = world.managed_instances["sqlmi-lab-gp"]
    world.faults.bandwidth_bps = 200 * 1024 * 1024  # Orders is 1 GB + log
    scenarios._link(world, inst, gp, "Orders", seeded=False)
    for s in gp.links["dag_orders"].streams.values():
        s.phase, s.connected = "INITIALIZING", False
    engine.tick(1)
    _, s = stream(engine, "Orders")
    assert s.phase == "SEEDING" and 0 < s.seeding_percent < 100
    assert gp.databases["orders"].state == "Restoring"
    run(engine, 10)
    assert s.phase == "SYNCHRONIZING" and s.seeding_percent == 100
    assert gp.databases["orders"].state == "Online"


def _seeding_link(world):
    inst = world.sql_instances["SQLLAB01"]
    gp = world.managed_instances["sqlmi-lab-gp"]
    world.faults.bandwidth_bps = 10 * 1024 * 1024
    scenarios._link(world, inst, gp, "Orders", seeded=False)
    for s in gp.links["dag_orders"].streams.values():
        s.phase, s.connected = "INITIALIZING", False
    return inst


def test_log_backup_during_seeding_breaks_it_with_1412() -> None:
    world, engine = lab("ready")
    inst = _seeding_link(world)
    engine.tick(1)
    engine.sql_log_backup(inst, "Orders")
    run(engine, 3)
    _, s = stream(engine, "Orders")
    assert s.last_error[0] == 1412 and s.phase == "NOT SYNCHRONIZING"


def test_trace_flag_12381_protects_seeding_from_log_backups() -> None:
    world, engine = lab("ready")
    inst = _seeding_link(world)
    inst.trace_flags.add(TF_SEEDING_LOG_GUARD)
    engine.tick(1)
    engine.sql_log_backup(inst, "Orders")
    run(engine, 2)
    _, s = stream(engine, "Orders")
    assert s.phase == "SEEDING" and s.last_error is None


def test_seeding_restarts_after_an_interruption() -> None:
    world, engine = lab("ready")
    _seeding_link(world)
    engine.tick(1)
    _, s = stream(engine, "Orders")
    assert s.seeding_attempts == 1
    world.faults.partitioned = True
    engine.tick(1)
    assert s.phase == "INITIALIZING" and s.seeding_done_bytes == 0
    world.faults.partitioned = False
    engine.tick(1)
    assert s.phase == "SEEDING" and s.seeding_attempts == 2


def test_workload_follows_the_primary_after_forced_failover() -> None:
    world, engine = lab("linked")
    p, s = stream(engine, "Orders")
    world.workloads[("SQLLAB01", "Orders")] = Workload(10, 1024)
    engine.mi_failover(p.mi, p.link, "ForcedAllowDataLoss")
    mi_db = p.mi.databases["orders"]
    before = mi_db.transactions
    run(engine, 2)
    assert mi_db.transactions - before == 20


def test_tsql_failover_refusals_carry_the_sys_messages_texts() -> None:
    """41122 (already primary), 41142 (not synchronized), 19504 (DAG planned failover before 2022 CU13)."""
    world, engine = lab("linked")
    inst = world.sql_instances["SQLLAB01"]
    run(engine, 1)
    p, s = stream(engine, "SalesDb")
    with pytest.raises(LabError) as caught:
        engine.sql_failover(inst, p.dag, force=True)
    assert caught.value.number == 41122
    assert caught.value.text.startswith("Cannot failover availability group 'DAG_SalesDb' to this instance of SQL "
                                        "Server. The local availability replica is already the primary replica")
    world.faults.partitioned = True
    run(engine, 1)
    with pytest.raises(LabError) as caught:
        engine.sql_failover(inst, p.dag, force=False)
    assert caught.value.number == 41142
    assert caught.value.text.startswith("The availability replica for availability group 'DAG_SalesDb' on this "
                                        "instance of SQL Server cannot become the primary replica.")
    inst.version = "16.0.4003.1"  # CU1: T-SQL planned failover of a DAG is not there yet
    with pytest.raises(LabError) as caught:
        engine.sql_failover(inst, p.dag, force=False)
    assert (caught.value.number, caught.value.text) == (
        19504, "Cannot failover a distributed availability replica for availability group 'DAG_SalesDb'. Only force "
               "failover is supported in this version of SQL Server.")
