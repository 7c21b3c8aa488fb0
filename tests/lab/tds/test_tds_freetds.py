"""pyodbc + FreeTDS (tdsodbc) with TDS 7.4: plaintext by default, TLS with Encryption=require.

FreeTDS sends sp_datatype_info_100 as a SQL batch and never gets fast_executemany (it crashes).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from .tds_helpers import PASSWORD, USER, EchoServer, echo, expected_all_types, odbc_driver

DRIVER = "FreeTDS"
pyodbc = pytest.importorskip("pyodbc")


def conn_str(port: int, extra: str = "", password: str = PASSWORD) -> str:
    return f"DRIVER={{{DRIVER}}};SERVER=127.0.0.1;Port={port};TDS_Version=7.4;UID={USER};PWD={password}{extra}"


@pytest.fixture(params=["plain", "tls"])
def cnxn(request: pytest.FixtureRequest, server: EchoServer) -> Iterator[Any]:
    odbc_driver(DRIVER)
    extra = ";Encryption=require" if request.param == "tls" else ""
    cn = pyodbc.connect(conn_str(server.port, extra), timeout=10)
    yield cn
    cn.close()


@pytest.mark.parametrize(("extra", "mode"), [("", "plaintext"), (";Encryption=require", "TLS")])
def test_connect_and_negotiated_encryption(server: EchoServer, extra: str, mode: str) -> None:
    odbc_driver(DRIVER)
    mark = server.mark()
    cn = pyodbc.connect(conn_str(server.port, extra), timeout=10)
    assert cn.cursor().execute("SELECT 1").fetchval() == 1
    cn.close()
    log = server.log(mark)
    assert f"(app '', {mode}, packet size 4096, TDS 0x74000004)" in log  # default OFF is answered NOT_SUP: plaintext
    assert "SQL_BATCH 'sp_datatype_info_100 93,3'" in log  # answered by the protocol layer


def test_every_column_type(cnxn: Any) -> None:
    names = [n for n, _t, _v in echo.ALL_TYPES if "variant" not in n and n != "c_dto"]
    cur = cnxn.cursor().execute("select types " + ",".join(names))
    row, nulls = cur.fetchall()
    expected = expected_all_types()
    got = dict(zip(names, row, strict=True))
    got["c_guid"] = uuid.UUID(got["c_guid"])
    assert got == {n: expected[n] for n in names}
    assert tuple(nulls) == (None,) * len(names)


def test_parameters_and_datetime2(cnxn: Any) -> None:
    cur = cnxn.cursor()
    assert tuple(cur.execute("SELECT ?, ?, ?", 1, "x", None).fetchone()) == (1, "x", None)
    value = dt.datetime(2024, 1, 2, 3, 4, 5, 123456)
    assert cur.execute("SELECT ?", value).fetchval() == value
    long_text = "\u00e9" * 6000  # nvarchar(max) parameter
    assert cur.execute("SELECT ?", long_text).fetchval() == long_text


def test_long_statement_arrives_as_ntext(cnxn: Any) -> None:
    """FreeTDS sends sp_prepexec's statement as NTEXT once it is longer than 4000 characters."""
    sql = "SELECT " + ", ".join(["1"] * 1500) + ", ?"
    row = cnxn.cursor().execute(sql, "tail").fetchone()
    assert len(row) == 1501 and row[-1] == "tail"


def test_executemany_without_fast_path(cnxn: Any) -> None:
    cur = cnxn.cursor()
    cur.execute("DELETE FROM t")
    cur.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"w{i}") for i in range(20)])
    assert len(cur.execute("SELECT * FROM t").fetchall()) == 20


def test_errors(cnxn: Any) -> None:
    cur = cnxn.cursor()
    with pytest.raises(pyodbc.Error, match=r"Incorrect syntax near 'frobnicate'\. \(102\)"):
        cur.execute("frobnicate")
    with pytest.raises(pyodbc.Error, match=r"\(102\)"):
        cur.execute("frobnicate ?", 1)
    assert cur.execute("SELECT 7").fetchval() == 7


def test_timeout_then_usable(cnxn: Any) -> None:
    cnxn.timeout = 1
    cur = cnxn.cursor()
    start = time.monotonic()
    with pytest.raises(pyodbc.Error, match="HYT00"):
        cur.execute("WAITFOR DELAY '00:00:05'")
    assert time.monotonic() - start < 4
    cnxn.timeout = 0
    assert cnxn.cursor().execute("SELECT 8").fetchval() == 8


def test_wrong_password(server: EchoServer) -> None:
    odbc_driver(DRIVER)
    with pytest.raises(pyodbc.Error, match="18456"):
        pyodbc.connect(conn_str(server.port, password="nope"), timeout=10)
