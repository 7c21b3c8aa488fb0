"""Home: saved SQL Server connections, the Azure account in use, the links found on both sides,
and the ways out — New link, Dashboard, Lab. An interrupted link setup found in the journal is
offered for Resume or Roll back. First run with nothing saved offers "Connect to SQL Server" or
"Open the lab".

Nothing here touches the network at first paint: the journal scan and link reads run in workers,
after it. Only the panel this start shows is built before the first paint (bench/startup.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Button, Footer, Label, OptionList, Static
from textual.widgets.option_list import Option

from milink_tui.actions import bindings

if TYPE_CHECKING:
    from milink_tui.engine.journal import Journal
    from milink_tui.services.session import SavedConnection, Session

HELP = """\
# Home

* **SQL Server** — saved connections (never with their password). Enter connects to the
  highlighted one; **c** opens *Connect to SQL Server* for a new one.
* **Azure** — the account milink is signed in with (the wizard signs you in; device code works
  over SSH).
* **Links** — every link found on SQL Server (distributed availability groups) and on the
  managed instances the signed-in account can see, merged by name: *both sides*, *SQL Server
  only* or *managed instance only*.
* **n** New link (the wizard), **d** Dashboard, **l** Lab (a simulated SQL Server + Azure on this
  machine), **r** refresh.

