"""milink's quoting against the lab's own T-SQL parser (two independent implementations).

Any certificate or database name — ``]``, quotes, unicode, 128 characters — goes through
``quote_name``/``quote_literal`` into real statements, and the lab stores exactly the name given.
"""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milink_tui.engine.tsql import quote_literal, quote_name
from milink_tui.lab import scenarios
from milink_tui.lab.hooks import NoOps
from milink_tui.lab.sqlserver import SqlServerBackend

names = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=128).filter(
    lambda s: s.strip() == s and s.strip() != "")

WORLD = scenarios.build("ready")
BACKEND = SqlServerBackend(WORLD, scenarios.SQL_SERVER, NoOps())
SESSION = BACKEND.login("sa", scenarios.SA_PASSWORD, "master", "tests")


def run(sql: str, params=()):
    out = asyncio.run(BACKEND.execute(SESSION, sql, list(params)))
    errors = [o for o in out if getattr(o, "is_error", False)]
    assert not errors, errors
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names)
def test_certificate_names_survive_quoting(name: str) -> None:
    inst = WORLD.sql_instances[scenarios.SQL_SERVER]
    run(f"CREATE CERTIFICATE {quote_name(name)} WITH SUBJECT = {quote_literal('s ' + name[:40])}, "
        f"EXPIRY_DATE = N'12/31/2030'")
    try:
        assert name in inst.certificates or any(c.name == name for c in inst.certificates.values())
        rows = [o for o in run(f"SELECT name FROM sys.certificates WHERE name = {quote_literal(name)}")
                if hasattr(o, "rows")][0].rows
        assert rows == [(name,)]
    finally:
        run(f"DROP CERTIFICATE {quote_name(name)}")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names)
def test_database_names_survive_quoting(name: str) -> None:
    inst = WORLD.sql_instances[scenarios.SQL_SERVER]
    run(f"CREATE DATABASE {quote_name(name)}")
    try:
        assert inst.find_database(name) is not None and inst.find_database(name).name == name
    finally:
        run(f"DROP DATABASE {quote_name(name)}")
