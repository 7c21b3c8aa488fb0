"""Date/time, string and math built-ins with T-SQL semantics (1-based, CI collation, boundary counting)."""

from __future__ import annotations

import calendar
import datetime as dt
import decimal
import math
import re
import uuid
from typing import Any

from ...tds.backend import SqlType
from ..context import ExecEnv
from ..errors import sql_error
from ..sqltypes import BIGINT, DATE_TYPES, DATETIME, INT, UNIQUEIDENTIFIER, parse_datetime, to_sqlite
from .registry import FUNCTIONS, ArgTypes, Fn, as_datetime, fn
from .registry import nv as _nv
from .registry import string_result as _string_result
from .registry import text as _text

_PARTS = {
    "year": "year", "yy": "year", "yyyy": "year", "quarter": "quarter", "qq": "quarter", "q": "quarter",
    "month": "month", "mm": "month", "m": "month", "dayofyear": "dayofyear", "dy": "dayofyear",
    "y": "dayofyear", "day": "day", "dd": "day", "d": "day", "week": "week", "wk": "week", "ww": "week",
    "weekday": "weekday", "dw": "weekday", "w": "weekday", "hour": "hour", "hh": "hour", "minute": "minute",
    "mi": "minute", "n": "minute", "second": "second", "ss": "second", "s": "second",
    "millisecond": "millisecond", "ms": "millisecond", "microsecond": "microsecond", "mcs": "microsecond",
    "nanosecond": "nanosecond", "ns": "nanosecond", "tzoffset": "tzoffset", "tz": "tzoffset",
    "iso_week": "iso_week", "isowk": "iso_week", "isoww": "iso_week",
}


def datepart_name(part: Any, func: str) -> str:
    name = _PARTS.get(str(part).lower())
    if name is None:
        raise sql_error(155, f"'{part}' is not a recognized {func} option.", severity=15)
    return name


