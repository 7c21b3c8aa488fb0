"""The byte stream under the packets: plain TCP, TLS wrapped in PRELOGIN packets, or TLS first.

TDS 7.x negotiates TLS *inside* PRELOGIN packets (type 0x12): the handshake records travel as
packet payloads, and only afterwards do TLS records go raw on the socket carrying the TDS
packets. asyncio's ``start_tls`` cannot do that, so the TLS engine is an ``ssl.SSLObject``
over two ``MemoryBIO``s for the whole life of the connection. TDS 8 ("strict") starts with
a plain TLS handshake instead; the same object covers it.
"""

from __future__ import annotations

import asyncio
import ssl

from .packets import (
    HEADER,
    HEADER_SIZE,
    MAX_MESSAGE,
    MAX_PACKET,
    PRELOGIN,
    STATUS_EOM,
    STATUS_IGNORE,
    ConnectionClosed,
    ProtocolError,
    Request,
    build_packets,
)

READ_CHUNK = 65536


class Channel:
    """Reads client packets/messages and writes server messages, through TLS once enabled."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, spid: int) -> None:
        self._reader = reader
        self._writer = writer
        self._buf = bytearray()  # cleartext TDS bytes not yet consumed
        self._tls: ssl.SSLObject | None = None
        self._in: ssl.MemoryBIO | None = None
        self._out: ssl.MemoryBIO | None = None
        self.spid = spid
        self.packet_size = 4096
        self.alpn: str | None = None
        self.strict = False  # TLS before any TDS packet (TDS 8)

    @property
    def encrypted(self) -> bool:
        return self._tls is not None

    # ---- reading -------------------------------------------------------------------------
    async def _fill(self) -> None:
        data = await self._reader.read(READ_CHUNK)
        if not data:
            raise ConnectionClosed()
        if self._tls is None:
            self._buf += data
            return
        assert self._in is not None
        self._in.write(data)
        self._pump_tls_in()

    def _pump_tls_in(self) -> None:
        assert self._tls is not None
        while True:
            try:
                chunk = self._tls.read(READ_CHUNK)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                raise ConnectionClosed() from None
            except ssl.SSLError as exc:
                raise ProtocolError(f"TLS error: {exc}") from exc
            if not chunk:
                raise ConnectionClosed()
            self._buf += chunk
        self._flush_tls_out()  # e.g. alerts, key updates

    async def peek_first_byte(self) -> int:
        """The first byte of the stream: 0x16 means a TLS ClientHello (TDS 8 strict)."""
        while not self._buf:
            await self._fill()
        return self._buf[0]

    async def _read_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            await self._fill()
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    async def read_packet(self) -> tuple[int, int, bytes]:
        """One packet: (type, status, payload)."""
        header = await self._read_exact(HEADER_SIZE)
        ptype, status, length, _spid, _pid, _win = HEADER.unpack(header)
        if length < HEADER_SIZE or length > MAX_PACKET:
            raise ProtocolError(f"bad packet length {length} (type 0x{ptype:02x})")
        return ptype, status, await self._read_exact(length - HEADER_SIZE)

    async def read_message(self) -> Request | None:
        """A whole message (until EOM); None when the client told us to ignore it."""
        ptype, status, payload = await self.read_packet()
        first_status = status
        parts = [payload]
        size = len(payload)
        while not status & STATUS_EOM:
            nxt, status, payload = await self.read_packet()
            if nxt != ptype:
                raise ProtocolError(f"packet type changed mid-message (0x{ptype:02x} -> 0x{nxt:02x})")
            parts.append(payload)
            size += len(payload)
            if size > MAX_MESSAGE:
                raise ProtocolError("request too large")
        if status & STATUS_IGNORE:
            return None
        return Request(ptype, first_status, b"".join(parts))

    # ---- writing -------------------------------------------------------------------------
    def _flush_tls_out(self) -> None:
        if self._out is not None and self._out.pending:
            self._writer.write(self._out.read())

    def write_raw(self, data: bytes) -> None:
        if self._tls is None:
            self._writer.write(data)
            return
        self._tls.write(data)
        self._flush_tls_out()

    async def send(self, ptype: int, payload: bytes) -> None:
        """Send one message, split at the negotiated packet size."""
        self.write_raw(build_packets(ptype, payload, self.packet_size, self.spid))
        await self._writer.drain()

    # ---- TLS -----------------------------------------------------------------------------
    def _new_tls(self, ctx: ssl.SSLContext) -> tuple[ssl.SSLObject, ssl.MemoryBIO, ssl.MemoryBIO]:
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        return ctx.wrap_bio(inc, out, server_side=True), inc, out

    def _activate(self, obj: ssl.SSLObject, inc: ssl.MemoryBIO, out: ssl.MemoryBIO) -> None:
        self._tls, self._in, self._out = obj, inc, out
        self.alpn = obj.selected_alpn_protocol()
        # Whatever followed the handshake on the wire is already TLS records.
        leftover = bytes(self._buf)
        self._buf.clear()
        if leftover:
            inc.write(leftover)
            self._pump_tls_in()

    async def tls_in_prelogin(self, ctx: ssl.SSLContext) -> None:
        """TDS 7.x: run the handshake with its records wrapped in PRELOGIN packets."""
        obj, inc, out = self._new_tls(ctx)
        while True:
            try:
                obj.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                done = False
            except ssl.SSLError as exc:
                raise ProtocolError(f"TLS handshake failed: {exc}") from exc
            if out.pending:
                self._writer.write(build_packets(PRELOGIN, out.read(), self.packet_size, self.spid))
                await self._writer.drain()
            if done:
                break
            ptype, _status, payload = await self.read_packet()
            if ptype != PRELOGIN:
                raise ProtocolError(f"expected TLS handshake in PRELOGIN packet, got type 0x{ptype:02x}")
            inc.write(payload)
        self._activate(obj, inc, out)

    async def tls_first(self, ctx: ssl.SSLContext) -> None:
        """TDS 8 strict: a plain TLS handshake before any TDS packet."""
        obj, inc, out = self._new_tls(ctx)
        inc.write(bytes(self._buf))
        self._buf.clear()
        while True:
            try:
                obj.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                done = False
            except ssl.SSLError as exc:
                raise ProtocolError(f"TLS handshake failed: {exc}") from exc
            if out.pending:
                self._writer.write(out.read())
                await self._writer.drain()
            if done:
                break
            data = await self._reader.read(READ_CHUNK)
            if not data:
                raise ConnectionClosed()
            inc.write(data)
        self._activate(obj, inc, out)

    # ---- closing -------------------------------------------------------------------------
    async def close(self) -> None:
        try:
            self._writer.close()
            await asyncio.wait_for(self._writer.wait_closed(), 1.0)
        except (OSError, asyncio.TimeoutError, ConnectionError):
            pass
