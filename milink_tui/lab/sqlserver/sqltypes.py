"""T-SQL data types: parsing type names, CAST/CONVERT semantics, and the SQLite representation.

Values live in three shapes: Python values (what the protocol layer encodes), SQLite storage
values (datetimes as fixed-width ISO text so they sort and compare, GUIDs as upper-case text,
bits as 0/1) and T-SQL types (:class:`SqlType`). This module converts between them so the query
engine can run on SQLite and still answer with exactly typed columns.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid
from typing import Any

from ..tds.backend import SqlType
from .errors import sql_error

INT_TYPES = {"bit", "tinyint", "smallint", "int", "bigint"}
EXACT_TYPES = {"decimal", "numeric"}
FLOAT_TYPES = {"float", "real"}
STRING_TYPES = {"char", "varchar", "nchar", "nvarchar"}
UNICODE_TYPES = {"nchar", "nvarchar"}
BINARY_TYPES = {"binary", "varbinary"}
DATE_TYPES = {"datetime", "datetime2", "date", "time", "datetimeoffset"}

# T-SQL data type precedence (highest first) for CASE/COALESCE/arithmetic result types.
PRECEDENCE = [
    "sql_variant", "datetimeoffset", "datetime2", "datetime", "date", "time", "float", "real",
    "decimal", "numeric", "bigint", "int", "smallint", "tinyint", "bit", "uniqueidentifier",
    "nvarchar", "nchar", "varchar", "char", "varbinary", "binary",
]
_RANK = {name: i for i, name in enumerate(PRECEDENCE)}

_ALIASES = {
    "integer": "int", "sysname": "nvarchar", "money": "decimal", "smallmoney": "decimal",
    "smalldatetime": "datetime", "text": "varchar", "ntext": "nvarchar", "image": "varbinary",
    "xml": "nvarchar", "timestamp": "binary", "rowversion": "binary", "double": "float",
    "double precision": "float", "character": "char", "national character varying": "nvarchar",
    "dec": "decimal", "boolean": "bit", "uuid": "uniqueidentifier", "string": "nvarchar",
    "datetimeoffset": "datetimeoffset", "utinyint": "tinyint", "timestamptz": "datetimeoffset",
}
_FIXED = {"sysname": 128, "money": (19, 4), "smallmoney": (10, 4), "timestamp": 8, "rowversion": 8,
          "text": -1, "ntext": -1, "image": -1, "xml": -1}

SYSNAME = SqlType("nvarchar", 128)
NVARCHAR60 = SqlType("nvarchar", 60)
NVARCHAR_MAX = SqlType("nvarchar", -1)
VARBINARY_MAX = SqlType("varbinary", -1)
INT = SqlType("int")
BIGINT = SqlType("bigint")
BIT = SqlType("bit")
DATETIME = SqlType("datetime")
UNIQUEIDENTIFIER = SqlType("uniqueidentifier")
SQL_VARIANT = SqlType("sql_variant")
LSN = SqlType("numeric", precision=25, scale=0)

_TYPE_RE = re.compile(r"^\s*([a-z_][a-z0-9_ ]*?)\s*(?:\(\s*([^)]*)\s*\))?\s*$", re.I)


def parse_type(text: str, default_length: int = 1) -> SqlType:
    """Parse 'nvarchar(60)', 'numeric(25,0)', 'sysname', 'varbinary(max)' into a SqlType.

    ``default_length`` is what a bare char/varchar gets: 1 in DECLARE, 30 in CAST/CONVERT.
    """
    m = _TYPE_RE.match(text)
    if not m:
        raise sql_error(2715, f"Column, parameter, or variable #1: Cannot find data type {text}.")
    raw = m.group(1).strip().lower()
    args = [a.strip().lower() for a in (m.group(2) or "").split(",") if a.strip()]
    name = _ALIASES.get(raw, raw)
    if raw in _FIXED:
        fixed = _FIXED[raw]
        if isinstance(fixed, tuple):
            return SqlType(name, precision=fixed[0], scale=fixed[1])
        return SqlType(name, fixed)
    if name not in PRECEDENCE:
        raise sql_error(2715, f"Column, parameter, or variable #1: Cannot find data type {text}.",
                        severity=16)
    if name in STRING_TYPES or name in BINARY_TYPES:
        if args:
            return SqlType(name, -1 if args[0] == "max" else int(args[0]))
        return SqlType(name, default_length)
    if name in EXACT_TYPES:
        precision = int(args[0]) if args else 18
        scale = int(args[1]) if len(args) > 1 else 0
        return SqlType(name, precision=precision, scale=scale)
    if name in ("datetime2", "time", "datetimeoffset"):
        return SqlType(name, scale=int(args[0]) if args else 7)
    if name == "float" and args:
        return SqlType("real" if int(args[0]) <= 24 else "float")
    return SqlType(name)


def type_sql(t: SqlType) -> str:
    """The T-SQL spelling of a type, e.g. 'nvarchar(60)' (used in messages and cache keys)."""
    if t.name in STRING_TYPES or t.name in BINARY_TYPES:
        return f"{t.name}({'max' if t.length == -1 else t.length})"
    if t.name in EXACT_TYPES:
        return f"{t.name}({t.precision},{t.scale})"
    return t.name


def precedence_winner(types: list[SqlType | None]) -> SqlType | None:
    """The result type of CASE/COALESCE/UNION over ``types`` by T-SQL data type precedence."""
    known = [t for t in types if t is not None]
    if not known:
        return None
    best = min(known, key=lambda t: _RANK.get(t.name, 99))
    if best.name in STRING_TYPES or best.name in BINARY_TYPES:
        family = STRING_TYPES if best.name in STRING_TYPES else BINARY_TYPES
        lengths = [t.length or 1 for t in known if t.name in family]
        length = -1 if any(x == -1 for x in lengths) else max(lengths)
        return SqlType(best.name, length)
    return best


# --------------------------------------------------------------------------- datetimes

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_DT_FORMATS = [
    "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d", "%Y%m%d %H:%M:%S", "%Y%m%d", "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M", "%m/%d/%Y", "%m/%d/%y", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d", "%b %d %Y %I:%M%p",
    "%b %d %Y %H:%M:%S", "%b %d %Y", "%d %b %Y %H:%M:%S", "%d %b %Y", "%B %d, %Y", "%B %d %Y",
    "%H:%M:%S.%f", "%H:%M:%S", "%H:%M",
]


def parse_datetime(text: str) -> dt.datetime:
    """Parse a datetime string the way SQL Server's us_english/mdy settings would."""
    s = " ".join(text.strip().split())
    s = re.sub(r"(\.\d{6})\d+", r"\1", s)  # datetime2(7) has one more digit than Python
    s = re.sub(r"(\d)(AM|PM)$", r"\1 \2", s, flags=re.I).replace(" AM", "AM").replace(" PM", "PM")
    tz = re.search(r"\s*([+-]\d{2}:\d{2}|Z)$", s)
    offset = None
    if tz:
        offset = tz.group(1)
        s = s[: tz.start()]
    for fmt in _DT_FORMATS:
        try:
            value = dt.datetime.strptime(s, fmt)
        except ValueError:
            continue
        if fmt.startswith("%H"):
            value = value.replace(year=1900, month=1, day=1)
        if offset:
            value = value.replace(tzinfo=_tz(offset))
        return value
    raise sql_error(241)


