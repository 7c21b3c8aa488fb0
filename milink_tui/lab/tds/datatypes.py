"""TDS type encodings: TYPE_INFO + values for result columns, and decoding of RPC parameters.

Columns are always sent as the nullable ("N") variants real SQL Server uses for nullable
columns (INTN, BITN, FLTN, DATETIMN, ...), which every client accepts for NOT NULL columns too.
"""

from __future__ import annotations

import datetime as dt
import decimal
import struct
import uuid
from typing import Any

from .backend import SqlType
from .packets import ProtocolError, Reader

# TDS type ids (MS-TDS 2.2.5.4).
NULLTYPE = 0x1F
INT1 = 0x30
BIT = 0x32
INT2 = 0x34
INT4 = 0x38
DATETIM4 = 0x3A
FLT4 = 0x3B
MONEY = 0x3C
DATETIME = 0x3D
FLT8 = 0x3E
MONEY4 = 0x7A
INT8 = 0x7F
GUID = 0x24
INTN = 0x26
DECIMAL = 0x37
NUMERIC = 0x3F
BITN = 0x68
DECIMALN = 0x6A
NUMERICN = 0x6C
FLTN = 0x6D
MONEYN = 0x6E
DATETIMN = 0x6F
DATEN = 0x28
TIMEN = 0x29
DATETIME2N = 0x2A
DATETIMEOFFSETN = 0x2B
CHAR = 0x2F
VARCHAR = 0x27
BINARY = 0x2D
VARBINARY = 0x25
BIGVARBIN = 0xA5
BIGVARCHR = 0xA7
BIGBINARY = 0xAD
BIGCHAR = 0xAF
NVARCHAR = 0xE7
NCHAR = 0xEF
XML = 0xF1
UDT = 0xF0
TEXT = 0x23
IMAGE = 0x22
NTEXT = 0x63
SSVARIANT = 0x62

# SQL_Latin1_General_CP1_CI_AS: LCID 0x0409 with flags 0x00D0, sort id 52.
COLLATION = bytes([0x09, 0x04, 0xD0, 0x00, 0x34])
VARCHAR_CODEC = "cp1252"

PLP_NULL = 0xFFFFFFFFFFFFFFFF
PLP_UNKNOWN = 0xFFFFFFFFFFFFFFFE
PLP_CHUNK = 8000
_DEC = decimal.Context(prec=80)  # exact scaling for decimal(38, s)

DATE_EPOCH = dt.date(1, 1, 1).toordinal()
DATETIME_EPOCH = dt.date(1900, 1, 1).toordinal()
TICKS_PER_DAY = 300 * 86400

_INT_SIZES = {"tinyint": 1, "smallint": 2, "int": 4, "bigint": 8}
_INT_NAMES = {1: "tinyint", 2: "smallint", 4: "int", 8: "bigint"}


class EncodeError(ValueError):
    """A backend value does not fit its declared column type."""


# ---------------------------------------------------------------------------------------
# helpers
def _decimal_size(precision: int) -> int:
    if precision <= 9:
        return 5
    if precision <= 19:
        return 9
    if precision <= 28:
        return 13
    return 17


def _time_size(scale: int) -> int:
    return 3 if scale <= 2 else 4 if scale <= 4 else 5


def _scale(t: SqlType) -> int:
    return 7 if t.scale is None else t.scale


def _time_ticks(value: dt.time | dt.datetime, scale: int) -> int:
    seconds = value.hour * 3600 + value.minute * 60 + value.second
    if scale >= 6:
        return seconds * 10**scale + value.microsecond * 10 ** (scale - 6)
    return seconds * 10**scale + round(value.microsecond / 10 ** (6 - scale))


def _ticks_to_time(ticks: int, scale: int) -> tuple[int, int]:
    """-> (seconds since midnight, microseconds)."""
    seconds, frac = divmod(ticks, 10**scale)
    micros = frac * 10 ** (6 - scale) if scale <= 6 else frac // 10 ** (scale - 6)
    return seconds, micros


def _date_bytes(d: dt.date) -> bytes:
    return (d.toordinal() - DATE_EPOCH).to_bytes(3, "little")