def _add(d: dt.datetime, part: str, n: int) -> dt.datetime:
    if part in ("year", "quarter", "month"):
        months = n * {"year": 12, "quarter": 3, "month": 1}[part]
        total = d.year * 12 + d.month - 1 + months
        year, month = divmod(total, 12)
        day = min(d.day, calendar.monthrange(year, month + 1)[1])
        return d.replace(year=year, month=month + 1, day=day)
    seconds = {"dayofyear": 86400, "day": 86400, "weekday": 86400, "week": 604800, "hour": 3600,
               "minute": 60, "second": 1}.get(part)
    if seconds is not None:
        return d + dt.timedelta(seconds=seconds * n)
    if part == "millisecond":
        return d + dt.timedelta(milliseconds=n)
    if part == "microsecond":
        return d + dt.timedelta(microseconds=n)
    if part == "nanosecond":
        return d + dt.timedelta(microseconds=n // 1000)
    raise sql_error(9810, f"The datepart {part} is not supported by date function dateadd for data type datetime.")


def _diff(a: dt.datetime, b: dt.datetime, part: str) -> int:
    """DATEDIFF counts datepart boundaries crossed between a and b."""
    if part == "year":
        return b.year - a.year
    if part == "quarter":
        return (b.year - a.year) * 4 + (b.month - 1) // 3 - (a.month - 1) // 3
    if part == "month":
        return (b.year - a.year) * 12 + b.month - a.month
    if part in ("day", "dayofyear", "weekday"):
        return (b.date() - a.date()).days
    if part == "week":
        def sunday(x: dt.datetime) -> dt.date:
            return x.date() - dt.timedelta(days=(x.weekday() + 1) % 7)
        return (sunday(b) - sunday(a)).days // 7
    unit = {"hour": 3600_000_000, "minute": 60_000_000, "second": 1_000_000, "millisecond": 1000,
            "microsecond": 1, "nanosecond": 1}[part]
    epoch = dt.datetime(1900, 1, 1)

    def ticks(x: dt.datetime) -> int:
        delta = x.replace(tzinfo=None) - epoch
        return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds

    result = ticks(b) // unit - ticks(a) // unit
    return result * 1000 if part == "nanosecond" else result


def _datepart(d: dt.datetime, part: str) -> int:
    if part == "year":
        return d.year
    if part == "quarter":
        return (d.month - 1) // 3 + 1
    if part == "month":
        return d.month
    if part == "dayofyear":
        return d.timetuple().tm_yday
    if part == "day":
        return d.day
    if part == "week":
        jan1 = d.replace(month=1, day=1)
        return (d.timetuple().tm_yday + (jan1.weekday() + 1) % 7 - 1) // 7 + 1
    if part == "weekday":
        return (d.weekday() + 1) % 7 + 1
    if part == "iso_week":
        return d.isocalendar()[1]
    if part == "tzoffset":
        off = d.utcoffset()
        return int(off.total_seconds() // 60) if off else 0
    return {"hour": d.hour, "minute": d.minute, "second": d.second, "millisecond": d.microsecond // 1000,
            "microsecond": d.microsecond, "nanosecond": d.microsecond * 1000}[part]


def _date_result(types: ArgTypes) -> SqlType:
    t = types[2] if len(types) > 2 else None
    return t if t is not None and t.name in DATE_TYPES else DATETIME


# --------------------------------------------------------------------------- date and time


@fn("GETDATE", 0, 0, DATETIME)
def _getdate(env: ExecEnv) -> str:
    return to_sqlite(env.now.replace(microsecond=(env.now.microsecond // 1000) * 1000))


FUNCTIONS["GETUTCDATE"] = Fn("GETUTCDATE", 0, 0, _getdate, DATETIME)
FUNCTIONS["CURRENT_TIMESTAMP"] = Fn("CURRENT_TIMESTAMP", 0, 0, _getdate, DATETIME)


@fn("SYSDATETIME", 0, 0, SqlType("datetime2", scale=7))
def _sysdatetime(env: ExecEnv) -> str:
    return to_sqlite(env.now)


FUNCTIONS["SYSUTCDATETIME"] = Fn("SYSUTCDATETIME", 0, 0, _sysdatetime, SqlType("datetime2", scale=7))


@fn("SYSDATETIMEOFFSET", 0, 0, SqlType("datetimeoffset", scale=7))
def _sysdatetimeoffset(env: ExecEnv) -> str:
    return to_sqlite(env.now.replace(tzinfo=dt.timezone.utc))


@fn("DATEADD", 3, 3, _date_result, datepart=True)
def _dateadd(env: ExecEnv, part: Any, n: Any, value: Any) -> Any:
    d = as_datetime(value)
    if d is None or n is None:
        return None
    return to_sqlite(_add(d, datepart_name(part, "dateadd"), int(n)))


@fn("DATEDIFF", 3, 3, INT, datepart=True)
def _datediff(env: ExecEnv, part: Any, a: Any, b: Any) -> Any:
    da, db_ = as_datetime(a), as_datetime(b)
    if da is None or db_ is None:
        return None
    result = _diff(da, db_, datepart_name(part, "datediff"))
    if not -2**31 <= result < 2**31:
        raise sql_error(535, "The datediff function resulted in an overflow. The number of dateparts "
                             "separating two date/time instances is too large. Try to use datediff with a less "
                             "precise datepart.")
    return result


FUNCTIONS["DATEDIFF_BIG"] = Fn("DATEDIFF_BIG", 3, 3, lambda env, p, a, b: None if as_datetime(a) is None
                               or as_datetime(b) is None else _diff(as_datetime(a), as_datetime(b),  # type: ignore[arg-type]
                                                                    datepart_name(p, "datediff_big")),
                               BIGINT, datepart=True)


@fn("DATEPART", 2, 2, INT, datepart=True)
def _datepart_fn(env: ExecEnv, part: Any, value: Any) -> Any:
    d = as_datetime(value)
    return None if d is None else _datepart(d, datepart_name(part, "datepart"))


@fn("DATENAME", 2, 2, _nv(30), datepart=True)
def _datename(env: ExecEnv, part: Any, value: Any) -> Any:
    d = as_datetime(value)
    if d is None:
        return None
    p = datepart_name(part, "datename")
    if p == "month":
        return d.strftime("%B")
    if p == "weekday":
        return d.strftime("%A")
    return str(_datepart(d, p))


for _name, _part in (("YEAR", "year"), ("MONTH", "month"), ("DAY", "day")):
    FUNCTIONS[_name] = Fn(_name, 1, 1, (lambda part: lambda env, v: None if v is None
                                       else _datepart(as_datetime(v), part))(_part), INT)  # type: ignore[arg-type]


@fn("EOMONTH", 1, 2, SqlType("date"))
def _eomonth(env: ExecEnv, value: Any, months: Any = 0) -> Any:
    d = as_datetime(value)
    if d is None:
        return None
    d = _add(d, "month", int(months or 0))
    return d.replace(day=calendar.monthrange(d.year, d.month)[1]).date().isoformat()


@fn("DATEFROMPARTS", 3, 3, SqlType("date"))
def _datefromparts(env: ExecEnv, y: Any, m: Any, d: Any) -> Any:
    if None in (y, m, d):
        return None
    return dt.date(int(y), int(m), int(d)).isoformat()


@fn("ISDATE", 1, 1, INT)
def _isdate(env: ExecEnv, value: Any) -> int:
    try:
        parse_datetime(str(value))
        return 1
    except Exception:  # noqa: BLE001
        return 0


# --------------------------------------------------------------------------- strings


@fn("LEN", 1, 1, INT)
def _len(env: ExecEnv, value: Any) -> Any:
    text = _text(value)
    return None if text is None else len(text.rstrip(" "))


@fn("DATALENGTH", 1, 2, INT)
def _datalength(env: ExecEnv, value: Any, unicode: Any = 0) -> Any:
    if value is None:
        return None
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, str):
        return len(value) * (2 if unicode else 1)
    if isinstance(value, float):
        return 8
    return 8 if isinstance(value, int) and not -2**31 <= value < 2**31 else 4


@fn("LEFT", 2, 2, _string_result)
def _left(env: ExecEnv, value: Any, n: Any) -> Any:
    text = _text(value)
    return None if text is None or n is None else text[: max(0, int(n))]


@fn("RIGHT", 2, 2, _string_result)
def _right(env: ExecEnv, value: Any, n: Any) -> Any:
    text = _text(value)
    if text is None or n is None:
        return None
    n = int(n)
    return text[-n:] if n > 0 else ""


@fn("SUBSTRING", 3, 3, _string_result)
def _substring(env: ExecEnv, value: Any, start: Any, length: Any) -> Any:
    if value is None or start is None or length is None:
        return None
    if int(length) < 0:
        raise sql_error(537, "Invalid length parameter passed to the LEFT or SUBSTRING function.")
    begin = int(start) - 1
    end = begin + int(length)
    begin = max(begin, 0)
    if isinstance(value, bytes):
        return value[begin:max(end, 0)]
    return _text(value)[begin:max(end, 0)]  # type: ignore[index]


for _n, _f in (("UPPER", str.upper), ("LOWER", str.lower), ("LTRIM", lambda s: s.lstrip(" ")),
               ("RTRIM", lambda s: s.rstrip(" ")), ("TRIM", lambda s: s.strip(" ")), ("REVERSE", lambda s: s[::-1])):
    FUNCTIONS[_n] = Fn(_n, 1, 1, (lambda f: lambda env, v: None if v is None else f(_text(v)))(_f),
                       _string_result)


@fn("CHARINDEX", 2, 3, INT)
def _charindex(env: ExecEnv, find: Any, within: Any, start: Any = 1) -> Any:
    if find is None or within is None:
        return None
    begin = max(int(start or 1), 1) - 1
    return _text(within).casefold().find(_text(find).casefold(), begin) + 1  # type: ignore[union-attr]


@fn("PATINDEX", 2, 2, INT)
def _patindex(env: ExecEnv, pattern: Any, value: Any) -> Any:
    if pattern is None or value is None:
        return None
    regex = like_regex(_text(pattern), None, anchored=False)  # type: ignore[arg-type]
    m = regex.search(_text(value))  # type: ignore[arg-type]
    return m.start() + 1 if m else 0


@fn("REPLACE", 3, 3, _string_result)
def _replace(env: ExecEnv, value: Any, old: Any, new: Any) -> Any:
    if value is None or old is None or new is None:
        return None
    old_text = _text(old)
    if old_text == "":
        return _text(value)
    return re.sub(re.escape(old_text), lambda m: _text(new), _text(value), flags=re.I)  # type: ignore[arg-type,return-value]


@fn("REPLICATE", 2, 2, _nv(-1))
def _replicate(env: ExecEnv, value: Any, n: Any) -> Any:
    return None if value is None or n is None or int(n) < 0 else _text(value) * int(n)  # type: ignore[operator]


@fn("SPACE", 1, 1, SqlType("varchar", 8000))
def _space(env: ExecEnv, n: Any) -> Any:
    return None if n is None or int(n) < 0 else " " * int(n)


@fn("STUFF", 4, 4, _string_result)
def _stuff(env: ExecEnv, value: Any, start: Any, length: Any, new: Any) -> Any:
    text = _text(value)
    if text is None or start is None or length is None or int(start) < 1 or int(start) > len(text) + 1:
        return None
    b = int(start) - 1
    return text[:b] + (_text(new) or "") + text[b + int(length):]


@fn("CONCAT", 2, None, _nv(4000))
def _concat(env: ExecEnv, *values: Any) -> str:
    return "".join(_text(v) or "" for v in values)


@fn("CONCAT_WS", 3, None, _nv(4000))
def _concat_ws(env: ExecEnv, sep: Any, *values: Any) -> str:
    return (_text(sep) or "").join(_text(v) for v in values if v is not None)  # type: ignore[misc]


@fn("CHAR", 1, 1, SqlType("char", 1))
def _char(env: ExecEnv, n: Any) -> Any:
    if n is None or not 0 <= int(n) <= 255:
        return None
    return bytes([int(n)]).decode("cp1252", "replace")


@fn("NCHAR", 1, 1, SqlType("nchar", 1))
def _nchar(env: ExecEnv, n: Any) -> Any:
    return None if n is None else chr(int(n))


@fn("ASCII", 1, 1, INT)
def _ascii(env: ExecEnv, value: Any) -> Any:
    text = _text(value)
    return None if not text else text[0].encode("cp1252", "replace")[0]


@fn("UNICODE", 1, 1, INT)
def _unicode(env: ExecEnv, value: Any) -> Any:
    text = _text(value)
    return None if not text else ord(text[0])


@fn("QUOTENAME", 1, 2, _nv(258))
def _quotename(env: ExecEnv, value: Any, quote: Any = "[") -> Any:
    text = _text(value)
    if text is None or len(text) > 128:
        return None
    q = _text(quote) or "["
    close = {"[": "]", "]": "]", "(": ")", ")": ")", "<": ">", ">": ">", "{": "}", "}": "}"}.get(q, q)
    opener = {"]": "[", ")": "(", ">": "<", "}": "{"}.get(q, q)
    return opener + text.replace(close, close * 2) + close


@fn("STR", 1, 3, SqlType("varchar", 10))
def _str(env: ExecEnv, value: Any, length: Any = 10, decimals: Any = 0) -> Any:
    if value is None:
        return None
    text = f"{float(value):.{int(decimals or 0)}f}"
    width = int(length or 10)
    return "*" * width if len(text) > width else text.rjust(width)


@fn("FORMAT", 2, 3, _nv(4000))
def _format(env: ExecEnv, value: Any, fmt: Any, culture: Any = None) -> Any:
    if value is None or fmt is None:
        return None
    f = str(fmt)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        m = re.fullmatch(r"([NnDdFfPp])(\d*)", f)
        if m:
            kind, digits = m.group(1).upper(), m.group(2)
            if kind == "N":
                return f"{value:,.{int(digits or 2)}f}"
            if kind == "F":
                return f"{value:.{int(digits or 2)}f}"
            if kind == "D":
                return f"{int(value):0{int(digits or 1)}d}"
            if kind == "P":
                return f"{value * 100:,.{int(digits or 2)}f} %"
        return str(value)
    d = as_datetime(value)
    py = f
    for net, pyf in (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"),
                     ("fff", "%f")):
        py = py.replace(net, pyf)
    text = d.strftime(py)  # type: ignore[union-attr]
    return text.replace(f"{d.microsecond:06d}", f"{d.microsecond // 1000:03d}") if "%f" in py else text  # type: ignore[union-attr]


@fn("PARSENAME", 2, 2, SqlType("nvarchar", 128))
def _parsename(env: ExecEnv, name: Any, part: Any) -> Any:
    """PARSENAME('a.b.c.d', n): part n counted from the right (how tools split ProductVersion)."""
    if name is None or part is None or not 1 <= int(part) <= 4:
        return None
    parts = _text(name).split(".")  # type: ignore[union-attr]
    if len(parts) > 4:
        return None
    parts = [p[1:-1].replace("]]", "]") if p.startswith("[") and p.endswith("]") else p for p in parts]
    index = len(parts) - int(part)
    return parts[index] or None if index >= 0 else None


@fn("CHOOSE", 2, None, lambda types: types[1] if len(types) > 1 else None)
def _choose(env: ExecEnv, index: Any, *values: Any) -> Any:
    if index is None or not 1 <= int(index) <= len(values):
        return None
    return values[int(index) - 1]


@fn("ISNUMERIC", 1, 1, INT)
def _isnumeric(env: ExecEnv, value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, (int, float)):
        return 1
    try:
        decimal.Decimal(str(value).strip().replace(",", "").lstrip("$"))
        return 1
    except decimal.InvalidOperation:
        return 0


@fn("NEWID", 0, 0, UNIQUEIDENTIFIER)
def _newid(env: ExecEnv) -> str:
    return str(uuid.uuid4()).upper()


# --------------------------------------------------------------------------- math


def _num_result(types: ArgTypes) -> SqlType | None:
    return types[0] if types else None


for _n, _f in (("CEILING", math.ceil), ("FLOOR", math.floor)):
    FUNCTIONS[_n] = Fn(_n, 1, 1, (lambda f: lambda env, v: None if v is None else (
        f(v) if isinstance(v, float) else int(f(v))))(_f), _num_result)


@fn("ROUND", 2, 3, _num_result)
def _round(env: ExecEnv, value: Any, digits: Any, truncate: Any = 0) -> Any:
    if value is None or digits is None:
        return None
    d = decimal.Decimal(str(value))
    q = decimal.Decimal(1).scaleb(-int(digits))
    mode = decimal.ROUND_DOWN if truncate else decimal.ROUND_HALF_UP
    out = d.quantize(q, rounding=mode) if int(digits) >= 0 else (d / q).quantize(1, rounding=mode) * q
    return int(out) if isinstance(value, int) else float(out)


for _n, _f, _t in (("SQRT", math.sqrt, SqlType("float")), ("EXP", math.exp, SqlType("float")),
                   ("LOG10", math.log10, SqlType("float"))):
    FUNCTIONS[_n] = Fn(_n, 1, 1, (lambda f: lambda env, v: None if v is None else f(v))(_f), _t)


@fn("LOG", 1, 2, SqlType("float"))
def _log(env: ExecEnv, value: Any, base: Any = None) -> Any:
    if value is None:
        return None
    return math.log(value) if base is None else math.log(value, base)


@fn("POWER", 2, 2, _num_result)
def _power(env: ExecEnv, value: Any, exponent: Any) -> Any:
    if value is None or exponent is None:
        return None
    out = value ** exponent
    return int(out) if isinstance(value, int) and isinstance(out, (int, float)) and float(out).is_integer() else out


@fn("SIGN", 1, 1, _num_result)
def _sign(env: ExecEnv, value: Any) -> Any:
    return None if value is None else (value > 0) - (value < 0)


@fn("PI", 0, 0, SqlType("float"))
def _pi(env: ExecEnv) -> float:
    return math.pi


@fn("RAND", 0, 1, SqlType("float"))
def _rand(env: ExecEnv, seed: Any = None) -> float:
    import random

    return random.Random(seed).random() if seed is not None else random.random()


# --------------------------------------------------------------------------- LIKE


def like_regex(pattern: str, escape: str | None, anchored: bool = True) -> re.Pattern[str]:
    """A T-SQL LIKE pattern (%, _, [set], [^set], ESCAPE) as a case-insensitive regex."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if escape and c == escape and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:j]
                neg = body.startswith("^")
                body = body[1:] if neg else body
                out.append("[" + ("^" if neg else "") + body.replace("\\", "\\\\") + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    regex = "".join(out)
    if anchored:
        regex = f"^{regex}$"
    return re.compile(regex, re.I | re.S)
