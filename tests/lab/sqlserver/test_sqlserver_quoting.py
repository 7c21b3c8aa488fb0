"""Identifier and literal quoting: whatever name a client quotes correctly is stored exactly."""

from __future__ import annotations

import asyncio
import datetime as dt

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from milink_tui.lab.hooks import NoOps
from milink_tui.lab.sqlserver import SqlServerBackend
from milink_tui.lab.sqlserver.x509 import generate

from .sqlserver_helpers import Client, assert_no_errors, make_world

DER = generate("quoting", dt.datetime(2025, 1, 1), dt.datetime(2030, 1, 1)).der

names = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=128).filter(
    lambda s: s.strip() != "" and s == s.rstrip())


def bracket(name: str) -> str:
    return "[" + name.replace("]", "]]") + "]"


def nstring(text: str) -> str:
    return "N'" + text.replace("'", "''") + "'"


async def test_the_documented_example() -> None:
    world, inst = make_world()
    client = Client(SqlServerBackend(world, inst.name, NoOps()))
    assert_no_errors(await client.run(f"CREATE CERTIFICATE [we]]ird 'name ü] FROM BINARY = 0x{DER.hex()}"))
    assert await client.rows("SELECT name FROM sys.certificates") == [("we]ird 'name ü",)]
    assert list(inst.certificates) == ["we]ird 'name ü"]


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=names, subject=st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=60))
@example(name="]", subject="'")
@example(name="a]]b[c", subject="it''s")
@example(name="x' --", subject="/* not a comment */")
@example(name="?", subject="?")
@example(name="@p1", subject="@p1")
@example(name="GO", subject="GO")
@example(name="a.b", subject="N'x'")
@example(name="😀 ü " + "é" * 100, subject="😀")
@example(name="x" * 128, subject="")
def test_certificate_names_round_trip(name: str, subject: str) -> None:
    async def scenario() -> None:
        world, inst = make_world()
        client = Client(SqlServerBackend(world, inst.name, NoOps()))
        out = await client.run(f"CREATE CERTIFICATE {bracket(name)} FROM BINARY = 0x{DER.hex()}")
        assert_no_errors(out)
        assert list(inst.certificates) == [name]
        rows = await client.rows(f"SELECT name, CERT_ID({nstring(name)}) FROM sys.certificates "
                                 f"WHERE name = {nstring(name)}")
        assert rows == [(name, inst.certificates[name].certificate_id)]
        echoed = await client.rows(f"SELECT {nstring(subject)} AS s, {bracket(name)} = 1")
        assert echoed == [(subject, 1)]
        assert_no_errors(await client.run(f"DROP CERTIFICATE {bracket(name)}"))
        assert inst.certificates == {}

    asyncio.run(scenario())


EXISTING = {"master", "tempdb", "model", "msdb", "db1", "db2", "inmem"}


@settings(max_examples=40, deadline=None, database=None)
@given(name=names.filter(lambda s: s.lower() not in EXISTING))
@example(name="]")
@example(name="db name with spaces")
@example(name="x'; DROP DATABASE master; --")
@example(name="😀")
def test_database_names_round_trip(name: str) -> None:
    async def scenario() -> None:
        world, inst = make_world()
        client = Client(SqlServerBackend(world, inst.name, NoOps()))
        assert_no_errors(await client.run(f"CREATE DATABASE {bracket(name)}"))
        assert name in inst.databases and inst.databases[name].name == name
        rows = await client.rows(f"SELECT name, DB_NAME(DB_ID({nstring(name)})) FROM sys.databases "
                                 f"WHERE database_id = DB_ID({nstring(name)})")
        assert rows == [(name, name)]
        files = await client.rows(f"SELECT COUNT(*) FROM {bracket(name)}.sys.database_files")
        assert files == [(2,)]
        assert_no_errors(await client.run(f"USE {bracket(name)}"))
        assert client.session.database == name

    asyncio.run(scenario())


async def test_identifier_longer_than_128_is_rejected() -> None:
    world, inst = make_world()
    client = Client(SqlServerBackend(world, inst.name, NoOps()))
    err = await client.error(f"CREATE DATABASE [{'x' * 129}]")
    assert err.number == 103 and "is too long. Maximum length is 128." in err.text
