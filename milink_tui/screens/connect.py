"""Connect to SQL Server: server, port, authentication, encryption (trusting the server certificate
is a visible, explained choice), remember the password where a keyring works; Test connection
maps errors to a cause and a fix."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Footer, Input, Label, Select, Static

from milink_tui.actions import bindings
from milink_tui.screens.controls import Tick
from milink_tui.services.session import SavedConnection

if TYPE_CHECKING:
    from milink_tui.services.session import Session

AUTH = [("SQL login", "sql"), ("Microsoft Entra (token of the Azure account)", "entra"),
        ("Integrated (Kerberos / Windows)", "integrated")]
ENCRYPT = [("Mandatory — TLS, certificate validated", "yes"), ("Strict — TDS 8.0, TLS first", "strict"),
           ("Optional — no encryption (not recommended)", "no")]
TRUST_NOTE = ("Skips validation: anyone on the network path could pose as this server and read the password. "
              "Prefer installing its CA (SSL_CERT_FILE); use only for a lab or a known self-signed certificate.")

ENTRA_SIGNED_IN = "Signs in as {name}, the Azure account milink uses (a fresh token per connection)."
ENTRA_SIGN_IN = ("Uses the token of your Azure account: milink asks you to sign in to Azure first "
                 "(device code works over SSH).")

HELP = """\
# Connect to SQL Server

* **Server** and **Port** (1433 by default; a named instance usually has its own port).
* **Authentication** — *SQL login* (login + password); *Microsoft Entra* uses an access token of
  the Azure account you are signed in with (milink asks you to sign in if you are not; the
  account must be the server's Entra admin or have a login `FROM EXTERNAL PROVIDER`; it needs
  ODBC Driver 18 or mssql-python — FreeTDS cannot send tokens); *Integrated* uses Kerberos
  (a ticket from `kinit`).
* **Encryption** — *Mandatory* (TLS, the server certificate must be trusted by this machine),
  *Strict* (TDS 8.0), or *Optional*. **Trust server certificate** skips validation: use it only
  knowingly (a lab, a self-signed certificate you know).
* **Remember the password** — in the system keyring when one works. Over SSH there is usually
  none: the password then stays in memory for this session and is asked again next time.

