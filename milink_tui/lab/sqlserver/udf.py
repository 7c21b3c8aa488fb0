"""Registers the T-SQL built-ins as SQLite functions (``t_<name>``) on the engine's connection.

Each wrapper calls the Python implementation with the statement's environment; a T-SQL error
raised inside SQLite is parked on the engine and re-raised once SQLite unwinds, so the client
sees the real error number rather than "user-defined function raised exception".
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import TsqlError, sql_error
from .functions import FUNCTIONS, like_regex
from .sqltypes import coerce, from_sqlite, parse_type, to_sqlite

if TYPE_CHECKING:
    from .engine import QueryEngine


@functools.lru_cache(maxsize=512)
def _type(text: str):
    return parse_type(text, default_length=30) if text else None


@functools.lru_cache(maxsize=256)
def _like(pattern: str, escape: str | None):
    return like_regex(pattern, escape)


def register_udfs(engine: QueryEngine) -> None:
    conn = engine.conn
    sqlite3.enable_callback_tracebacks(False)

    def guard(impl: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            try:
                return impl(*args)
            except TsqlError as exc:
                engine.udf_error = exc
                raise
            except Exception as exc:  # noqa: BLE001 - surfaces as a conversion-style error
                engine.udf_error = TsqlError(8115, f"Arithmetic overflow or invalid value: {exc}", 16, 1)
                raise
        return call

    for name, fn in FUNCTIONS.items():
        impl = fn.impl
        conn.create_function(f"t_{name.lower()}", -1,
                             guard((lambda f: lambda *a: f(engine.env, *a))(impl)), deterministic=False)

    def t_cast(value: Any, target: str, style: Any, source: str, strict: int) -> Any:
        if value is None:
            return None
        src = _type(source)
        py = from_sqlite(value, src) if src is not None else value
        return to_sqlite(coerce(py, _type(target), src, int(style) if style is not None else None,  # type: ignore[arg-type]
                                strict=bool(strict)))

    def t_like(value: Any, pattern: Any, escape: Any) -> Any:
        if value is None or pattern is None:
            return None
        return int(bool(_like(str(pattern), escape).match(str(value))))

    def t_div(a: Any, b: Any) -> Any:
        if a is None or b is None:
            return None
        a, b = (int.from_bytes(v, "big") if isinstance(v, bytes) else v for v in (a, b))  # binary -> int
        if b == 0:
            raise sql_error(8134)
        if isinstance(a, int) and isinstance(b, int):
            q = abs(a) // abs(b)
            return q if (a >= 0) == (b >= 0) else -q  # T-SQL truncates toward zero
        return a / b

    conn.create_function("t_div", 2, guard(t_div), deterministic=True)
    conn.create_function("t_cast", 5, guard(t_cast), deterministic=True)
    conn.create_function("t_like", 3, guard(t_like), deterministic=True)
    conn.create_aggregate("t_string_agg", -1, _StringAgg)


class _StringAgg:
    """STRING_AGG(value, separator) [WITHIN GROUP (ORDER BY k1 [DESC], ...)]."""

    def __init__(self) -> None:
        self.items: list[tuple[list[Any], str]] = []
        self.sep = ","
        self.desc: list[bool] = []

    def step(self, value: Any, sep: Any, *keys: Any) -> None:
        if value is None:
            return
        self.sep = "" if sep is None else str(sep)
        self.desc = [bool(d) for d in keys[1::2]]
        self.items.append((list(keys[0::2]), str(value)))

    def finalize(self) -> Any:
        if not self.items:
            return None
        items = self.items
        for i in reversed(range(len(self.desc))):
            items.sort(key=lambda it: (it[0][i] is not None, it[0][i]), reverse=self.desc[i])
        return self.sep.join(v for _, v in items)
