"""App state that outlives a screen: saved SQL Server connections, the open connection, the Azure
account in use, the lab (when running against it) and the secrets store.

Screens read this; workers call its async methods. Saved connections are written without any
secret (``connections.json`` in the state dir); passwords go through :class:`SecretStore`.
Heavy clients (pyodbc, azure) are imported only when a method needs them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from milink_tui.services.secrets import SecretStore

if TYPE_CHECKING:
    from milink_tui.clients.auth import Cloud, SignIn
    from milink_tui.clients.azure import AzureClient, Identity
    from milink_tui.clients.connstr import SqlTarget, TokenProvider
    from milink_tui.clients.sql import SqlConnection
    from milink_tui.services.lab_process import LabInfo

log = logging.getLogger("milink.session")

Auth = Literal["sql", "entra", "integrated"]
Encrypt = Literal["yes", "no", "strict"]


@dataclass
class SavedConnection:
    """A SQL Server the user connected to before — never with its password."""

    server: str
    port: int | None = None
    auth: Auth = "sql"
    user: str | None = None
    encrypt: Encrypt = "yes"
    trust_server_certificate: bool = False
    remember_password: bool = False
    lab: bool = False
    name: str = ""  # @@SERVERNAME once known

    @property
    def display(self) -> str:
        return f"{self.server},{self.port}" if self.port else self.server

    @property
    def key(self) -> str:
        """The secrets-store key of this connection's password."""
        return f"sql:{self.display.lower()}:{(self.user or '').lower()}"

    def target(self, password: str | None = None, access_token: str | None = None,
               login_timeout: int = 10, token_provider: TokenProvider | None = None) -> SqlTarget:
        from milink_tui.clients.connstr import SqlTarget

        return SqlTarget(server=self.server, port=self.port, auth=self.auth, user=self.user, password=password,
                         access_token=access_token, token_provider=token_provider, encrypt=self.encrypt,
                         trust_server_certificate=self.trust_server_certificate, login_timeout=login_timeout)


@dataclass
class TestOutcome:
    """The result of "Test connection": ok, a one-line summary, and a cause and fix when it failed."""

    ok: bool
    summary: str
    cause: str = ""
    fix: str = ""
    server_name: str = ""
    driver: str = ""  # which driver connected, e.g. "mssql-python 1.16.0 (bundled ODBC Driver 18)"


def _state_dir() -> Path:
    from milink_tui.engine.journal import state_dir

    return state_dir()


