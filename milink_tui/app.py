"""The Textual application: it owns the :class:`Session`, pushes screens, and feeds the command
palette from the action registry. Screens render state; work happens in workers.

First paint is kept cheap: no client, Azure SDK or keyring import here — they load when a
screen needs them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App
from textual.command import DiscoveryHit, Hit, Hits, Provider

from milink_tui.actions import bindings, for_scopes
from milink_tui.services.session import Session

if TYPE_CHECKING:
    from milink_tui.engine.journal import Journal
    from milink_tui.screens.home import HomeScreen
    from milink_tui.services.lab_process import LabInfo, LabProcess

THEMES = ("textual-dark", "textual-light")
LAB_STARTING = "◌ Starting the lab…"


class MilinkCommands(Provider):
    """Every registry action valid on the screen below the palette (and the app-wide ones)."""

    def _actions(self) -> list[Any]:
        scope = getattr(self.screen, "help_scope", None) or "home"
        return [a for a in for_scopes("app", scope) if a.id != "command_palette"]

    async def _run(self, scope: str, action: str) -> None:
        target = "app." if scope == "app" else ""
        if action == "quit_home":
            target, action = "app.", "quit"
        await self.screen.run_action(target + action)

    async def discover(self) -> Hits:
        for a in self._actions():
            yield DiscoveryHit(a.title, partial(self._run, a.scope, a.id), help=a.help)

    async def search(self, query: str) -> AsyncIterator[Hit]:  # type: ignore[override]
        matcher = self.matcher(query)
        for a in self._actions():
            score = max(matcher.match(a.title), matcher.match(a.help) * 0.5)
            if score > 0:
                yield Hit(score, matcher.highlight(a.title), partial(self._run, a.scope, a.id), help=a.help)


class MilinkApp(App[None]):
    """milink. ``lab_scenario`` starts the lab (a child process, stopped on exit); ``lab_info``
    attaches to a lab someone else started (tests, the gallery)."""

    TITLE = "milink"
    SUB_TITLE = "Managed Instance link"
    CSS_PATH = ["app.tcss", "screens/home.tcss"]
    BINDINGS = bindings("app")
    COMMANDS = App.COMMANDS | {MilinkCommands}
    help_scope = "app"

    def __init__(self, lab_scenario: str | None = None, *, lab_speed: float = 1.0, session: Session | None = None,
                 lab_info: LabInfo | None = None, light: bool = False) -> None:
        super().__init__()
        self.session = session or Session()
        self.lab_scenario = lab_scenario
        self.lab_speed = lab_speed
        self.lab_info = lab_info
        self.lab: LabProcess | None = None
        # set before home composes, so a --lab start paints the body and "Starting the lab…", not the first-run panel
        self.lab_starting = lab_scenario is not None or lab_info is not None
        self.home: HomeScreen | None = None
        if light:
            self.theme = THEMES[1]

    def on_mount(self) -> None:
        from milink_tui.screens.home import HomeScreen

        # Home goes over Textual's blank default screen (not instead of it: screens such as the
        # dashboard tell "opened from home" from "on its own" by the stack depth). As the base
        # screen it measured ~4% (≈10 ms) faster to first paint, inside the noise (bench/startup.py).
        self.home = HomeScreen(self.session)
        self.push_screen(self.home)
        # The lab starts after the first paint: home shows "Starting the lab…" at once instead of
        # waiting while a second Python process competes for the CPU.
        if self.lab_info is not None:
            self.call_after_refresh(self.attach_lab, self.lab_info)
        elif self.lab_scenario:
            self.call_after_refresh(self._begin_lab)

    # ------------------------------------------------------------- lab

    def action_lab(self) -> None:
        """Start the lab (or say where it runs)."""
        if self.session.lab is not None:
            lab = self.session.lab
            self.notify(f"Lab running: scenario {self.session.lab_scenario}, SQL Server {lab.sql['server_name']} "
                        f"on {lab.sql['host']},{lab.sql['port']}, ARM {lab.arm['base_url']}")
            return
        if self.lab_starting:
            return
        self.lab_starting = True
        self._session_changed()
        self._begin_lab()

    def _begin_lab(self) -> None:
        self._home_status(LAB_STARTING)
        self.start_lab(self.lab_scenario or "fresh")

    @work(thread=True, exclusive=True, group="lab")
    def start_lab(self, scenario: str) -> None:
        from milink_tui.services.lab_process import LabProcess, LabStartError

        lab = LabProcess(scenario, speed=self.lab_speed)
        try:
            info = lab.start()
        except LabStartError as e:
            self.call_from_thread(self._lab_failed, str(e))
            return
        self.lab = lab
        self.call_from_thread(self.attach_lab, info)

    def _lab_failed(self, message: str) -> None:
        self.lab_starting = False
        self._home_status(f"✗ The lab failed to start: {message}")

    def attach_lab(self, info: LabInfo) -> None:
        """Use the lab: its SQL Server becomes a connection; sign in with its service principal."""
        conn = self.session.attach_lab(info, self.lab_scenario)
        self.lab_starting = False
        self._home_status(f"◌ Lab ready (scenario {self.session.lab_scenario}) — connecting…")
        self._connect_lab(conn)

    @work(exclusive=True, group="lab-connect")
    async def _connect_lab(self, conn: Any) -> None:
        s = self.session
        try:
            await s.connect(conn, s.password_for(conn))
            await s.sign_in(s.default_sign_in())
            self._home_status(f"✓ Lab: SQL Server {s.server_label}; Azure signed in with the lab service principal.")
        except Exception as e:
            from milink_tui.screens.wizard.base import explain_error

            self._home_status(explain_error(e))
        self._session_changed()

    def _home_status(self, text: str) -> None:
        if self.home is not None and self.home.is_mounted:
            self.home.show_status(text)

    def _session_changed(self) -> None:
        from milink_tui.screens.home import SessionChanged

        if self.home is not None:
            self.home.post_message(SessionChanged())

    # ------------------------------------------------------------- screens

    def open_wizard(self, resume: Journal | None = None, rollback: bool = False) -> None:
        from milink_tui.screens.wizard import WizardScreen
        from milink_tui.screens.wizard.backend import LiveBackend

        def closed(_: object) -> None:
            self._session_changed()
        self.push_screen(WizardScreen(LiveBackend(self.session), resume=resume, rollback=rollback), closed)

    def action_dashboard(self) -> None:
        if self.session.sql is None and self.session.azure is None:
            self.notify("Connect to SQL Server (or sign in to Azure) first.", severity="warning")
            return
        self.notify("◌ Opening the dashboard…", timeout=2)
        self._open_dashboard()

    @work(exclusive=True, group="dashboard")
    async def _open_dashboard(self) -> None:
        """Sources for what the session is connected to: the lab's, or this SQL Server + the instances
        the signed-in account sees."""
        from milink_tui.screens.dashboard import DashboardScreen
        from milink_tui.services import dashboard_sources as ds

        s = self.session
        sources: list[Any] = []
        try:
            if s.lab is not None:
                sources = await ds.lab_sources(s.lab, s.state_dir)
            else:
                if s.active is not None:
                    pw = s.password_for(s.active)
                    sources.append(ds.SqlDashboardSource(s.active.target(pw), s.active.name or s.active.display))
                if s.azure is not None:
                    for mi in (await s.azure.list_managed_instances())[:20]:
                        sources.append(ds.ArmDashboardSource(s.azure, mi.ref()))
        except Exception as e:
            from milink_tui.screens.wizard.base import explain_error

            self.notify(explain_error(e), severity="error")
            return
        self.push_screen(DashboardScreen(sources))

    def action_help(self) -> None:
        from milink_tui.screens.help import HelpScreen

        screen = self.screen
        if isinstance(screen, HelpScreen):
            screen.dismiss()
            return
        title, text = (screen.help_context() if hasattr(screen, "help_context") else ("milink", ""))
        scope = getattr(screen, "help_scope", "home")
        self.push_screen(HelpScreen(title, text, ("app", scope)))

    def action_toggle_theme(self) -> None:
        self.theme = THEMES[1] if self.theme == THEMES[0] else THEMES[0]

    async def on_unmount(self) -> None:
        try:
            await self.session.close()
        finally:
            if self.lab is not None:
                self.lab.stop()