def _as_decimal(value: Any) -> decimal.Decimal:
    if isinstance(value, decimal.Decimal):
        return value
    if isinstance(value, float):
        return decimal.Decimal(repr(value))
    return decimal.Decimal(value)


def _str_bytes(t: SqlType, value: Any) -> bytes:
    unicode = t.name in ("nvarchar", "nchar")
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
    else:
        text = value if isinstance(value, str) else str(value)
        if t.name in ("char", "nchar") and t.length and t.length > 0:
            text = text.ljust(t.length)
        data = text.encode("utf-16-le") if unicode else text.encode(VARCHAR_CODEC, errors="replace")
    return data


def _max_bytes(t: SqlType) -> int:
    """Declared byte length of a string/binary type (-1 = max)."""
    length = t.length
    if length is None:
        length = 1 if t.name in ("char", "nchar", "binary") else (4000 if t.name == "nvarchar" else 8000)
    if length == -1:
        return -1
    return length * 2 if t.name in ("nvarchar", "nchar") else length


def plp(data: bytes | None) -> bytes:
    """PLP body: total length, chunks, terminator (or the PLP NULL marker)."""
    if data is None:
        return struct.pack("<Q", PLP_NULL)
    out = bytearray(struct.pack("<Q", len(data)))
    for pos in range(0, len(data), PLP_CHUNK):
        chunk = data[pos:pos + PLP_CHUNK]
        out += struct.pack("<I", len(chunk)) + chunk
    out += b"\x00\x00\x00\x00"
    return bytes(out)


# ---------------------------------------------------------------------------------------
# TYPE_INFO
def type_info(t: SqlType) -> bytes:
    """TYPE_INFO for COLMETADATA / RETURNVALUE."""
    name = t.name
    if name in _INT_SIZES:
        return bytes([INTN, _INT_SIZES[name]])
    if name == "bit":
        return bytes([BITN, 1])
    if name in ("decimal", "numeric"):
        precision = t.precision or 18
        return bytes([DECIMALN if name == "decimal" else NUMERICN, _decimal_size(precision), precision,
                      t.scale or 0])
    if name == "float":
        return bytes([FLTN, 4 if (t.precision or 53) <= 24 else 8])
    if name == "real":
        return bytes([FLTN, 4])
    if name in ("char", "varchar", "nchar", "nvarchar"):
        tid = {"char": BIGCHAR, "varchar": BIGVARCHR, "nchar": NCHAR, "nvarchar": NVARCHAR}[name]
        size = _max_bytes(t)
        return bytes([tid]) + struct.pack("<H", 0xFFFF if size == -1 else size) + COLLATION
    if name in ("binary", "varbinary"):
        size = _max_bytes(t)
        return bytes([BIGBINARY if name == "binary" else BIGVARBIN]) + struct.pack(
            "<H", 0xFFFF if size == -1 else size)
    if name == "datetime":
        return bytes([DATETIMN, 8])
    if name == "date":
        return bytes([DATEN])
    if name == "time":
        return bytes([TIMEN, _scale(t)])
    if name == "datetime2":
        return bytes([DATETIME2N, _scale(t)])
    if name == "datetimeoffset":
        return bytes([DATETIMEOFFSETN, _scale(t)])
    if name == "uniqueidentifier":
        return bytes([GUID, 16])
    if name == "sql_variant":
        return bytes([SSVARIANT]) + struct.pack("<I", 8016)
    raise EncodeError(f"cannot encode type {name}")


# ---------------------------------------------------------------------------------------
# values
def encode_value(t: SqlType, value: Any) -> bytes:
    """A value as it follows its TYPE_INFO in a ROW or RETURNVALUE token."""
    try:
        return _encode(t, value)
    except EncodeError:
        raise
    except (TypeError, ValueError, ArithmeticError, OverflowError, AttributeError) as exc:
        raise EncodeError(f"cannot encode {value!r} as {t.name}: {exc}") from exc


