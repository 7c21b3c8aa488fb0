"""pyodbc + Microsoft ODBC Driver 18 against the TDS server (TLS inside PRELOGIN, sp_prepexec, ...)."""

from __future__ import annotations

import datetime as dt
import decimal
import struct
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from .tds_helpers import PASSWORD, USER, EchoServer, echo, expected_all_types, odbc_driver, run_client

DRIVER = "ODBC Driver 18 for SQL Server"
pyodbc = pytest.importorskip("pyodbc")


def conn_str(port: int, *, password: str = PASSWORD, extra: str = "Encrypt=yes;TrustServerCertificate=yes") -> str:
    return (f"DRIVER={{{DRIVER}}};SERVER=tcp:localhost,{port};UID={USER};PWD={password};{extra};"
            "LoginTimeout=10")


def _dto(raw: bytes) -> dt.datetime:
    """pyodbc has no datetimeoffset support: decode SQL_SS_TIMESTAMPOFFSET_STRUCT."""
    y, mo, d, h, mi, s, ns, tzh, tzm = struct.unpack("<6hI2h", raw)
    return dt.datetime(y, mo, d, h, mi, s, ns // 1000, dt.timezone(dt.timedelta(hours=tzh, minutes=tzm)))


@pytest.fixture
def cnxn(server: EchoServer) -> Iterator[Any]:
    odbc_driver(DRIVER)
    cn = pyodbc.connect(conn_str(server.port), timeout=10)
    cn.add_output_converter(-155, _dto)
    yield cn
    cn.close()


def test_connect_over_tls_and_select_1(server: EchoServer) -> None:
    odbc_driver(DRIVER)
    mark = server.mark()
    cnxn = pyodbc.connect(conn_str(server.port), timeout=10)
    assert cnxn.cursor().execute("SELECT 1").fetchval() == 1
    assert cnxn.getinfo(pyodbc.SQL_DBMS_VER).startswith("16.00.4135")
    cnxn.close()
    log = server.log(mark)
    assert "(app 'python" in log and ", TLS, packet size 0, TDS 0x74000004)" in log
    # Driver 18 asks for the type table by name on connect (pyodbc's datetime precision comes from it).
    assert "RPC [sys].sp_datatype_info_100" in log


def test_every_column_type_and_nulls(cnxn: Any) -> None:
    names = [n for n, _t, _v in echo.ALL_TYPES if "variant" not in n]  # pyodbc can't read sql_variant ints
    cur = cnxn.cursor().execute("select types " + ",".join(names))
    assert [d[0] for d in cur.description] == names
    row, nulls = cur.fetchall()
    expected = expected_all_types()
    got = dict(zip(names, row, strict=True))
    got["c_guid"] = uuid.UUID(got["c_guid"])  # pyodbc returns GUIDs as text
    assert got == {n: expected[n] for n in names}
    assert isinstance(got["c_decimal"], decimal.Decimal) and isinstance(got["c_date"], dt.date)
    assert len(got["c_nvarchar_max"]) > 10_000
    assert tuple(nulls) == (None,) * len(names)


def test_sql_variant_nvarchar(cnxn: Any) -> None:
    assert cnxn.cursor().execute("SELECT SERVERPROPERTY('ProductVersion')").fetchval() == "16.0.4135.4"


def test_parameters_including_none(cnxn: Any) -> None:
    assert tuple(cnxn.cursor().execute("SELECT ?, ?, ?", 1, "x", None).fetchone()) == (1, "x", None)


def test_describe_undeclared_parameters(cnxn: Any) -> None:
    """A bound None makes Driver 18 ask the server for the parameter's type."""
    cur = cnxn.cursor().execute("SELECT ?", None)
    assert cur.fetchval() is None and cur.description[0][1] is str  # default: nvarchar(4000)
    cur = cnxn.cursor().execute("SELECT typed ?", None)
    assert cur.fetchval() is None and cur.description[0][1] is int  # from backend.describe_parameters


def test_parameter_types_round_trip(cnxn: Any) -> None:
    values = [2**40, -7, 2.5, decimal.Decimal("123.4500"), "\u00e9t\u00e9", "y" * 5000, b"\x00\xff",
              b"z" * 9000, dt.date(2020, 2, 29), dt.time(1, 2, 3), True, uuid.UUID(int=5)]
    row = cnxn.cursor().execute("SELECT " + ", ".join("?" * len(values)), *values).fetchone()
    got = list(row)
    got[-1] = uuid.UUID(got[-1])
    assert got == values


def test_datetime2_keeps_microseconds(cnxn: Any) -> None:
    value = dt.datetime(2024, 1, 2, 3, 4, 5, 123456)
    assert cnxn.cursor().execute("SELECT ?", value).fetchval() == value


def test_fast_executemany_packs_many_rpcs_per_message(server: EchoServer, cnxn: Any) -> None:
    cur = cnxn.cursor()
    cur.execute("DELETE FROM t")
    cur.fast_executemany = True
    mark = server.mark()
    cur.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"v{i}") for i in range(300)])
    assert "RPC message with" in server.log(mark)
    rows = cur.execute("SELECT * FROM t").fetchall()
    assert [tuple(r) for r in rows] == [(str(i), f"v{i}") for i in range(300)]


