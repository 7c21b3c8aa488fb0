"""``SELECT ... FOR JSON`` against the lab over a real TDS socket (pyodbc + ODBC Driver 18).

The lab runs as its own process (``linked`` scenario, clock frozen so repeated reads agree), the
way the app and tests/lab/test_lab_process.py meet it. Clients read the JSON result by
concatenating the rows of the one magic column, so every test does exactly that.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Iterator
from typing import Any

import pytest

from milink_tui.lab.sqlserver.for_json import CHUNK_CHARS, JSON_COLUMN, chunks, escape
from milink_tui.services.lab_process import LabProcess

from ..reference_queries import DASHBOARD_QUERY

pyodbc = pytest.importorskip("pyodbc")
DRIVER = "ODBC Driver 18 for SQL Server"


@pytest.fixture(scope="module")
def lab() -> Iterator[LabProcess]:
    if DRIVER not in pyodbc.drivers():
        pytest.skip(f"ODBC driver {DRIVER!r} not installed")
    with LabProcess("linked", speed=0) as running:
        yield running


@pytest.fixture
def cursor(lab: LabProcess) -> Iterator[Any]:
    sql = lab.info.sql
    conn = pyodbc.connect(f"DRIVER={{{DRIVER}}};SERVER=tcp:localhost,{sql['port']};UID={sql['user']};"
                          f"PWD={sql['password']};Encrypt=yes;TrustServerCertificate=yes;LoginTimeout=10",
                          autocommit=True, timeout=20)
    yield conn.cursor()
    conn.close()


def chunks_of(cursor: Any, query: str) -> list[str]:
    cursor.execute(query)
    assert [d[0] for d in cursor.description] == [JSON_COLUMN]
    return [row[0] for row in cursor.fetchall()]


def text_of(cursor: Any, query: str) -> str:
    return "".join(chunks_of(cursor, query))


def json_of(cursor: Any, query: str) -> Any:
    return json.loads(text_of(cursor, query))


def error_of(cursor: Any, query: str) -> str:
    with pytest.raises(pyodbc.Error) as info:
        cursor.execute(query)
    return str(info.value)


# ---------------------------------------------------------------------- wire shape


def test_one_nvarchar_max_column_with_the_magic_name(cursor: Any) -> None:
    cursor.execute("SELECT name FROM sys.databases FOR JSON PATH")
    (name, type_code, _display, internal_size, *_rest, nullable), = cursor.description
    assert name == "JSON_F52E2B61-18A1-11d1-B105-00805F49916B"
    assert type_code is str and internal_size == 0 and nullable  # Driver 18 reports (max) as size 0
    assert len(cursor.fetchall()) == 1


def test_rows_concatenate_to_the_plain_result(cursor: Any) -> None:
    cursor.execute("SELECT name, database_id FROM sys.databases ORDER BY database_id")
    plain = [{"name": n, "database_id": i} for n, i in cursor.fetchall()]
    assert len(plain) > 4
    got = json_of(cursor, "SELECT name, database_id FROM sys.databases ORDER BY database_id FOR JSON PATH")
    assert got == plain


def test_a_long_document_arrives_in_rows_of_2033_characters(cursor: Any) -> None:
    rows = chunks_of(cursor, "SELECT REPLICATE(N'ab', 2500) AS s, name FROM sys.databases "
                             "WHERE database_id <= 2 ORDER BY database_id FOR JSON PATH")
    assert len(rows) == 5 and CHUNK_CHARS == 2033
    assert all(len(r) == 2033 for r in rows[:-1]) and 0 < len(rows[-1]) <= 2033
    assert json.loads("".join(rows)) == [{"s": "ab" * 2500, "name": "master"}, {"s": "ab" * 2500, "name": "tempdb"}]


def test_no_source_rows_means_no_result_rows(cursor: Any) -> None:
    assert chunks_of(cursor, "SELECT name FROM sys.databases WHERE 1 = 0 FOR JSON PATH") == []
    assert chunks_of(cursor, "SELECT name FROM sys.databases WHERE 1 = 0 FOR JSON PATH, ROOT('x')") == []


def test_compact_text_in_select_list_order(cursor: Any) -> None:
    assert text_of(cursor, "SELECT 2 AS z, N'b' AS a, 1 AS m FOR JSON PATH") == '[{"z":2,"a":"b","m":1}]'


# ---------------------------------------------------------------------- options


def test_nulls_are_omitted_unless_include_null_values(cursor: Any) -> None:
    query = "SELECT 1 AS a, NULL AS b, CAST(NULL AS int) AS c FOR JSON PATH"
    assert text_of(cursor, query) == '[{"a":1}]'
    assert text_of(cursor, query + ", INCLUDE_NULL_VALUES") == '[{"a":1,"b":null,"c":null}]'


def test_without_array_wrapper_and_root(cursor: Any) -> None:
    one = "SELECT name FROM sys.databases WHERE database_id = 1 FOR JSON PATH"
    assert text_of(cursor, one + ", WITHOUT_ARRAY_WRAPPER") == '{"name":"master"}'
    assert text_of(cursor, one + ", ROOT('dbs')") == '{"dbs":[{"name":"master"}]}'
    assert text_of(cursor, one + ", ROOT") == '{"root":[{"name":"master"}]}'
    two = "SELECT name FROM sys.databases WHERE database_id <= 2 ORDER BY database_id FOR JSON PATH"
    assert text_of(cursor, two + ", WITHOUT_ARRAY_WRAPPER") == '{"name":"master"},{"name":"tempdb"}'
    assert text_of(cursor, two + ", INCLUDE_NULL_VALUES, ROOT('r')") == '{"r":[{"name":"master"},{"name":"tempdb"}]}'
    assert "(13620)" in error_of(cursor, one + ", ROOT('x'), WITHOUT_ARRAY_WRAPPER")


def test_options_belong_to_each_cached_plan(cursor: Any) -> None:
    base = "SELECT name FROM sys.databases WHERE database_id = 1"
    for _ in range(2):  # the second round runs from the plan cache
        assert text_of(cursor, base + " FOR JSON PATH, WITHOUT_ARRAY_WRAPPER") == '{"name":"master"}'
        assert text_of(cursor, base + " FOR JSON PATH") == '[{"name":"master"}]'
        cursor.execute(base)
        assert cursor.description[0][0] == "name" and cursor.fetchall()[0][0] == "master"


# ---------------------------------------------------------------------- values


def test_special_and_control_characters_are_escaped(cursor: Any) -> None:
    query = ("SELECT N'q\"b\\s/x' + CHAR(10) + CHAR(13) + CHAR(9) + CHAR(8) + CHAR(12) + CHAR(1) + CHAR(31) "
             "+ NCHAR(233) + NCHAR(8364) AS [k/\"] FOR JSON PATH")
    raw = text_of(cursor, query)
    assert raw == '[{"k\\/\\"":"q\\"b\\\\s\\/x\\n\\r\\t\\b\\f\\u0001\\u001f\u00e9\u20ac"}]'
    assert json.loads(raw) == [{'k/"': 'q"b\\s/x\n\r\t\b\f\x01\x1f\u00e9\u20ac'}]


def test_bits_are_booleans(cursor: Any) -> None:
    assert text_of(cursor, "SELECT CAST(1 AS bit) AS t, CAST(0 AS bit) AS f FOR JSON PATH") == '[{"t":true,"f":false}]'


def test_datetime_and_datetime2_text(cursor: Any) -> None:
    got = json_of(cursor, "SELECT CAST('2016-04-28T23:15:13.813' AS datetime) AS d, "
                          "CAST('2011-05-31' AS datetime) AS midnight, "
                          "CAST('2016-04-28T23:15:13.566' AS datetime) AS ticks, "
                          "CAST('2016-04-28T23:59:59.999' AS datetime) AS carry, "
                          "CAST('2016-04-28T23:15:13.123456' AS datetime2) AS d2, "
                          "CAST('2016-04-28T23:15:13.5' AS datetime2(3)) AS d23, "
                          "CAST('2016-04-28' AS date) AS day FOR JSON PATH")
    assert got == [{"d": "2016-04-28T23:15:13.813", "midnight": "2011-05-31T00:00:00",
                    "ticks": "2016-04-28T23:15:13.567", "carry": "2016-04-29T00:00:00",  # 1/300 s ticks
                    "d2": "2016-04-28T23:15:13.1234560", "d23": "2016-04-28T23:15:13.500", "day": "2016-04-28"}]


def test_numbers_keep_their_sql_spelling(cursor: Any) -> None:
    raw = text_of(cursor, "SELECT CAST(37000000012345600001 AS numeric(25,0)) AS lsn, "
                          "CAST(12.5 AS decimal(5,2)) AS price, CAST(-7 AS bigint) AS n, "
                          "CAST(123.456 AS float) AS f FOR JSON PATH")
    assert raw == '[{"lsn":37000000012345600001,"price":12.50,"n":-7,"f":1.234560000000000e+002}]'
    got = json.loads(raw, parse_float=decimal.Decimal)[0]
    assert got["lsn"] == 37000000012345600001 and got["price"] == decimal.Decimal("12.50")


def test_guid_and_binary(cursor: Any) -> None:
    got = json_of(cursor, "SELECT CAST('6F9619FF-8B86-D011-B42D-00C04FC964FF' AS uniqueidentifier) AS g, "
                          "CAST(0x0102 AS varbinary(4)) AS b FOR JSON PATH")
    assert got == [{"g": "6F9619FF-8B86-D011-B42D-00C04FC964FF", "b": "AQI="}]


# ---------------------------------------------------------------------- PATH names


def test_dotted_aliases_nest(cursor: Any) -> None:
    got = json_of(cursor, "SELECT database_id AS id, name AS [info.name], state_desc AS [info.state], "
                          "NULL AS [extra.none] FROM sys.databases WHERE database_id = 1 FOR JSON PATH")
    assert got == [{"id": 1, "info": {"name": "master", "state": "ONLINE"}}]  # all-NULL object omitted


def test_unnamed_column_is_error_13605(cursor: Any) -> None:
    message = error_of(cursor, "SELECT name, database_id + 1 FROM sys.databases FOR JSON PATH")
    assert "(13605)" in message
    assert ("Column expressions and data sources without names or aliases cannot be formatted as JSON text "
            "using FOR JSON clause. Add alias to the unnamed column or table.") in message


def test_path_conflicts_are_error_13601_and_13603(cursor: Any) -> None:
    assert "(13601)" in error_of(cursor, "SELECT 1 AS a, 2 AS a FOR JSON PATH")
    assert "(13601)" in error_of(cursor, "SELECT 1 AS [a.b], 2 AS c, 3 AS [a.d] FOR JSON PATH")
    assert "(13603)" in error_of(cursor, "SELECT 1 AS [a..b] FOR JSON PATH")


# ---------------------------------------------------------------------- the queries the app sends


def _expected_json(description: Any, row: Any) -> dict[str, Any]:
    """One plain row as FOR JSON PATH renders it (NULLs dropped, datetimes as ISO text)."""
    out: dict[str, Any] = {}
    for (name, *_), value in zip(description, row, strict=True):
        if value is None:
            continue
        if isinstance(value, dt.datetime):
            value = value.strftime("%Y-%m-%dT%H:%M:%S") + (f".{value.microsecond // 1000:03d}"
                                                           if value.microsecond else "")
        elif isinstance(value, decimal.Decimal):
            value = int(value)
        out[name] = value
    return out


def test_dashboard_query_as_json_matches_its_rows(cursor: Any) -> None:
    query = DASHBOARD_QUERY.strip().rstrip(";") + "\nORDER BY ag.name, ar.replica_server_name, db"
    cursor.execute(query)
    expected = [_expected_json(cursor.description, row) for row in cursor.fetchall()]
    assert len(expected) >= 6 and any(e.get("is_distributed") for e in expected)
    got = json.loads(text_of(cursor, query + "\nFOR JSON PATH"))
    assert got == expected
    assert isinstance(got[0]["end_of_log_lsn"], int) and isinstance(got[0]["is_local"], bool)


def test_distributed_ag_links_with_a_cte(cursor: Any) -> None:
    got = json_of(cursor, """
        WITH dag AS (SELECT group_id, name FROM sys.availability_groups WHERE is_distributed = 1)
        SELECT dag.name AS link_name, ar.replica_server_name AS [replica.server],
               ar.availability_mode_desc AS [replica.mode]
        FROM dag JOIN sys.availability_replicas ar ON ar.group_id = dag.group_id
        WHERE dag.name = 'DAG_SalesDb'
        ORDER BY ar.replica_server_name
        FOR JSON PATH""")
    assert got == [
        {"link_name": "DAG_SalesDb", "replica": {"server": "AG_SalesDb", "mode": "ASYNCHRONOUS_COMMIT"}},
        {"link_name": "DAG_SalesDb", "replica": {"server": "AG_SalesDb_MI", "mode": "ASYNCHRONOUS_COMMIT"}},
    ]


# ---------------------------------------------------------------------- what stays unsupported


def test_auto_over_one_source_keeps_dotted_names_flat(cursor: Any) -> None:
    got = json_of(cursor, "SELECT d.name AS [x.y] FROM sys.databases d WHERE d.database_id = 1 FOR JSON AUTO")
    assert got == [{"x.y": "master"}]
    assert "(13600)" in error_of(cursor, "SELECT 1 AS a FOR JSON AUTO")


def test_auto_with_joins_xml_and_nested_for_json_are_rejected_honestly(cursor: Any) -> None:
    joined = error_of(cursor, "SELECT ag.name, ar.replica_server_name FROM sys.availability_groups ag "
                              "JOIN sys.availability_replicas ar ON ar.group_id = ag.group_id FOR JSON AUTO")
    assert "(40517)" in joined and "FOR JSON AUTO" in joined
    assert "(40517)" in error_of(cursor, "SELECT name FROM sys.databases FOR XML PATH")
    assert "(40517)" in error_of(cursor, "SELECT (SELECT 1 AS a FOR JSON PATH) AS j")


# ---------------------------------------------------------------------- pure helpers


def test_chunks_never_split_a_surrogate_pair() -> None:
    text = "a" * (CHUNK_CHARS - 1) + "\U0001f600" + "b"
    parts = chunks(text)
    assert "".join(parts) == text and parts[0] == "a" * (CHUNK_CHARS - 1)
    assert all(len(p.encode("utf-16-le")) // 2 <= CHUNK_CHARS for p in parts)
    assert chunks("x" * (2 * CHUNK_CHARS)) == ["x" * CHUNK_CHARS] * 2


def test_escape_keeps_non_ascii() -> None:
    assert escape("\u00e9\u4e2d\U0001f600\x7f") == "\u00e9\u4e2d\U0001f600\x7f"
    assert escape("\x00\x1f") == "\\u0000\\u001f"