def _encode(t: SqlType, value: Any) -> bytes:
    name = t.name
    if name in _INT_SIZES:
        if value is None:
            return b"\x00"
        size = _INT_SIZES[name]
        return bytes([size]) + int(value).to_bytes(size, "little", signed=name != "tinyint")
    if name == "bit":
        return b"\x00" if value is None else bytes([1, 1 if value else 0])
    if name in ("decimal", "numeric"):
        if value is None:
            return b"\x00"
        precision, scale = t.precision or 18, t.scale or 0
        size = _decimal_size(precision)
        d = _as_decimal(value)
        units = int(d.scaleb(scale, _DEC).to_integral_value(rounding=decimal.ROUND_HALF_EVEN))
        if abs(units) >= 10**precision:
            raise EncodeError(f"{value!r} does not fit {name}({precision},{scale})")
        return bytes([size, 0 if units < 0 else 1]) + abs(units).to_bytes(size - 1, "little")
    if name in ("float", "real"):
        if value is None:
            return b"\x00"
        if name == "real" or (t.precision or 53) <= 24:
            return b"\x04" + struct.pack("<f", float(value))
        return b"\x08" + struct.pack("<d", float(value))
    if name in ("char", "varchar", "nchar", "nvarchar", "binary", "varbinary"):
        size = _max_bytes(t)
        if value is None:
            return plp(None) if size == -1 else b"\xff\xff"
        if name in ("binary", "varbinary"):
            if isinstance(value, str):
                raise EncodeError(f"str value {value[:20]!r} for {name} column")
            data = bytes(value)
            if name == "binary" and size > 0:
                data = data.ljust(size, b"\x00")
        else:
            data = _str_bytes(t, value)
        if size == -1:
            return plp(data)
        if len(data) > size:
            raise EncodeError(f"value of {len(data)} bytes exceeds {name}({t.length})")
        return struct.pack("<H", len(data)) + data
    if name == "datetime":
        if value is None:
            return b"\x00"
        return b"\x08" + _datetime_bytes(value)
    if name == "date":
        if value is None:
            return b"\x00"
        if isinstance(value, dt.datetime):
            value = value.date()
        return b"\x03" + _date_bytes(value)
    if name == "time":
        if value is None:
            return b"\x00"
        scale = _scale(t)
        if isinstance(value, dt.datetime):
            value = value.time()
        size = _time_size(scale)
        return bytes([size]) + _time_ticks(value, scale).to_bytes(size, "little")
    if name == "datetime2":
        if value is None:
            return b"\x00"
        scale = _scale(t)
        if not isinstance(value, dt.datetime):
            value = dt.datetime.combine(value, dt.time())
        size = _time_size(scale)
        return bytes([size + 3]) + _time_ticks(value, scale).to_bytes(size, "little") + _date_bytes(value)
    if name == "datetimeoffset":
        if value is None:
            return b"\x00"
        return _dto_bytes(value, _scale(t), with_len=True)
    if name == "uniqueidentifier":
        if value is None:
            return b"\x00"
        u = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        return b"\x10" + u.bytes_le
    if name == "sql_variant":
        if value is None:
            return b"\x00\x00\x00\x00"
        body = _variant_body(value)
        return struct.pack("<I", len(body)) + body
    raise EncodeError(f"cannot encode type {name}")


def _datetime_bytes(value: dt.datetime | dt.date) -> bytes:
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    days = value.toordinal() - DATETIME_EPOCH
    seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
    ticks = round(seconds * 300)
    if ticks >= TICKS_PER_DAY:
        days, ticks = days + 1, ticks - TICKS_PER_DAY
    return struct.pack("<iI", days, ticks)


