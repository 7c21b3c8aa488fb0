"""A sample plan shared by the engine tests and assets/ (kept in one place)."""

from __future__ import annotations

import datetime as dt

from milink_tui.engine.plan import LinkPlan, ManagedInstanceRef, link_specs


def sample_plan(direction: str = "sql-first", databases: tuple[str, ...] = ("SalesDb", "Orders")) -> LinkPlan:
    return LinkPlan(
        direction=direction,  # type: ignore[arg-type]
        sql_server_name="SQLLAB01",
        sql_endpoint_host="10.0.0.4",
        mi=ManagedInstanceRef("sqlmi-lab-gp", "rg-milink-lab", "5f1c3a9e-0b7d-4c62-9a51-2d8e6f4b7c10",
                              "sqlmi-lab-gp.a1b2c3d4e5f6.database.windows.net"),
        links=link_specs(list(databases), "link"),
        certificate_expiry=dt.date(2027, 11, 23),
    )
