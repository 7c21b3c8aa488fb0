"""An async facade over pyodbc: every connection owns one worker thread.

pyodbc is blocking and not safe to share across threads mid-statement, so each connection
gets a single-thread executor; ``await`` hands work to it and the event loop (and the UI)
never blocks. Errors become :class:`SqlClientError` with the server's error number, a cause
and a fix — never a raw driver traceback, never the password.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .connstr import NoDriverError, SqlTarget, build, choose_driver

log = logging.getLogger("milink.sql")

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
SQL_COPT_SS_ACCESS_TOKEN = 1256
_NUMBER = re.compile(r"\((\d{2,6})\)")


def load_query(name: str) -> str:
    """A named statement from ``milink_tui/sql/<name>.sql``; all of milink's SQL lives there."""
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        raise KeyError(f"no SQL file named {name!r} in {SQL_DIR}")
    return path.read_text(encoding="utf-8")


@dataclass
class ResultSet:
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=False)) for row in self.rows]


@dataclass
class BatchResult:
    """Everything a batch produced: result sets in order and the INFO messages."""

    sets: list[ResultSet] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    rowcount: int = -1

    @property
    def first(self) -> ResultSet:
        if not self.sets:
            raise LookupError("the statement returned no result set")
        return self.sets[0]


# cause / fix per server or driver error, for messages the user can act on
_EXPLAIN = {
    18456: ("The server rejected the login.",
            "Check the login name and password, that SQL authentication is enabled, and that the login is not disabled."),
    4060: ("The database in the connection does not exist or the login cannot open it.", "Connect to master."),
    208: ("An object the statement needs does not exist on this server or version.",
          "Check the SQL Server version; this check may not apply."),
    2812: ("A stored procedure is missing on this server.",
           "On SQL Server 2016/2017 install the Azure Connect pack; otherwise check the version."),
}


