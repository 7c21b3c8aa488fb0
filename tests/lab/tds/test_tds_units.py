"""Unit tests of the protocol pieces (no client library involved)."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import struct
from typing import Any

import pytest

from milink_tui.lab.tds import tokens as tk
from milink_tui.lab.tds.backend import Column, SqlType
from milink_tui.lab.tds.catalog import datatype_info, match_datatype_info_batch, undeclared_names
from milink_tui.lab.tds.datatypes import encode_value, read_param_value, type_info
from milink_tui.lab.tds.login import decode_password
from milink_tui.lab.tds.packets import ProtocolError, Reader, build_packets
from milink_tui.lab.tds.rpc import normalise_proc_name, parse_rpc, parse_type, split_declarations
from milink_tui.lab.tds.server import serve_tds

from .tds_helpers import echo, expected_all_types


def roundtrip(t: SqlType, value: Any) -> Any:
    """Encode as a column would be, decode as an RPC parameter (same TYPE_INFO + value layout)."""
    r = Reader(type_info(t) + encode_value(t, value))
    decoded, decoded_type = read_param_value(r)
    assert r.at_end()
    assert decoded_type is not None
    return decoded


@pytest.mark.parametrize(("name", "sql_type", "value"), echo.ALL_TYPES, ids=[n for n, _t, _v in echo.ALL_TYPES])
def test_every_type_round_trips(name: str, sql_type: SqlType, value: Any) -> None:
    expected = expected_all_types()[name]
    got = roundtrip(sql_type, value)
    if name == "c_datetime":
        assert abs(got - expected) < dt.timedelta(milliseconds=2)  # 1/300 s ticks
    elif name == "c_real":
        assert got == pytest.approx(expected)
    else:
        assert got == expected
    assert roundtrip(sql_type, None) is None


def test_encoding_details() -> None:
    assert encode_value(SqlType("datetime"), dt.datetime(1900, 1, 2, 0, 0, 1)) == b"\x08" + struct.pack("<iI", 1, 300)
    assert encode_value(SqlType("datetime2", scale=7), dt.datetime(1, 1, 1)) == b"\x08" + bytes(8)
    assert encode_value(SqlType("decimal", precision=5, scale=2), decimal.Decimal("-1.5")) == \
        bytes([5, 0]) + (150).to_bytes(4, "little")
    assert encode_value(SqlType("nvarchar", -1), "") == struct.pack("<QI", 0, 0)
    assert encode_value(SqlType("nvarchar", -1), None) == b"\xff" * 8
    assert type_info(SqlType("nvarchar", 10)) == b"\xe7" + struct.pack("<H", 20) + b"\x09\x04\xd0\x00\x34"
    with pytest.raises(ValueError):
        encode_value(SqlType("nvarchar", 2), "too long")
    with pytest.raises(ValueError):
        encode_value(SqlType("decimal", precision=3, scale=0), 12345)


def test_password_decoding() -> None:
    encoded = bytes((((b << 4) & 0xF0) | (b >> 4)) ^ 0xA5 for b in "Pässw0rd!".encode("utf-16-le"))
    assert decode_password(encoded) == "Pässw0rd!"


@pytest.mark.parametrize(("raw", "norm"), [
    ("sp_executesql", "sp_executesql"), ("sys.sp_executesql", "sp_executesql"),
    ("[sys].[sp_datatype_info_100]", "sp_datatype_info_100"), ("SP_PREPEXEC", "sp_prepexec"),
    ("master.dbo.sp_who", "sp_who"), ("master..sp_who", "sp_who"), ("lab.dbo.p", "lab.dbo.p"),
    ("[dbo].[My Proc]", "my proc"),
])
def test_proc_name_normalisation(raw: str, norm: str) -> None:
    assert normalise_proc_name(raw) == norm


def test_declarations_and_types() -> None:
    assert split_declarations("@P1 int,@P2 decimal(10, 2) OUTPUT,@P3 nvarchar(max)") == [
        ("@P1", "int", False), ("@P2", "decimal(10, 2)", True), ("@P3", "nvarchar(max)", False)]
    assert split_declarations(None) == []
    assert parse_type("NVARCHAR(4000)") == SqlType("nvarchar", 4000)
    assert parse_type("varbinary(max)") == SqlType("varbinary", -1)
    assert parse_type("DECIMAL(3, 2)") == SqlType("decimal", precision=3, scale=2)
    assert parse_type("datetime2") == SqlType("datetime2", scale=7)
    assert parse_type("sysname") == SqlType("nvarchar", 128)
    assert parse_type("geography") is None


def test_rpc_with_several_calls_and_proc_ids() -> None:
    def call(proc: bytes, *params: bytes) -> bytes:
        return proc + b"\x00\x00" + b"".join(params)

    int_param = b"\x00\x00" + bytes([0x26, 4, 4]) + struct.pack("<i", 42)
    nvc = "SELECT 1".encode("utf-16-le")
    text_param = b"\x00\x00" + b"\xe7" + struct.pack("<H", 8000) + bytes(5) + struct.pack("<H", len(nvc)) + nvc
    by_id = call(struct.pack("<HH", 0xFFFF, 10), text_param, int_param)
    name = "[sys].sp_x".encode("utf-16-le")
    by_name = call(struct.pack("<H", len(name) // 2) + name, int_param)
    calls = parse_rpc(by_id + b"\xff" + by_name, 0)
    assert [c.key for c in calls] == ["sp_executesql", "sp_x"]
    assert [p.value for p in calls[0].params] == ["SELECT 1", 42]
    with pytest.raises(ProtocolError):
        parse_rpc(by_id[:-2], 0)


def test_null_parameters_keep_their_declared_type() -> None:
    assert read_param_value(Reader(bytes([0x26, 8, 0]))) == (None, SqlType("bigint"))
    assert read_param_value(Reader(bytes([0x6D, 4, 0]))) == (None, SqlType("real"))
    assert read_param_value(Reader(b"\xe7\x40\x1f" + bytes(5) + b"\xff\xff")) == (None, SqlType("nvarchar", 4000))
    assert read_param_value(Reader(b"\xa5\xff\xff" + b"\xff" * 8)) == (None, SqlType("varbinary", -1))


def test_datatype_info_shape() -> None:
    rs = datatype_info(93, 4)
    assert [c.name for c in rs.columns][:3] == ["TYPE_NAME", "DATA_TYPE", "PRECISION"]
    assert len(rs.columns) == 20
    assert rs.rows[0][:3] == ("datetime2", 93, 27)  # pyodbc reads the first row's size
    assert datatype_info(-9, 3).rows[0][:3] == ("nvarchar", -9, 4000)
    assert len(datatype_info(0, 3).rows) > 30
    assert match_datatype_info_batch("sp_datatype_info_100 93,3") == (93, 3)
    assert match_datatype_info_batch("EXEC [sys].[sp_datatype_info_100] @data_type = -9, @ODBCVer = 3") == (-9, 3)
    assert match_datatype_info_batch("SELECT 1") is None


def test_undeclared_parameter_names() -> None:
    sql = "SELECT @P1, '@P9', @@VERSION /* @P8 */ WHERE x = @P2 AND y = @P1 AND z = @known"
    assert undeclared_names(sql, ["@known"]) == ["@P1", "@P2"]


def test_done_more_on_all_but_last() -> None:
    reply = tk.Reply()
    reply.add(tk.colmetadata([Column("a", SqlType("int"))]))
    reply.done(tk.DONEINPROC, tk.DONE_COUNT, tk.CMD_SELECT, 1)
    reply.add(tk.returnstatus(0))
    reply.done(tk.DONEPROC)
    data = reply.encode()
    first = data.index(bytes([tk.DONEINPROC]), 5)
    assert struct.unpack_from("<H", data, first + 1)[0] == tk.DONE_COUNT | tk.DONE_MORE
    assert struct.unpack_from("<H", data, len(data) - 12)[0] == 0


def test_build_packets_splits_at_size() -> None:
    data = build_packets(0x04, bytes(1000), 512, spid=55)
    first_len = struct.unpack(">H", data[2:4])[0]
    assert first_len == 512 and data[1] == 0 and struct.unpack(">H", data[4:6])[0] == 55
    second = data[first_len:]
    assert second[1] == 1 and struct.unpack(">H", second[2:4])[0] == 1000 - 504 + 8
    assert build_packets(0x04, b"", 4096) == struct.pack(">BBHHBB", 4, 1, 8, 0, 1, 0)


async def test_close_cancels_live_connections() -> None:
    server = await serve_tds(echo.EchoBackend())
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"\x12\x00\x00\x10\x00\x00\x00\x00")  # half a PRELOGIN: the server waits for more
    await writer.drain()
    await asyncio.sleep(0.05)
    assert server.connection_count == 1
    await asyncio.wait_for(server.close(), 2)
    assert await asyncio.wait_for(reader.read(), 2) == b""
    assert server.connection_count == 0
    writer.close()


def test_fedauth_feature_and_prelogin_answer() -> None:
    from milink_tui.lab.tds.login import (
        FEDAUTH_ADAL,
        FEDAUTH_SECURITY_TOKEN,
        PL_FEDAUTHREQUIRED,
        Prelogin,
        build_prelogin_reply,
        parse_fedauth,
        parse_prelogin,
    )

    token = "eyJ.x.y".encode("utf-16-le")
    fed = parse_fedauth(bytes([FEDAUTH_SECURITY_TOKEN << 1 | 1]) + struct.pack("<I", len(token)) + token)
    assert (fed.library, fed.echo, fed.token_text(), fed.nonce) == (FEDAUTH_SECURITY_TOKEN, True, "eyJ.x.y", b"")
    adal = parse_fedauth(bytes([FEDAUTH_ADAL << 1, 0x01]))  # library 2 + workflow byte: no token inside
    assert (adal.library, adal.echo, adal.token) == (FEDAUTH_ADAL, False, b"")
    with pytest.raises(ProtocolError):
        parse_fedauth(bytes([FEDAUTH_SECURITY_TOKEN << 1]) + struct.pack("<I", 99) + b"short")
    asked = Prelogin({PL_FEDAUTHREQUIRED: b"\x01"})
    for required, value in ((True, b"\x01"), (False, b"\x00")):
        reply = parse_prelogin(build_prelogin_reply((16, 0, 1, 0), 2, asked, fedauth_required=required))
        assert reply.options[PL_FEDAUTHREQUIRED] == value
    assert PL_FEDAUTHREQUIRED not in parse_prelogin(build_prelogin_reply((16, 0, 1, 0), 2, Prelogin())).options


def test_featureextack_for_fedauth() -> None:
    assert tk.featureextack([(0x02, b"")]) == bytes([0xAE, 0x02, 0, 0, 0, 0, 0xFF])
