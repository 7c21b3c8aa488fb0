"""The query engine and batch language: SELECT features, functions, variables, errors and batch semantics."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import pytest

from milink_tui.lab.sqlserver import SqlServerBackend
from milink_tui.lab.tds.backend import Message, Param, ResultSet, ReturnStatus, SqlError, SqlType

from .sqlserver_helpers import Client, add_link, assert_no_errors, errors_of


async def test_login_failures(backend: SqlServerBackend) -> None:
    for user, password in (("sa", "wrong"), ("nobody", "x"), ("locked", "L0cked!")):
        with pytest.raises(SqlError) as exc:
            backend.login(user, password, None, "app")
        m = exc.value.message
        assert (m.number, m.severity, m.state, m.text) == (18456, 14, 1, f"Login failed for user '{user}'.")
    with pytest.raises(SqlError) as exc:
        backend.login("sa", "Pa55w0rd!", "nodb", "app")
    assert exc.value.message.number == 4060
    session = backend.login("SA", "Pa55w0rd!", "db1", "app")
    assert session.database == "db1" and session.login == "sa"


async def test_round_trips_are_counted(client: Client, backend: SqlServerBackend) -> None:
    before = backend.world.round_trips.get("tds:SQLLAB01", 0)
    await client.run("SELECT 1; SELECT 2")
    await backend.call(client.session, "sp_who", [])
    assert backend.world.round_trips["tds:SQLLAB01"] == before + 2


@pytest.mark.parametrize("sql,number,text", [
    ("SELECT * FROM sys.nothing", 208, "Invalid object name 'sys.nothing'."),
    ("SELECT * FROM master.sys.nothing", 208, "Invalid object name 'master.sys.nothing'."),
    ("SELECT * FROM databases", 208, "Invalid object name 'databases'."),
    ("SELECT * FROM nodb.sys.tables", 208, "Invalid object name 'nodb.sys.tables'."),
    ("SELECT * FROM dbo.backupset", 208, "Invalid object name 'dbo.backupset'."),
    ("SELECT nope FROM sys.databases", 207, "Invalid column name 'nope'."),
    ("SELECT name FROM sys.databases d JOIN sys.master_files f ON f.database_id = d.database_id", 209,
     "Ambiguous column name 'name'."),
    ("SELECT FROM WHERE", 156, "Incorrect syntax near the keyword 'WHERE'."),
    ("SELECT name FROM sys.databases ORDER name", 102, "Incorrect syntax near 'name'."),
    ("SELEC 1", 2812, "Could not find stored procedure 'SELEC'."),
    ("SELECT 'abc", 105, "Unclosed quotation mark after the character string 'abc'."),
    ("EXEC sp_does_not_exist", 2812, "Could not find stored procedure 'sp_does_not_exist'."),
    ("EXEC dbo.sp_nope 1, 2", 2812, "Could not find stored procedure 'dbo.sp_nope'."),
    ("SELECT @undeclared", 137, 'Must declare the scalar variable "@undeclared".'),
    ("SELECT NOSUCHFUNC(1)", 195, "'NOSUCHFUNC' is not a recognized built-in function name."),
    ("USE nodb", 911, "Database 'nodb' does not exist. Make sure that the name is entered correctly."),
    ("GO", 102, "Incorrect syntax near 'GO'."),
    ("CREATE TABLE t (a int)", 40517, None),
    ("INSERT INTO sys.databases (name) VALUES ('x')", 259, "Ad hoc updates to system catalogs are not allowed."),
    ("UPDATE dbo.t SET a = 1", 208, "Invalid object name 'dbo.t'."),
    ("SELECT CAST('abc' AS int)", 245, "Conversion failed when converting the varchar value 'abc' to data type int."),
])
async def test_errors(client: Client, sql: str, number: int, text: str | None) -> None:
    err = await client.error(sql)
    assert err.number == number
    if text is not None:
        assert err.text == text
    if number == 2812:
        assert (err.severity, err.state) == (16, 62)


async def test_syntax_error_runs_nothing(client: Client, backend: SqlServerBackend) -> None:
    out = await client.run("CREATE DATABASE early\nSELECT 1 +\nSELECT name FROM")
    assert len(out) == 1 and out[0].number in (102, 156)
    assert "early" not in backend.instance.databases


async def test_statement_errors_continue_but_name_errors_abort(client: Client) -> None:
    out = await client.run("SELECT 1 AS a\nDROP CERTIFICATE nope\nSELECT 2 AS b\nSELECT * FROM sys.nope\nSELECT 3")
    kinds = [(type(o).__name__, getattr(o, "number", None)) for o in out]
    assert kinds == [("ResultSet", None), ("Message", 15151), ("ResultSet", None), ("Message", 208)]


async def test_try_catch_and_raiserror(client: Client) -> None:
    out = await client.run("""
