"""Static typing of a qualified query: every expression gets its T-SQL type and nullability.

Result-set metadata must match SQL Server (bit stays bit, LSNs stay numeric(25,0), `_desc`
columns are nvarchar(60)), and the SQLite rewrite needs to know when `+` means string
concatenation. Column types come from the catalog; the rest follows T-SQL's rules (data type
precedence, CAST targets, function result types).
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

from ..tds.backend import SqlType
from .catalog import ColumnDef
from .functions import FUNCTIONS
from .sqltypes import (
    BIGINT,
    BIT,
    DATETIME,
    EXACT_TYPES,
    FLOAT_TYPES,
    INT,
    INT_TYPES,
    STRING_TYPES,
    UNICODE_TYPES,
    parse_type,
    precedence_winner,
)

TYPE_KEY = "lt"
NULL_KEY = "ln"


def datatype_to_sqltype(node: exp.DataType) -> SqlType:
    """A sqlglot DataType (as written in CAST/CONVERT) as a SqlType; bare varchar is varchar(30)."""
    text = node.sql(dialect="tsql").lower().replace("integer", "int")
    return parse_type(text, default_length=30)


def literal_type(node: exp.Literal) -> SqlType:
    if node.is_string:
        return SqlType("varchar", max(1, len(node.this)))
    text = node.this
    if "e" in text.lower():
        return SqlType("float")
    if "." in text:
        whole, frac = text.split(".", 1)
        digits = len(whole.lstrip("-")) + len(frac)
        return SqlType("numeric", precision=max(digits, 1), scale=len(frac))
    value = int(text)
    if -2**31 <= value < 2**31:
        return INT
    return SqlType("numeric", precision=len(text), scale=0)


class Typer:
    """Assigns ``meta['lt']`` (SqlType or None) and ``meta['ln']`` (nullable) to expressions."""

    def __init__(self, schema: dict[str, dict[str, ColumnDef]]) -> None:
        self.schema = schema

    def run(self, root: exp.Expression) -> None:
        for scope in traverse_scope(root):
            outer = self._outer_joined(scope.expression)
            for col in scope.columns:
                t, nullable = self._column(col, scope)
                col.meta[TYPE_KEY] = t
                col.meta[NULL_KEY] = nullable or col.table in outer

    # -- columns
    def _source(self, scope: Scope | None, alias: str) -> Any:
        while scope is not None:
            src = scope.sources.get(alias)
            if src is not None:
                return src
            scope = scope.parent
        return None

    def _column(self, col: exp.Column, scope: Scope) -> tuple[SqlType | None, bool]:
        src = self._source(scope, col.table)
        if isinstance(src, exp.Table):
            cols = self.schema.get(src.name, {})
            cdef = cols.get(col.name)
            return (cdef.type, cdef.nullable) if cdef else (None, True)
        if isinstance(src, Scope):
            node = src.expression
            if isinstance(node, exp.Lateral):
                node = node.this
            if isinstance(node, exp.Subquery):
                node = node.this
            selects = node.selects if isinstance(node, (exp.Query,)) else []
            for proj in selects:
                if proj.alias_or_name == col.name:
                    return self.type_of(proj), self.nullable_of(proj)
        return None, True

    @staticmethod
    def _outer_joined(node: exp.Expression) -> set[str]:
        out: set[str] = set()
        if not isinstance(node, exp.Select):
            return out
        seen: list[str] = []
        from_ = node.args.get("from_")
        if from_ is not None and from_.this is not None:
            seen.append(from_.this.alias_or_name)
        for join in node.args.get("joins") or []:
            alias = join.this.alias_or_name
            side = (join.side or "").upper()
            if isinstance(join.this, exp.Lateral) and not join.this.args.get("cross_apply"):
                out.add(alias)
            if side in ("LEFT", "FULL"):
                out.add(alias)
            if side in ("RIGHT", "FULL"):
                out.update(seen)
            seen.append(alias)
        return out

    # -- expressions
    def nullable_of(self, node: exp.Expression) -> bool:
        if isinstance(node, exp.Alias):
            return self.nullable_of(node.this)
        if isinstance(node, exp.Column):
            return bool(node.meta.get(NULL_KEY, True))
        if isinstance(node, exp.Literal):
            return False
        if isinstance(node, exp.Count):
            return False
        return True

    def type_of(self, node: exp.Expression) -> SqlType | None:
        if TYPE_KEY in node.meta:
            return node.meta[TYPE_KEY]
        t = self._infer(node)
        node.meta[TYPE_KEY] = t
        return t

    def _infer(self, node: exp.Expression) -> SqlType | None:  # noqa: C901 - one dispatch table
        if isinstance(node, (exp.Alias, exp.Paren)):
            return self.type_of(node.this)
        if isinstance(node, exp.Column):
            return None
        if isinstance(node, exp.National):
            return SqlType("nvarchar", max(1, len(node.this)))
        if isinstance(node, exp.Literal):
            return literal_type(node)
        if isinstance(node, exp.HexString):
            return SqlType("varbinary", max(1, len(node.this) // 2))
        if isinstance(node, exp.Null):
            return INT
        if isinstance(node, exp.Boolean):
            return BIT
        if isinstance(node, (exp.Cast, exp.TryCast)):
            return datatype_to_sqltype(node.args["to"])
        if isinstance(node, exp.Convert):
            return datatype_to_sqltype(node.this)
        if isinstance(node, exp.Neg):
            return self.type_of(node.this)
        if isinstance(node, exp.Add):
            left, right = self.type_of(node.this), self.type_of(node.expression)
            if _is_string(left) or _is_string(right):
                if _is_string(left) and _is_string(right):
                    return _concat_type(left, right)
                # string + number converts the string to the number's type
                return right if _is_string(left) else left
            return _arith(left, right)
        if isinstance(node, (exp.Sub, exp.Mul, exp.Div, exp.Mod)):
            return _arith(self.type_of(node.this), self.type_of(node.expression))
        if isinstance(node, exp.DPipe):
            return _concat_type(self.type_of(node.this), self.type_of(node.expression))
        if isinstance(node, (exp.BitwiseAnd, exp.BitwiseOr, exp.BitwiseXor)):
            return _arith(self.type_of(node.this), self.type_of(node.expression))
        if isinstance(node, exp.Case):
            branches = [self.type_of(i.args["true"]) for i in node.args.get("ifs") or []]
            if node.args.get("default") is not None:
                branches.append(self.type_of(node.args["default"]))
            return precedence_winner(branches)
        if isinstance(node, exp.Count):
            return BIGINT if node.args.get("big_int") else INT
        if isinstance(node, (exp.Min, exp.Max)):
            return self.type_of(node.this)
        if isinstance(node, exp.Sum):
            return _sum_type(self.type_of(node.this))
        if isinstance(node, exp.Avg):
            return _avg_type(self.type_of(node.this))
        if isinstance(node, exp.GroupConcat):
            inner = node.this.this if isinstance(node.this, exp.Order) else node.this
            t = self.type_of(inner)
            return SqlType("nvarchar" if t is None or t.name in UNICODE_TYPES else "varchar", -1)
        if isinstance(node, exp.Window):
            return self.type_of(node.this)
        if isinstance(node, exp.Subquery):
            return self.type_of(node.this)
        if isinstance(node, (exp.Select, exp.Union, exp.Intersect, exp.Except)):
            selects = node.selects
            return self.type_of(selects[0]) if selects else None
        if isinstance(node, exp.Placeholder):
            return node.meta.get(TYPE_KEY)
        if isinstance(node, exp.Chr):
            return SqlType("char", 1)
        if isinstance(node, exp.Substring):
            return self._string_like(self.type_of(node.this))
        if isinstance(node, exp.Trim):
            return self._string_like(self.type_of(node.this))
        if isinstance(node, exp.CurrentTimestamp):
            return DATETIME
        if isinstance(node, (exp.CurrentUser, exp.SessionUser)):
            return SqlType("nvarchar", 128)
        if isinstance(node, exp.Collate):
            return self.type_of(node.this)
        if isinstance(node, (exp.Predicate, exp.Not, exp.And, exp.Or, exp.Exists)):
            return BIT
        if isinstance(node, exp.Anonymous):
            return self._anonymous(node)
        return None

    @staticmethod
    def _string_like(t: SqlType | None) -> SqlType:
        if t is not None and t.name in STRING_TYPES:
            return SqlType("nvarchar" if t.name in UNICODE_TYPES else "varchar", t.length)
        return SqlType("varchar", 8000)

    def _anonymous(self, node: exp.Anonymous) -> SqlType | None:
        name = node.name.upper()
        args = list(node.expressions)
        types = [self.type_of(a) for a in args]
        if name == "ISNULL":
            return types[0] if types and types[0] is not None else (types[1] if len(types) > 1 else None)
        if name == "COALESCE":
            return precedence_winner(types)
        if name == "NULLIF":
            return types[0] if types else None
        if name == "IIF":
            return precedence_winner(types[1:])
        if name in ("ROW_NUMBER", "RANK", "DENSE_RANK", "NTILE"):
            return BIGINT if name != "NTILE" else BIGINT
        if name in ("LAG", "LEAD", "FIRST_VALUE", "LAST_VALUE"):
            return types[0] if types else None
        if name == "STDEV" or name == "VAR":
            return SqlType("float")
        fn = FUNCTIONS.get(name)
        if fn is None:
            return None
        if callable(fn.ret) and not isinstance(fn.ret, SqlType):
            if fn.datepart:
                return fn.ret([None, *types[1:]])
            return fn.ret(types)
        return fn.ret


def _is_string(t: SqlType | None) -> bool:
    return t is not None and t.name in STRING_TYPES


def _concat_type(a: SqlType | None, b: SqlType | None) -> SqlType:
    unicode = any(t is not None and t.name in UNICODE_TYPES for t in (a, b))
    la = a.length if a is not None and a.length is not None else 30
    lb = b.length if b is not None and b.length is not None else 30
    limit = 4000 if unicode else 8000
    length = -1 if -1 in (la, lb) or la + lb > limit else la + lb
    return SqlType("nvarchar" if unicode else "varchar", length)


def _arith(a: SqlType | None, b: SqlType | None) -> SqlType | None:
    if a is None or b is None:
        return a or b
    winner = precedence_winner([a, b])
    if winner is None:
        return None
    if winner.name == "bit":
        return INT
    if winner.name in ("tinyint", "smallint") and not (a.name == b.name):
        return winner
    if winner.name in EXACT_TYPES:
        return SqlType("numeric", precision=38, scale=max(a.scale or 0, b.scale or 0, 6 if a.name in INT_TYPES
                                                          or b.name in INT_TYPES else 0))
    return winner


def _sum_type(t: SqlType | None) -> SqlType | None:
    if t is None:
        return None
    if t.name in ("bit", "tinyint", "smallint", "int"):
        return INT
    if t.name == "bigint":
        return BIGINT
    if t.name in EXACT_TYPES:
        return SqlType("numeric", precision=38, scale=t.scale or 0)
    if t.name in FLOAT_TYPES:
        return SqlType("float")
    return t


def _avg_type(t: SqlType | None) -> SqlType | None:
    if t is None:
        return None
    if t.name in ("bit", "tinyint", "smallint", "int"):
        return INT
    if t.name in EXACT_TYPES:
        return SqlType("numeric", precision=38, scale=max(6, t.scale or 0))
    return _sum_type(t)