If a link setup was interrupted (crash, lost SSH session), the journal keeps it: **Resume**
continues it, **Roll back** undoes only what it created. Failover, failback and dropping a link
arrive with their own screens.
"""

WELCOME = ("[b]Welcome to milink.[/b] It links SQL Server databases to an Azure SQL Managed Instance "
           "and keeps the links healthy — from this terminal.\nNothing is saved yet: connect to a SQL "
           "Server, or open the built-in lab (a simulated SQL Server and Azure) to try every screen safely.")


class SessionChanged(Message):
    """The session changed (connection, sign-in, lab): the home screen re-reads it."""


class AzureSignInDialog(ModalScreen[bool]):
    """Sign in to Azure outside the wizard (to resume a run, or for Entra authentication)."""

    BINDINGS = [("escape", "dismiss(False)", "Cancel")]

    def __init__(self, session: Session) -> None:
        super().__init__(classes="dialog-screen")
        self.session = session

    def compose(self) -> ComposeResult:
        from milink_tui.screens.wizard.backend import LiveBackend
        from milink_tui.screens.wizard.widgets import AzureSignIn

        with Vertical(classes="dialog"):
            yield Label("Sign in to Azure", classes="dialog-title")
            yield AzureSignIn(LiveBackend(self.session), id="home-sign-in")
            yield Button("Close", id="signin-close", compact=True)

    def on_azure_sign_in_signed_in(self, event: Any) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#signin-close")
    def _close(self) -> None:
        self.dismiss(False)


class HomeScreen(Screen[None]):
    BINDINGS = bindings("home")
    help_scope = "home"

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.unfinished: list[Journal] = []
        self.link_rows: list[tuple[str, str, str, str]] = []
        self.body_ready = False  # connections and account widgets exist
        self.links_ready = False  # the links table exists (it arrives after the first paint)
        self._body_mounting = False

    def compose(self) -> ComposeResult:
        # Only what this start shows is built before the first paint: the first-run panel or the
        # body, never both; the recovery banner arrives if the journal scan finds a run.
        first_run = self._first_run()
        yield Static(Text.assemble(("milink", "bold"), " — Managed Instance link"), id="home-title")
        with Vertical(id="first-run"):
            if first_run:
                yield from self._first_run_widgets()
        yield Vertical(id="recovery")
        with Vertical(id="home-body"):
            if not first_run:
                yield from self._body_widgets()
        yield Static("", id="home-status")
        yield Footer()

    def _first_run(self) -> bool:
        s = self.session
        s.load()
        return not s.connections and s.lab is None and not getattr(self.app, "lab_starting", False)

    @staticmethod
    def _first_run_widgets() -> list[Widget]:
        return [Static(WELCOME, id="welcome"),
                Horizontal(Button("Connect to SQL Server", id="fr-connect", variant="primary", compact=True),
                           Button("Open the lab", id="fr-lab", compact=True), classes="home-buttons")]

    def _body_widgets(self) -> list[Widget]:
        """Built with the session's content, so the first frame is complete (content set after
        mounting costs a second layout pass and frame)."""
        sign_in = Button("Sign in to Azure…", id="hb-azure", compact=True)
        sign_in.display = self.session.identity is None
        return [
            Vertical(
                Static(Text("SQL Server", style="bold"), classes="section"),
                OptionList(*self._connection_options(), id="connections", compact=True),
                Static(Text("Azure", style="bold"), classes="section"),
                Static(self._azure_text(), id="azure"),
                Static(Text("Links", style="bold"), classes="section"),
                Static(Text("◌ Reading links…", style="dim"), id="links-wait"), id="home-main"),
            Horizontal(
                Button("New link", id="hb-new", variant="primary", compact=True),
                Button("Dashboard", id="hb-dashboard", compact=True),
                Button("Lab", id="hb-lab", compact=True),
                Button("Connect…", id="hb-connect", compact=True),
                sign_in,
                id="home-actions", classes="home-buttons"),
        ]

    async def _mount_body(self) -> None:
        await self.query_one("#home-body").mount_all(self._body_widgets())
        self.body_ready = True
        self.render_session()
        self.call_after_refresh(self._start_links)

    def _start_links(self) -> None:
        self.run_worker(self._mount_links(), group="home-body")

    async def _mount_links(self) -> None:
        """The links table comes after the first paint: it has nothing to show before a read anyway."""
        from textual.widgets import DataTable

        t = DataTable(id="links", cursor_type="row")
        t.add_column("Link", width=20, key="link")
        t.add_column("Found on", width=18, key="where")
        t.add_column("SQL Server role", width=15, key="role")
        t.add_column("State", key="state")
        wait = self.query_one("#links-wait")
        await self.query_one("#home-main").mount(t, after=wait)
        await wait.remove()
        self.links_ready = True
        if self.session.sql is not None:
            self.refresh_links()
        else:
            self.show_links([])

    def on_mount(self) -> None:
        self.query_one("#recovery").display = False
        if self.query("#links-wait"):  # composed with the session's content
            self.body_ready = True
            self.query_one("#first-run").display = False
            self.call_after_refresh(self._start_links)
        else:
            self.render_session()
        if getattr(self.app, "lab_starting", False):
            from milink_tui.app import LAB_STARTING

            self.show_status(LAB_STARTING)
        self.call_after_refresh(self.scan_journal)  # a thread start and disk reads: after the first paint

    # ------------------------------------------------------------- rendering

    def render_session(self) -> None:
        s = self.session
        first_run = not s.connections and s.lab is None and not getattr(self.app, "lab_starting", False)
        self.query_one("#first-run").display = first_run
        self.query_one("#home-body").display = not first_run
        if first_run:
            if not self.query("#welcome"):
                self.query_one("#first-run").mount_all(self._first_run_widgets())
            return
        if not self.body_ready:
            if not self._body_mounting:
                self._body_mounting = True
                self.run_worker(self._mount_body(), group="home-body")
            return
        ol = self.query_one("#connections", OptionList)
        ol.set_options(self._connection_options())
        self.query_one("#azure", Static).update(self._azure_text())
        self.query_one("#hb-azure").display = s.identity is None

    def _connection_options(self) -> list[Option]:
        s = self.session
        out = []
        for i, c in enumerate(s.connections):
            active = s.active is not None and s.active.key == c.key and s.sql is not None
            label = Text.assemble(("● " if active else "○ "), (c.name or c.display, "bold"),
                                  f"  {c.display}  {c.user or c.auth}",
                                  ("  lab" if c.lab else ""), ("  ✓ connected" if active else ""))
            out.append(Option(label, id=str(i)))
        if not s.connections:
            out.append(Option(Text("No saved connection — press c to connect.", style="dim"), disabled=True))
        return out

    def _azure_text(self) -> Text:
        s = self.session
        ident = s.identity
        if ident is None:
            return Text("○ Not signed in — the New link wizard signs you in (device code works over SSH).")
        kind = "service principal" if ident.kind == "app" else "user"
        where = " (lab)" if s.lab is not None else ""
        return Text.assemble(("✓ Signed in", "bold green"), f" as {ident.name} ({kind}){where}")

    def show_status(self, text: str | Text) -> None:
        self.query_one("#home-status", Static).update(text)

    @on(SessionChanged)
    def _session_changed(self) -> None:
        self.render_session()
        if self.session.sql is not None and self.body_ready:
            self.refresh_links()

    # ------------------------------------------------------------- journal

    @work(thread=True, exclusive=True, group="journal")
    def scan_journal(self) -> None:
        from milink_tui.engine.journal import unfinished_runs

        runs = unfinished_runs()
        self.app.call_from_thread(self._show_recovery, runs)

    def _show_recovery(self, runs: list[Journal]) -> None:
        self.unfinished = runs
        box = self.query_one("#recovery")
        if not runs:
            box.display = False
            return
        j = runs[-1]
        try:
            plan = j.plan()
            links = ", ".join(x["link_name"] for x in plan.get("links", []))
            where = f"{plan.get('sql_server_name')} → {plan.get('mi', {}).get('name')}"
        except (ValueError, KeyError, TypeError):
            links, where = "?", "?"
        failed = [r for r in j.steps().values() if r.state in ("failed", "started")]
        stopped = f"stopped at {failed[-1].step}" if failed else "interrupted"
        more = f" (+{len(runs) - 1} more)" if len(runs) > 1 else ""
        text = Text.assemble(
            ("▲ An interrupted link setup was found", "bold dark_orange"),
            f"{more}: {links} ({where}), {stopped}. Resume continues it; Roll back undoes only what it created.")
        if self.query("#recovery-text"):
            self.query_one("#recovery-text", Static).update(text)
        else:  # built on first need: most starts have no interrupted run
            box.mount_all([Static(text, id="recovery-text"), Horizontal(
                Button("Resume", id="rc-resume", variant="primary", compact=True),
                Button("Roll back", id="rc-rollback", variant="error", compact=True), classes="home-buttons")])
        box.display = True

    def _recovery_ready(self, rollback: bool) -> None:
        if not self.unfinished:
            self.notify("No interrupted run.", severity="warning")
            return
        journal = self.unfinished[-1]
        s = self.session
        if s.sql is None:
            self.notify(f"Connect to SQL Server {journal.plan().get('sql_server_name')} first.", severity="warning")
            self.action_connect()
            return
        if s.azure is None:
            def signed(ok: bool | None) -> None:
                if ok:
                    self._session_changed()
                    self._recovery_ready(rollback)
            self.app.push_screen(AzureSignInDialog(s), signed)
            return
        self.app.open_wizard(resume=journal, rollback=rollback)  # type: ignore[attr-defined]
        self.query_one("#recovery").display = False

    @on(Button.Pressed, "#rc-resume")
    def action_resume_run(self) -> None:
        self._recovery_ready(rollback=False)

    @on(Button.Pressed, "#rc-rollback")
    def action_rollback_run(self) -> None:
        self._recovery_ready(rollback=True)

    # ------------------------------------------------------------- links on both sides

    def action_refresh(self) -> None:
        self.scan_journal()
        self.refresh_links()

    @work(exclusive=True, group="links")
    async def refresh_links(self) -> None:
        s = self.session
        rows: dict[str, list[str]] = {}
        sql_name = s.active.name if s.active else "SQL Server"
        if s.sql is not None:
            try:
                res = await s.sql.query("home_links")
                for r in res.first.dicts():
                    rows[r["link"].lower()] = [r["link"], "SQL Server", r["local_role"] or "",
                                               f"{r['connected_state']} · {r['health']}".strip(" ·")]
            except Exception as e:  # shown, not raised: the home screen must stay usable
                self.show_status(Text(f"▲ Could not read links on {sql_name}: {e}", style="dark_orange"))
        if s.azure is not None:
            try:
                mis = (await s.azure.list_managed_instances())[:20]
                for mi in mis:
                    for link in await s.azure.list_links(mi.ref()):
                        name = str(link.get("name") or "")
                        d = (link.get("databases") or [{}])[0]
                        state = f"{d.get('replicaState', '')} · {d.get('synchronizationHealth', '')}".strip(" ·")
                        row = rows.get(name.lower())
                        if row is not None:
                            row[1] = f"both ({mi.name})"
                            row[3] = state or row[3]
                        else:
                            rows[name.lower()] = [name, f"{mi.name} only", "", state]
            except Exception as e:
                self.show_status(Text(f"▲ Could not list links in Azure: {e}", style="dark_orange"))
        self.show_links([(a, b, c, e) for a, b, c, e in sorted(rows.values())])

    def show_links(self, rows: list[tuple[str, str, str, str]]) -> None:
        """(link, found on, SQL Server role, state) rows, merged from both sides."""
        self.link_rows = rows
        if not self.links_ready:
            return
        from textual.widgets import DataTable

        t = self.query_one("#links", DataTable)
        t.clear()
        for link, where, role, state in self.link_rows:
            t.add_row(Text(link), Text(where), Text(role), Text(state), key=link)
        if not self.link_rows:
            if self.session.sql is None:
                t.add_row(Text("—", style="dim"), Text(""), Text(""),
                          Text("connect to a SQL Server to list its links", style="dim"))
            else:
                t.add_row(Text("No link yet", style="dim"), Text(""), Text(""), Text("press n to create one"))

    # ------------------------------------------------------------- actions

    @on(Button.Pressed, "#hb-new")
    def action_new_link(self) -> None:
        if self.session.sql is None:
            self.notify("Connect to a SQL Server first.")
            self.action_connect(then_wizard=True)
            return
        self.app.open_wizard()  # type: ignore[attr-defined]

    @on(Button.Pressed, "#hb-connect")
    @on(Button.Pressed, "#fr-connect")
    def _connect_pressed(self) -> None:
        self.action_connect()

    def action_connect(self, then_wizard: bool = False, initial: SavedConnection | None = None) -> None:
        from milink_tui.screens.connect import ConnectDialog

        def done(conn: SavedConnection | None) -> None:
            if conn is None:
                return
            self._session_changed()
            self.show_status(Text(f"✓ Connected to {self.session.server_label}", style="green"))
            if then_wizard:
                self.app.open_wizard()  # type: ignore[attr-defined]
        self.app.push_screen(ConnectDialog(self.session, initial), done)

    @on(OptionList.OptionSelected, "#connections")
    def _connect_saved(self, event: OptionList.OptionSelected) -> None:
        conn = self.session.connections[int(event.option.id or 0)]
        password = self.session.password_for(conn)
        if conn.auth == "sql" and not password:
            self.action_connect(initial=conn)
            return
        self.show_status(f"◌ Connecting to {conn.display}…")
        self._connect(conn, password)

    @work(exclusive=True, group="connect")
    async def _connect(self, conn: SavedConnection, password: str | None) -> None:
        try:
            await self.session.connect(conn, password)
        except Exception as e:
            from milink_tui.screens.wizard.base import explain_error

            self.show_status(Text(explain_error(e), style="red"))
            return
        self.show_status(Text(f"✓ Connected to {self.session.server_label}", style="green"))
        self._session_changed()

    @on(Button.Pressed, "#hb-azure")
    def _sign_in(self) -> None:
        def signed(ok: bool | None) -> None:
            if ok:
                self._session_changed()
        self.app.push_screen(AzureSignInDialog(self.session), signed)

    @on(Button.Pressed, "#hb-dashboard")
    def action_dashboard(self) -> None:
        self.app.action_dashboard()  # type: ignore[attr-defined]

    @on(Button.Pressed, "#hb-lab")
    @on(Button.Pressed, "#fr-lab")
    def action_lab(self) -> None:
        self.app.action_lab()  # type: ignore[attr-defined]

    def help_context(self) -> tuple[str, str]:
        return "Home", HELP