BEGIN TRY
    DROP CERTIFICATE nope
    PRINT 'not reached'
END TRY
BEGIN CATCH
    SELECT ERROR_NUMBER() AS n, ERROR_MESSAGE() AS m, ERROR_SEVERITY() AS s
END CATCH
RAISERROR('custom %s %d', 10, 1, N'info', 42) WITH NOWAIT
RAISERROR('boom', 16, 2)
PRINT 'after'
""")
    rs = out[0]
    assert isinstance(rs, ResultSet) and rs.rows[0][0] == 15151 and rs.rows[0][2] == 16
    assert (out[1].text, out[1].severity) == ("custom info 42", 10)
    assert (out[2].number, out[2].text, out[2].severity, out[2].state) == (50000, "boom", 16, 2)
    assert out[3].text == "after"
    out = await client.run("THROW 51000, 'thrown', 1; PRINT 'no'")
    assert [(o.number, o.text) for o in out] == [(51000, "thrown")]


async def test_variables_if_while(client: Client) -> None:
    out = await client.run("""
DECLARE @i int = 0, @s nvarchar(100) = N''
WHILE @i < 5
BEGIN
    SET @i += 1
    IF @i = 3 CONTINUE
    SET @s = @s + CAST(@i AS nvarchar(10))
END
SELECT @i AS i, @s AS s
DECLARE @n int
SELECT @n = COUNT(*) FROM sys.databases WHERE database_id > 4
IF @n > 2 SELECT 'many' AS r ELSE SELECT 'few' AS r
""")
    sets = [o for o in out if isinstance(o, ResultSet)]
    assert sets[0].rows == [(5, "1245")] and sets[0].columns[1].type == SqlType("nvarchar", 100)
    assert sets[1].rows == [("many",)]
    err = await client.error("DECLARE @a int; DECLARE @a int")
    assert err.number == 134


async def test_select_features(client: Client, backend: SqlServerBackend) -> None:
    add_link(backend.world, backend.instance)
    rows = await client.rows("""
SELECT TOP 2 d.name AS 'Database', [state] = d.state_desc,
       CASE WHEN d.recovery_model_desc = 'FULL' THEN 'ok' ELSE 'no' END AS verdict,
       (SELECT COUNT(*) FROM sys.master_files f WHERE f.database_id = d.database_id) AS files
