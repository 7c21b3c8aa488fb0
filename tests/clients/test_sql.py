"""milink's SQL client against the lab: Microsoft Entra through a token provider, errors as cause +
fix, and mssql-python as the driver when no ODBC driver is registered.

pyodbc tests run in this process; mssql-python runs in a child process (it loads its own copy of
Driver 18, and "no ODBC driver registered" needs an empty ODBCSYSINI before unixODBC loads).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from milink_tui.clients import connstr
from milink_tui.clients.auth import Cloud, sql_token_provider
from milink_tui.clients.connstr import MSSQL_PYTHON, NoDriverError, SqlTarget, build, choose_driver
from milink_tui.clients.sql import SqlClientError, access_token_attribute, connect
from milink_tui.lab.arm.entra import FakeEntra
from milink_tui.services.lab_process import LabInfo, LabProcess

ODBC18 = "ODBC Driver 18 for SQL Server"


@pytest.fixture(scope="module")
def lab() -> Iterator[LabInfo]:
    process = LabProcess("fresh")
    info = process.start()
    yield info
    process.stop()


def lab_cloud(info: LabInfo) -> Cloud:
    return Cloud.lab(info.arm["base_url"], info.entra["authority"], sql_scope=info.entra["sql_scope"])


def sp_credential(info: LabInfo, secret: str | None = None) -> Any:
    from azure.identity.aio import ClientSecretCredential

    e = info.entra
    return ClientSecretCredential(e["tenant_id"], e["sp_client_id"], secret or e["sp_client_secret"],
                                  authority=e["authority"], connection_verify=info.ca_file,
                                  disable_instance_discovery=True, retry_total=0)


def entra_target(info: LabInfo, **kw: Any) -> SqlTarget:
    return SqlTarget("localhost", info.sql["port"], auth="entra", trust_server_certificate=True, login_timeout=10,
                     **kw)


def fixed(token: str) -> Any:
    async def provide() -> str:
        return token
    return provide


# ------------------------------------------------------------------------------ Microsoft Entra


async def test_entra_login_with_the_apps_credential(lab: LabInfo, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    credential = sp_credential(lab)
    calls: list[str] = []
    inner = sql_token_provider(credential, lab_cloud(lab))

    async def counting() -> str:
        calls.append(token := await inner())
        return token

    try:
        sql = await connect(entra_target(lab, token_provider=counting))
        try:
            row = (await sql.run("SELECT SUSER_SNAME(), IS_SRVROLEMEMBER('sysadmin')")).first.rows[0]
        finally:
            await sql.close()
        assert row == (f"{lab.entra['sp_client_id']}@{lab.entra['tenant_id']}", 1)
        assert sql.driver == ODBC18 and sql.driver_label == f"{ODBC18} (pyodbc)"
        await (await connect(entra_target(lab, token_provider=counting))).close()  # a second login asks again
        assert len(calls) == 2
    finally:
        await credential.close()
    assert calls[0] not in caplog.text and "token" not in repr(entra_target(lab, access_token=calls[0]))


async def test_a_credential_that_cannot_sign_in_is_cause_and_fix(lab: LabInfo) -> None:
    credential = sp_credential(lab, secret="Wrong-Secret-123")
    try:
        with pytest.raises(SqlClientError) as caught:
            await connect(entra_target(lab, token_provider=sql_token_provider(credential, lab_cloud(lab))))
    finally:
        await credential.close()
    e = caught.value
    assert e.message.startswith("Could not get a Microsoft Entra token") and "Azure sign-in" in e.cause
    assert "Wrong-Secret-123" not in f"{e} {e.cause} {e.fix}"


async def test_refused_tokens_are_explained(lab: LabInfo) -> None:
    e = lab.entra
    signer = FakeEntra(e["tenant_id"], sp_client_id=e["sp_client_id"], sp_client_secret="x", identity_header="x")
    expired = signer.issue_access_token("https://database.windows.net/", lifetime=-600)
    with pytest.raises(SqlClientError) as caught:
        await connect(entra_target(lab, token_provider=fixed(expired)), attempts=1)
    assert caught.value.number == 18456 and "expired" in caught.value.cause and "Sign in" in caught.value.fix
    stranger = signer.issue_access_token("https://database.windows.net/", app=True, client_id="someone-else")
    with pytest.raises(SqlClientError) as caught:
        await connect(entra_target(lab, token_provider=fixed(stranger)), attempts=1)
    assert caught.value.number == 18456 and "FROM EXTERNAL PROVIDER" in caught.value.fix
    arm_token = signer.issue_access_token("https://management.azure.com/")
    with pytest.raises(SqlClientError) as caught:
        await connect(entra_target(lab, access_token=arm_token), attempts=1)
    assert "tenant" in caught.value.cause


async def test_entra_without_a_sign_in_says_so() -> None:
    with pytest.raises(SqlClientError) as caught:
        await connect(SqlTarget("localhost", 1, auth="entra"), attempts=1)
    assert "Not signed in to Azure" in str(caught.value) and "Sign in" in caught.value.fix


# ------------------------------------------------------------------------------ driver choice


def test_driver_choice_is_ordered_and_knows_who_can_send_tokens() -> None:
    everything = [ODBC18, "FreeTDS", MSSQL_PYTHON]
    assert choose_driver(everything) == ODBC18
    assert choose_driver(["FreeTDS", MSSQL_PYTHON]) == "FreeTDS"
    assert choose_driver(["FreeTDS", MSSQL_PYTHON], auth="entra") == MSSQL_PYTHON  # FreeTDS has no tokens
    assert choose_driver([MSSQL_PYTHON]) == MSSQL_PYTHON  # the no-system-driver fallback
    assert choose_driver(everything, MSSQL_PYTHON) == MSSQL_PYTHON  # explicit
    with pytest.raises(NoDriverError, match="cannot sign in with a Microsoft Entra token"):
        choose_driver(["FreeTDS"], auth="entra")
    with pytest.raises(NoDriverError, match="cannot sign in with a Microsoft Entra token"):
        choose_driver(everything, "FreeTDS", auth="entra")
    with pytest.raises(NoDriverError, match="pip install mssql-python"):
        choose_driver([])


def test_connection_strings_per_driver_keep_secrets_out() -> None:
    target = SqlTarget("sql01", 1433, user="dba", password="Pa;ss}", access_token="eyJ.secret.token")
    odbc = build(target, ODBC18)
    assert odbc.startswith(f"DRIVER={{{ODBC18}}};SERVER=tcp:sql01,1433;Encrypt=yes;") and "PWD={Pa;ss}}}" in odbc
    bundled = build(target, MSSQL_PYTHON)
    assert "DRIVER" not in bundled and "LoginTimeout" not in bundled and "APP=" not in bundled
    entra = dataclasses.replace(target, auth="entra")
    assert "eyJ" not in build(entra, ODBC18) and "UID" not in build(entra, ODBC18)
    assert "Trusted_Connection=yes" in build(dataclasses.replace(target, auth="integrated"), ODBC18)
    assert "Pa;ss" not in repr(target) and "eyJ" not in repr(target)


async def test_the_driver_can_be_named_for_every_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(connstr.DRIVER_ENV, "No Such Driver")
    with pytest.raises(NoDriverError, match="'No Such Driver' is not installed"):
        await connect(SqlTarget("localhost", 1, user="sa", password="x"), attempts=1)


def test_access_token_attribute_layout() -> None:
    value = access_token_attribute("eyJ0")
    assert value == b"\x08\x00\x00\x00e\x00y\x00J\x000\x00"


# ------------------------------------------------------------------------------ mssql-python

MSSQL_PYTHON_CLIENT = """
import asyncio, json, sys
from milink_tui.clients import connstr
from milink_tui.clients.connstr import SqlTarget
from milink_tui.clients.sql import SqlClientError, connect
from milink_tui.engine.facts import read_databases, read_server

