"""What the TDS server asks of whatever answers the queries.

The protocol layer knows packets, tokens and type encodings; the backend knows SQL. The
server turns each SQL_BATCH, RPC (sp_executesql, sp_prepexec, sp_execute, ...) or
transaction-manager request into calls on this interface and encodes what comes back.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

# SQL type names the protocol layer can encode. Length/precision/scale ride in SqlType.
TYPE_NAMES = (
    "bit", "tinyint", "smallint", "int", "bigint", "decimal", "numeric", "float", "real",
    "char", "varchar", "nchar", "nvarchar", "binary", "varbinary", "datetime", "datetime2",
    "date", "time", "datetimeoffset", "uniqueidentifier", "sql_variant",
)


@dataclass(frozen=True)
class SqlType:
    """A column or parameter type; ``length`` -1 means (max). Lengths are in characters/bytes."""

    name: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None

    def __post_init__(self) -> None:
        if self.name not in TYPE_NAMES:
            raise ValueError(f"unknown SQL type {self.name!r}")


@dataclass(frozen=True)
class Column:
    name: str
    type: SqlType
    nullable: bool = True


@dataclass
class ResultSet:
    """Rows to stream; each row a tuple aligned with ``columns``.

    Python values: None, bool, int, float, decimal.Decimal, str, bytes, datetime.datetime
    (naive = as stored), datetime.date, datetime.time, uuid.UUID.
    """

    columns: list[Column]
    rows: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass
class Message:
    """An INFO (severity <= 10) or ERROR (severity >= 11) token with real SQL Server fields."""

    number: int
    text: str
    severity: int = 10
    state: int = 1
    procedure: str = ""
    line: int = 1

    @property
    def is_error(self) -> bool:
        return self.severity > 10


@dataclass
class RowCount:
    """A DONE(IN PROC) with the COUNT bit, e.g. after INSERT/UPDATE/DELETE."""

    count: int


@dataclass
class ReturnStatus:
    """RETURNSTATUS token for an RPC (EXEC of a procedure)."""

    value: int


Outcome = ResultSet | Message | RowCount | ReturnStatus


@dataclass
class Param:
    """A parameter as decoded from an RPC: ``name`` like '@p1' (may be '' when positional)."""

    name: str
    value: Any
    type: SqlType | None = None
    output: bool = False


class SqlError(Exception):
    """Raised by a backend to abort a batch with one ERROR token (and the DONE error bit)."""

    def __init__(self, number: int, text: str, severity: int = 16, state: int = 1, line: int = 1):
        super().__init__(f"Msg {number}, Level {severity}, State {state}: {text}")
        self.message = Message(number=number, text=text, severity=severity, state=state, line=line)


class DropConnection(Exception):
    """Raised by a backend to simulate a network drop: the server closes the socket, no reply."""


class Session(Protocol):
    """Per-connection state the backend keeps (current database, SET options, temp objects)."""

    database: str
    login: str


class Backend(Protocol):
    """Answers logins and SQL for one simulated instance."""

    server_name: str  # @@SERVERNAME, sent in ERROR/INFO tokens and LOGINACK
    version: tuple[int, int, int, int]  # e.g. (16, 0, 4135, 4) for LOGINACK's server version

    def login(self, user: str, password: str, database: str | None, app_name: str) -> Session:
        """Return a new session, or raise SqlError(18456, "Login failed for user 'x'.", 14, 1)."""

    def reset(self, session: Session) -> None:
        """RESETCONNECTION: back to the login's defaults (database, SET options)."""

    async def execute(self, session: Session, sql: str, params: list[Param]) -> list[Outcome]:
        """Run a batch (or a parameterised statement) and return what it produced, in order.

        An error that aborts the batch may be raised as SqlError *or* returned as a Message
        with severity >= 11 after the outcomes produced before it (both are legitimate: T-SQL
        continues after many errors). Procedure calls by name arrive as ``EXEC name @p=...``
        text built by the protocol layer only for procedures the protocol layer does not
        handle itself (sp_executesql / sp_prepare / sp_execute / sp_prepexec / sp_unprepare
        are handled by the protocol layer, which passes the inner SQL and its params here).
        """

    async def call(self, session: Session, procedure: str, params: list[Param]) -> list[Outcome]:
        """An RPC by name for a procedure the protocol layer does not handle itself.

        ``procedure`` is as sent (e.g. 'sys.sp_certificate_add_issuer'); unknown ones raise
        SqlError(2812, "Could not find stored procedure '<name>'.", 16, 62).
        """

    def begin(self, session: Session) -> int:
        """Transaction manager BEGIN: return an 8-byte transaction descriptor."""

    def commit(self, session: Session) -> None: ...

    def rollback(self, session: Session) -> None: ...


# Re-exported for backends that build values.
__all__ = [
    "Backend", "Column", "DropConnection", "Message", "Outcome", "Param", "ResultSet", "ReturnStatus", "RowCount",
    "Session", "SqlError", "SqlType", "dt", "decimal", "uuid",
]
