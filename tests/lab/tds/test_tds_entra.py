"""Microsoft Entra SQL logins against the lab: raw pyodbc + ODBC Driver 18 with an access token.

The token travels as SQL_COPT_SS_ACCESS_TOKEN (UTF-16-LE behind a 4-byte length); the driver
puts it in LOGIN7's FEDAUTH feature after the PRELOGIN FEDAUTHREQUIRED exchange. Tokens come
from the lab's own Entra authority over HTTPS, like a real client gets them, and the lab's SQL
Server checks them the way SQL Server does: a bad, expired or foreign token is error 18456.
"""

from __future__ import annotations

import importlib.util
import json
import ssl
import struct
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from milink_tui.lab.arm.entra import FakeEntra
from milink_tui.services.lab_process import LabInfo, LabProcess

from .tds_helpers import odbc_driver, run_client

DRIVER = "ODBC Driver 18 for SQL Server"
pyodbc = pytest.importorskip("pyodbc")
CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"  # the public client azure-cli and milink's device code use


@pytest.fixture(scope="module")
def lab() -> Iterator[LabInfo]:
    odbc_driver(DRIVER)
    process = LabProcess("fresh")
    info = process.start()
    yield info
    process.stop()


def _post(info: LabInfo, form: dict[str, str]) -> dict[str, Any]:
    ctx = ssl.create_default_context(cafile=info.ca_file)
    url = f"{info.entra['authority']}/{info.entra['tenant_id']}/oauth2/v2.0/token"
    req = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), method="POST")
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        return json.loads(resp.read())


def user_token(info: LabInfo, scope: str | None = None) -> str:
    """The lab user's token (password grant: what a test can do without a browser)."""
    e = info.entra
    return _post(info, {"grant_type": "password", "client_id": CLIENT_ID, "username": e["user"],
                        "password": e["user_password"], "scope": scope or e["sql_scope"]})["access_token"]


def msi_token(info: LabInfo) -> str:
    """A managed identity's token for SQL: valid, but that identity is no admin of the server."""
    ctx = ssl.create_default_context(cafile=info.ca_file)
    query = urllib.parse.urlencode({"api-version": "2019-08-01", "resource": "https://database.windows.net/"})
    req = urllib.request.Request(f"{info.entra['identity_endpoint']}?{query}",
                                 headers={"X-IDENTITY-HEADER": info.entra["identity_header"]})
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        return json.loads(resp.read())["access_token"]


def connect(info: LabInfo, token: str, database: str = "master", port: int | None = None) -> Any:
    raw = token.encode("utf-16-le")
    return pyodbc.connect(f"DRIVER={{{DRIVER}}};SERVER=tcp:localhost,{port or info.sql['port']};DATABASE={database};"
                          "Encrypt=yes;TrustServerCertificate=yes;LoginTimeout=10",
                          attrs_before={1256: struct.pack("<I", len(raw)) + raw}, autocommit=True, timeout=10)


def refused(info: LabInfo, token: str) -> str:
    with pytest.raises(pyodbc.Error) as caught:
        connect(info, token)
    text = str(caught.value)
    assert "(18456)" in text
    return text


def test_user_token_logs_in_and_suser_sname_is_the_upn(lab: LabInfo) -> None:
    cn = connect(lab, user_token(lab))
    try:
        name, sysadmin, db = cn.cursor().execute(
            "SELECT SUSER_SNAME(), IS_SRVROLEMEMBER('sysadmin'), DB_NAME()").fetchone()
    finally:
        cn.close()
    assert name == lab.entra["user"] and name in lab.entra["sql_admins"]
    assert sysadmin == 1 and db == "master"


def _claims(token: str) -> dict[str, Any]:
    import base64

    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_entra_login_is_an_external_login_not_a_sql_login(lab: LabInfo) -> None:
    """sys.server_principals: type E / EXTERNAL_LOGIN, SID = the token's object ID; not in sys.sql_logins."""
    import uuid

    token = user_token(lab)
    cn = connect(lab, token)
    try:
        cur = cn.cursor()
        row = cur.execute("SELECT type, type_desc, sid, SUSER_SNAME(sid) FROM sys.server_principals "
                          "WHERE name = SUSER_SNAME()").fetchone()
        in_sql_logins = cur.execute("SELECT COUNT(*) FROM sys.sql_logins WHERE name = SUSER_SNAME()").fetchval()
        sa = cur.execute("SELECT type, type_desc FROM sys.server_principals WHERE name = 'sa'").fetchone()
        suser_sid = cur.execute("SELECT SUSER_SID()").fetchval()
    finally:
        cn.close()
    oid = uuid.UUID(_claims(token)["oid"])
    assert tuple(row[:2]) == ("E", "EXTERNAL_LOGIN")
    assert bytes(row[2]) == oid.bytes_le == bytes(suser_sid)
    assert row[3] == lab.entra["user"]
    assert in_sql_logins == 0
    assert tuple(sa) == ("S", "SQL_LOGIN")