def _tz(text: str) -> dt.timezone:
    if text == "Z":
        return dt.timezone.utc
    sign = -1 if text[0] == "-" else 1
    return dt.timezone(sign * dt.timedelta(hours=int(text[1:3]), minutes=int(text[4:6])))


def format_datetime(value: dt.datetime | dt.date | dt.time, style: int | None, target: str) -> str:
    """CONVERT(varchar, datetime, style) for the styles tools use (0/100, 101, 103, 108, 112, 120, 121, 126, 127)."""
    if isinstance(value, dt.time):
        value = dt.datetime.combine(dt.date(1900, 1, 1), value)
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    ms = f"{value.microsecond // 1000:03d}"
    style = 0 if style is None else style
    if style in (0, 100):
        hour = value.hour % 12 or 12
        return f"{_MONTHS[value.month - 1]} {value.day:2d} {value.year} {hour:2d}:{value.minute:02d}" \
               f"{'PM' if value.hour >= 12 else 'AM'}"
    if style == 101:
        return value.strftime("%m/%d/%Y")
    if style == 1:
        return value.strftime("%m/%d/%y")
    if style == 103:
        return value.strftime("%d/%m/%Y")
    if style in (8, 108, 24):
        return value.strftime("%H:%M:%S")
    if style == 112:
        return value.strftime("%Y%m%d")
    if style == 23:
        return value.strftime("%Y-%m-%d")
    if style in (20, 120):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if style in (21, 25, 121):
        if target == "datetime2":
            return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond:06d}0"
        return value.strftime("%Y-%m-%d %H:%M:%S.") + ms
    if style in (126, 127):
        text = value.strftime("%Y-%m-%dT%H:%M:%S")
        if target == "datetime2":
            frac = f"{value.microsecond:06d}0".rstrip("0")
        else:
            frac = ms if value.microsecond else ""
        text += f".{frac}" if frac else ""
        return text + ("Z" if style == 127 else "")
    if style in (9, 109):
        hour = value.hour % 12 or 12
        return f"{_MONTHS[value.month - 1]} {value.day:2d} {value.year} {hour:2d}:{value.minute:02d}:" \
               f"{value.second:02d}:{ms}{'PM' if value.hour >= 12 else 'AM'}"
    if style == 113 or style == 13:
        return f"{value.day:02d} {_MONTHS[value.month - 1]} {value.year} {value:%H:%M:%S}:{ms}"
    raise sql_error(281, f"{style} is not a valid style number when converting from datetime to a "
                         "character string.")