info = json.loads(sys.stdin.read())  # password and token: never in a process's arguments

async def main():
    out = {"installed": connstr.installed_drivers()}
    sql = await connect(SqlTarget("localhost", info["port"], user=info["user"], password=info["password"],
                                  trust_server_certificate=True, login_timeout=10))
    try:
        out["driver"], out["label"] = sql.driver, sql.driver_label
        facts = await read_server(sql)
        out["server"] = [facts.server_name, str(facts.version), facts.edition, facts.is_sysadmin, facts.collation]
        out["databases"] = sorted(d.name for d in await read_databases(sql))
        out["dashboard_sets"] = len((await sql.query("dashboard")).sets)
        out["home_links"] = len((await sql.query("home_links")).sets)
        out["params"] = list((await sql.run("SELECT ?, ?, ?", (1, "x", None))).first.rows[0])
        try:
            await sql.run("SELECT * FROM no_such_table")
        except SqlClientError as e:
            out["missing"] = [e.number, e.cause]
    finally:
        await sql.close()
    try:
        await connect(SqlTarget("localhost", info["port"], user=info["user"], password="Wrong-Pa55",
                                trust_server_certificate=True, login_timeout=10), attempts=1)
    except SqlClientError as e:
        out["bad_login"] = [e.number, str(e), e.cause]
    try:  # no pooled connection comes back: the certificate is validated on this new login
        await connect(SqlTarget("localhost", info["port"], user=info["user"], password=info["password"],
                                login_timeout=10), attempts=1)
    except SqlClientError as e:
        out["untrusted"] = e.cause
    async def token():
        return info["token"]
    sql = await connect(SqlTarget("localhost", info["port"], auth="entra", token_provider=token,
                                  trust_server_certificate=True, login_timeout=10))
    out["entra"] = (await sql.run("SELECT SUSER_SNAME()")).first.rows[0][0]
    await sql.close()
    print("RESULT:" + json.dumps(out))