**Test connection** (F5) tries without saving and explains failures: login failed (18456),
timeout, untrusted certificate, no ODBC driver — each with its cause and fix.
"""


class ConnectDialog(ModalScreen["SavedConnection | None"]):
    BINDINGS = bindings("connect")
    help_scope = "connect"

    def __init__(self, session: Session, initial: SavedConnection | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.session = session
        self.initial = initial or SavedConnection(server="", port=1433)

    def compose(self) -> ComposeResult:
        c = self.initial
        with Vertical(classes="dialog connect-dialog"):
            yield Label("Connect to SQL Server", classes="dialog-title")
            with VerticalScroll(id="cx-fields"):
                with Horizontal(classes="row"):
                    yield Label("Server        ", classes="field-label")
                    yield Input(c.server, placeholder="host name or IP", id="cx-server", compact=True)
                    yield Label(" Port ", classes="port-label")
                    yield Input(str(c.port or ""), placeholder="1433", id="cx-port", type="integer", compact=True)
                with Horizontal(classes="row"):
                    yield Label("Authentication", classes="field-label")
                    yield Select(AUTH, value=c.auth, allow_blank=False, id="cx-auth", compact=True)
                yield Static("", id="cx-entra-note")
                with Horizontal(classes="row", id="cx-user-row"):
                    yield Label("Login         ", classes="field-label")
                    yield Input(c.user or "", id="cx-user", compact=True)
                with Horizontal(classes="row", id="cx-password-row"):
                    yield Label("Password      ", classes="field-label")
                    yield Input((self.session.password_for(c) or "") if c.server else "", password=True,
                                id="cx-password", compact=True)
                with Horizontal(classes="row"):
                    yield Label("Encryption    ", classes="field-label")
                    yield Select(ENCRYPT, value=c.encrypt, allow_blank=False, id="cx-encrypt", compact=True)
                yield Tick("Trust server certificate (skip validation)", value=c.trust_server_certificate,
                           id="cx-trust", compact=True)
                yield Static(Text(TRUST_NOTE, style="dim"), id="cx-trust-note")
                yield Tick("Remember the password", value=c.remember_password, id="cx-remember", compact=True)
                yield Static(Text("◌ Looking for a system keyring…", style="dim"), id="cx-keyring")
            yield Static("", id="cx-result")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Test connection", id="cx-test", compact=True)
                yield Button("Connect", id="cx-connect", compact=True, variant="primary")
                yield Button("Cancel", id="cx-cancel", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self._auth_changed()
        self.probe_keyring()
        self.query_one("#cx-server", Input).focus()

    @work(thread=True, exclusive=True, group="keyring")
    def probe_keyring(self) -> None:
        notice = self.session.secrets.notice
        has = self.session.secrets.has_keyring
        self.app.call_from_thread(self._show_keyring, notice, has)

    def _show_keyring(self, notice: str, has: bool) -> None:
        self.query_one("#cx-keyring", Static).update(Text(("" if has else "▲ ") + notice, style="dim"))
        if not has:
            self.query_one("#cx-remember", Checkbox).label = "Remember the password (this session only)"

    @on(Select.Changed, "#cx-auth")
    def _auth_changed(self) -> None:
        auth = self.query_one("#cx-auth", Select).value
        self.query_one("#cx-user-row").display = auth == "sql"
        self.query_one("#cx-password-row").display = auth == "sql"
        note = self.query_one("#cx-entra-note", Static)
        note.display = auth == "entra"
        if auth == "entra":
            identity = self.session.identity if self.session.azure is not None else None
            text = ENTRA_SIGNED_IN.format(name=identity.name) if identity is not None else ENTRA_SIGN_IN
            note.update(Text(("" if identity is not None else "▲ ") + text, style="dim"))

    def _with_azure(self, conn: SavedConnection, then: Callable[[], None]) -> bool:
        """Microsoft Entra needs the Azure sign-in: open it when missing, and carry on once signed in."""
        if conn.auth != "entra" or self.session.azure is not None:
            return True
        from milink_tui.screens.home import AzureSignInDialog

        def signed(ok: bool | None) -> None:
            self._auth_changed()
            if ok:
                then()
            else:
                self._result(False, "✗ Not signed in to Azure",
                             "Microsoft Entra authentication uses the token of your Azure account.",
                             "Sign in to Azure, or choose SQL login.")

        self._result(True, "◌ Sign in to Azure first…", "", "")
        self.app.push_screen(AzureSignInDialog(self.session), signed)
        return False

    def _read(self) -> tuple[SavedConnection, str | None] | None:
        server = self.query_one("#cx-server", Input).value.strip()
        if not server:
            self._result(False, "✗ Enter the server name.", "", "")
            return None
        port_text = self.query_one("#cx-port", Input).value.strip()
        try:
            port = int(port_text) if port_text else None
        except ValueError:
            self._result(False, "✗ The port must be a number.", "", "")
            return None
        conn = SavedConnection(
            server=server, port=port, auth=str(self.query_one("#cx-auth", Select).value),  # type: ignore[arg-type]
            user=self.query_one("#cx-user", Input).value.strip() or None,
            encrypt=str(self.query_one("#cx-encrypt", Select).value),  # type: ignore[arg-type]
            trust_server_certificate=self.query_one("#cx-trust", Checkbox).value,
            remember_password=self.query_one("#cx-remember", Checkbox).value,
            lab=self.initial.lab)
        password = self.query_one("#cx-password", Input).value or None
        return conn, password

    def _result(self, ok: bool, summary: str, cause: str, fix: str, driver: str = "") -> None:
        parts: list[tuple[str, str] | str] = [(summary, "bold green" if ok else "bold red")]
        if driver:
            parts += ["\n", (f"Driver: {driver}", "dim")]
        if cause:
            parts += ["\n", ("Cause: ", "bold"), cause]
        if fix:
            parts += ["\n", ("Fix: ", "bold"), fix]
        self.query_one("#cx-result", Static).update(Text.assemble(*parts))

    @on(Button.Pressed, "#cx-test")
    def action_test(self) -> None:
        read = self._read()
        if read is None:
            return
        if not self._with_azure(read[0], self.action_test):
            return
        self._result(True, "◌ Testing…", "", "")
        self.run_test_connection(*read)

    @work(exclusive=True, group="connect")
    async def run_test_connection(self, conn: SavedConnection, password: str | None) -> None:
        outcome = await self.session.test(conn, password)
        self._result(outcome.ok, outcome.summary, outcome.cause, outcome.fix, outcome.driver)

    @on(Button.Pressed, "#cx-connect")
    def action_save(self) -> None:
        read = self._read()
        if read is None:
            return
        if not self._with_azure(read[0], self.action_save):
            return
        self._result(True, "◌ Connecting…", "", "")
        self.run_connect(*read)

    @work(exclusive=True, group="connect")
    async def run_connect(self, conn: SavedConnection, password: str | None) -> None:
        from milink_tui.clients.connstr import NoDriverError
        from milink_tui.clients.sql import SqlClientError

        try:
            await self.session.connect(conn, password)
        except NoDriverError as e:
            self._result(False, "✗ No SQL Server ODBC driver", "No ODBC driver for SQL Server is installed.",
                         str(e))
            return
        except SqlClientError as e:
            self._result(False, f"✗ {e}", e.cause or "The connection failed.",
                         e.fix or "Check the server, port and credentials.")
            return
        if password:
            where = self.session.secrets.set(conn.key, password, remember=conn.remember_password)
            if conn.remember_password and where == "memory":
                self.notify("No system keyring here: the password is kept in memory for this session only.")
        if not conn.lab:
            self.session.remember(conn)
        self.dismiss(conn)

    @on(Button.Pressed, "#cx-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    def help_context(self) -> tuple[str, str]:
        return "Connect to SQL Server", HELP