# --------------------------------------------------------------------------- SQLite representation


INT64_MIN, INT64_MAX = -2**63, 2**63 - 1


def fits_int64(value: int) -> bool:
    """Whether SQLite can hold ``value`` as an INTEGER (numeric(25,0) LSNs can exceed it)."""
    return INT64_MIN <= value <= INT64_MAX


def to_sqlite(value: Any) -> Any:
    """A Python value as SQLite stores it (datetimes sortable text, GUIDs upper-case text).

    Integers beyond 64 bits (real LSNs reach 3.7e19) travel as exact decimal text.
    """
    if isinstance(value, int) and not isinstance(value, bool) and not fits_int64(value):
        return str(value)
    if value is None or isinstance(value, (int, float, str, bytes)):
        return value
    if isinstance(value, dt.datetime):
        # ISO text sorts like the datetime it encodes (a whole second sorts before its fractions)
        return value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, uuid.UUID):
        return guid_text(value)
    if isinstance(value, decimal.Decimal):
        if value == value.to_integral_value():
            return to_sqlite(int(value))
        return float(value)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return str(value)


_GUID_TEXT: dict[int, str] = {}
_GUID_VALUE: dict[str, uuid.UUID] = {}


def guid_text(value: uuid.UUID) -> str:
    """Upper-case GUID text, memoized: renderers format the same replica/group ids over and over."""
    key = value.int
    text = _GUID_TEXT.get(key)
    if text is None:
        if len(_GUID_TEXT) > 200_000:
            _GUID_TEXT.clear()
        text = _GUID_TEXT[key] = str(value).upper()
    return text


def _guid_value(text: Any) -> uuid.UUID:
    if isinstance(text, uuid.UUID):
        return text
    value = _GUID_VALUE.get(text)
    if value is None:
        if len(_GUID_VALUE) > 200_000:
            _GUID_VALUE.clear()
        value = _GUID_VALUE[text] = uuid.UUID(str(text))
    return value