class Session:
    """Everything the screens share. One per app."""

    def __init__(self, state_dir: Path | None = None, secrets: SecretStore | None = None,
                 persist: bool = True) -> None:
        self._state_dir = state_dir
        self.secrets = secrets or SecretStore()
        self.persist = persist
        self.connections: list[SavedConnection] = []
        self.active: SavedConnection | None = None
        self.sql: SqlConnection | None = None
        self.server_label: str = ""  # "SQLLAB01 · SQL Server 2022 16.0.4135.4"
        self.azure: AzureClient | None = None
        self.identity: Identity | None = None
        self.sign_in_settings: SignIn | None = None
        self.lab: LabInfo | None = None
        self.lab_scenario: str | None = None
        self.login_timeout = 10  # seconds; "Test connection" reports a timeout after this
        self._loaded = False

    # ------------------------------------------------------------- saved connections

    @property
    def state_dir(self) -> Path:
        if self._state_dir is None:
            self._state_dir = _state_dir()
        return self._state_dir

    @property
    def connections_file(self) -> Path:
        return self.state_dir / "connections.json"

    def load(self) -> list[SavedConnection]:
        """Read saved connections (a missing or damaged file is an empty list, not an error)."""
        if self._loaded or not self.persist:
            return self.connections
        self._loaded = True
        try:
            data = json.loads(self.connections_file.read_text())
            fields = {f.name for f in dataclasses.fields(SavedConnection)}
            self.connections = [SavedConnection(**{k: v for k, v in d.items() if k in fields})
                                for d in data.get("connections", []) if not d.get("lab")]
        except FileNotFoundError:
            pass
        except (ValueError, TypeError, OSError) as e:
            log.warning("ignoring %s: %s", self.connections_file, e)
        return self.connections

    def save(self) -> None:
        if not self.persist:
            return
        data = {"connections": [dataclasses.asdict(c) for c in self.connections if not c.lab]}
        path = self.connections_file
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(path)

    def remember(self, conn: SavedConnection) -> None:
        """Add or update ``conn`` in the saved list (matched by server, port and login)."""
        self.connections = [c for c in self.connections if c.key != conn.key] + [conn]
        self.save()

    def forget(self, conn: SavedConnection) -> None:
        self.connections = [c for c in self.connections if c.key != conn.key]
        self.secrets.forget(conn.key)
        self.save()

    def password_for(self, conn: SavedConnection) -> str | None:
        return self.secrets.get(conn.key)

    # ------------------------------------------------------------- SQL Server

    async def test(self, conn: SavedConnection, password: str | None) -> TestOutcome:
        """Open and close a connection; the error mapped to a cause and a fix (never raw text)."""
        from milink_tui.clients.connstr import NoDriverError
        from milink_tui.clients.sql import SqlClientError, connect

        started = time.perf_counter()
        try:
            sql = await connect(self._target(conn, password), attempts=1)
        except NoDriverError as e:
            return TestOutcome(False, "✗ No SQL Server ODBC driver", "No ODBC driver for SQL Server is installed.",
                               str(e))
        except SqlClientError as e:
            return TestOutcome(False, f"✗ {e}", e.cause or "The connection failed.",
                               e.fix or "Check the server, port and credentials.")
        try:
            res = await sql.run("SELECT @@SERVERNAME AS n, CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(64)) AS v")
            name, version = res.first.rows[0]
        finally:
            await sql.close()
        ms = (time.perf_counter() - started) * 1000
        return TestOutcome(True, f"✓ Connected to {name} (SQL Server {version}) in {ms:.0f} ms",
                           server_name=str(name or ""), driver=sql.driver_label)

    async def connect(self, conn: SavedConnection, password: str | None) -> SqlConnection:
        """Open the session's SQL Server connection (closing any previous one)."""
        from milink_tui.clients.sql import connect

        sql = await connect(self._target(conn, password))
        await self.close_sql()
        self.sql, self.active = sql, conn
        try:
            res = await sql.run("SELECT @@SERVERNAME, CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(64))")
            name, version = res.first.rows[0]
            conn.name = str(name or "")
            self.server_label = f"{name} · {version}"
        except Exception:  # the label is cosmetic
            self.server_label = conn.display
        return sql

    def _target(self, conn: SavedConnection, password: str | None) -> SqlTarget:
        """Microsoft Entra: tokens come from the signed-in Azure account, for its cloud's SQL scope."""
        provider = None
        if conn.auth == "entra" and self.azure is not None:
            from milink_tui.clients.auth import sql_token_provider

            provider = sql_token_provider(self.azure.session.credential, self.azure.session.cloud)
        return conn.target(password, login_timeout=self.login_timeout, token_provider=provider)

    async def reconnect(self) -> SqlConnection:
        """Re-open the active connection (after the lab restarts SQL Server, for example)."""
        if self.active is None:
            raise RuntimeError("no SQL Server connection")
        return await self.connect(self.active, self.password_for(self.active))

    async def close_sql(self) -> None:
        if self.sql is not None:
            sql, self.sql = self.sql, None
            try:
                await sql.close()
            except Exception:
                pass

    # ------------------------------------------------------------- Azure

    def cloud(self) -> Cloud:
        from milink_tui.clients.auth import AZURE_PUBLIC, Cloud

        if self.lab is not None:
            return Cloud.lab(self.lab.arm["base_url"], self.lab.entra.get("authority"),
                             sql_scope=self.lab.entra.get("sql_scope"))
        return AZURE_PUBLIC

    def default_sign_in(self) -> SignIn:
        """The lab's service principal in lab mode; device code otherwise (it works over SSH)."""
        from milink_tui.clients.auth import SignIn

        if self.sign_in_settings is not None:
            return self.sign_in_settings
        if self.lab is not None:
            e = self.lab.entra
            return SignIn("sp-secret", tenant_id=e["tenant_id"], client_id=e["sp_client_id"],
                          client_secret=e["sp_client_secret"])
        return SignIn("device-code")

    async def sign_in(self, settings: SignIn, prompt: Any = None) -> Identity:
        """Sign in to Azure with ``settings``; replaces any earlier Azure session."""
        from milink_tui.clients.azure import AzureClient, AzureSession

        await self.close_azure()
        ca_file = self.lab.arm["ca_file"] if self.lab is not None else None
        session = AzureSession(settings, cloud=self.cloud(), ca_file=ca_file, prompt=prompt,
                               polling_interval=0.2 if self.lab is not None else 5.0,
                               retry_total=1 if self.lab is not None else None)
        client = AzureClient(session, progress_interval=0.25 if self.lab is not None else 1.0)
        try:
            identity = await session.sign_in()
        except BaseException:
            await client.close()
            raise
        self.azure, self.identity, self.sign_in_settings = client, identity, settings
        return identity

    def cancel_sign_in(self) -> None:
        if self.azure is not None:
            self.azure.session.cancel_sign_in()

    async def close_azure(self) -> None:
        if self.azure is not None:
            client, self.azure = self.azure, None
            self.identity = None
            try:
                await client.close()
            except Exception:
                pass

    # ------------------------------------------------------------- the lab

    def attach_lab(self, info: LabInfo, scenario: str | None = None) -> SavedConnection:
        """Use a running lab: its SQL Server becomes a (not persisted) saved connection."""
        self.lab, self.lab_scenario = info, scenario or info.raw.get("scenario")
        sql = info.sql
        conn = SavedConnection(server=sql["host"], port=int(sql["port"]), user=sql["user"],
                               trust_server_certificate=True, lab=True, name=sql.get("server_name", ""))
        self.secrets.set(conn.key, sql["password"])
        self.connections = [c for c in self.connections if not c.lab] + [conn]
        return conn

    def lab_control(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call the lab's control API (blocking: run it in a thread worker)."""
        from milink_tui.services.lab_process import control

        if self.lab is None:
            raise RuntimeError("not running against the lab")
        return control(self.lab.control_url, path, body)

    async def close(self) -> None:
        await self.close_sql()
        await self.close_azure()
        self.secrets.clear_memory()
