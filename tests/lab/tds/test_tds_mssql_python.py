"""mssql-python (bundled Driver 18, and its Rust provider): sp_prepexec, pooling -> RESETCONNECTION.

Runs in a child process per provider: it loads its own copy of the driver, and the provider is
chosen once per process.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from typing import Any

import pytest

from .tds_helpers import PASSWORD, USER, EchoServer, expected_all_types, run_client

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mssql_python") is None, reason="mssql-python missing")

CLIENT = """
import datetime as dt
import mssql_python
cs = "SERVER=tcp:localhost,{port};UID={user};PWD={password};Encrypt=yes;TrustServerCertificate=yes"
result = {{}}
cn = mssql_python.connect(cs, timeout=10)
cur = cn.cursor()
cur.execute("SELECT all_types")
rows = cur.fetchall()
result["names"] = [d[0] for d in cur.description]
result["row"] = tuple(rows[0])
result["nulls"] = tuple(rows[1])
cur.execute("SELECT ?, ?, ?", (1, "x", None))
result["params"] = tuple(cur.fetchone())
cur.execute("SELECT ?", (dt.datetime(2024, 1, 2, 3, 4, 5, 123456),))
result["datetime2"] = cur.fetchone()[0]
try:
    cur.execute("frobnicate")
    result["error"] = None
except mssql_python.Error as exc:
    result["error"] = str(exc)
cur.execute("USE labdb")
cur.execute("SELECT DB_NAME()")
result["db_before_pool"] = cur.fetchone()[0]
cn.close()
cn = mssql_python.connect(cs, timeout=10)  # from the pool: RESETCONNECTION on the next request
cur = cn.cursor()
cur.execute("SELECT DB_NAME()")
result["db_after_pool"] = cur.fetchone()[0]
cur.execute("SELECT resets")
result["resets"] = cur.fetchone()[0]
cn.close()
try:
    mssql_python.connect(cs.replace("PWD={password}", "PWD=wrong"), timeout=10)
    result["bad_login"] = None
except mssql_python.Error as exc:
    result["bad_login"] = str(exc)
"""


def _run(server: EchoServer, provider: str | None) -> dict[str, Any]:
    env = {"MSSQL_PYTHON_NATIVE_PROVIDER": provider} if provider else {}
    return run_client(CLIENT.format(port=server.port, user=USER, password=PASSWORD), env=env)


@pytest.fixture(scope="module", params=["msodbcsql18", "mssql-odbc"])
def outcome(request: pytest.FixtureRequest, server: EchoServer) -> dict[str, Any]:
    if request.param == "mssql-odbc" and importlib.util.find_spec("mssql_py_core") is None:
        pytest.skip("mssql-python's Rust provider is not installed")
    mark = server.mark()
    result = _run(server, request.param)
    result["log"] = server.log(mark)
    result["provider"] = request.param
    return result


def test_login_over_tls(outcome: dict[str, Any]) -> None:
    assert "(app 'MSSQL-Python', TLS," in outcome["log"]
    if outcome["provider"] == "mssql-odbc":  # the Rust provider adds PRELOGIN FEDAUTHREQUIRED (6)
        assert "options [0, 1, 2, 3, 4, 5, 6]" in outcome["log"]


def test_every_column_type(outcome: dict[str, Any]) -> None:
    expected = expected_all_types()
    assert outcome["names"] == list(expected)
    assert dict(zip(outcome["names"], outcome["row"], strict=True)) == expected
    assert outcome["nulls"] == (None,) * len(expected)


def test_parameters(outcome: dict[str, Any]) -> None:
    assert outcome["params"] == (1, "x", None)
    assert outcome["datetime2"] == dt.datetime(2024, 1, 2, 3, 4, 5, 123456)


def test_error_number(outcome: dict[str, Any]) -> None:
    assert "Incorrect syntax near 'frobnicate'" in outcome["error"]


def test_pooled_connection_is_reset(outcome: dict[str, Any]) -> None:
    assert outcome["db_before_pool"] == "labdb"
    assert outcome["db_after_pool"] == "master"
    assert outcome["resets"] == 1


def test_bad_login(outcome: dict[str, Any]) -> None:
    assert "Login failed for user 'sa'" in outcome["bad_login"]
