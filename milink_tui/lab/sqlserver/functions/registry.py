"""The function registry: how a T-SQL built-in is declared (arity, result type, implementation)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...tds.backend import SqlType
from ..sqltypes import parse_datetime, to_text

ArgTypes = list[SqlType | None]


@dataclass
class Fn:
    name: str
    min_args: int
    max_args: int | None
    impl: Callable[..., Any]  # impl(env, *sqlite_values) -> sqlite value
    ret: SqlType | Callable[[ArgTypes], SqlType | None] | None
    datepart: bool = False  # first argument is a DATEPART keyword, not a column


FUNCTIONS: dict[str, Fn] = {}


def fn(name: str, min_args: int, max_args: int | None, ret: Any, datepart: bool = False):
    """Register ``impl`` as the T-SQL function ``name`` (called from SQLite as ``t_<name>``)."""
    def deco(impl: Callable[..., Any]) -> Callable[..., Any]:
        FUNCTIONS[name] = Fn(name, min_args, max_args, impl, ret, datepart)
        return impl
    return deco


def nv(length: int) -> SqlType:
    return SqlType("nvarchar", length)


def string_result(types: ArgTypes) -> SqlType:
    """String functions return their first argument's string type."""
    t = types[0] if types and types[0] is not None else None
    if t is not None and t.name in ("varchar", "char"):
        return SqlType("varchar", t.length if t.length else 8000)
    if t is not None and t.name in ("nvarchar", "nchar"):
        return SqlType("nvarchar", t.length if t.length else 4000)
    return SqlType("nvarchar", 4000)


def as_datetime(value: Any) -> dt.datetime | None:
    """A date argument: text as SQL Server parses it, a number as days since 1900-01-01."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime(1900, 1, 1) + dt.timedelta(days=value)
    return parse_datetime(str(value))


def text(value: Any) -> str | None:
    return None if value is None else to_text(value)
