"""The version/direction support matrix (domain.md §1.1), as data so it is easy to correct.

Builds are compared as 4-part tuples. Items marked [UNVERIFIED] in the reference are kept
here with a note; change the table, not the code, when better evidence arrives.
"""

from __future__ import annotations

from dataclasses import dataclass

Version = tuple[int, int, int, int]

MAJOR_NAMES = {13: "SQL Server 2016", 14: "SQL Server 2017", 15: "SQL Server 2019", 16: "SQL Server 2022",
               17: "SQL Server 2025"}


def parse_version(text: str) -> Version:
    """'16.0.4135.4' → (16, 0, 4135, 4); missing parts are 0; garbage raises ValueError."""
    parts = [int(p) for p in str(text).strip().split(".") if p != ""]
    if not parts or len(parts) > 4:
        raise ValueError(f"not a SQL Server version: {text!r}")
    return tuple(parts + [0] * (4 - len(parts)))  # type: ignore[return-value]


def fmt(version: Version) -> str:
    return ".".join(str(p) for p in version)


@dataclass(frozen=True)
class Support:
    """What one SQL Server build can do with a managed instance."""

    major: int
    name: str
    minimum_sql_first: Version | None  # SQL Server as initial primary
    minimum_mi_first: Version | None  # managed instance as initial primary
    minimum_tsql_failover: Version | None
    two_way: bool  # failback / reverse direction possible
    needs_connect_pack: bool
    note: str = ""


MATRIX: dict[int, Support] = {
    13: Support(13, "SQL Server 2016", (13, 0, 7000, 253), None, None, False, True,
                "SP3 plus the Azure Connect pack; Windows only; a single-node WSFC is required."),
    14: Support(14, "SQL Server 2017", (14, 0, 3490, 10), None, None, False, True,
                "CU31 plus the Azure Connect pack."),
    15: Support(15, "SQL Server 2019", (15, 0, 4312, 2), None, None, False, False,
                "CU20 or later; failover to the managed instance ends the link (one way)."),
    16: Support(16, "SQL Server 2022", (16, 0, 1000, 6), (16, 0, 4095, 4), (16, 0, 4125, 3), True, False,
                "CU10 for a managed instance as initial primary; CU13 for failover with T-SQL."),
    17: Support(17, "SQL Server 2025", (17, 0, 1000, 7), (17, 0, 1000, 7), (17, 0, 1000, 7), True, False, ""),
}

# The managed instance update policy that allows two-way DR with each major version.
MATCHING_POLICY = {16: "SQLServer2022", 17: "SQLServer2025"}


def support_for(version: Version) -> Support | None:
    return MATRIX.get(version[0])