asyncio.run(main())
"""


def run_without_odbc_drivers(info: LabInfo, token: str, tmp_path: Any) -> dict[str, Any]:
    empty = tmp_path / "no-odbc"
    empty.mkdir()
    (empty / "odbcinst.ini").write_text("")
    args = json.dumps({"port": info.sql["port"], "user": info.sql["user"], "password": info.sql["password"],
                       "token": token})
    env = {**os.environ, "ODBCSYSINI": str(empty), "ODBCINI": str(empty / "odbc.ini")}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(MSSQL_PYTHON_CLIENT)], input=args,
                          capture_output=True, text=True, timeout=120, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT:"):
            return json.loads(line[7:])
    raise AssertionError(f"client failed (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


async def test_mssql_python_runs_the_standard_queries_when_no_odbc_driver_is_registered(lab: LabInfo,
                                                                                          tmp_path: Any) -> None:
    pytest.importorskip("mssql_python")
    from milink_tui.engine.facts import read_databases, read_server

    credential = sp_credential(lab)
    try:
        token = await sql_token_provider(credential, lab_cloud(lab))()
    finally:
        await credential.close()
    got = run_without_odbc_drivers(lab, token, tmp_path)
    assert got["installed"] == [MSSQL_PYTHON] and got["driver"] == MSSQL_PYTHON
    assert got["label"].startswith("mssql-python ") and "bundled ODBC Driver 18" in got["label"]
    # the same answers as through pyodbc + the registered driver
    sql = await connect(SqlTarget("localhost", lab.sql["port"], user=lab.sql["user"], password=lab.sql["password"],
                                  trust_server_certificate=True, login_timeout=10))
    try:
        facts = await read_server(sql)
        databases = sorted(d.name for d in await read_databases(sql))
        dashboard_sets = len((await sql.query("dashboard")).sets)
    finally:
        await sql.close()
    assert got["server"] == [facts.server_name, str(facts.version), facts.edition, facts.is_sysadmin, facts.collation]
    assert got["databases"] == databases and got["dashboard_sets"] == dashboard_sets
    assert got["params"] == [1, "x", None]
    assert got["missing"][0] == 208
    number, text, cause = got["bad_login"]
    assert number == 18456 and "rejected the login" in cause and "Wrong-Pa55" not in text
    assert got["entra"] == f"{lab.entra['sp_client_id']}@{lab.entra['tenant_id']}"
    assert "certificate is not trusted" in got["untrusted"]


def test_installed_drivers_lists_mssql_python_last() -> None:
    found = connstr.installed_drivers()
    if MSSQL_PYTHON in found:
        assert found[-1] == MSSQL_PYTHON
