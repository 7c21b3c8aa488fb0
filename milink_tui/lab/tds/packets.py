"""TDS packet framing and the byte reader shared by the request decoders.

A TDS message is a run of packets (8-byte header + payload) whose last packet carries the
EOM status bit. Everything the decoders read comes through :class:`Reader`, which raises
:class:`ProtocolError` instead of IndexError/struct.error so one bad client only ever
closes its own connection.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# Packet types (MS-TDS 2.2.3.1.1).
SQL_BATCH = 0x01
RPC = 0x03
REPLY = 0x04
ATTENTION = 0x06
BULK_LOAD = 0x07
TRANSACTION_MANAGER = 0x0E
LOGIN7 = 0x10
SSPI = 0x11
PRELOGIN = 0x12

# Packet status bits.
STATUS_EOM = 0x01
STATUS_IGNORE = 0x02
STATUS_RESETCONNECTION = 0x08
STATUS_RESETCONNECTIONSKIPTRAN = 0x10

HEADER = struct.Struct(">BBHHBB")
HEADER_SIZE = 8
MAX_PACKET = 32768
MIN_PACKET = 512
DEFAULT_PACKET_SIZE = 4096
# A client message may not grow beyond this (protects the server from a bogus stream).
MAX_MESSAGE = 64 * 1024 * 1024


class ProtocolError(Exception):
    """The client sent something that is not TDS as we understand it: drop the connection."""


class ConnectionClosed(Exception):
    """The peer went away (EOF or TLS close_notify)."""


@dataclass
class Request:
    """One client request, reassembled from its packets."""

    type: int
    status: int  # status of the first packet (RESETCONNECTION bits live there)
    payload: bytes


def build_packets(ptype: int, payload: bytes, packet_size: int, spid: int = 0) -> bytes:
    """Split ``payload`` into packets of at most ``packet_size`` bytes, EOM on the last."""
    room = packet_size - HEADER_SIZE
    out = bytearray()
    packet_id = 1
    pos = 0
    while True:
        chunk = payload[pos:pos + room]
        pos += len(chunk)
        last = pos >= len(payload)
        out += HEADER.pack(ptype, STATUS_EOM if last else 0, len(chunk) + HEADER_SIZE, spid,
                           packet_id & 0xFF, 0)
        out += chunk
        packet_id += 1
        if last:
            return bytes(out)


class Reader:
    """Cursor over a request payload with little-endian helpers (TDS is LE except headers)."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ProtocolError(f"truncated request: wanted {n} bytes at offset {self.pos}")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def peek_byte(self) -> int:
        if self.pos >= len(self.data):
            raise ProtocolError("truncated request")
        return self.data[self.pos]

    def _unpack(self, fmt: str, size: int) -> int:
        return struct.unpack(fmt, self.take(size))[0]

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return self._unpack("<H", 2)

    def u16be(self) -> int:
        return self._unpack(">H", 2)

    def i16(self) -> int:
        return self._unpack("<h", 2)

    def u32(self) -> int:
        return self._unpack("<I", 4)

    def i32(self) -> int:
        return self._unpack("<i", 4)

    def u64(self) -> int:
        return self._unpack("<Q", 8)

    def i64(self) -> int:
        return self._unpack("<q", 8)

    def ucs2(self, nchars: int) -> str:
        return self.take(2 * nchars).decode("utf-16-le", errors="replace")

    def b_varchar(self) -> str:
        return self.ucs2(self.u8())

    def us_varchar(self) -> str:
        return self.ucs2(self.u16())


def skip_all_headers(r: Reader) -> int:
    """Skip ALL_HEADERS; return the transaction descriptor it carried (0 if none)."""
    total = r.u32()
    if total < 4 or total > r.remaining() + 4:
        raise ProtocolError(f"bad ALL_HEADERS length {total}")
    end = r.pos + total - 4
    descriptor = 0
    while r.pos < end:
        length = r.u32()
        if length < 6 or r.pos - 4 + length > end:
            raise ProtocolError(f"bad header length {length}")
        htype = r.u16()
        body = r.take(length - 6)
        if htype == 2 and len(body) >= 8:  # transaction descriptor + outstanding requests
            descriptor = struct.unpack_from("<Q", body)[0]
    r.pos = end
    return descriptor
