"""Remediations milink applies itself when a check fails and the fix is safe.

Only fixes that are reversible and local are automatic: a global trace flag for the running
instance, the master key and the endpoint objects (which are executor steps anyway). Anything
that restarts the service (enabling Always On, startup trace flags) is shown, never done.
"""

from __future__ import annotations

from dataclasses import dataclass

from .facts import SqlRunner
from .steps import Secrets


@dataclass
class FixOutcome:
    fix: str
    applied: bool
    message: str


def describe(fix: str) -> str:
    """What applying ``fix`` will do, in one line for the confirmation prompt."""
    if fix.startswith("traceon:"):
        flag = int(fix.split(":", 1)[1])
        return (f"Run DBCC TRACEON({flag}, -1) now (until the next restart; add -T{flag} to the startup "
                "parameters to keep it).")
    return {
        "master_key": "Create the database master key in master (you choose the password; it is not stored).",
        "endpoint": "Create (or secure) the database mirroring endpoint with the link certificate — done as part "
                    "of the link setup.",
        "root_cas": "Import the Azure root certificates — done as part of the link setup.",
    }.get(fix, fix)


async def apply(fix: str, sql: SqlRunner, secrets: Secrets | None = None) -> FixOutcome:
    """Apply one automatic fix. Fixes that belong to the executor say so instead of acting twice."""
    if fix.startswith("traceon:"):
        flag = int(fix.split(":", 1)[1])
        await sql.run(f"DBCC TRACEON({flag}, -1) WITH NO_INFOMSGS;")
        return FixOutcome(fix, True, f"Trace flag {flag} is on globally until the next restart.")
    if fix == "master_key":
        if not secrets or not secrets.master_key_password:
            return FixOutcome(fix, False, "A master key password is needed.")
        from . import statements
        from .tsql import quote_literal

        await sql.run("USE master;\nIF NOT EXISTS (SELECT 1 FROM sys.symmetric_keys WHERE symmetric_key_id = 101)\n"
                      + statements.create_master_key(quote_literal(secrets.master_key_password)))
        return FixOutcome(fix, True, "The database master key exists.")
    if fix in ("endpoint", "root_cas"):
        return FixOutcome(fix, False, "This is created by the link setup itself (Executing actions page).")
    return FixOutcome(fix, False, f"No automatic fix named {fix!r}.")
