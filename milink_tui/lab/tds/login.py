"""PRELOGIN and LOGIN7: what the client asks for, and the PRELOGIN answer.

Encryption policy (measured against the real clients): a client asking ON/REQ gets ON and a
full TLS connection; a client saying OFF gets NOT_SUP, because answering OFF would mean
"TLS for LOGIN7 only, then plaintext" — a mode with no close_notify that is easy to get wrong
and that no test needs. Without a certificate the answer is always NOT_SUP.

Microsoft Entra (MS-TDS 2.2.6.4 FEDAUTH, "security token" library): the client sends the
access token inside LOGIN7; the server's PRELOGIN FEDAUTHREQUIRED answer must come back as
the token's fFedAuthEcho bit, and a successful login is acknowledged with a FEDAUTH
FEATUREEXTACK. No FEDAUTHINFO round trip: that is only for the MSAL/ADAL library.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from .packets import ProtocolError, Reader

# PRELOGIN option tokens.
PL_VERSION = 0x00
PL_ENCRYPTION = 0x01
PL_INSTOPT = 0x02
PL_THREADID = 0x03
PL_MARS = 0x04
PL_TRACEID = 0x05
PL_FEDAUTHREQUIRED = 0x06
PL_NONCEOPT = 0x07
PL_TERMINATOR = 0xFF

ENCRYPT_OFF = 0x00
ENCRYPT_ON = 0x01
ENCRYPT_NOT_SUP = 0x02
ENCRYPT_REQ = 0x03
ENCRYPT_STRICT = 0x08  # TDS 8 clients may send it inside the TLS tunnel

# LOGIN7 option flag bits we look at.
OPT2_INTEGRATED_SECURITY = 0x80
OPT3_EXTENSION = 0x10

FEATURE_FEDAUTH = 0x02
FEATURE_TERMINATOR = 0xFF

# bFedAuthLibrary values (FEDAUTH feature, bits 1-7 of the options byte; bit 0 is fFedAuthEcho).
FEDAUTH_LIVE_ID = 0x00
FEDAUTH_SECURITY_TOKEN = 0x01
FEDAUTH_ADAL = 0x02


@dataclass
class Prelogin:
    options: dict[int, bytes] = field(default_factory=dict)

    @property
    def encryption(self) -> int:
        value = self.options.get(PL_ENCRYPTION)
        return value[0] if value else ENCRYPT_OFF


def parse_prelogin(payload: bytes) -> Prelogin:
    r = Reader(payload)
    options: dict[int, bytes] = {}
    while True:
        token = r.u8()
        if token == PL_TERMINATOR:
            break
        offset, length = r.u16be(), r.u16be()
        if offset + length > len(payload):
            raise ProtocolError("PRELOGIN option points past the packet")
        options[token] = payload[offset:offset + length]
        if len(options) > 32:
            raise ProtocolError("too many PRELOGIN options")
    return Prelogin(options)


def choose_encryption(client: int, have_tls: bool) -> int:
    """Our PRELOGIN ENCRYPTION answer for the client's value."""
    if not have_tls:
        return ENCRYPT_NOT_SUP
    if client & 0x0F in (ENCRYPT_ON, ENCRYPT_REQ):
        return ENCRYPT_ON
    return ENCRYPT_NOT_SUP


def build_prelogin_reply(version: tuple[int, int, int, int], encryption: int, request: Prelogin,
                         fedauth_required: bool = False) -> bytes:
    """VERSION, ENCRYPTION, INSTOPT, THREADID, MARS (+ FEDAUTHREQUIRED if the client sent it).

    FEDAUTHREQUIRED is 1 where the server accepts Entra tokens (as Azure SQL answers), else 0;
    the client echoes it in LOGIN7's FEDAUTH feature and SQL logins ignore it.
    """
    major, minor, build, rev = version
    opts: list[tuple[int, bytes]] = [
        (PL_VERSION, bytes([major & 0xFF, minor & 0xFF]) + struct.pack(">HH", build & 0xFFFF, rev & 0xFFFF)),
        (PL_ENCRYPTION, bytes([encryption])),
        (PL_INSTOPT, b"\x00"),
        (PL_THREADID, b""),
        (PL_MARS, b"\x00"),
    ]
    if PL_FEDAUTHREQUIRED in request.options:
        opts.append((PL_FEDAUTHREQUIRED, b"\x01" if fedauth_required else b"\x00"))
    header = bytearray()
    data = bytearray()
    start = 5 * len(opts) + 1
    for token, value in opts:
        header += struct.pack(">BHH", token, start + len(data), len(value))
        data += value
    return bytes(header) + bytes([PL_TERMINATOR]) + bytes(data)