def test_service_principal_token_from_azure_identity(lab: LabInfo) -> None:
    """The app's own path: azure-identity's client-secret credential, scope from lab.json."""
    import uuid

    from azure.identity import ClientSecretCredential

    e = lab.entra
    cred = ClientSecretCredential(e["tenant_id"], e["sp_client_id"], e["sp_client_secret"], authority=e["authority"],
                                  connection_verify=lab.ca_file, disable_instance_discovery=True)
    token = cred.get_token(e["sql_scope"]).token
    cn = connect(lab, token, database="SalesDb")
    try:
        name, db = cn.cursor().execute("SELECT SUSER_SNAME(), DB_NAME()").fetchone()
        kind, sid = cn.cursor().execute("SELECT type_desc, sid FROM sys.server_principals "
                                        "WHERE name = SUSER_SNAME()").fetchone()
        assert kind == "EXTERNAL_LOGIN"
        assert bytes(sid) == uuid.UUID(e["sp_client_id"]).bytes_le  # an application's SID is its client ID
        again = connect(lab, token)  # the same token twice: a second login, the same principal
        assert again.cursor().execute("SELECT SUSER_SNAME()").fetchval() == name
        again.close()
    finally:
        cn.close()
    assert name == f"{e['sp_client_id']}@{e['tenant_id']}" and db == "SalesDb"


def test_garbage_and_tampered_tokens_are_login_failed(lab: LabInfo) -> None:
    text = refused(lab, "not-a-token")
    assert "Login failed for user '<token-identified principal>'." in text
    header, payload, _sig = user_token(lab).split(".")
    text = refused(lab, f"{header}.{payload}.{'A' * 43}")  # right claims, wrong signature
    assert "<token-identified principal>" in text


def test_expired_token_says_so(lab: LabInfo) -> None:
    e = lab.entra
    signer = FakeEntra(e["tenant_id"], sp_client_id=e["sp_client_id"], sp_client_secret="x", identity_header="x")
    expired = signer.issue_access_token("https://database.windows.net/", lifetime=-600)  # signed like the lab's
    assert "Token is expired." in refused(lab, expired)


def test_token_for_another_resource_is_refused(lab: LabInfo) -> None:
    """An ARM token (the mistake of reusing the management token) is not a SQL token."""
    token = user_token(lab, "https://management.azure.com/.default")
    assert "not currently configured to accept this token" in refused(lab, token)


def test_valid_token_of_a_principal_without_a_login_is_refused(lab: LabInfo) -> None:
    text = refused(lab, msi_token(lab))
    assert "Login failed for user '<token-identified principal>'." in text


def test_sql_authentication_cannot_use_an_entra_name(lab: LabInfo) -> None:
    connect(lab, user_token(lab)).close()  # the external login exists now
    with pytest.raises(pyodbc.Error, match="18456"):
        pyodbc.connect(f"DRIVER={{{DRIVER}}};SERVER=tcp:localhost,{lab.sql['port']};UID={lab.entra['user']};"
                       "PWD=;Encrypt=yes;TrustServerCertificate=yes;LoginTimeout=10", timeout=10)


MSSQL_PYTHON_CLIENT = """
import os, struct, mssql_python
raw = os.environ.pop("LAB_SQL_TOKEN").encode("utf-16-le")  # not in the child's arguments
base = "SERVER=tcp:localhost,{port};Encrypt=yes;TrustServerCertificate=yes"
cn = mssql_python.connect(base, timeout=10, attrs_before={{1256: struct.pack("<I", len(raw)) + raw}})
result = {{"name": cn.cursor().execute("SELECT SUSER_SNAME()").fetchone()[0]}}
cn.close()
bad = "x".encode("utf-16-le")
try:
    mssql_python.connect(base, timeout=10, attrs_before={{1256: struct.pack("<I", len(bad)) + bad}})
    result["bad"] = None
except mssql_python.Error as exc:
    result["bad"] = str(exc)
"""


@pytest.mark.skipif(importlib.util.find_spec("mssql_python") is None, reason="mssql-python missing")
@pytest.mark.parametrize("provider", ["msodbcsql18", "mssql-odbc"])
def test_mssql_python_with_a_token(lab: LabInfo, provider: str) -> None:
    """mssql-python's bundled Driver 18 and its Rust provider: the same FEDAUTH exchange works for both."""
    if provider == "mssql-odbc" and importlib.util.find_spec("mssql_py_core") is None:
        pytest.skip("mssql-python's Rust provider is not installed")
    got = run_client(MSSQL_PYTHON_CLIENT.format(port=lab.sql["port"]),
                     env={"MSSQL_PYTHON_NATIVE_PROVIDER": provider, "LAB_SQL_TOKEN": user_token(lab)})
    assert got["name"] == lab.entra["user"]
    assert got["bad"] and "<token-identified principal>" in got["bad"]


# ------------------------------------------------------------------ the exchange itself, on a raw socket


