"""``SELECT ... FOR JSON PATH`` (and single-source ``FOR JSON AUTO``) as SQL Server answers it.

The query runs as a plain SELECT; its typed rows are then serialised here and sent the way a real
server sends them, so clients that read the JSON result the usual way (concatenate the rows of the
one magic column, then parse) behave exactly as they would against production.

Evidence behind the wire shape (kept here because it is easy to get wrong):

* Column: ``JSON_F52E2B61-18A1-11d1-B105-00805F49916B``, ``nvarchar(max)``, nullable. A capture of
  SQL Server 2022 (mcr.microsoft.com/mssql/server:2022-latest, 16.0.4236.2) through tedious reports
  every top-level FOR JSON result column as type ``NVarChar`` with length 65535 (tedious's MAX marker)
  and nullable true: github.com/mirek/msduck ``reference/gaps-json_string.json`` (see also its
  ``docs/gaps-json_string.md``). Untyped FOR XML differs (NTEXT, ``docs/for-xml-wire.md`` there).
* Rows of at most 2033 characters: the same project's FOR XML wire capture shows ROW values of 4066
  UTF-16 bytes; for FOR JSON the 2033-character split is what clients report
  (github.com/Azure-Samples/azure-sql-db-python-rest-api/issues/3, github.com/jOOQ/jOOQ/issues/11386,
  node-mssql's ``JSON_COLUMN_ID`` chunk concatenation). A chunk never splits a surrogate pair here
  (the TDS layer cannot encode half a pair) [UNVERIFIED what the server does there].
* No source rows: a result set with the column and zero rows (the 2022 capture's "auto empty" case;
  msduck ``docs/gaps-json_string.md`` says SQL Server returns no row for PATH too).
* Error texts 13605 and 13620 are from the 2022 capture; 13601 and 13603 are "probe-confirmed against
  SQL Server 2025" in github.com/RyanLamansky/sql-server-simulator's error table.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from ..tds.backend import Column, SqlType
from .errors import TsqlError

JSON_COLUMN = "JSON_F52E2B61-18A1-11d1-B105-00805F49916B"
JSON_TYPE = SqlType("nvarchar", -1)
CHUNK_CHARS = 2033

_ESCAPES = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
            "\t": "\\t"}
_ESCAPE_TABLE = {ord(c): e for c, e in _ESCAPES.items()}
_ESCAPE_TABLE.update({i: f"\\u{i:04x}" for i in range(32) if chr(i) not in _ESCAPES})
_DEC = decimal.Context(prec=80)


def _error(number: int, text: str) -> TsqlError:
    return TsqlError(number, text, 16, 1, batch_abort=True)


def unnamed_column_error() -> TsqlError:
    return _error(13605, "Column expressions and data sources without names or aliases cannot be formatted as "
                         "JSON text using FOR JSON clause. Add alias to the unnamed column or table.")


def auto_without_table_error() -> TsqlError:
    return _error(13600, "FOR JSON AUTO requires at least one table for generating JSON objects. Use FOR JSON "
                         "PATH or add a FROM clause with a table name.")


def _conflict_error(name: str) -> TsqlError:
    return _error(13601, f"Property '{name}' cannot be generated in JSON output due to a conflict with another "
                         "column name or alias. FOR JSON PATH requires that the column expressions are ordered "
                         "based on the JSON document paths specified in the column aliases.")


def _invalid_name_error(name: str) -> TsqlError:
    return _error(13603, f"Property '{name}' cannot be generated in JSON output due to invalid character in the "
                         "column name or alias. Column name or alias that contains '..', starts or ends with '.' "
                         "is not allowed in query that has FOR JSON clause.")


# ---------------------------------------------------------------------- options


@dataclass(frozen=True)
class JsonOptions:
    """The FOR JSON clause: mode plus INCLUDE_NULL_VALUES / WITHOUT_ARRAY_WRAPPER / ROOT."""

    mode: str = "PATH"
    include_nulls: bool = False
    without_array_wrapper: bool = False
    root: str | None = None


def parse_options(clause: exp.Expression, unsupported: Any) -> JsonOptions:
    """Read sqlglot's ForClause; ``unsupported(what)`` builds the 40517 error for what we do not do."""
    kind = str(clause.args.get("kind") or "XML").upper()
    if kind != "JSON":
        raise unsupported(f"FOR {kind}")
    mode, include, unwrap, root = "", False, False, None
    for opt in clause.expressions:
        inner = opt.this if isinstance(opt, exp.QueryOption) else opt
        if isinstance(inner, exp.XMLKeyValueOption):
            name = inner.this.name.upper()
            value = inner.args.get("expression")
            if name != "ROOT":
                raise unsupported(f"FOR JSON {name}")
            root = value.name if value is not None else "root"
            continue
        name = inner.name.upper()
        if name in ("PATH", "AUTO") and not mode:
            mode = name
        elif name == "INCLUDE_NULL_VALUES":
            include = True
        elif name == "WITHOUT_ARRAY_WRAPPER":
            unwrap = True
        elif name == "ROOT":
            root = "root"
        else:
            raise unsupported(f"FOR JSON {name}")
    if not mode:
        raise unsupported("FOR JSON")
    if root is not None and unwrap:
        raise _error(13620, "ROOT option and WITHOUT_ARRAY_WRAPPER option cannot be used together in FOR JSON. "
                            "Remove one of these options.")
    return JsonOptions(mode, include, unwrap, root)


