"""An async facade over a SQL Server DB-API driver: every connection owns one worker thread.

The driver is pyodbc with a registered ODBC driver, or mssql-python (its own bundled Driver
18) when none is registered or when asked for; both speak DB-API and take the same access
token attribute, so one :class:`SqlConnection` serves both and says which it used
(:attr:`SqlConnection.driver_label`). Drivers are blocking and not safe to share across
threads mid-statement, so each connection gets a single-thread executor; ``await`` hands
work to it and the event loop (and the UI) never blocks. Errors become
:class:`SqlClientError` with the server's error number, a cause and a fix — never a raw
driver traceback, never the password or token.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import os
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .connstr import (
    DRIVER_ENV,
    MSSQL_PYTHON,
    NoDriverError,
    SqlTarget,
    build,
    choose_driver,
    installed_drivers,
)

log = logging.getLogger("milink.sql")

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
SQL_COPT_SS_ACCESS_TOKEN = 1256
_NUMBER = re.compile(r"\((\d{2,6})\)")
TOKEN_PRINCIPAL = "<token-identified principal>"
# mssql-python raises DB-API classes whose ``driver_error`` is the SQLSTATE's text and whose
# message has no error number: recover both so its errors explain like pyodbc's.
_MSSQL_PYTHON_STATES = {
    "Invalid authorization specification": "28000",
    "Client unable to establish connection": "08001",
    "Communication link failure": "08S01",
    "Timeout expired": "HYT00",
    "Connection timeout expired": "HYT01",
    "Data source name not found and no default driver specified": "IM002",
}
_MESSAGE_NUMBERS = (
    ("Login failed for user", 18456), ("Cannot open database", 4060), ("Invalid object name", 208),
    ("Could not find stored procedure", 2812), ("Incorrect syntax near", 102),
    ("Violation of PRIMARY KEY constraint", 2627),
)


@functools.cache
def load_query(name: str) -> str:
    """A named statement from ``milink_tui/sql/<name>.sql``; all of milink's SQL lives there.

    Cached: the files ship with the package, and the dashboard asks for its batch every second."""
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


def _entra_refusal(raw: str) -> tuple[str, str]:
    """Cause and fix for a Microsoft Entra login the server refused (18456, token-identified principal)."""
    if "Token is expired" in raw:
        return ("The Microsoft Entra access token had expired when it reached the server.",
                "Sign in to Azure again; milink asks for a fresh token at every connection.")
    if "not currently configured to accept this token" in raw:
        return ("The server does not accept tokens from this tenant or for this resource.",
                "Sign in to the tenant of the server's Microsoft Entra admin, in the server's Azure cloud "
                "(the token must be for that cloud's SQL resource).")
    return ("The server did not accept the signed-in Microsoft Entra account.",
            "The account needs a login there: make it the server's Microsoft Entra admin, or have an admin run "
            "CREATE LOGIN [name] FROM EXTERNAL PROVIDER; check which account milink is signed in with.")


def _driver_parts(exc: BaseException) -> tuple[str, str]:
    """(SQLSTATE, message) from a pyodbc or mssql-python error."""
    ddbc = getattr(exc, "ddbc_error", None)
    if ddbc is not None or hasattr(exc, "driver_error"):  # mssql-python
        driver_error = str(getattr(exc, "driver_error", "") or "")
        return _MSSQL_PYTHON_STATES.get(driver_error, ""), str(ddbc or driver_error)
    if type(exc).__name__ == "ConnectionStringParseError":
        return "", str(exc)
    if getattr(exc, "args", None) and len(exc.args) >= 2:
        return str(exc.args[0]), str(exc.args[1])
    return "", str(exc)


def explain(exc: BaseException, password: str | None = None) -> SqlClientError:
    """Turn a pyodbc or mssql-python error into a :class:`SqlClientError` with a cause and a fix."""
    if isinstance(exc, SqlClientError):
        return exc
    sqlstate, raw = _driver_parts(exc)
    if password:
        raw = raw.replace(password, "***")
    m = _NUMBER.findall(raw)
    number = int(m[0]) if m else next((n for text, n in _MESSAGE_NUMBERS if text in raw), None)
    text = re.sub(r"\[[^\]]*\]", "", raw)  # drop [Microsoft][ODBC Driver 18...] prefixes
    text = re.sub(r"\(\d{2,6}\)\s*(\(SQL\w+\))?", "", text).strip(" .;") + "."
    cause, fix = _EXPLAIN.get(number or -1, ("", ""))
    if number == 18456 and TOKEN_PRINCIPAL in raw:
        cause, fix = _entra_refusal(raw)
    if sqlstate in ("HYT00", "HYT01") or "Login timeout" in raw or "Timeout error" in raw:
        cause, fix = ("The server did not answer in time.",
                      "Check the server name and port, the firewall, and that SQL Server is running.")
    elif sqlstate == "08001" and ("certificate" in raw.lower() or "SSL" in raw):
        cause, fix = ("The server's TLS certificate is not trusted by this machine.",
                      "Install the issuing CA (or set SSL_CERT_FILE), or choose 'Trust server certificate' knowingly.")
    elif not cause and (sqlstate in ("08001", "08S01") or "TCP Provider" in raw):
        cause, fix = ("The connection to the server failed or was dropped.",
                      "Check the network path and that the server is reachable on that port.")
    elif sqlstate == "IM002":
        cause, fix = "The ODBC driver named in the connection is not installed.", NoDriverError.__doc__ or ""
    return SqlClientError(text, number, sqlstate, cause, fix)


def access_token_attribute(token: str) -> bytes:
    """SQL_COPT_SS_ACCESS_TOKEN's value: the token as UTF-16-LE behind a 4-byte little-endian length."""
    raw = token.encode("utf-16-le")
    return struct.pack("<I", len(raw)) + raw