def _prelogin_with_fedauth() -> bytes:
    """PRELOGIN: VERSION, ENCRYPTION NOT_SUP (plaintext, to read the replies), FEDAUTHREQUIRED 1."""
    opts = [(0x00, bytes(6)), (0x01, b"\x02"), (0x06, b"\x01")]
    head, data, offset = b"", b"", 5 * len(opts) + 1
    for token, value in opts:
        head += struct.pack(">BHH", token, offset + len(data), len(value))
        data += value
    return head + b"\xff" + data


def _login7_with_token(token: str, echo: bool) -> bytes:
    """LOGIN7 with no user or password and the FEDAUTH feature (security token library)."""
    raw = token.encode("utf-16-le")
    feature = bytes([0x02]) + struct.pack("<I", 1 + 4 + len(raw)) + bytes([0x01 << 1 | int(echo)])
    feature += struct.pack("<I", len(raw)) + raw + b"\xff"
    fields = ["rawhost", "", "", "rawtest", "localhost", None, "raw", "", ""]
    offsets, data, pos = b"", b"", 94
    for value in fields:
        if value is None:  # extension: a DWORD holding where FeatureExt starts (patched below)
            ext_at = pos + len(data)
            offsets += struct.pack("<HH", ext_at, 4)
            data += b"\0\0\0\0"
            continue
        enc = value.encode("utf-16-le")
        offsets += struct.pack("<HH", pos + len(data), len(enc) // 2)
        data += enc
    tail = bytes(6) + struct.pack("<HHHHHHI", pos + len(data), 0, pos + len(data), 0, pos + len(data), 0, 0)
    fixed = struct.pack("<IIIIII", 0, 0x74000004, 4096, 7, 0, 0) + bytes([0xE0, 0x03, 0, 0x10]) + bytes(8)
    body = bytearray(fixed + offsets + tail + data)
    struct.pack_into("<I", body, ext_at, len(body))
    body += feature
    struct.pack_into("<I", body, 0, len(body))
    return bytes(body)


def _exchange(info: LabInfo, token: str, echo: bool) -> tuple[bytes, bytes]:
    import socket

    from .test_tds_raw import packet, recv_message

    with socket.create_connection(("127.0.0.1", info.sql["port"]), timeout=10) as sock:
        sock.sendall(packet(0x12, _prelogin_with_fedauth()))
        _t, prelogin = recv_message(sock)
        sock.sendall(packet(0x10, _login7_with_token(token, echo)))
        _t, reply = recv_message(sock)
    return prelogin, reply


def test_raw_fedauth_exchange(lab: LabInfo) -> None:
    """PRELOGIN answers FEDAUTHREQUIRED 1; LOGIN7 must echo it; success is acked with FEDAUTH in FEATUREEXTACK."""
    from milink_tui.lab.tds.login import PL_FEDAUTHREQUIRED, parse_prelogin

    prelogin, reply = _exchange(lab, user_token(lab), echo=True)
    assert parse_prelogin(prelogin).options[PL_FEDAUTHREQUIRED] == b"\x01"
    assert bytes([0xAD]) in reply and bytes([0xAE, 0x02, 0, 0, 0, 0, 0xFF]) in reply  # LOGINACK, FEDAUTH ack
    assert reply[0] != 0xEE  # no FEDAUTHINFO first: that is for the MSAL library, not for tokens
    _prelogin, refused_reply = _exchange(lab, user_token(lab), echo=False)  # echo contradicts our PRELOGIN
    assert refused_reply[0] == 0xAA and struct.unpack_from("<i", refused_reply, 3)[0] == 18456
    assert bytes([0xAD]) not in refused_reply


def test_managed_instances_have_their_own_tds_endpoint_for_entra_and_sql_admins(lab: LabInfo) -> None:
    """Each lab managed instance listens on loopback (lab.json) and is an MI over T-SQL."""
    entries = {m["name"]: m for m in lab.raw["managed_instances"]}
    assert {"sqlmi-lab-gp", "sqlmi-lab-bc", "sqlmi-dr"} <= set(entries)
    gp = entries["sqlmi-lab-gp"]
    assert gp["fqdn"].startswith("sqlmi-lab-gp.") and gp["port"] not in (lab.sql["port"],)
    with connect(lab, user_token(lab), port=gp["port"]) as conn:
        name, edition, server = conn.execute(
            "SELECT SUSER_SNAME(), CAST(SERVERPROPERTY('EngineEdition') AS int), @@SERVERNAME").fetchone()
    assert (name, edition, server) == (lab.entra["user"], 8, "sqlmi-lab-gp")
    with pytest.raises(pyodbc.Error) as caught:
        connect(lab, msi_token(lab), port=gp["port"])  # a valid token, but not an admin of the instance
    assert "(18456)" in str(caught.value)
    with pyodbc.connect(f"DRIVER={{{DRIVER}}};SERVER=tcp:localhost,{gp['port']};UID={gp['user']};"
                        f"PWD={gp['password']};Encrypt=yes;TrustServerCertificate=yes;LoginTimeout=10",
                        autocommit=True, timeout=10) as conn:
        assert conn.execute("SELECT IS_SRVROLEMEMBER('sysadmin')").fetchone()[0] == 1