# ---------------------------------------------------------------------- layout


@dataclass
class _Node:
    """One JSON object: ordered members, each a column index (leaf) or a nested object."""

    members: list[tuple[str, int | _Node]] = field(default_factory=list)


def layout(names: Sequence[str], mode: str) -> _Node:
    """The object shape for the select list; PATH nests dotted aliases, AUTO keeps names flat.

    PATH rules (as real SQL Server enforces them): a name used twice, a leaf that is also an
    object prefix, or an object reopened after another member came between -> 13601; an empty
    step (``..``, leading or trailing dot) -> 13603; an unnamed column -> 13605.
    """
    root = _Node()
    for index, name in enumerate(names):
        if not name:
            raise unnamed_column_error()
        if mode != "PATH":
            root.members.append((name, index))
            continue
        parts = name.split(".")
        if any(not p for p in parts):
            raise _invalid_name_error(name)
        node = root
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            found = next((i for i, (n, _) in enumerate(node.members) if n == part), None)
            if found is None:
                child: int | _Node = index if last else _Node()
                node.members.append((part, child))
                if last:
                    break
                assert isinstance(child, _Node)
                node = child
                continue
            existing = node.members[found][1]
            if last or not isinstance(existing, _Node) or found != len(node.members) - 1:
                raise _conflict_error(name)
            node = existing
    return root


# ---------------------------------------------------------------------- values


def escape(text: str) -> str:
    """JSON string escaping exactly as FOR JSON does it (``/`` too, controls as lower-case \\u00xx)."""
    return text.translate(_ESCAPE_TABLE)


def _quoted(text: str) -> str:
    return '"' + escape(text) + '"'


def _fraction(micro: int, digits: int) -> str:
    if digits <= 0:
        return ""
    return "." + f"{micro:06d}0"[:digits]


def _datetime_ticks(value: dt.datetime) -> dt.datetime:
    """A datetime as SQL Server holds it: 1/300 s ticks (rounded like the TDS encoder does), shown in
    whole milliseconds (.003, .007, .010, ...), so the JSON text agrees with the same column read raw."""
    midnight = value.replace(hour=0, minute=0, second=0, microsecond=0)
    seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
    ticks = round(seconds * 300)
    return midnight + dt.timedelta(seconds=ticks // 300, milliseconds=round(ticks % 300 * 10 / 3))


def _datetime_text(value: dt.datetime, t: SqlType) -> str:
    """datetime: ``.mmm`` only when non-zero ("2016-07-26T09:13:32.007", "2011-05-31T00:00:00" in
    Microsoft's own FOR JSON samples); datetime2/datetimeoffset: the declared scale's digits
    [UNVERIFIED: whether SQL Server trims zero fractions of datetime2]."""
    if t.name == "datetime":
        value = _datetime_ticks(value)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if t.name == "datetime":
        if value.microsecond:
            text += f".{value.microsecond // 1000:03d}"
    else:
        text += _fraction(value.microsecond, 7 if t.scale is None else t.scale)
    if value.tzinfo is not None:
        offset = value.utcoffset() or dt.timedelta(0)
        if not offset:
            return text + "Z"  # [UNVERIFIED] like CONVERT style 127
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        text += f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return text


def _float_text(value: float) -> str:
    """float/real as SQL Server writes them into JSON text: 16 significant digits, 3-digit exponent
    (JSON_MODIFY with a float gives "1.234560000000000e+002" in the SQL Server 2022 capture;
    [UNVERIFIED] that FOR JSON uses the same conversion)."""
    mantissa, exponent = f"{value:.15e}".split("e")
    power = int(exponent)
    return f"{mantissa}e{'+' if power >= 0 else '-'}{abs(power):03d}"


def _decimal_text(value: Any, t: SqlType) -> str:
    d = value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value))
    if t.scale is not None:
        d = d.quantize(decimal.Decimal(1).scaleb(-t.scale), context=_DEC)
    return format(d, "f")