def token_error(exc: BaseException) -> SqlClientError:
    """An Azure sign-in failure while fetching a SQL token, as cause + fix (the token never appears)."""
    from .azure_errors import explain as explain_azure

    az = explain_azure(exc, "Microsoft Entra token for SQL Server")
    return SqlClientError(f"Could not get a Microsoft Entra token: {az.message}",
                          cause="The Azure sign-in could not provide an access token for SQL Server.",
                          fix=az.fix or "Sign in to Azure again, then connect.")


_MSSQL_PYTHON_POOLING_OFF = False


def _driver_module(driver: str) -> tuple[Any, tuple[type[BaseException], ...]]:
    """The DB-API module for ``driver`` and the exceptions it raises (imported only now: heavy)."""
    if driver == MSSQL_PYTHON:
        try:
            import mssql_python
        except (ImportError, OSError) as e:  # e.g. libltdl.so.7 missing
            raise NoDriverError(f"mssql-python is installed but its driver would not load ({e}). On Debian or "
                                "Ubuntu: `sudo apt-get install libltdl7`.") from None
        global _MSSQL_PYTHON_POOLING_OFF
        if not _MSSQL_PYTHON_POOLING_OFF:
            # its pool can hand back a connection opened with other settings (seen: one made with
            # TrustServerCertificate=yes reused for =no), and a reconnect must really reconnect
            mssql_python.pooling(enabled=False)
            _MSSQL_PYTHON_POOLING_OFF = True
        return mssql_python, (mssql_python.Error, mssql_python.ConnectionStringParseError)
    import pyodbc

    return pyodbc, (pyodbc.Error,)


def describe_driver(driver: str) -> str:
    """What the user sees as "connected with": the ODBC driver through pyodbc, or mssql-python's own."""
    if driver != MSSQL_PYTHON:
        return f"{driver} (pyodbc)"
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"mssql-python {version('mssql-python')} (bundled ODBC Driver 18)"
    except PackageNotFoundError:
        return "mssql-python (bundled ODBC Driver 18)"


class SqlConnection:
    """One DB-API connection (pyodbc or mssql-python) and the one thread allowed to touch it."""

    def __init__(self, target: SqlTarget, query_timeout: int = 30) -> None:
        self.target = target
        self.query_timeout = query_timeout
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="milink-sql")
        self._conn: Any = None
        self._cursor: Any = None
        self._errors: tuple[type[BaseException], ...] = ()
        self.driver: str | None = None  # the ODBC driver name, or "mssql-python"
        self.driver_label: str = ""  # e.g. "ODBC Driver 18 for SQL Server (pyodbc)"
        self.round_trips = 0

    async def _run(self, fn, *args):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, fn, *args)

    async def open(self) -> SqlConnection:
        token = await self._access_token()
        await self._run(self._open, token)
        return self

    async def _access_token(self) -> str | None:
        """Microsoft Entra: a fresh token from the provider (on the event loop: credentials are async)."""
        t = self.target
        if t.auth != "entra":
            return None
        if t.token_provider is not None:
            try:
                return await t.token_provider()
            except SqlClientError:
                raise
            except asyncio.CancelledError:
                raise
            except Exception as e:
                raise token_error(e) from None
        if t.access_token:
            return t.access_token
        raise SqlClientError("Not signed in to Azure",
                             cause="Microsoft Entra authentication uses the token of the Azure account milink is "
                                   "signed in with.",
                             fix="Sign in to Azure, then connect.")

    def _open(self, token: str | None) -> None:
        wanted = self.target.driver or os.environ.get(DRIVER_ENV) or None
        driver = choose_driver(installed_drivers(), wanted, self.target.auth)
        module, self._errors = _driver_module(driver)
        conn_str = build(self.target, driver)
        attrs = {SQL_COPT_SS_ACCESS_TOKEN: access_token_attribute(token)} if token else None
        try:
            self._conn = module.connect(conn_str, autocommit=True, timeout=self.target.login_timeout,
                                        attrs_before=attrs)
        except self._errors as e:
            raise explain(e, self.target.password) from None
        self._conn.timeout = self.query_timeout
        self.driver, self.driver_label = driver, describe_driver(driver)
        log.info("connected to %s with %s", self.target.display, self.driver_label)

    async def run(self, sql: str, params: Sequence[Any] = ()) -> BatchResult:
        """Execute one batch (parameters as ``?``) and collect every result set and message."""
        return await self._run(self._execute, sql, tuple(params))

    async def query(self, name: str, params: Sequence[Any] = ()) -> BatchResult:
        """Run a named statement from the ``sql/`` folder."""
        return await self.run(load_query(name), params)

    def _execute(self, sql: str, params: tuple[Any, ...]) -> BatchResult:
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
        except self._errors as e:
            raise explain(e, self.target.password) from None
        finally:
            self._cursor = None
            cur.close()
        return out

    def cancel(self) -> None:
        """Cancel the running statement (sends ATTENTION); safe to call from any thread.

        mssql-python's cursor has no cancel: there the query timeout is what ends a statement.
        """
        cur = self._cursor
        if cur is not None and hasattr(cur, "cancel"):
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
        except BaseException:  # no driver, cancelled: don't leave the worker thread behind
            await conn.close()
            raise
    raise AssertionError("unreachable")