def test_wrong_password_is_18456(server: EchoServer) -> None:
    odbc_driver(DRIVER)
    with pytest.raises(pyodbc.Error) as err:
        pyodbc.connect(conn_str(server.port, password="wrong"), timeout=10)
    assert "18456" in str(err.value) and "Login failed for user 'sa'" in str(err.value)


def test_query_timeout_sends_attention_and_connection_survives(cnxn: Any) -> None:
    cnxn.timeout = 1
    cur = cnxn.cursor()
    start = time.monotonic()
    with pytest.raises(pyodbc.Error) as err:
        cur.execute("WAITFOR DELAY '00:00:05'")
    assert "HYT00" in str(err.value)
    assert time.monotonic() - start < 4
    cnxn.timeout = 0
    assert cnxn.cursor().execute("SELECT 2").fetchval() == 2


def test_unknown_statement_raises_102_on_execute(cnxn: Any) -> None:
    cur = cnxn.cursor()
    with pytest.raises(pyodbc.ProgrammingError) as err:
        cur.execute("frobnicate the database")
    assert "(102)" in str(err.value) and "Incorrect syntax near 'frobnicate'" in str(err.value)
    with pytest.raises(pyodbc.Error, match=r"\(102\)"):
        cur.execute("frobnicate ?", 1)  # the sp_prepexec path
    assert cur.execute("SELECT 3").fetchval() == 3


def test_error_after_a_result_set_comes_on_nextset(cnxn: Any) -> None:
    cur = cnxn.cursor().execute("SELECT 1; RAISERROR('late', 16, 1)")
    assert cur.fetchval() == 1
    with pytest.raises(pyodbc.Error, match=r"late \(50000\)"):
        cur.nextset()


def test_backend_exception_is_a_generic_error(cnxn: Any) -> None:
    cur = cnxn.cursor()
    with pytest.raises(pyodbc.Error, match="Internal error in the lab SQL backend: RuntimeError"):
        cur.execute("boom")
    assert cur.execute("SELECT 4").fetchval() == 4


def test_several_result_sets(cnxn: Any) -> None:
    cur = cnxn.cursor().execute("SELECT 1; SELECT 2; SELECT 3")
    sets = [cur.fetchall()]
    while cur.nextset():
        sets.append(cur.fetchall())
    assert [[tuple(r) for r in s] for s in sets] == [[(1,)], [(2,)], [(3,)]]


def test_info_messages_and_row_counts(cnxn: Any) -> None:
    cur = cnxn.cursor()
    cur.execute("PRINT 'hello'")
    assert any("hello" in m[1] for m in cur.messages)
    assert cur.execute("outcomes count").rowcount == 3