class SqlClientError(Exception):
    """A SQL or driver error, explained. ``number`` is the SQL Server error number when known."""

    def __init__(self, message: str, number: int | None = None, sqlstate: str = "", cause: str = "",
                 fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.number = number
        self.sqlstate = sqlstate
        self.cause = cause
        self.fix = fix

    def __str__(self) -> str:
        text = self.message
        if self.number:
            text = f"{text} (error {self.number})"
        return text


def explain(exc: BaseException, password: str | None = None) -> SqlClientError:
    """Turn a pyodbc error into a :class:`SqlClientError` with a cause and a fix."""
    if isinstance(exc, SqlClientError):
        return exc
    sqlstate, raw = "", str(exc)
    if getattr(exc, "args", None) and len(exc.args) >= 2:
        sqlstate, raw = str(exc.args[0]), str(exc.args[1])
    if password:
        raw = raw.replace(password, "***")
    m = _NUMBER.findall(raw)
    number = int(m[0]) if m else None
    text = re.sub(r"\[[^\]]*\]", "", raw)  # drop [Microsoft][ODBC Driver 18...] prefixes
    text = re.sub(r"\(\d{2,6}\)\s*(\(SQL\w+\))?", "", text).strip(" .;") + "."
    cause, fix = _EXPLAIN.get(number or -1, ("", ""))
    if sqlstate in ("HYT00", "HYT01") or "Login timeout" in raw:
        cause, fix = ("The server did not answer in time.",
                      "Check the server name and port, the firewall, and that SQL Server is running.")
    elif sqlstate == "08001" and ("certificate" in raw.lower() or "SSL" in raw):
        cause, fix = ("The server's TLS certificate is not trusted by this machine.",
                      "Install the issuing CA (or set SSL_CERT_FILE), or choose 'Trust server certificate' knowingly.")
    elif sqlstate in ("08001", "08S01") and not cause:
        cause, fix = ("The connection to the server failed or was dropped.",
                      "Check the network path and that the server is reachable on that port.")
    elif sqlstate == "IM002":
        cause, fix = "The ODBC driver named in the connection is not installed.", NoDriverError.__doc__ or ""
    return SqlClientError(text, number, sqlstate, cause, fix)


class SqlConnection:
    """One pyodbc connection and the one thread allowed to touch it."""

    def __init__(self, target: SqlTarget, query_timeout: int = 30) -> None:
        self.target = target
        self.query_timeout = query_timeout
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="milink-sql")
        self._conn: Any = None
        self._cursor: Any = None
        self.driver: str | None = None
        self.round_trips = 0

    async def _run(self, fn, *args):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, fn, *args)

    async def open(self) -> SqlConnection:
        await self._run(self._open)
        return self

    def _open(self) -> None:
        import pyodbc

        self.driver = choose_driver(pyodbc.drivers(), self.target.driver)
        conn_str = build(self.target, self.driver)
        attrs = {}
        if self.target.auth == "entra" and self.target.access_token:
            raw = self.target.access_token.encode("utf-16-le")
            attrs[SQL_COPT_SS_ACCESS_TOKEN] = struct.pack(f"<I{len(raw)}s", len(raw), raw)
        try:
            self._conn = pyodbc.connect(conn_str, autocommit=True, timeout=self.target.login_timeout,
                                        attrs_before=attrs or None)
        except pyodbc.Error as e:
            raise explain(e, self.target.password) from None
        self._conn.timeout = self.query_timeout
        log.info("connected to %s with %s", self.target.display, self.driver)

    async def run(self, sql: str, params: Sequence[Any] = ()) -> BatchResult:
        """Execute one batch (parameters as ``?``) and collect every result set and message."""
        return await self._run(self._execute, sql, tuple(params))

    async def query(self, name: str, params: Sequence[Any] = ()) -> BatchResult:
        """Run a named statement from the ``sql/`` folder."""
        return await self.run(load_query(name), params)

    def _execute(self, sql: str, params: tuple[Any, ...]) -> BatchResult:
        import pyodbc

        if self._conn is None:
            raise SqlClientError("not connected")
        out = BatchResult()
        cur = self._conn.cursor()
        self._cursor = cur
        self.round_trips += 1
        try:
            cur.execute(sql, params) if params else cur.execute(sql)
            while True:
                out.messages += [m[1] for m in (cur.messages or [])]
                if cur.description:
                    cols = [d[0] for d in cur.description]
                    out.sets.append(ResultSet(cols, [tuple(r) for r in cur.fetchall()]))
                else:
                    out.rowcount = cur.rowcount
                if not cur.nextset():
                    break
        except pyodbc.Error as e:
            raise explain(e, self.target.password) from None
        finally:
            self._cursor = None
            cur.close()
        return out

    def cancel(self) -> None:
        """Cancel the running statement (sends ATTENTION); safe to call from any thread."""
        cur = self._cursor
        if cur is not None:
            try:
                cur.cancel()
            except Exception:  # the statement may just have finished
                pass

    async def close(self) -> None:
        if self._conn is not None:
            await self._run(self._conn.close)
            self._conn = None
        self._pool.shutdown(wait=False)

    async def __aenter__(self) -> SqlConnection:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def connect(target: SqlTarget, attempts: int = 3, backoff: float = 0.5,
                  query_timeout: int = 30) -> SqlConnection:
    """Open a connection, retrying transient failures (not bad logins) with exponential backoff."""
    delay = backoff
    for attempt in range(1, attempts + 1):
        conn = SqlConnection(target, query_timeout=query_timeout)
        try:
            return await conn.open()
        except SqlClientError as e:
            await conn.close()
            transient = e.sqlstate in ("08001", "08S01", "HYT00") and e.number not in (18456, 4060)
            if not transient or attempt == attempts:
                raise
            log.info("connect to %s failed (%s); retrying in %.1f s", target.display, e, delay)
            await asyncio.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")
