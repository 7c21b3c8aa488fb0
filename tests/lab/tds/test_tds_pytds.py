"""python-tds (pure Python client): NOT_SUP without cafile, TLS with it, TM BEGIN after login."""

from __future__ import annotations

import datetime as dt
import decimal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from .tds_helpers import PASSWORD, USER, EchoServer, echo, expected_all_types

pytds = pytest.importorskip("pytds")
# python-tds itself still uses pyOpenSSL's deprecated X509 accessors when validating the host name.
pytestmark = pytest.mark.filterwarnings("ignore:X509.get_subject is deprecated:DeprecationWarning")


def connect(server: EchoServer, tls: bool = False, **kw: Any) -> Any:
    kw.setdefault("timeout", 10)
    if tls:
        kw.update(cafile=server.ca, dsn="localhost")  # validation needs the name on the certificate
    else:
        kw.setdefault("dsn", "127.0.0.1")
    return pytds.connect(port=server.port, user=kw.pop("user", USER), password=kw.pop("password", PASSWORD),
                         autocommit=kw.pop("autocommit", False), login_timeout=10, **kw)


@pytest.fixture(params=["plain", "tls"])
def cnxn(request: pytest.FixtureRequest, server: EchoServer) -> Iterator[Any]:
    if request.param == "tls":
        pytest.importorskip("OpenSSL")
    cn = connect(server, tls=request.param == "tls")
    yield cn
    cn.close()


@pytest.mark.parametrize(("tls", "mode"), [(False, "plaintext"), (True, "TLS")])
def test_login_mode_and_begin_tran(server: EchoServer, tls: bool, mode: str) -> None:
    if tls:
        pytest.importorskip("OpenSSL")
    mark = server.mark()
    cn = connect(server, tls=tls)
    cur = cn.cursor()
    cur.execute("SELECT @@TRANCOUNT")
    assert cur.fetchone()[0] == 1  # autocommit=False: TM BEGIN right after login
    cn.close()
    log = server.log(mark)
    assert f"(app 'pytds', {mode}, packet size 4096, TDS 0x74000004)" in log
    assert "TRANSACTION_MANAGER request 5" in log


def test_every_column_type_including_sql_variant(cnxn: Any) -> None:
    cur = cnxn.cursor()
    cur.execute("SELECT all_types")
    row, nulls = cur.fetchall()
    names = [d[0] for d in cur.description]
    assert names == [n for n, _t, _v in echo.ALL_TYPES]
    assert dict(zip(names, row, strict=True)) == expected_all_types()
    assert tuple(nulls) == (None,) * len(names)


def test_parameters_round_trip(cnxn: Any) -> None:
    values = [1, 2**40, 2.5, decimal.Decimal("-1.25"), "x\u00e9", "y" * 5000, pytds.Binary(b"\x00\x01"),
              dt.date(2000, 1, 1),
              dt.time(23, 59, 59, 999999), dt.datetime(2024, 1, 2, 3, 4, 5, 123456), True, uuid.UUID(int=7),
              dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=-5)))]
    cur = cnxn.cursor()
    cur.execute("SELECT " + ", ".join(["%s"] * len(values)), tuple(values))
    assert list(cur.fetchone()) == values
    cur.execute("SELECT %s, %s, %s", (1, "x", None))  # python-tds inlines NULL
    assert tuple(cur.fetchone()) == (1, "x", None)


def test_errors_carry_number_and_connection_survives(cnxn: Any) -> None:
    cur = cnxn.cursor()
    with pytest.raises(pytds.ProgrammingError) as err:
        cur.execute("frobnicate")
    assert err.value.msg_no == 102
    with pytest.raises(pytds.Error) as err:
        cur.execute("RAISERROR('boom', 16, 1)")
    assert err.value.msg_no == 50000 and "boom" in str(err.value)
    cur.execute("SELECT 9")
    assert cur.fetchone()[0] == 9


def test_several_result_sets(cnxn: Any) -> None:
    cur = cnxn.cursor()
    cur.execute("SELECT 1; SELECT 2")
    assert cur.fetchall() == [(1,)]
    assert cur.nextset()
    assert cur.fetchall() == [(2,)]
    assert not cur.nextset()


def test_callproc_return_status_and_output_param(cnxn: Any) -> None:
    cur = cnxn.cursor()
    cur.callproc("lab_echo_proc", (pytds.output(value="in", param_type="NVARCHAR(10)"),))
    assert cur.fetchall() == [("in",)]
    assert cur.get_proc_outputs() == ["in"]  # the OUTPUT value comes back in a RETURNVALUE token
    assert cur.get_proc_return_status() == 7
    with pytest.raises(pytds.Error) as err:
        cur.callproc("no_such_proc", ())
    assert err.value.msg_no == 2812


def test_commit_and_rollback_restart_the_transaction(cnxn: Any) -> None:
    cur = cnxn.cursor()
    cnxn.commit()
    cur.execute("SELECT @@TRANCOUNT")
    assert cur.fetchone()[0] == 1
    cnxn.rollback()
    cur.execute("SELECT @@TRANCOUNT")
    assert cur.fetchone()[0] == 1


def test_timeout_sends_cancel_and_connection_survives(server: EchoServer) -> None:
    cn = connect(server, timeout=1)
    cur = cn.cursor()
    start = time.monotonic()
    with pytest.raises(pytds.TimeoutError):
        cur.execute("WAITFOR DELAY '00:00:05'")
    assert time.monotonic() - start < 4
    cur.execute("SELECT 10")
    assert cur.fetchone()[0] == 10
    cn.close()


def test_wrong_password(server: EchoServer) -> None:
    with pytest.raises(pytds.Error) as err:
        connect(server, password="nope")
    assert err.value.msg_no == 18456