def _to_datetime(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value
    try:
        return dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        try:
            return parse_datetime(str(value)).replace(tzinfo=None)
        except Exception:  # noqa: BLE001 - leave what SQLite produced
            return value


def _to_bool(value: Any) -> Any:
    return bool(value) if not isinstance(value, str) else value.strip() not in ("0", "")


def convert_column(t: SqlType | None, values: list[Any]) -> list[Any]:
    """Convert one result column from SQLite values to Python values (column-at-a-time is fastest)."""
    if t is None:
        return values
    name = t.name
    if name == "bit":
        return [None if v is None else (v != 0 if not isinstance(v, str) else _to_bool(v)) for v in values]
    if name in ("datetime", "datetime2"):
        return [None if v is None else _to_datetime(v) for v in values]
    if name == "uniqueidentifier":
        return [None if v is None else _guid_value(v) for v in values]
    if name in INT_TYPES:
        if all(v is None or type(v) is int for v in values):
            return values
    elif name in STRING_TYPES:
        if all(v is None or type(v) is str for v in values):
            return values
    elif name in EXACT_TYPES and not t.scale:
        if all(v is None or type(v) is int for v in values):
            return [None if v is None else decimal.Decimal(v) for v in values]
    return [None if v is None else from_sqlite(v, t) for v in values]


def converter(t: SqlType | None):  # -> Callable[[Any], Any] | None
    """A fast SQLite -> Python converter for result columns of type ``t`` (None = use as is)."""
    if t is None:
        return None
    name = t.name
    if name == "bit":
        return lambda v: None if v is None else _to_bool(v)
    if name in ("datetime", "datetime2"):
        return lambda v: None if v is None else _to_datetime(v)
    if name == "uniqueidentifier":
        return lambda v: None if v is None else _guid_value(v)
    if name in INT_TYPES:
        return lambda v: v if v is None or type(v) is int else from_sqlite(v, t)
    if name in STRING_TYPES:
        return lambda v: v if v is None or type(v) is str else from_sqlite(v, t)
    return lambda v: None if v is None else from_sqlite(v, t)


def from_sqlite(value: Any, t: SqlType | None) -> Any:
    """A SQLite value as the Python value a column of type ``t`` carries."""
    if value is None or t is None:
        return value
    name = t.name
    try:
        if name == "bit":
            return bool(int(value)) if not isinstance(value, str) else value.strip() not in ("0", "")
        if name in INT_TYPES:
            return int(value)
        if name in EXACT_TYPES:
            d = decimal.Decimal(str(value)) if not isinstance(value, decimal.Decimal) else value
            return d.quantize(decimal.Decimal(1).scaleb(-(t.scale or 0))) if t.scale is not None else d
        if name in FLOAT_TYPES:
            return float(value)
        if name in STRING_TYPES:
            if isinstance(value, bytes):
                return value.decode("utf-16-le" if name in UNICODE_TYPES else "latin-1", "replace")
            if isinstance(value, float):
                return _float_text(value)
            return str(value)
        if name in BINARY_TYPES:
            if isinstance(value, str):
                return value.encode("utf-16-le" if _is_unicode_text(value) else "latin-1", "replace")
            return bytes(value)
        if name == "uniqueidentifier":
            return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        if name in ("datetime", "datetime2"):
            if isinstance(value, dt.datetime):
                return value
            try:
                return dt.datetime.fromisoformat(value)  # the engine's own storage format: fast path
            except (TypeError, ValueError):
                return parse_datetime(str(value)).replace(tzinfo=None)
        if name == "datetimeoffset":
            return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
        if name == "date":
            return parse_datetime(str(value)).date()
        if name == "time":
            return parse_datetime(str(value)).time()
    except (ValueError, TypeError, decimal.InvalidOperation):
        return value
    return value  # sql_variant: the natural value


def _is_unicode_text(value: str) -> bool:
    return any(ord(c) > 255 for c in value)


def _float_text(value: float) -> str:
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def infer_type(values: list[Any]) -> SqlType:
    """A column type from its values, for expressions the static typing could not resolve."""
    for v in values:
        if v is None:
            continue
        if isinstance(v, bool):
            return BIT
        if isinstance(v, int):
            return INT if -2**31 <= v < 2**31 else BIGINT
        if isinstance(v, float):
            return SqlType("float")
        if isinstance(v, decimal.Decimal):
            return SqlType("numeric", precision=38, scale=max(0, -v.as_tuple().exponent))
        if isinstance(v, str):
            return SqlType("nvarchar", max(1, max(len(x) for x in values if isinstance(x, str)))
                           if all(len(x) <= 4000 for x in values if isinstance(x, str)) else -1)
        if isinstance(v, bytes):
            return VARBINARY_MAX
        if isinstance(v, uuid.UUID):
            return UNIQUEIDENTIFIER
        if isinstance(v, dt.datetime):
            return SqlType("datetimeoffset") if v.tzinfo else DATETIME
        if isinstance(v, dt.date):
            return SqlType("date")
        if isinstance(v, dt.time):
            return SqlType("time", scale=7)
    return INT


def python_type_of(value: Any) -> SqlType:
    """The SqlType a single Python value naturally has (parameters without a declared type)."""
    if isinstance(value, str):
        return SqlType("nvarchar", max(1, len(value)) if len(value) <= 4000 else -1)
    return infer_type([value])


# --------------------------------------------------------------------------- CAST / CONVERT


def type_label(t: SqlType | None) -> str:
    return t.name if t else "varchar"


def coerce(value: Any, target: SqlType, source: SqlType | None = None, style: int | None = None,
           strict: bool = True) -> Any:
    """CAST/CONVERT ``value`` (a Python value of type ``source``) to ``target``.

    With ``strict`` False (TRY_CAST / TRY_CONVERT) a failed conversion yields NULL.
    """
    if value is None:
        return None
    try:
        return _coerce(value, target, source, style)
    except Exception as exc:  # noqa: BLE001 - any failure is a conversion failure
        if not strict:
            return None
        if getattr(exc, "number", None):
            raise
        raise sql_error(245, "nvarchar" if isinstance(value, str) else type_label(source),
                        value, target.name) from exc


def _coerce(value: Any, target: SqlType, source: SqlType | None, style: int | None) -> Any:
    name = target.name
    if name == "sql_variant":
        return value
    if name in STRING_TYPES:
        text = to_text(value, source, style)
        if target.length not in (None, -1) and len(text) > target.length:
            if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
                return "*"  # numeric overflow into a short string shows '*', like SQL Server
            text = text[: target.length]
        return text
    if name == "bit":
        if isinstance(value, str):
            s = value.strip().upper()
            if s in ("TRUE", "FALSE"):
                return s == "TRUE"
            return int(decimal.Decimal(s)) != 0
        return bool(value)
    if name in INT_TYPES:
        if isinstance(value, str):
            s = value.strip()
            if not re.fullmatch(r"[+-]?\d+", s):
                raise sql_error(245, "varchar" if source is None or source.name == "varchar"
                                else source.name, value, name)
            return int(s)
        if isinstance(value, (dt.datetime, dt.date)):
            raise sql_error(529, f"Explicit conversion from data type {type_label(source)} to {name} "
                                 "is not allowed.")
        if isinstance(value, bytes):
            return int.from_bytes(value[-8:], "big", signed=True) if value else 0
        return int(value)
    if name in EXACT_TYPES:
        d = decimal.Decimal(str(value).strip()) if not isinstance(value, decimal.Decimal) else value
        scale = target.scale or 0
        return d.quantize(decimal.Decimal(1).scaleb(-scale), rounding=decimal.ROUND_HALF_UP)
    if name in FLOAT_TYPES:
        return float(value.strip() if isinstance(value, str) else value)
    if name in BINARY_TYPES:
        if isinstance(value, bytes):
            out = value
        elif isinstance(value, str):
            if style in (1, 2):
                hexpart = value[2:] if style == 1 and value[:2].lower() == "0x" else value
                out = bytes.fromhex(hexpart)
            else:
                unicode = source is not None and source.name in UNICODE_TYPES
                out = value.encode("utf-16-le" if unicode else "cp1252", "replace")
        elif isinstance(value, bool):
            out = bytes([int(value)])
        elif isinstance(value, int):
            out = value.to_bytes(8 if source and source.name == "bigint" else 4, "big", signed=True)
        elif isinstance(value, uuid.UUID):
            out = value.bytes_le
        else:
            raise ValueError(value)
        if target.length not in (None, -1):
            out = out[: target.length]
        return out
    if name == "uniqueidentifier":
        if isinstance(value, uuid.UUID):
            return value
        if isinstance(value, bytes):
            return uuid.UUID(bytes_le=value[:16].ljust(16, b"\0"))
        return uuid.UUID(str(value).strip().strip("{}"))
    if name in DATE_TYPES:
        if isinstance(value, str):
            parsed = parse_datetime(value)
        elif isinstance(value, dt.datetime):
            parsed = value
        elif isinstance(value, dt.date):
            parsed = dt.datetime.combine(value, dt.time())
        elif isinstance(value, dt.time):
            parsed = dt.datetime.combine(dt.date(1900, 1, 1), value)
        elif isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
            if name not in ("datetime",):
                raise sql_error(529, f"Explicit conversion from data type {type_label(source)} to "
                                     f"{name} is not allowed.")
            parsed = dt.datetime(1900, 1, 1) + dt.timedelta(days=float(value))
        else:
            raise ValueError(value)
        if name == "date":
            return parsed.date()
        if name == "time":
            return parsed.time()
        if name == "datetimeoffset":
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
        parsed = parsed.replace(tzinfo=None) if parsed.tzinfo else parsed
        if name == "datetime":
            return parsed.replace(microsecond=(parsed.microsecond // 1000) * 1000)
        return parsed
    raise ValueError(name)


def to_text(value: Any, source: SqlType | None = None, style: int | None = None) -> str:
    """The character-string form of a value (CAST/CONVERT to varchar, string concatenation)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_to_text(value, style)
    if isinstance(value, decimal.Decimal):
        return f"{value:f}"
    if isinstance(value, uuid.UUID):
        return str(value).upper()
    if isinstance(value, bytes):
        if style == 1:
            return "0x" + value.hex().upper()
        if style == 2:
            return value.hex().upper()
        return value.decode("cp1252", "replace")
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        target = source.name if source else "datetime"
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            if style in (None, 0, 100):
                return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond:06d}0 " + \
                       value.strftime("%z")[:3] + ":" + value.strftime("%z")[3:]
        if style is None and target in ("datetime2", "date", "time"):
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                return value.isoformat()
            if isinstance(value, dt.time):
                return value.strftime("%H:%M:%S.") + f"{value.microsecond:06d}0"
            return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond:06d}0"
        return format_datetime(value, style, target)
    return str(value)


def _float_to_text(value: float, style: int | None) -> str:
    if style in (1, 2):
        return f"{value:.{7 if style == 1 else 15}e}".replace("e", "e")
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    text = f"{value:.6g}"
    if "e" in text:
        mant, exp = text.split("e")
        return f"{mant}e{int(exp):+03d}"
    return text
