"""The lab's network rules reach the replication engine: a new link whose redirect range is blocked
never starts and fails with 41962 after five minutes (LinkInitError); an established link times out."""

from __future__ import annotations

from milink_tui.lab import scenarios
from milink_tui.lab.model import PortBlock
from milink_tui.lab.replication import ReplicationEngine


def test_blocked_redirect_range_fails_a_new_link_with_41962_after_five_minutes() -> None:
    world = scenarios.build("ready-windows")
    engine = ReplicationEngine(world)
    inst, mi = world.sql_instances["SQLLAB01"], world.find_mi("sqlmi-lab-gp")
    world.network_blocks.append(PortBlock(11000, 11999, "sql-outbound"))
    link = scenarios._link(world, inst, mi, "Orders", seeded=False)
    engine.advance(240, step=5)
    stream = link.streams["Orders"]
    assert not stream.connected and stream.last_error is None and stream.phase == "INITIALIZING"  # still trying
    engine.advance(70, step=5)
    assert stream.last_error is not None and stream.last_error[0] == 41962
    assert "did not start within 5 minutes" in stream.last_error[1]


def test_opening_the_range_in_time_lets_the_link_seed() -> None:
    world = scenarios.build("ready-windows")
    engine = ReplicationEngine(world)
    inst, mi = world.sql_instances["SQLLAB01"], world.find_mi("sqlmi-lab-gp")
    world.network_blocks.append(PortBlock(11000, 11999, "sql-outbound", managed_instance="sqlmi-lab-gp"))
    link = scenarios._link(world, inst, mi, "Orders", seeded=False)
    engine.advance(60, step=5)
    world.network_blocks.clear()
    engine.advance(5, step=1)
    stream = link.streams["Orders"]
    assert stream.connected and stream.phase in ("SEEDING", "SYNCHRONIZING")


def test_blocking_an_established_link_times_it_out() -> None:
    world = scenarios.build("linked")
    engine = ReplicationEngine(world)
    world.network_blocks.append(PortBlock(5022, 5022, "mi-inbound"))
    engine.advance(2)
    p = next(p for p in engine.pairings() if "SalesDb" in p.link.streams)
    stream = p.link.streams["SalesDb"]
    assert not stream.connected and stream.last_error[0] == 35206


def test_the_return_path_matters_on_5022_only() -> None:
    """MI -> SQL Server rules: SQL Server's inbound 5022 stops a new link; an MI outbound rule on the
    redirect range (a port the return path never uses) does not."""
    world = scenarios.build("ready-windows")
    engine = ReplicationEngine(world)
    inst, mi = world.sql_instances["SQLLAB01"], world.find_mi("sqlmi-lab-gp")
    world.network_blocks.append(PortBlock(11000, 11999, "mi-outbound"))
    link = scenarios._link(world, inst, mi, "Orders", seeded=False)
    engine.advance(10, step=1)
    assert link.streams["Orders"].connected
    world.network_blocks[:] = [PortBlock(5022, 5022, "sql-inbound")]
    other = scenarios._link(world, inst, mi, "CRM", seeded=False)
    engine.advance(10, step=1)
    assert not other.streams["CRM"].connected