def test_use_database_sends_envchange(cnxn: Any) -> None:
    cnxn.autocommit = True
    cur = cnxn.cursor()
    cur.execute("USE labdb")
    assert cur.execute("SELECT DB_NAME()").fetchval() == "labdb"
    assert cnxn.getinfo(pyodbc.SQL_DATABASE_NAME) == "labdb"  # the driver learned it from ENVCHANGE


def test_transactions_use_the_transaction_manager(server: EchoServer, cnxn: Any) -> None:
    cur = cnxn.cursor()
    assert cur.execute("SELECT @@TRANCOUNT").fetchval() == 1  # autocommit off: TM BEGIN after login
    mark = server.mark()
    cnxn.commit()  # TM COMMIT with fBeginXact: ENVCHANGE 9 then 8
    assert cur.execute("SELECT @@TRANCOUNT").fetchval() == 1
    cnxn.rollback()
    log = server.log(mark)
    assert "TRANSACTION_MANAGER request 7" in log and "TRANSACTION_MANAGER request 8" in log


def test_odbc_call_escape_goes_to_backend_call(cnxn: Any) -> None:
    cur = cnxn.cursor()
    assert tuple(cur.execute("{call lab_echo_proc(?, ?)}", 3, "q").fetchone()) == (3, "q")
    with pytest.raises(pyodbc.Error, match=r"\(2812\)"):
        cur.execute("{call no_such_proc(?)}", 1)


def test_certificate_validation_and_strict_mode(server: EchoServer) -> None:
    """Full validation reads SSL_CERT_FILE when the driver loads: run in a fresh process."""
    odbc_driver(DRIVER)
    code = f"""
        import pyodbc
        def attempt(host, extra):
            cs = ("DRIVER={{{DRIVER}}};SERVER=tcp:" + host + ",{server.port};UID={USER};PWD={PASSWORD};"
                  + extra + ";LoginTimeout=10")
            try:
                return pyodbc.connect(cs, timeout=10).cursor().execute("SELECT 1").fetchval()
            except pyodbc.Error as exc:
                return str(exc)
        result = {{
            "validated": attempt("localhost", "Encrypt=yes;TrustServerCertificate=no"),
            "wrong_name": attempt("127.0.0.1", "Encrypt=yes;TrustServerCertificate=no"),
            "strict": attempt("localhost", "Encrypt=strict"),
            "no_encrypt": attempt("localhost", "Encrypt=no"),
        }}
    """
    mark = server.mark()
    result = run_client(code, env={"SSL_CERT_FILE": server.ca})
    assert result["validated"] == 1
    assert "certificate verify failed" in result["wrong_name"]
    assert result["strict"] == 1
    assert result["no_encrypt"] == 1  # client OFF -> server NOT_SUP -> plaintext, no login-only TLS
    log = server.log(mark)
    assert "TLS strict (TDS 8)" in log and ", plaintext, " in log


def test_untrusted_certificate_is_refused(server: EchoServer) -> None:
    odbc_driver(DRIVER)
    code = f"""
        import pyodbc
        try:
            pyodbc.connect("DRIVER={{{DRIVER}}};SERVER=tcp:localhost,{server.port};UID={USER};"
                           "PWD={PASSWORD};Encrypt=yes;TrustServerCertificate=no;LoginTimeout=10", timeout=10)
            result = "connected"
        except pyodbc.Error as exc:
            result = str(exc)
    """
    assert "certificate verify failed" in run_client(code, env={"SSL_CERT_FILE": "/nonexistent"})


def test_server_without_certificate_refuses_encrypt_yes(plain_server: EchoServer) -> None:
    odbc_driver(DRIVER)
    with pytest.raises(pyodbc.Error):
        pyodbc.connect(conn_str(plain_server.port), timeout=10)
    cn = pyodbc.connect(conn_str(plain_server.port, extra="Encrypt=no"), timeout=10)
    assert cn.cursor().execute("SELECT 5").fetchval() == 5
    cn.close()
