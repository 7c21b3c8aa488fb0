"""Builders for the server's token stream (MS-TDS 2.2.7) and the reply that collects them.

A :class:`Reply` keeps DONE-family tokens as objects until it is serialised, because
whether a DONE needs DONE_MORE depends on whether anything follows it in the same reply.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .backend import Column, Message, SqlType
from .datatypes import COLLATION, encode_value, type_info

# Token ids.
COLMETADATA = 0x81
ERROR = 0xAA
INFO = 0xAB
RETURNVALUE = 0xAC
LOGINACK = 0xAD
FEATUREEXTACK = 0xAE
ROW = 0xD1
ENVCHANGE = 0xE3
RETURNSTATUS = 0x79
DONE = 0xFD
DONEPROC = 0xFE
DONEINPROC = 0xFF

# DONE status bits.
DONE_FINAL = 0x00
DONE_MORE = 0x01
DONE_ERROR = 0x02
DONE_INXACT = 0x04
DONE_COUNT = 0x10
DONE_ATTN = 0x20
DONE_SRVERROR = 0x100

# CurCmd values real servers put in DONE tokens.
CMD_NONE = 0x00
CMD_SELECT = 0xC1
CMD_DML = 0xC3  # INSERT; clients only look at the COUNT bit

# ENVCHANGE types.
ENV_DATABASE = 1
ENV_LANGUAGE = 2
ENV_PACKETSIZE = 4
ENV_COLLATION = 7
ENV_BEGIN_TRAN = 8
ENV_COMMIT_TRAN = 9
ENV_ROLLBACK_TRAN = 10
ENV_RESETACK = 18

TDS74 = 0x74000004
# Older versions a client may ask for and that our token stream is valid for (7.2, 7.3A, 7.3B).
OLDER_TDS = (0x72090002, 0x730A0003, 0x730B0003)


def _b_varchar(text: str) -> bytes:
    data = text.encode("utf-16-le")
    return bytes([len(data) // 2]) + data


def _us_varchar(text: str) -> bytes:
    data = text.encode("utf-16-le")
    return struct.pack("<H", len(data) // 2) + data


def envchange_str(kind: int, new: str, old: str) -> bytes:
    body = bytes([kind]) + _b_varchar(new) + _b_varchar(old)
    return bytes([ENVCHANGE]) + struct.pack("<H", len(body)) + body


def envchange_bytes(kind: int, new: bytes, old: bytes) -> bytes:
    body = bytes([kind, len(new)]) + new + bytes([len(old)]) + old
    return bytes([ENVCHANGE]) + struct.pack("<H", len(body)) + body


def collation_envchange() -> bytes:
    return envchange_bytes(ENV_COLLATION, COLLATION, b"")


def message(msg: Message, server_name: str) -> bytes:
    """INFO (severity <= 10) or ERROR token."""
    text = msg.text[:4000]
    body = (struct.pack("<iBB", msg.number, msg.state & 0xFF, msg.severity & 0xFF) + _us_varchar(text)
            + _b_varchar(server_name[:128]) + _b_varchar(msg.procedure[:128]) + struct.pack("<i", msg.line))
    return bytes([ERROR if msg.is_error else INFO]) + struct.pack("<H", len(body)) + body


def loginack(version: tuple[int, int, int, int], prog_name: str = "Microsoft SQL Server",
             tds_version: int = TDS74) -> bytes:
    major, minor, build, _rev = version
    body = (b"\x01" + struct.pack(">I", tds_version) + _b_varchar(prog_name)
            + bytes([major & 0xFF, minor & 0xFF]) + struct.pack(">H", build & 0xFFFF))
    return bytes([LOGINACK]) + struct.pack("<H", len(body)) + body


def featureextack_empty() -> bytes:
    return bytes([FEATUREEXTACK, 0xFF])


def featureextack(features: Sequence[tuple[int, bytes]]) -> bytes:
    """FEATUREEXTACK acknowledging each (FeatureId, FeatureAckData), then the terminator."""
    body = b"".join(bytes([fid]) + struct.pack("<I", len(data)) + data for fid, data in features)
    return bytes([FEATUREEXTACK]) + body + b"\xff"


def returnstatus(value: int) -> bytes:
    return bytes([RETURNSTATUS]) + struct.pack("<i", value)


def colmetadata(columns: Sequence[Column]) -> bytes:
    out = bytearray([COLMETADATA]) + struct.pack("<H", len(columns))
    for col in columns:
        flags = 0x0001 if col.nullable else 0x0000
        flags |= 0x0008  # updateable: unknown, as SQL Server reports for expressions
        out += struct.pack("<IH", 0, flags) + type_info(col.type) + _b_varchar(col.name[:128])
    return bytes(out)


def colmetadata_empty() -> bytes:
    """COLMETADATA with no columns: tells ODBC drivers 'no result set' before an ERROR."""
    return bytes([COLMETADATA, 0xFF, 0xFF])


def row(columns: Sequence[Column], values: Sequence[Any]) -> bytes:
    if len(values) != len(columns):
        raise ValueError(f"row has {len(values)} values for {len(columns)} columns")
    return bytes([ROW]) + b"".join(encode_value(c.type, v) for c, v in zip(columns, values, strict=True))


def returnvalue(ordinal: int, name: str, sql_type: SqlType, value: Any) -> bytes:
    return (bytes([RETURNVALUE]) + struct.pack("<H", ordinal) + _b_varchar(name) + b"\x01"
            + struct.pack("<IH", 0, 0x0001) + type_info(sql_type) + encode_value(sql_type, value))


@dataclass
class Done:
    """A DONE / DONEINPROC / DONEPROC token whose MORE bit is decided at serialisation."""

    token: int
    status: int = DONE_FINAL
    curcmd: int = CMD_NONE
    count: int = 0

    def encode(self, more: bool) -> bytes:
        status = (self.status | DONE_MORE) if more else (self.status & ~DONE_MORE)
        return struct.pack("<BHHQ", self.token, status, self.curcmd, self.count)


class Reply:
    """Collects the tokens answering one request."""

    def __init__(self) -> None:
        self.parts: list[bytes | Done] = []

    def add(self, data: bytes) -> None:
        self.parts.append(data)

    def done(self, token: int = DONE, status: int = DONE_FINAL, curcmd: int = CMD_NONE,
             count: int = 0) -> Done:
        d = Done(token, status, curcmd, count)
        self.parts.append(d)
        return d

    def ends_with_done(self, token: int | None = None) -> bool:
        if not self.parts or not isinstance(self.parts[-1], Done):
            return False
        return token is None or self.parts[-1].token == token

    def encode(self) -> bytes:
        """DONE_MORE on every DONE-family token except the last one."""
        last_done = max((i for i, p in enumerate(self.parts) if isinstance(p, Done)), default=-1)
        out = bytearray()
        for i, p in enumerate(self.parts):
            out += p.encode(i != last_done) if isinstance(p, Done) else p
        return bytes(out)