FROM master.sys.databases AS d
WHERE d.database_id > 4 AND d.name NOT LIKE 'x%' AND d.name IN (SELECT name FROM sys.databases)
ORDER BY files DESC, d.name""")
    assert rows == [("db2", "ONLINE", "no", 3), ("inmem", "ONLINE", "ok", 3)]
    union = await client.rows("SELECT name FROM sys.databases WHERE database_id = 1 UNION ALL SELECT N'x' "
                              "UNION SELECT 'x' ORDER BY name")
    assert union == [("master",), ("x",)]
    grouped = await client.rows("SELECT type_desc, COUNT(*) AS n, SUM(size) AS pages FROM sys.master_files "
                                "GROUP BY type_desc HAVING COUNT(*) > 1 ORDER BY type_desc")
    assert [r[0] for r in grouped] == ["LOG", "ROWS"]
    distinct = await client.rows("SELECT DISTINCT recovery_model_desc FROM sys.databases ORDER BY 1")
    assert distinct == [("FULL",), ("SIMPLE",)]
    cte = await client.rows("WITH big AS (SELECT database_id, SUM(size) AS s FROM sys.master_files GROUP BY "
                            "database_id) SELECT d.name FROM sys.databases d JOIN big ON big.database_id = "
                            "d.database_id WHERE big.s > 10000")
    assert cte == [("db1",)]
    cross = await client.rows("SELECT d.name, f.name FROM sys.databases d CROSS APPLY (SELECT name FROM "
                              "sys.master_files mf WHERE mf.database_id = d.database_id AND mf.type = 1) f "
                              "WHERE d.name = 'db2' ORDER BY f.name")
    assert cross == [("db2", "db2_log"), ("db2", "db2_log2")]
    case_insensitive = await client.rows("SELECT name FROM sys.databases WHERE name = 'DB1'")
    assert case_insensitive == [("db1",)]
    rn = await client.rows("SELECT name, ROW_NUMBER() OVER (ORDER BY database_id DESC) AS rn FROM sys.databases "
                           "WHERE database_id <= 2")
    assert sorted(rn) == [("master", 2), ("tempdb", 1)]
    agg = await client.rows("SELECT STRING_AGG(name, ',') WITHIN GROUP (ORDER BY name DESC) FROM sys.databases "
                            "WHERE database_id > 4")
    assert agg == [("inmem,db2,db1",)]


async def test_functions(client: Client, backend: SqlServerBackend) -> None:
    backend.world.clock._start = dt.datetime(2025, 6, 1, 12, 30, 45, 123000)  # noqa: SLF001 - pin the clock
    backend.world.clock._offset = 0.0  # noqa: SLF001
    backend.world.clock.speed = 0.0
    rs = await client.result("""SELECT LEN('abc  '), CHARINDEX('B', 'abc'), SUBSTRING('abcdef', 2, 3),
        REVERSE('abc'), ISNULL(NULL, 'x'), COALESCE(NULL, NULL, 3), LEFT('abc', 2), RIGHT('abc', 2),
        UPPER('a') + LOWER('B'), REPLACE('aXbx', 'x', '-'), CONVERT(varchar(8), GETDATE(), 108),
        CONVERT(varchar(20), GETUTCDATE(), 120), CONVERT(varchar(30), SYSDATETIME(), 126),
        DATEADD(day, 1, '2025-01-31'), DATEDIFF(SECOND, '2025-01-01 00:00:00', '2025-01-01 01:00:01'),
        CAST(1 AS bit), CAST('2025-01-02' AS datetime), CAST(12.345 AS numeric(10,2)),
        DB_NAME(1), DB_ID('master'), SUSER_SNAME(), @@SPID, @@TRANCOUNT, OBJECT_ID('sys.databases'),
        HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER STATE'), IIF(1 = 1, 'y', 'n'), NEWID()""")
    row = rs.rows[0]
    assert row[:10] == (3, 2, "bcd", "cba", "x", 3, "ab", "bc", "Ab", "a-b-")
    assert row[10:13] == ("12:30:45", "2025-06-01 12:30:45", "2025-06-01T12:30:45.123")
    assert row[13] == dt.datetime(2025, 2, 1) and row[14] == 3601
    assert row[15] is True and row[16] == dt.datetime(2025, 1, 2) and row[17] == decimal.Decimal("12.35")
    assert row[18:21] == ("master", 1, "sa")
    assert isinstance(row[21], int) and row[22] == 0 and isinstance(row[23], int) and row[24] == 1
    assert row[25] == "y" and isinstance(row[26], uuid.UUID)
    types = [c.type.name for c in rs.columns]
    assert types[15:18] == ["bit", "datetime", "numeric"] and types[26] == "uniqueidentifier"
    eta = await client.rows("SELECT CONVERT(VARCHAR(8), DATEADD(SECOND, 3725, 0), 108)")
    assert eta == [("01:02:05",)]
    version = await client.rows("SELECT PARSENAME(CONVERT(varchar(32), SERVERPROPERTY('ProductVersion')), 4), "
                                "CAST(PARSENAME(CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)), 2) AS int), "
                                "CHOOSE(2, 'a', 'b'), GETDATE() - 1, @@MICROSOFTVERSION / 0x01000000")
    assert version == [("16", 4135, "b", dt.datetime(2025, 5, 31, 12, 30, 45, 123000), 16)]


async def test_parameters(client: Client) -> None:
    rs = await client.result("SELECT name FROM sys.databases WHERE database_id = @P1 OR name = @P2",
                             [Param("@P1", 1, SqlType("int")), Param("@P2", "db1", SqlType("nvarchar", 4000))])
    assert sorted(rs.rows) == [("db1",), ("master",)]
    rs = await client.result("SELECT name FROM sys.databases WHERE database_id = ? AND name <> ?",
                             [Param("", 5), Param("", "x")])
    assert rs.rows == [("db1",)]
    out = await client.run("""DECLARE @out int
EXEC sp_executesql N'SELECT @x = COUNT(*) FROM sys.databases WHERE database_id > @min', N'@min int, @x int OUTPUT',
     @min = 4, @x = @out OUTPUT
SELECT @out AS n""")
    assert out[-1].rows == [(3,)]
    out = await client.run("EXEC ('SELECT 1 AS a'); EXECUTE (N'SELECT ' + '2 AS b')")
    assert [o.rows for o in out] == [[(1,)], [(2,)]]