def json_value(value: Any, t: SqlType) -> str | None:  # noqa: C901 - one SQL type family per branch
    """The JSON text of one typed value (None for SQL NULL)."""
    if value is None:
        return None
    name = t.name
    if name == "bit":
        return "true" if value else "false"
    if name in ("tinyint", "smallint", "int", "bigint"):
        return str(int(value))
    if name in ("decimal", "numeric"):
        return _decimal_text(value, t)
    if name in ("float", "real"):
        return _float_text(float(value))
    if name in ("binary", "varbinary"):
        return _quoted(base64.b64encode(bytes(value)).decode("ascii"))
    if name == "uniqueidentifier":
        return _quoted(str(value).upper())
    if name in ("datetime", "datetime2", "datetimeoffset") and isinstance(value, dt.datetime):
        return _quoted(_datetime_text(value, t))
    if name == "date" and isinstance(value, dt.date):
        return _quoted(value.isoformat())
    if name == "time" and isinstance(value, dt.time):
        scale = 7 if t.scale is None else t.scale
        return _quoted(value.strftime("%H:%M:%S") + _fraction(value.microsecond, scale))
    if name == "sql_variant":
        return _variant(value)
    return _quoted(value if isinstance(value, str) else str(value))


def _variant(value: Any) -> str:
    """sql_variant serialises by the type of the value it holds."""
    if isinstance(value, bool):
        return json_value(value, SqlType("bit")) or "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, bytes):
        return _quoted(base64.b64encode(value).decode("ascii"))
    if isinstance(value, uuid.UUID):
        return _quoted(str(value).upper())
    if isinstance(value, dt.datetime):
        return _quoted(_datetime_text(value, SqlType("datetimeoffset" if value.tzinfo else "datetime2", scale=7)))
    if isinstance(value, dt.date):
        return _quoted(value.isoformat())
    return _quoted(str(value))


# ---------------------------------------------------------------------- documents


def _object(node: _Node, texts: list[str | None], include_nulls: bool) -> str | None:
    """One object's text, or None when every member was an omitted NULL (the member disappears)."""
    parts = []
    for name, target in node.members:
        if isinstance(target, _Node):
            inner = _object(target, texts, include_nulls)
            if inner is None:
                continue
            parts.append(f"{_quoted(name)}:{inner}")
            continue
        text = texts[target]
        if text is None:
            if not include_nulls:
                continue
            text = "null"
        parts.append(f"{_quoted(name)}:{text}")
    if not parts:
        return None
    return "{" + ",".join(parts) + "}"


def document(columns: Sequence[Column], rows: Sequence[Sequence[Any]], options: JsonOptions, shape: _Node) -> str:
    """The whole JSON text for ``rows`` (compact, keys in select-list order)."""
    types = [c.type for c in columns]
    objects = []
    for row in rows:
        texts = [json_value(v, t) for v, t in zip(row, types, strict=True)]
        objects.append(_object(shape, texts, options.include_nulls) or "{}")
    body = ",".join(objects)
    if options.without_array_wrapper:
        return body
    body = f"[{body}]"
    if options.root is not None:
        body = "{" + _quoted(options.root) + ":" + body + "}"
    return body


def chunks(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """Split into rows of at most ``size`` UTF-16 units, never inside a surrogate pair."""
    out: list[str] = []
    current: list[str] = []
    units = 0
    for ch in text:
        width = 2 if ord(ch) > 0xFFFF else 1
        if units + width > size:
            out.append("".join(current))
            current, units = [], 0
        current.append(ch)
        units += width
    if current:
        out.append("".join(current))
    return out


@dataclass(frozen=True)
class JsonResult:
    """What a compiled plan keeps for FOR JSON: the options and the object shape."""

    options: JsonOptions
    shape: _Node

    def format(self, columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> tuple[list[Column],
                                                                                      list[tuple[Any, ...]]]:
        """The one-column result set; no source rows -> no rows (not "[]")."""
        out_columns = [Column(JSON_COLUMN, JSON_TYPE, True)]
        if not rows:
            return out_columns, []
        text = document(columns, rows, self.options, self.shape)
        return out_columns, [(piece,) for piece in chunks(text)]


__all__ = ["CHUNK_CHARS", "JSON_COLUMN", "JsonOptions", "JsonResult", "auto_without_table_error", "chunks",
           "document", "escape", "json_value", "layout", "parse_options", "unnamed_column_error"]
