"""Raw-socket tests: malformed input closes only that connection; exact tokens for ATTENTION etc."""

from __future__ import annotations

import socket
import struct
import time

import pytest

from milink_tui.lab.tds import tokens as tk

from .tds_helpers import PASSWORD, USER, EchoServer, odbc_driver

PRELOGIN, LOGIN7, SQL_BATCH, ATTENTION, REPLY = 0x12, 0x10, 0x01, 0x06, 0x04
ALL_HEADERS = struct.pack("<IIHQI", 22, 18, 2, 0, 1)


def packet(ptype: int, payload: bytes, status: int = 0x01) -> bytes:
    return struct.pack(">BBHHBB", ptype, status, len(payload) + 8, 0, 1, 0) + payload


def prelogin_payload(encryption: int = 0x02) -> bytes:
    opts = [(0x00, bytes(6)), (0x01, bytes([encryption])), (0xFF, b"")]
    head, data, offset = b"", b"", 5 * 2 + 1
    for token, value in opts[:-1]:
        head += struct.pack(">BHH", token, offset + len(data), len(value))
        data += value
    return head + b"\xff" + data


def login7_payload(user: str = USER, password: str = PASSWORD, packet_size: int = 4096) -> bytes:
    def enc(text: str) -> bytes:
        return text.encode("utf-16-le")

    pw = bytes((((b << 4) & 0xF0) | (b >> 4)) ^ 0xA5 for b in enc(password))
    fields = [enc("rawhost"), enc(user), pw, enc("rawtest"), enc("localhost"), b"", enc("raw"), b"", b""]
    offsets = b""
    data = b""
    pos = 94
    for i, value in enumerate(fields):
        if i == 5:  # extension: none
            offsets += struct.pack("<HH", 0, 0)
            continue
        offsets += struct.pack("<HH", pos + len(data), len(value) // 2)
        data += value
    tail = bytes(6) + struct.pack("<HH", 0, 0) + struct.pack("<HHHH", pos + len(data), 0, pos + len(data), 0)
    tail += struct.pack("<I", 0)
    fixed = struct.pack("<IIIIII", 0, 0x74000004, packet_size, 7, 0, 0) + bytes([0xE0, 0x03, 0, 0]) + bytes(8)
    body = fixed + offsets + tail
    assert len(body) == 94
    body += data
    return struct.pack("<I", len(body)) + body[4:]


def recv_message(sock: socket.socket) -> tuple[int, bytes]:
    payload = b""
    while True:
        header = recv_exact(sock, 8)
        ptype, status, length = header[0], header[1], struct.unpack(">H", header[2:4])[0]
        payload += recv_exact(sock, length - 8)
        if status & 0x01:
            return ptype, payload


def recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def is_closed(sock: socket.socket, timeout: float = 5) -> bool:
    sock.settimeout(timeout)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def logged_in(server: EchoServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(packet(PRELOGIN, prelogin_payload()))
    ptype, reply = recv_message(sock)
    assert ptype == REPLY and reply[:1] == b"\x00"
    sock.sendall(packet(LOGIN7, login7_payload()))
    _, reply = recv_message(sock)
    assert bytes([tk.LOGINACK]) in reply and b"Microsoft SQL Server".decode().encode("utf-16-le") in reply
    return sock


def batch(sql: str) -> bytes:
    return ALL_HEADERS + sql.encode("utf-16-le")


def pyodbc_still_serves(server: EchoServer) -> None:
    odbc_driver("ODBC Driver 18 for SQL Server")
    import pyodbc

    cn = pyodbc.connect(f"DRIVER={{ODBC Driver 18 for SQL Server}};SERVER=tcp:localhost,{server.port};UID={USER};"
                        f"PWD={PASSWORD};Encrypt=yes;TrustServerCertificate=yes;LoginTimeout=10", timeout=10)
    assert cn.cursor().execute("SELECT 11").fetchval() == 11
    cn.close()


@pytest.mark.parametrize(("name", "data", "expect"), [
    ("short length", b"\x12\x01\x00\x02\x00\x00\x00\x00", "bad packet length 2"),
    ("not prelogin", packet(SQL_BATCH, batch("SELECT 1")), "expected PRELOGIN"),
    ("prelogin offsets", packet(PRELOGIN, b"\x00\x00\x40\x00\x06\xff"), "PRELOGIN option points past"),
])
def test_garbage_before_login_closes_that_connection(server: EchoServer, name: str, data: bytes,
                                                      expect: str) -> None:
    mark = server.mark()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        assert is_closed(sock)
    log = server.log(mark)
    assert expect in log and "Traceback" not in log
    assert sum("closing TDS connection" in line for line in log.splitlines()) == 1
    pyodbc_still_serves(server)


def test_http_request_and_half_close(server: EchoServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        assert is_closed(sock)
    pyodbc_still_serves(server)


def test_bad_login7_closes(server: EchoServer) -> None:
    mark = server.mark()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(packet(PRELOGIN, prelogin_payload()))
        recv_message(sock)
        sock.sendall(packet(LOGIN7, struct.pack("<I", 5000) + bytes(100)))
        assert is_closed(sock)
    assert "bad LOGIN7 length 5000" in server.log(mark)


@pytest.mark.parametrize(("data", "expect"), [
    (packet(SQL_BATCH, struct.pack("<I", 999) + b"x\x00"), "bad ALL_HEADERS length 999"),
    (packet(SQL_BATCH, ALL_HEADERS + b"abc"), "odd number of bytes"),
    (packet(0x99, b"\x00" * 4), "unexpected packet type 0x99"),
    (packet(0x03, ALL_HEADERS + b"\x05\x00"), "truncated request"),
])
def test_garbage_after_login_closes_only_that_connection(server: EchoServer, data: bytes, expect: str) -> None:
    bystander = logged_in(server)
    mark = server.mark()
    with logged_in(server) as sock:
        sock.sendall(data)
        assert is_closed(sock)
    log = server.log(mark)
    assert expect in log and "Traceback" not in log
    bystander.sendall(packet(SQL_BATCH, batch("SELECT 12")))
    _, reply = recv_message(bystander)
    assert reply.startswith(bytes([tk.COLMETADATA])) and struct.pack("<i", 12) in reply
    bystander.close()
    pyodbc_still_serves(server)


def test_wrong_password_gets_error_token_then_close(server: EchoServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(packet(PRELOGIN, prelogin_payload()))
        recv_message(sock)
        sock.sendall(packet(LOGIN7, login7_payload(password="nope")))
        _, reply = recv_message(sock)
        assert reply[0] == tk.ERROR and struct.unpack_from("<i", reply, 3)[0] == 18456
        assert reply[-13] == tk.DONE and struct.unpack_from("<H", reply, len(reply) - 12)[0] & tk.DONE_ERROR
        assert is_closed(sock)


def test_request_split_over_packets_and_ignore_bit(server: EchoServer) -> None:
    with logged_in(server) as sock:
        body = batch("SELECT 13")
        sock.sendall(packet(SQL_BATCH, body[:5], status=0) + packet(SQL_BATCH, body[5:20], status=0)
                     + packet(SQL_BATCH, body[20:]))
        _, reply = recv_message(sock)
        assert struct.pack("<i", 13) in reply
        # A message the client abandons (EOM + IGNORE) gets no answer at all.
        sock.sendall(packet(SQL_BATCH, batch("SELECT 14"), status=0x03) + packet(SQL_BATCH, batch("SELECT 15")))
        _, reply = recv_message(sock)
        assert struct.pack("<i", 15) in reply and struct.pack("<i", 14) not in reply


def test_attention_cancels_running_request(server: EchoServer) -> None:
    with logged_in(server) as sock:
        start = time.monotonic()
        sock.sendall(packet(SQL_BATCH, batch("WAITFOR DELAY '00:00:05'")))
        time.sleep(0.2)
        sock.sendall(packet(ATTENTION, b""))
        _, reply = recv_message(sock)
        assert time.monotonic() - start < 3
        assert reply == struct.pack("<BHHQ", tk.DONE, tk.DONE_ATTN, 0, 0)
        sock.sendall(packet(SQL_BATCH, batch("SELECT 16")))
        _, reply = recv_message(sock)
        assert struct.pack("<i", 16) in reply


def test_attention_after_the_reply_still_answers(server: EchoServer) -> None:
    with logged_in(server) as sock:
        sock.sendall(packet(SQL_BATCH, batch("SELECT 17")))
        recv_message(sock)
        sock.sendall(packet(ATTENTION, b""))
        _, reply = recv_message(sock)
        assert reply == struct.pack("<BHHQ", tk.DONE, tk.DONE_ATTN, 0, 0)


def test_slow_request_does_not_block_other_connections(server: EchoServer) -> None:
    with logged_in(server) as slow:
        slow.sendall(packet(SQL_BATCH, batch("WAITFOR DELAY '00:00:03'")))
        start = time.monotonic()
        pyodbc_still_serves(server)
        assert time.monotonic() - start < 2
        slow.sendall(packet(ATTENTION, b""))


def test_packet_size_from_login_splits_replies(server: EchoServer) -> None:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(packet(PRELOGIN, prelogin_payload()))
    recv_message(sock)
    sock.sendall(packet(LOGIN7, login7_payload(packet_size=512)))
    _, reply = recv_message(sock)
    assert "512".encode("utf-16-le") in reply  # ENVCHANGE packet size
    sock.sendall(packet(SQL_BATCH, batch("SELECT all_types")))
    sizes = []
    while True:
        header = recv_exact(sock, 8)
        length = struct.unpack(">H", header[2:4])[0]
        sizes.append(length)
        recv_exact(sock, length - 8)
        if header[1] & 0x01:
            break
    assert max(sizes) == 512 and len(sizes) > 60
    sock.close()