async def test_rpc_calls(client: Client, backend: SqlServerBackend) -> None:
    out = await backend.call(client.session, "sp_configure", [])
    assert isinstance(out[0], ResultSet) and isinstance(out[-1], ReturnStatus) and out[-1].value == 0
    names = [r[0] for r in out[0].rows]
    assert "show advanced options" in names and "Agent XPs" not in names
    await client.run("EXEC sp_configure 'show advanced options', 1; RECONFIGURE")
    out = await client.run("EXEC sp_configure 'Agent XPs'")
    assert out[0].rows == [("Agent XPs", 0, 1, 1, 1)]
    out = await client.run("EXEC sp_configure @configname = 'Agent XPs', @configvalue = 0")
    assert out[0].number == 15457
    with pytest.raises(SqlError) as exc:
        await backend.call(client.session, "sys.sp_missing", [])
    assert exc.value.message.number == 2812 and exc.value.message.state == 62
    out = await backend.call(client.session, "[sys].[sp_datatype_info_100]", [Param("@data_type", 93)])
    assert [r[0] for r in out[0].rows] == ["datetime2", "datetime", "smalldatetime"]
    assert out[0].rows[0][2] == 27
    out = await backend.call(client.session, "sp_executesql",
                             [Param("", "SELECT @a + 1 AS v"), Param("", "@a int"), Param("@a", 41)])
    assert out[0].rows == [(42,)]


async def test_procedures(client: Client, backend: SqlServerBackend) -> None:
    await client.run("CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Str0ng!Passw0rd'")
    await client.run("CREATE CERTIFICATE c WITH SUBJECT = 'c'")
    await client.run("CREATE ENDPOINT e STATE = STARTED AS TCP (LISTENER_PORT = 5022) FOR DATABASE_MIRRORING "
                     "(ROLE = ALL, AUTHENTICATION = CERTIFICATE c, ENCRYPTION = REQUIRED ALGORITHM AES)")
    out = await client.run("EXEC sp_get_endpoint_certificate 4")
    assert out[0].columns[0].name == "EndpointCertificatePublicKey"
    assert out[0].rows == [(backend.instance.certificates["c"].der,)]
    out = await client.run("EXEC sys.sp_certificate_add_issuer N'c', N'*.database.windows.net'")
    assert_no_errors(out)
    assert backend.instance.certificates["c"].issuer_for == "*.database.windows.net"
    out = await client.run("EXEC xp_readerrorlog 0, 1, N'Server process ID'")
    assert [c.name for c in out[0].columns] == ["LogDate", "ProcessInfo", "Text"] and len(out[0].rows) == 1
    out = await client.run("EXEC sp_helpdb 'db1'")
    assert out[0].rows[0][0] == "db1" and len(out[1].rows) == 2
    err = errors_of(await client.run("EXEC sp_configure 'no such option'"))
    assert err[0].number == 15123
    err = errors_of(await client.run("EXEC sp_helpdb @nope = 1"))
    assert err[0].number == 8145


async def test_dbcc_trace(client: Client, backend: SqlServerBackend) -> None:
    out = await client.run("DBCC TRACEON(1800, -1)")
    assert [o.number for o in out] == [2528] and backend.instance.trace_flags == {1800}
    out = await client.run("DBCC TRACESTATUS")
    assert out[0].rows == [(1800, 1, 1, 0)] and out[1].number == 2528
    out = await client.run("DBCC TRACESTATUS(9567)")
    assert out[0].rows == [(9567, 0, 0, 0)]
    await client.run("DBCC TRACEOFF(1800, -1)")
    out = await client.run("DBCC TRACESTATUS(-1) WITH NO_INFOMSGS")
    assert out == []
    assert (await client.error("DBCC NOSUCHTHING")).number == 2526


async def test_set_options_and_transactions(client: Client, backend: SqlServerBackend) -> None:
    out = await client.run("SET NOCOUNT ON; SET LOCK_TIMEOUT 5000; SET TEXTSIZE 2147483647; "
                           "SET TRANSACTION ISOLATION LEVEL READ COMMITTED; SET ANSI_NULLS, QUOTED_IDENTIFIER ON; "
                           "SELECT @@LOCK_TIMEOUT")
    assert out[-1].rows == [(5000,)]
    assert client.session.options["NOCOUNT"] is True
    out = await client.run("BEGIN TRAN; SELECT @@TRANCOUNT; COMMIT; SELECT @@TRANCOUNT")
    assert [o.rows for o in out] == [[(1,)], [(0,)]]
    assert (await client.error("COMMIT")).number == 3902
    assert backend.begin(client.session) > 0
    backend.rollback(client.session)
    backend.reset(client.session)
    assert client.session.options == {} and client.session.database == "master"


async def test_waitfor_and_use(client: Client) -> None:
    out = await client.run("WAITFOR DELAY '00:00:00.010'; USE db1; SELECT DB_NAME()")
    assert out[-1].rows == [("db1",)]
    assert client.session.database == "db1"


async def test_print_message_shape(client: Client) -> None:
    out = await client.run("PRINT 'hello'")
    assert out == [Message(0, "hello", 0)]
