"""Test-only TDS server process: ``serve_tds`` with a tiny backend that knows a few queries.

Runs in a child process because pyodbc can hold the GIL while it waits on the socket
(fast_executemany's SQLDescribeParam), which would deadlock a server thread in the same
process. Prints one JSON line ``{"port": ..., "ca": ...}`` when ready; exits when stdin closes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import json
import logging
import re
import ssl
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from milink_tui.lab.tds.backend import (
    Column,
    Message,
    Outcome,
    Param,
    ResultSet,
    ReturnStatus,
    RowCount,
    SqlError,
    SqlType,
)
from milink_tui.lab.tds.server import serve_tds

USER, PASSWORD = "sa", "Lab_Passw0rd!"
BIG_TEXT = "".join(chr(0x41 + i % 26) for i in range(12000)) + "\u00e9\u4e2d"  # > 10 KB, non-ASCII tail
GUID = uuid.UUID("12345678-1234-5678-1234-567812345678")

ALL_TYPES: list[tuple[str, SqlType, Any]] = [
    ("c_bit", SqlType("bit"), True),
    ("c_tinyint", SqlType("tinyint"), 255),
    ("c_smallint", SqlType("smallint"), -32768),
    ("c_int", SqlType("int"), 2147483647),
    ("c_bigint", SqlType("bigint"), -9223372036854775808),
    ("c_decimal", SqlType("decimal", precision=10, scale=2), decimal.Decimal("-12345678.91")),
    ("c_numeric", SqlType("numeric", precision=38, scale=10), decimal.Decimal("1234567890123456789012345678.0123456789")),
    ("c_float", SqlType("float"), 3.141592653589793),
    ("c_real", SqlType("real"), 1.5),
    ("c_char", SqlType("char", 5), "ab"),
    ("c_varchar", SqlType("varchar", 20), "caf\u00e9"),
    ("c_nchar", SqlType("nchar", 5), "\u00fc"),
    ("c_nvarchar", SqlType("nvarchar", 20), "\u65e5\u672c\u8a9e"),
    ("c_nvarchar_max", SqlType("nvarchar", -1), BIG_TEXT),
    ("c_varchar_max", SqlType("varchar", -1), "x" * 9000),
    ("c_binary", SqlType("binary", 4), b"\x01\x02"),
    ("c_varbinary", SqlType("varbinary", 10), b"\xde\xad\xbe\xef"),
    ("c_varbinary_max", SqlType("varbinary", -1), bytes(range(256)) * 40),
    ("c_datetime", SqlType("datetime"), dt.datetime(2024, 2, 29, 23, 59, 58, 997000)),
    ("c_datetime2", SqlType("datetime2", scale=7), dt.datetime(2024, 1, 2, 3, 4, 5, 123456)),
    ("c_date", SqlType("date"), dt.date(1999, 12, 31)),
    ("c_time", SqlType("time", scale=7), dt.time(13, 14, 15, 500000)),
    ("c_dto", SqlType("datetimeoffset", scale=7),
     dt.datetime(2024, 5, 6, 7, 8, 9, 100000, tzinfo=dt.timezone(dt.timedelta(hours=2)))),
    ("c_guid", SqlType("uniqueidentifier"), GUID),
    ("c_variant_int", SqlType("sql_variant"), 42),
    ("c_variant_str", SqlType("sql_variant"), "RTM"),
]


@dataclass
class EchoSession:
    database: str
    login: str
    trancount: int = 0
    resets: int = 0


class EchoBackend:
    """Answers the fixed queries the TDS tests use; echoes parameters back as a result set."""

    server_name = "LABSQL01"
    version = (16, 0, 4135, 4)

    def __init__(self) -> None:
        self.table: list[tuple[Any, ...]] = []
        self.next_tran = 1

    def login(self, user: str, password: str, database: str | None, app_name: str) -> EchoSession:
        if user != USER or password != PASSWORD:
            raise SqlError(18456, f"Login failed for user '{user}'.", 14, 1)
        return EchoSession(database or "master", user)

    def reset(self, session: EchoSession) -> None:
        session.database = "master"
        session.resets += 1

    def begin(self, session: EchoSession) -> int:
        session.trancount += 1
        self.next_tran += 1
        return self.next_tran

    def commit(self, session: EchoSession) -> None:
        session.trancount = 0

    def rollback(self, session: EchoSession) -> None:
        session.trancount = 0

    def describe_parameters(self, session: EchoSession, sql: str, names: list[str]) -> dict[str, SqlType]:
        """Optional hook for sp_describe_undeclared_parameters: 'SELECT typed @P1' parameters are int."""
        return {n: SqlType("int") for n in names} if sql.lower().startswith("select typed") else {}

    async def call(self, session: EchoSession, procedure: str, params: list[Param]) -> list[Outcome]:
        if procedure.lower().endswith("lab_echo_proc"):
            cols = [Column(p.name.lstrip("@") or f"p{i}", p.type or SqlType("nvarchar", 100))
                    for i, p in enumerate(params)]
            return [ResultSet(cols, [tuple(p.value for p in params)]), ReturnStatus(7)]
        raise SqlError(2812, f"Could not find stored procedure '{procedure}'.", 16, 62)

    @staticmethod
    def _scripted(kind: str) -> Outcome:
        if kind == "rs":
            return ResultSet([Column("n", SqlType("int"))], [(1,), (2,)])
        if kind == "err":
            return Message(50001, "scripted error", 16, 1)
        if kind == "info":
            return Message(50002, "scripted info", 0, 1)
        if kind == "count":
            return RowCount(3)
        raise SqlError(102, f"Incorrect syntax near '{kind}'.", 15, 1)

    async def execute(self, session: EchoSession, sql: str, params: list[Param]) -> list[Outcome]:
        out: list[Outcome] = []
        for stmt in [s.strip() for s in sql.split(";") if s.strip()]:
            try:
                out.extend(await self._statement(session, stmt, params))
            except SqlError as exc:
                if out:  # later statements' errors come back as a Message after earlier results
                    out.append(exc.message)
                    return out
                raise
        return out

    async def _statement(self, session: EchoSession, stmt: str, params: list[Param]) -> list[Outcome]:
        norm = " ".join(stmt.split()).lower()
        byname = {p.name.lower(): p for p in params}
        if norm.startswith("outcomes "):  # e.g. "outcomes rs,err,info,count": a scripted outcome list
            return [self._scripted(k.strip()) for k in norm[9:].split(",") if not k.strip().startswith("@")]
        if norm.startswith("set ") or norm.startswith("if @@trancount"):
            return []
        if norm == "select all_types":
            cols = [Column(n, t) for n, t, _ in ALL_TYPES]
            return [ResultSet(cols, [tuple(v for _, _, v in ALL_TYPES), tuple(None for _ in ALL_TYPES)])]
        if norm.startswith("select types "):  # a subset of ALL_TYPES: "select types c_int,c_date"
            wanted = [w.strip() for w in norm[13:].split(",")]
            chosen = [t for t in ALL_TYPES if t[0] in wanted]
            cols = [Column(n, t) for n, t, _ in chosen]
            return [ResultSet(cols, [tuple(v for _, _, v in chosen), tuple(None for _ in chosen)])]
        if norm.startswith("waitfor delay"):
            await asyncio.sleep(float(re.findall(r"(\d+)'", norm)[0]) if re.findall(r"(\d+)'", norm) else 5)
            return []
        if norm.startswith("raiserror"):
            raise SqlError(50000, re.findall(r"'([^']*)'", stmt)[0], 16, 1)
        if norm.startswith("print "):
            return [Message(0, re.findall(r"'([^']*)'", stmt)[0], 0, 1)]
        if norm == "boom":
            raise RuntimeError("backend bug")
        if norm.startswith("use "):
            session.database = stmt.split(None, 1)[1].strip("[] ")
            return [Message(5701, f"Changed database context to '{session.database}'.", 0, 1)]
        if norm == "select db_name()":
            return [ResultSet([Column("", SqlType("nvarchar", 128))], [(session.database,)])]
        if norm == "select @@trancount":
            return [ResultSet([Column("", SqlType("int"))], [(session.trancount,)])]
        if norm == "select resets":
            return [ResultSet([Column("resets", SqlType("int"))], [(session.resets,)])]
        if norm == "select serverproperty('productversion')":
            return [ResultSet([Column("", SqlType("sql_variant"))], [("16.0.4135.4",)])]
        if norm.startswith("insert into t"):
            self.table.append(tuple(p.value for p in params))
            return [RowCount(1)]
        if norm == "select * from t":
            cols = [Column(p, SqlType("nvarchar", 4000)) for p in ("a", "b")]
            return [ResultSet(cols, [tuple(None if v is None else str(v) for v in row) for row in self.table])]
        if norm == "delete from t":
            n = len(self.table)
            self.table.clear()
            return [RowCount(n)]
        if norm.startswith("select typed "):
            stmt = "SELECT " + stmt.strip()[13:]
        if norm.startswith("select "):
            items = [i.strip() for i in stmt.strip()[7:].split(",")]
            cols: list[Column] = []
            row: list[Any] = []
            for i, item in enumerate(items):
                low = item.lower()
                if low.startswith("@"):
                    p = byname.get(low)
                    if p is None:
                        raise SqlError(137, f"Must declare the scalar variable \"{item}\".", 15, 2)
                    t = p.type or SqlType("nvarchar", 4000)
                    cols.append(Column(p.name.lstrip("@"), t))
                    row.append(p.value)
                elif low == "null":
                    cols.append(Column(f"c{i}", SqlType("int")))
                    row.append(None)
                elif re.fullmatch(r"-?\d+", low):
                    cols.append(Column("", SqlType("int")))
                    row.append(int(low))
                elif re.fullmatch(r"n?'[^']*'", low):
                    cols.append(Column("", SqlType("nvarchar", 100)))
                    row.append(item.split("'")[1])
                else:
                    raise SqlError(207, f"Invalid column name '{item}'.", 16, 1)
            return [ResultSet(cols, [tuple(row)])]
        token = stmt.split()[0] if stmt.split() else stmt
        raise SqlError(102, f"Incorrect syntax near '{token}'.", 15, 1)


async def main() -> None:
    logging.basicConfig(level=logging.DEBUG if "-v" in sys.argv else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    import trustme

    tmp = Path(tempfile.mkdtemp(prefix="tds-echo-"))
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1", common_name="localhost")
    ca_file = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    server = await serve_tds(EchoBackend(), ssl_context=None if "--no-tls" in sys.argv else ctx)
    print(json.dumps({"port": server.port, "ca": str(ca_file)}), flush=True)
    loop = asyncio.get_running_loop()
    # Stop when the parent closes our stdin (or dies).
    await loop.run_in_executor(None, sys.stdin.read)
    await server.close()


if __name__ == "__main__":
    asyncio.run(main())
