"""RPC request decoding and the helpers that make the many spellings of a call comparable.

One RPC message can hold several calls separated by 0xFF (TDS 7.2+) or 0x80 (older):
pyodbc's fast_executemany packs hundreds of sp_executesql calls into one message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .backend import SqlType
from .datatypes import read_param_value
from .packets import ProtocolError, Reader

PROC_IDS = {
    1: "sp_cursor", 2: "sp_cursoropen", 3: "sp_cursorprepare", 4: "sp_cursorexecute",
    5: "sp_cursorprepexec", 6: "sp_cursorunprepare", 7: "sp_cursorfetch", 8: "sp_cursoroption",
    9: "sp_cursorclose", 10: "sp_executesql", 11: "sp_prepare", 12: "sp_execute",
    13: "sp_prepexec", 14: "sp_prepexecrpc", 15: "sp_unprepare",
}

BATCH_SEPARATORS = (0xFF, 0x80)
NO_EXEC = 0xFE
STATUS_BYREF = 0x01
STATUS_DEFAULT = 0x02


@dataclass
class RpcParam:
    name: str  # as sent, e.g. '@P1' or ''
    value: Any
    type: SqlType | None
    output: bool
    default: bool = False


@dataclass
class RpcCall:
    name: str  # as sent, or the well-known name for a ProcID
    proc_id: int | None
    flags: int
    params: list[RpcParam] = field(default_factory=list)

    @property
    def key(self) -> str:
        """Normalised name used to recognise the call."""
        return normalise_proc_name(self.name)


def parse_rpc(payload: bytes, start: int) -> list[RpcCall]:
    """All calls in an RPC message; ``start`` is just past ALL_HEADERS."""
    r = Reader(payload, start)
    calls: list[RpcCall] = []
    while not r.at_end():
        nlen = r.u16()
        if nlen == 0xFFFF:
            proc_id = r.u16()
            name = PROC_IDS.get(proc_id, f"proc#{proc_id}")
        else:
            if nlen == 0 or nlen > 1024:
                raise ProtocolError(f"bad RPC name length {nlen}")
            proc_id = None
            name = r.ucs2(nlen)
        call = RpcCall(name, proc_id, r.u16())
        while not r.at_end():
            nxt = r.peek_byte()
            if nxt in BATCH_SEPARATORS or nxt == NO_EXEC:
                r.u8()
                break
            pname = r.b_varchar()
            status = r.u8()
            value, sql_type = read_param_value(r)
            call.params.append(RpcParam(pname, value, sql_type, bool(status & STATUS_BYREF),
                                        bool(status & STATUS_DEFAULT)))
        calls.append(call)
    if not calls:
        raise ProtocolError("empty RPC request")
    return calls


_BRACKETS = re.compile(r"\[([^\]]*)\]")


def normalise_proc_name(name: str) -> str:
    """'[sys].[sp_datatype_info_100]' / 'SYS.sp_executesql' / 'dbo.x' -> 'sp_datatype_info_100' ..."""
    text = _BRACKETS.sub(r"\1", name.strip().strip('"')).lower()
    parts = [p.strip() for p in text.split(".")]
    if all(p in ("", "sys", "dbo", "master") for p in parts[:-1]):
        return parts[-1]
    return ".".join(parts)


def split_declarations(decl: str | None) -> list[tuple[str, str, bool]]:
    """'@P1 int,@P2 decimal(10,2) OUTPUT' -> [('@P1','int',False), ('@P2','decimal(10,2)',True)]."""
    if not decl:
        return []
    items: list[str] = []
    depth = 0
    current = []
    for ch in decl:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    items.append("".join(current))
    out: list[tuple[str, str, bool]] = []
    for item in items:
        item = item.strip()
        if not item:
            continue
        m = re.match(r"(@[\w@#$]+)\s+(?:as\s+)?(.*?)\s*(?:=\s*\S+\s*)?(\b(?:out|output)\b)?\s*(readonly)?\s*$",
                     item, re.IGNORECASE | re.DOTALL)
        if not m:
            out.append((item.split()[0], "", False))
            continue
        out.append((m.group(1), m.group(2).strip(), bool(m.group(3))))
    return out


_TYPE_RE = re.compile(r"^\s*([a-z0-9_]+)\s*(?:\(\s*(max|\d+)\s*(?:,\s*(\d+)\s*)?\))?", re.IGNORECASE)
_ALIASES = {"integer": "int", "dec": "decimal", "double precision": "float", "character": "char",
            "rowversion": "binary", "timestamp": "binary", "money": "decimal", "smallmoney": "decimal",
            "smalldatetime": "datetime", "text": "varchar", "ntext": "nvarchar", "image": "varbinary",
            "sysname": "nvarchar", "xml": "nvarchar"}


def parse_type(text: str) -> SqlType | None:
    """A declared T-SQL type as SqlType (None when not one we model)."""
    m = _TYPE_RE.match(text or "")
    if not m:
        return None
    name = m.group(1).lower()
    arg1, arg2 = m.group(2), m.group(3)
    name = _ALIASES.get(name, name)
    length = precision = scale = None
    if name in ("char", "varchar", "nchar", "nvarchar", "binary", "varbinary"):
        if arg1:
            length = -1 if arg1.lower() == "max" else int(arg1)
        elif m.group(1).lower() in ("text", "ntext", "image", "xml"):
            length = -1
        elif m.group(1).lower() == "sysname":
            length = 128
    elif name in ("decimal", "numeric"):
        precision = int(arg1) if arg1 and arg1.isdigit() else 18
        scale = int(arg2) if arg2 else 0
    elif name in ("datetime2", "time", "datetimeoffset"):
        scale = int(arg1) if arg1 and arg1.isdigit() else 7
    try:
        return SqlType(name, length=length, precision=precision, scale=scale)
    except ValueError:
        return None
