"""Readiness (Requirements + Select Databases) cost for 1, 10 and 100 databases against the lab.

Prints wall time and the SQL round trips each run took, counted both by milink's client and by
the lab. Goal: round trips independent of the database count; 100 databases in under 1 s.
Baseline in the same run: one `SELECT 1` round trip on the same connection.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("ODBCSYSINI", str(ROOT / ".odbc"))

from milink_tui.clients.connstr import SqlTarget  # noqa: E402
from milink_tui.clients.sql import connect  # noqa: E402
from milink_tui.engine import checks, eligibility  # noqa: E402
from milink_tui.engine.facts import read_databases, read_server  # noqa: E402
from milink_tui.engine.tsql import quote_name  # noqa: E402
from milink_tui.services.lab_process import LabProcess, control  # noqa: E402

TOTAL = 100


async def measure(lab: LabProcess) -> None:
    info = lab.info
    sql = await connect(SqlTarget("localhost", info.sql["port"], user=info.sql["user"],
                                  password=info.sql["password"], trust_server_certificate=True))
    t = time.perf_counter()
    for _ in range(20):
        await sql.run("SELECT 1")
    ping = (time.perf_counter() - t) / 20
    print(f"baseline SELECT 1 round trip: {ping * 1000:.1f} ms")
    # start from one user database: drop the scenario's others
    for d in await read_databases(sql):
        if d.name != "SalesDb":
            await sql.run(f"DROP DATABASE {quote_name(d.name)}")
    created = 1
    for target in (1, 10, TOTAL):
        while created < target:
            await sql.run(f"CREATE DATABASE [bench_{created:03d}]")
            created += 1
        control(info.control_url, "/counters/reset", {})
        before = sql.round_trips
        t = time.perf_counter()
        server, dbs = await asyncio.gather(read_server(sql), read_databases(sql))
        checks.run_checks(checks.CheckContext(server))
        eligibility.evaluate_all(dbs)
        took = time.perf_counter() - t
        lab_trips = control(info.control_url, "/state")["round_trips"].get("tds:SQLLAB01", 0)
        print(f"{len(dbs):4d} databases: {took * 1000:7.1f} ms, {sql.round_trips - before} round trips "
              f"(lab counted {lab_trips}), {took / ping:.0f}x a SELECT 1"
              f"{'  GOAL MISSED (1 s)' if len(dbs) >= TOTAL and took > 1 else ''}")
    await sql.close()


def main() -> None:
    lab = LabProcess("fresh")
    lab.start()
    try:
        asyncio.run(measure(lab))
    finally:
        lab.stop()


if __name__ == "__main__":
    sys.exit(main())