@dataclass
class Login7:
    tds_version: int
    packet_size: int
    option_flags1: int
    option_flags2: int
    type_flags: int
    option_flags3: int
    hostname: str
    user: str
    password: str
    app_name: str
    server_name: str
    library: str
    language: str
    database: str
    features: dict[int, bytes]
    sspi: bool

    @property
    def integrated_security(self) -> bool:
        return bool(self.option_flags2 & OPT2_INTEGRATED_SECURITY) or self.sspi


def decode_password(data: bytes) -> str:
    """LOGIN7 passwords are nibble-swapped then XORed with 0xA5: undo in reverse order."""
    plain = bytes(((b ^ 0xA5) >> 4) | (((b ^ 0xA5) & 0x0F) << 4) for b in data)
    return plain.decode("utf-16-le", errors="replace")


def parse_login7(payload: bytes) -> Login7:
    r = Reader(payload)
    length = r.u32()
    if length > len(payload) or length < 94:
        raise ProtocolError(f"bad LOGIN7 length {length}")
    tds_version = r.u32()  # little-endian here (LOGINACK carries it big-endian)
    packet_size = r.u32()
    r.take(12)  # client prog version, PID, connection id
    flags1, flags2, type_flags, flags3 = r.take(4)
    r.take(8)  # time zone, LCID

    def field_at(offset_pos: int, password: bool = False) -> str:
        off, count = struct.unpack_from("<HH", payload, offset_pos)
        if count == 0:
            return ""
        end = off + 2 * count
        if end > length:
            raise ProtocolError("LOGIN7 field points past the packet")
        raw = payload[off:end]
        return decode_password(raw) if password else raw.decode("utf-16-le", errors="replace")

    hostname = field_at(36)
    user = field_at(40)
    password = field_at(44, password=True)
    app_name = field_at(48)
    server_name = field_at(52)
    library = field_at(60)
    language = field_at(64)
    database = field_at(68)
    sspi_off, sspi_len = struct.unpack_from("<HH", payload, 78)
    features: dict[int, bytes] = {}
    if flags3 & OPT3_EXTENSION:
        ext_off, ext_len = struct.unpack_from("<HH", payload, 56)
        if ext_len >= 4 and ext_off + 4 <= length:
            feat_off = struct.unpack_from("<I", payload, ext_off)[0]
            features = _parse_features(payload, feat_off, length)
    return Login7(tds_version, packet_size, flags1, flags2, type_flags, flags3, hostname, user, password,
                  app_name, server_name, library, language, database, features, sspi_len > 0)


def _parse_features(payload: bytes, offset: int, length: int) -> dict[int, bytes]:
    r = Reader(payload[:length], offset)
    features: dict[int, bytes] = {}
    while not r.at_end():
        fid = r.u8()
        if fid == FEATURE_TERMINATOR:
            break
        features[fid] = r.take(r.u32())
    return features


@dataclass
class FedAuth:
    """LOGIN7's FEDAUTH feature: which library, the echo bit, and (security token) the token."""

    library: int
    echo: bool
    token: bytes = b""
    nonce: bytes = b""

    def token_text(self) -> str:
        """The access token as text (clients send it UTF-16-LE); ProtocolError if it is not."""
        if len(self.token) % 2:
            raise ProtocolError("FEDAUTH token has an odd number of bytes")
        return self.token.decode("utf-16-le", errors="strict")


def parse_fedauth(data: bytes) -> FedAuth:
    """Decode the FEDAUTH FeatureData (the security-token form carries the token itself)."""
    r = Reader(data)
    options = r.u8()
    library, echo = options >> 1, bool(options & 0x01)
    if library != FEDAUTH_SECURITY_TOKEN:
        return FedAuth(library, echo)
    token = r.take(r.u32())
    nonce = r.take(32) if r.remaining() >= 32 else b""
    return FedAuth(library, echo, token, nonce)