def _dto_bytes(value: dt.datetime, scale: int, with_len: bool) -> bytes:
    offset = value.utcoffset() or dt.timedelta()
    utc = value.replace(tzinfo=None) - offset
    minutes = int(offset.total_seconds() // 60)
    size = _time_size(scale)
    body = _time_ticks(utc, scale).to_bytes(size, "little") + _date_bytes(utc) + struct.pack("<h", minutes)
    return (bytes([len(body)]) + body) if with_len else body


def _variant_body(value: Any) -> bytes:
    """sql_variant payload: base type, property bytes, value (no length prefix)."""
    if isinstance(value, bool):
        return bytes([BIT, 0, 1 if value else 0])
    if isinstance(value, int):
        if -(2**31) <= value < 2**31:
            return bytes([INT4, 0]) + struct.pack("<i", value)
        return bytes([INT8, 0]) + struct.pack("<q", value)
    if isinstance(value, float):
        return bytes([FLT8, 0]) + struct.pack("<d", value)
    if isinstance(value, decimal.Decimal):
        exp = value.as_tuple().exponent
        scale = max(0, -exp) if isinstance(exp, int) else 0
        units = int(value.scaleb(scale, _DEC))
        precision = max(len(str(abs(units))), scale, 1)
        if precision > 38:
            raise EncodeError(f"decimal {value!r} too large for sql_variant")
        return bytes([NUMERICN, 2, precision, scale, 0 if units < 0 else 1]) + abs(units).to_bytes(16, "little")
    if isinstance(value, str):
        data = value.encode("utf-16-le")
        if len(data) > 8000:
            raise EncodeError("string too long for sql_variant")
        return bytes([NVARCHAR, 7]) + COLLATION + struct.pack("<H", max(len(data), 2)) + data
    if isinstance(value, (bytes, bytearray)):
        return bytes([BIGVARBIN, 2]) + struct.pack("<H", max(len(value), 1)) + bytes(value)
    if isinstance(value, uuid.UUID):
        return bytes([GUID, 0]) + value.bytes_le
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return bytes([DATETIMEOFFSETN, 1, 7]) + _dto_bytes(value, 7, with_len=False)
        return bytes([DATETIME2N, 1, 7]) + _time_ticks(value, 7).to_bytes(5, "little") + _date_bytes(value)
    if isinstance(value, dt.date):
        return bytes([DATEN, 0]) + _date_bytes(value)
    if isinstance(value, dt.time):
        return bytes([TIMEN, 1, 7]) + _time_ticks(value, 7).to_bytes(5, "little")
    raise EncodeError(f"cannot encode {type(value).__name__} as sql_variant")


# ---------------------------------------------------------------------------------------
# decoding RPC parameters
def read_param_value(r: Reader) -> tuple[Any, SqlType | None]:
    """Read TYPE_INFO + value of one RPC parameter -> (python value, SqlType or None)."""
    tid = r.u8()
    # Fixed-length types: no length byte, never NULL.
    fixed = {INT1: 1, BIT: 1, INT2: 2, INT4: 4, INT8: 8, FLT4: 4, FLT8: 8, DATETIME: 8, DATETIM4: 4,
             MONEY: 8, MONEY4: 4}
    if tid in fixed:
        return _decode_fixed(tid, r.take(fixed[tid]))
    if tid == NULLTYPE:
        return None, None
    if tid in (INTN, BITN, FLTN, MONEYN, DATETIMN, GUID):
        declared = r.u8()
        size = r.u8()
        if size == 0:
            return None, _nullable_type(tid, declared)
        data = r.take(size)
        if tid == INTN:
            if size not in _INT_NAMES:
                raise ProtocolError(f"bad INTN length {size}")
            return int.from_bytes(data, "little", signed=size != 1), SqlType(_INT_NAMES[size])
        if tid == BITN:
            return bool(data[0]), SqlType("bit")
        if tid == FLTN:
            if size == 4:
                return struct.unpack("<f", data)[0], SqlType("real")
            if size == 8:
                return struct.unpack("<d", data)[0], SqlType("float")
            raise ProtocolError(f"bad FLTN length {size}")
        if tid == MONEYN:
            return _decode_fixed(MONEY4 if size == 4 else MONEY, data)
        if tid == DATETIMN:
            return _decode_fixed(DATETIM4 if size == 4 else DATETIME, data)
        if size != 16:
            raise ProtocolError("bad GUID length")
        return uuid.UUID(bytes_le=data), SqlType("uniqueidentifier")
    if tid in (DECIMALN, NUMERICN, DECIMAL, NUMERIC):
        r.u8()
        precision, scale = r.u8(), r.u8()
        name = "decimal" if tid in (DECIMALN, DECIMAL) else "numeric"
        st = SqlType(name, precision=precision, scale=scale)
        size = r.u8()
        if size == 0:
            return None, st
        data = r.take(size)
        units = int.from_bytes(data[1:], "little")
        d = decimal.Decimal(units).scaleb(-scale, _DEC)
        return (d if data[0] else -d), st
    if tid == DATEN:
        size = r.u8()
        if size == 0:
            return None, SqlType("date")
        return dt.date.fromordinal(int.from_bytes(r.take(size), "little") + DATE_EPOCH), SqlType("date")
    if tid in (TIMEN, DATETIME2N, DATETIMEOFFSETN):
        scale = r.u8()
        if scale > 7:
            raise ProtocolError(f"bad time scale {scale}")
        name = {TIMEN: "time", DATETIME2N: "datetime2", DATETIMEOFFSETN: "datetimeoffset"}[tid]
        st = SqlType(name, scale=scale)
        size = r.u8()
        if size == 0:
            return None, st
        data = r.take(size)
        tsize = _time_size(scale)
        seconds, micros = _ticks_to_time(int.from_bytes(data[:tsize], "little"), scale)
        hh, rest = divmod(seconds, 3600)
        mm, ss = divmod(rest, 60)
        try:
            if tid == TIMEN:
                return dt.time(hh, mm, ss, micros), st
            day = dt.date.fromordinal(int.from_bytes(data[tsize:tsize + 3], "little") + DATE_EPOCH)
            value = dt.datetime(day.year, day.month, day.day, hh, mm, ss, micros)
        except ValueError as exc:
            raise ProtocolError(f"bad {name} value") from exc
        if tid == DATETIME2N:
            return value, st
        minutes = struct.unpack("<h", data[tsize + 3:tsize + 5])[0]
        tz = dt.timezone(dt.timedelta(minutes=minutes))
        return (value.replace(tzinfo=dt.timezone.utc).astimezone(tz)), st
    if tid in (BIGVARCHR, BIGCHAR, NVARCHAR, NCHAR, BIGVARBIN, BIGBINARY, VARCHAR, CHAR, VARBINARY, BINARY):
        short = tid in (VARCHAR, CHAR, VARBINARY, BINARY)
        maxlen = r.u8() if short else r.u16()
        is_text = tid not in (BIGVARBIN, BIGBINARY, VARBINARY, BINARY)
        if is_text and not short:
            r.take(5)  # collation
        name = {BIGVARCHR: "varchar", BIGCHAR: "char", NVARCHAR: "nvarchar", NCHAR: "nchar",
                BIGVARBIN: "varbinary", BIGBINARY: "binary", VARCHAR: "varchar", CHAR: "char",
                VARBINARY: "varbinary", BINARY: "binary"}[tid]
        unicode = tid in (NVARCHAR, NCHAR)
        if maxlen == 0xFFFF and not short:
            st = SqlType(name, length=-1)
            data = read_plp(r)
        else:
            st = SqlType(name, length=(maxlen // 2 if unicode else maxlen) or 1)
            size = r.u8() if short else r.u16()
            data = None if size == (0xFF if short else 0xFFFF) else r.take(size)
        if data is None:
            return None, st
        if not is_text:
            return data, st
        return (data.decode("utf-16-le", errors="replace") if unicode
                else data.decode(VARCHAR_CODEC, errors="replace")), st
    if tid in (TEXT, NTEXT, IMAGE):
        r.u32()  # max length
        if tid != IMAGE:
            r.take(5)
        size = r.u32()
        name = {TEXT: "varchar", NTEXT: "nvarchar", IMAGE: "varbinary"}[tid]
        st = SqlType(name, length=-1)
        if size == 0xFFFFFFFF:
            return None, st
        data = r.take(size)
        if tid == IMAGE:
            return data, st
        return data.decode("utf-16-le" if tid == NTEXT else VARCHAR_CODEC, errors="replace"), st
    if tid == SSVARIANT:
        r.u32()
        size = r.u32()
        if size == 0:
            return None, SqlType("sql_variant")
        return _decode_variant(Reader(r.take(size))), SqlType("sql_variant")
    raise ProtocolError(f"unsupported parameter type 0x{tid:02x}")


def read_plp(r: Reader) -> bytes | None:
    total = r.u64()
    if total == PLP_NULL:
        return None
    parts = []
    while True:
        n = r.u32()
        if n == 0:
            break
        parts.append(r.take(n))
    return b"".join(parts)


def _nullable_type(tid: int, declared: int) -> SqlType | None:
    """The type of a NULL parameter, from its TYPE_INFO's declared length."""
    if tid == INTN:
        return SqlType(_INT_NAMES.get(declared, "int"))
    if tid == FLTN:
        return SqlType("real" if declared == 4 else "float")
    if tid == MONEYN:
        return SqlType("decimal", precision=10 if declared == 4 else 19, scale=4)
    return {BITN: SqlType("bit"), GUID: SqlType("uniqueidentifier"), DATETIMN: SqlType("datetime")}.get(tid)


def _decode_fixed(tid: int, data: bytes) -> tuple[Any, SqlType | None]:
    if tid == INT1:
        return data[0], SqlType("tinyint")
    if tid == BIT:
        return bool(data[0]), SqlType("bit")
    if tid == INT2:
        return struct.unpack("<h", data)[0], SqlType("smallint")
    if tid == INT4:
        return struct.unpack("<i", data)[0], SqlType("int")
    if tid == INT8:
        return struct.unpack("<q", data)[0], SqlType("bigint")
    if tid == FLT4:
        return struct.unpack("<f", data)[0], SqlType("real")
    if tid == FLT8:
        return struct.unpack("<d", data)[0], SqlType("float")
    if tid == MONEY:
        hi, lo = struct.unpack("<iI", data)
        return decimal.Decimal((hi << 32) + lo).scaleb(-4, _DEC), SqlType("decimal", precision=19, scale=4)
    if tid == MONEY4:
        return decimal.Decimal(struct.unpack("<i", data)[0]).scaleb(-4, _DEC), SqlType("decimal", precision=10, scale=4)
    if tid == DATETIME:
        days, ticks = struct.unpack("<iI", data)
        base = dt.datetime.fromordinal(DATETIME_EPOCH + days)
        micros = round(ticks * 10000 / 3)  # 1/300 s ticks
        return base + dt.timedelta(microseconds=micros), SqlType("datetime")
    if tid == DATETIM4:
        days, minutes = struct.unpack("<HH", data)
        return dt.datetime.fromordinal(DATETIME_EPOCH + days) + dt.timedelta(minutes=minutes), SqlType("datetime")
    raise ProtocolError(f"unsupported fixed type 0x{tid:02x}")


def _decode_variant(r: Reader) -> Any:
    base = r.u8()
    nprops = r.u8()
    props = Reader(r.take(nprops))
    rest = r.take(r.remaining())
    fixed = {INT1, BIT, INT2, INT4, INT8, FLT4, FLT8, DATETIME, DATETIM4, MONEY, MONEY4}
    if base in fixed:
        return _decode_fixed(base, rest)[0]
    if base == GUID:
        return uuid.UUID(bytes_le=rest)
    if base in (NVARCHAR, NCHAR):
        return rest.decode("utf-16-le", errors="replace")
    if base in (BIGVARCHR, BIGCHAR):
        return rest.decode(VARCHAR_CODEC, errors="replace")
    if base in (BIGVARBIN, BIGBINARY):
        return rest
    if base in (DECIMALN, NUMERICN):
        props.u8()
        scale = props.u8()
        units = int.from_bytes(rest[1:], "little")
        d = decimal.Decimal(units).scaleb(-scale, _DEC)
        return d if rest[0] else -d
    if base == DATEN:
        return dt.date.fromordinal(int.from_bytes(rest, "little") + DATE_EPOCH)
    raise ProtocolError(f"unsupported sql_variant base type 0x{base:02x}")


def type_declaration(t: SqlType) -> str:
    """T-SQL spelling of a type, e.g. nvarchar(max), decimal(10,2)."""
    if t.name in ("char", "varchar", "nchar", "nvarchar", "binary", "varbinary"):
        if t.length is None:
            return t.name
        return f"{t.name}({'max' if t.length == -1 else t.length})"
    if t.name in ("decimal", "numeric"):
        return f"{t.name}({t.precision or 18},{t.scale or 0})"
    if t.name in ("datetime2", "time", "datetimeoffset") and t.scale is not None:
        return f"{t.name}({t.scale})"
    return t.name
