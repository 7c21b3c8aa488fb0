"""Widgets several wizard pages share: the check list with its detail, Azure sign-in, the
subscription → resource group → managed instance pickers, and small confirm/password dialogs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from .base import explain_error

if TYPE_CHECKING:
    from milink_tui.clients.azure import Identity, ManagedInstanceInfo
    from milink_tui.engine.checks import CheckResult

    from .backend import WizardBackend
    from .state import WizardState

STATUS_STYLE = {"pass": "bold green", "warn": "bold dark_orange", "fail": "bold red", "skip": "dim"}


def status_text(status: str, label: str) -> Text:
    """Glyph + word, coloured as a hint only."""
    return Text(label, style=STATUS_STYLE.get(status, ""))


def looks_like_code(text: str) -> bool:
    words = ("USE ", "CREATE ", "ALTER ", "DBCC ", "EXEC ", "SELECT ", "sudo ", "BACKUP ")
    return any(w in text for w in words)


def detail_renderable(r: CheckResult, extra: str = "") -> Group:
    """Evidence, explanation, remediation (highlighted when it is a script) and the doc link."""
    parts: list[Any] = [Text.assemble((r.label, STATUS_STYLE.get(r.status, "")), "  ", (r.title, "bold")),
                        Text.assemble(("Evidence: ", "bold"), r.evidence),
                        Text(r.explanation)]
    if r.remediation:
        parts.append(Text("Remediation:", style="bold"))
        if looks_like_code(r.remediation):
            lexer = "bash" if r.remediation.startswith("sudo") else "tsql"
            parts.append(Syntax(r.remediation, lexer, word_wrap=True, theme="ansi_dark", background_color="default"))
        else:
            parts.append(Text(r.remediation))
    if extra:
        parts.append(Text(extra, style="italic"))
    parts.append(Text(f"Docs: {r.doc}", style="dim"))
    return Group(*parts)


class CheckTable(DataTable):
    """Checks as rows: status (glyph + word) and title. Highlighting a row shows its detail."""

    class Chosen(Message):
        def __init__(self, table: CheckTable, result: CheckResult) -> None:
            super().__init__()
            self.table = table
            self.result = result

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.results: list[CheckResult] = []

    def on_mount(self) -> None:
        self.add_column("Status", width=10, key="status")
        self.add_column("Requirement", key="title")

    def show(self, results: list[CheckResult]) -> None:
        keep = self.cursor_row
        self.results = list(results)
        self.clear()
        for r in self.results:
            self.add_row(status_text(r.status, r.label), Text(r.title), key=r.id)
        if self.results:
            self.move_cursor(row=min(max(keep, 0), len(self.results) - 1))
            self.post_message(self.Chosen(self, self.results[self.cursor_row]))

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.results):
            self.post_message(self.Chosen(self, self.results[event.cursor_row]))


# ------------------------------------------------------------------------- dialogs


class ConfirmDialog(ModalScreen[bool]):
    """Yes/no with the consequence spelled out."""

    BINDINGS = [("escape", "dismiss(False)", "Cancel")]

    def __init__(self, title: str, body: str, yes: str = "Apply") -> None:
        super().__init__(classes="dialog-screen")
        self.title_text, self.body, self.yes = title, body, yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(Text(self.body))
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.yes, id="confirm-yes", variant="primary", compact=True)
                yield Button("Cancel", id="confirm-no", compact=True)

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no(self) -> None:
        self.dismiss(False)


class PasswordDialog(ModalScreen["str | None"]):
    """A new password typed twice (masked); it is returned, never stored or shown."""

    BINDINGS = [("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: str, body: str) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text, self.body = title, body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(Text(self.body))
            yield Input(password=True, placeholder="Password", id="pw1", compact=True)
            yield Input(password=True, placeholder="Repeat the password", id="pw2", compact=True)
            yield Static("", id="pw-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", id="pw-ok", variant="primary", compact=True)
                yield Button("Cancel", id="pw-cancel", compact=True)

    @on(Input.Submitted)
    @on(Button.Pressed, "#pw-ok")
    def _ok(self) -> None:
        a, b = self.query_one("#pw1", Input).value, self.query_one("#pw2", Input).value
        problem = password_problem(a)
        if problem is None and a != b:
            problem = "The two passwords differ."
        if problem:
            self.query_one("#pw-error", Static).update(Text(f"✗ {problem}", style="bold red"))
            return
        self.dismiss(a)

    @on(Button.Pressed, "#pw-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


def password_problem(pw: str) -> str | None:
    """SQL Server's password policy, roughly: 8+ characters from three of four classes."""
    if len(pw) < 8:
        return "Use at least 8 characters."
    classes = sum([any(c.islower() for c in pw), any(c.isupper() for c in pw), any(c.isdigit() for c in pw),
                   any(not c.isalnum() for c in pw)])
    if classes < 3:
        return "Mix three of: lower case, upper case, digits, symbols."
    return None


# ------------------------------------------------------------------------- Azure


def _on_ui_thread(app: Any, fn: Callable[..., None], *args: Any) -> None:
    if threading.get_ident() == getattr(app, "_thread_id", None):
        fn(*args)
    else:
        app.call_from_thread(fn, *args)


SIGN_IN_METHODS = [
    ("Device code (works over SSH)", "device-code"),
    ("Azure CLI login (az login)", "cli"),
    ("Service principal (client secret)", "sp-secret"),
]


class AzureSignIn(Vertical):
    """Sign in to Azure inside the app. Device code shows the URL and code right here."""

    class SignedIn(Message):
        def __init__(self, identity: Identity) -> None:
            super().__init__()
            self.identity = identity

    def __init__(self, backend: WizardBackend, **kwargs: Any) -> None:
        super().__init__(classes="azure-sign-in", **kwargs)
        self.backend = backend

    def compose(self) -> ComposeResult:
        d = self.backend.default_sign_in()
        ident = self.backend.identity()
        yield Static(self._status(ident), id="az-status")
        with Horizontal(classes="row"):
            yield Select(SIGN_IN_METHODS, value=d.method if d.method in dict((v, v) for _, v in SIGN_IN_METHODS)
                         else "device-code", allow_blank=False, id="az-method", compact=True)
            yield Button("Sign in", id="az-signin", compact=True, variant="primary")
            yield Button("Cancel sign-in", id="az-cancel", compact=True, disabled=True)
        with Vertical(id="az-sp"):
            yield Input(d.tenant_id or "", placeholder="Tenant (directory) id", id="az-tenant", compact=True)
            yield Input(d.client_id or "", placeholder="Client (application) id", id="az-client", compact=True)
            yield Input(d.client_secret or "", placeholder="Client secret", password=True, id="az-secret",
                        compact=True)
        yield Static("", id="az-device")

    def on_mount(self) -> None:
        self._sync_method()
        if self.backend.identity() is not None:
            self.query_one("#az-sp").display = False

    @staticmethod
    def _status(ident: Identity | None) -> Text:
        if ident is None:
            return Text("○ Not signed in to Azure.")
        kind = "service principal" if ident.kind == "app" else "user"
        return Text.assemble(("✓ Signed in", "bold green"), f" as {ident.name} ({kind})")

    @on(Select.Changed, "#az-method")
    def _sync_method(self) -> None:
        method = self.query_one("#az-method", Select).value
        self.query_one("#az-sp").display = method == "sp-secret" and self.backend.identity() is None

    @on(Button.Pressed, "#az-signin")
    def sign_in(self) -> None:
        from dataclasses import replace

        method = str(self.query_one("#az-method", Select).value)
        settings = replace(self.backend.default_sign_in(), method=method)  # type: ignore[arg-type]
        if method == "sp-secret":
            settings = replace(settings, tenant_id=self.query_one("#az-tenant", Input).value.strip() or None,
                               client_id=self.query_one("#az-client", Input).value.strip() or None,
                               client_secret=self.query_one("#az-secret", Input).value or None)
        self.query_one("#az-status", Static).update(Text("◌ Signing in…"))
        self.query_one("#az-signin", Button).disabled = True
        self.query_one("#az-cancel", Button).disabled = False
        app = self.app

        def prompt(uri: str, code: str, expires: Any) -> None:
            _on_ui_thread(app, self._show_code, uri, code)

        async def work() -> Identity:
            return await self.backend.sign_in(settings, prompt)

        self.run_worker(work(), name="sign-in", group="azure-sign-in", exclusive=True, exit_on_error=False)

    def _show_code(self, uri: str, code: str) -> None:
        self.query_one("#az-device", Static).update(Text.assemble(
            "To sign in, open ", (uri, "bold underline"), " in any browser and enter the code ",
            (code, "bold reverse"), ".\nmilink waits here; Cancel sign-in stops waiting."))

    @on(Button.Pressed, "#az-cancel")
    def cancel(self) -> None:
        self.backend.cancel_sign_in()
        self.workers.cancel_group(self, "azure-sign-in")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "sign-in" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR,
                                                                  WorkerState.CANCELLED):
            return
        event.stop()
        self.query_one("#az-signin", Button).disabled = False
        self.query_one("#az-cancel", Button).disabled = True
        self.query_one("#az-device", Static).update("")
        if event.state == WorkerState.SUCCESS:
            ident = event.worker.result
            self.query_one("#az-status", Static).update(self._status(ident))
            self.query_one("#az-sp").display = False
            self.post_message(self.SignedIn(ident))
        elif event.state == WorkerState.ERROR:
            self.query_one("#az-status", Static).update(Text(explain_error(event.worker.error or Exception()),
                                                             style="red"))
        else:
            self.query_one("#az-status", Static).update(Text("○ Sign-in cancelled."))


class MiPicker(Vertical):
    """Subscription → resource group → managed instance, with type-to-filter on the instances.

    ``reason(mi)`` says why an instance cannot be chosen (it is then listed disabled, with that reason).
    """

    class Chosen(Message):
        def __init__(self, mi: ManagedInstanceInfo) -> None:
            super().__init__()
            self.mi = mi

    def __init__(self, backend: WizardBackend, state: WizardState,
                 reason: Callable[[ManagedInstanceInfo], str | None], **kwargs: Any) -> None:
        super().__init__(classes="mi-picker", **kwargs)
        self.backend, self.state, self.reason = backend, state, reason

    def compose(self) -> ComposeResult:
        s = self.state
        with Horizontal(classes="row"):
            yield Label("Subscription   ", classes="field-label")
            yield Select([(x.display_name, x.subscription_id) for x in s.subscriptions],
                         value=s.subscription.subscription_id if s.subscription else Select.NULL,
                         prompt="Sign in first", id="mi-sub", compact=True)
        with Horizontal(classes="row"):
            yield Label("Resource group ", classes="field-label")
            yield Select([(g, g) for g in s.resource_groups], value=s.resource_group or Select.NULL,
                         prompt="Choose a subscription", id="mi-rg", compact=True)
        with Horizontal(classes="row"):
            yield Label("Managed inst.  ", classes="field-label")
            yield Input(placeholder="type to filter", id="mi-filter", compact=True)
        yield OptionList(id="mi-list", compact=True)
        yield Static("", id="mi-detail")

    def on_mount(self) -> None:
        self._fill_instances()

    def load(self) -> None:
        """Read subscriptions (after sign-in)."""
        async def work() -> Any:
            return await self.backend.subscriptions()
        self.run_worker(work(), name="subs", group="mi-subs", exclusive=True, exit_on_error=False)

    @on(Select.Changed, "#mi-sub")
    def _sub_changed(self, event: Select.Changed) -> None:
        subs = {x.subscription_id: x for x in self.state.subscriptions}
        sub = subs.get(str(event.value)) if event.value is not Select.NULL else None
        if sub is None or (self.state.subscription and sub.subscription_id == self.state.subscription.subscription_id
                           and self.state.resource_groups):
            return
        self.state.subscription = sub
        self.state.resource_group, self.state.instances = None, []

        async def work() -> Any:
            return await self.backend.resource_groups(sub.subscription_id)
        self.run_worker(work(), name="rgs", group="mi-rgs", exclusive=True, exit_on_error=False)

    @on(Select.Changed, "#mi-rg")
    def _rg_changed(self, event: Select.Changed) -> None:
        if event.value is Select.NULL or self.state.subscription is None:
            return
        rg = str(event.value)
        if rg == self.state.resource_group and self.state.instances:
            return
        self.state.resource_group = rg
        sub = self.state.subscription.subscription_id

        async def work() -> Any:
            return await self.backend.managed_instances(sub, rg)
        self.run_worker(work(), name="mis", group="mi-mis", exclusive=True, exit_on_error=False)

    @on(Input.Changed, "#mi-filter")
    def _filter(self) -> None:
        self._fill_instances()

    def _fill_instances(self) -> None:
        text = self.query_one("#mi-filter", Input).value.strip().lower()
        ol = self.query_one("#mi-list", OptionList)
        ol.clear_options()
        chosen = None
        for i, mi in enumerate(self.state.instances):
            if text and text not in mi.name.lower():
                continue
            why = self.reason(mi)
            tier = "GP" if mi.tier == "GeneralPurpose" else "BC" if mi.tier == "BusinessCritical" else mi.tier
            line = f"{mi.name}  {tier} · {mi.database_format} · {mi.state}"
            prompt = Text(line) if not why else Text.assemble(line, (f"  ✗ {why}", "dim"))
            ol.add_option(Option(prompt, id=str(i), disabled=bool(why)))
            if self.state.mi is not None and mi.name == self.state.mi.name:
                chosen = ol.option_count - 1
        if chosen is not None:
            ol.highlighted = chosen
        self._show_detail()

    def _show_detail(self) -> None:
        mi = self.state.mi
        self.query_one("#mi-detail", Static).update(
            Text.assemble(("✓ Chosen: ", "bold green"), f"{mi.name} ({mi.fqdn})") if mi else
            Text("Choose a managed instance (Enter)." if self.state.instances else ""))

    @on(OptionList.OptionSelected, "#mi-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        mi = self.state.instances[int(event.option.id or 0)]
        self.state.mi = mi
        self._show_detail()
        self.post_message(self.Chosen(mi))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        name = event.worker.name
        if name not in ("subs", "rgs", "mis") or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        event.stop()
        if event.state == WorkerState.ERROR:
            self.notify(explain_error(event.worker.error or Exception()), severity="error", timeout=8)
            return
        result = event.worker.result
        if name == "subs":
            self.state.subscriptions = list(result)
            sel = self.query_one("#mi-sub", Select)
            sel.set_options([(x.display_name, x.subscription_id) for x in self.state.subscriptions])
            if len(self.state.subscriptions) >= 1:
                sel.value = self.state.subscriptions[0].subscription_id
        elif name == "rgs":
            self.state.resource_groups = list(result)
            sel = self.query_one("#mi-rg", Select)
            sel.set_options([(g, g) for g in self.state.resource_groups])
            if len(self.state.resource_groups) == 1:
                sel.value = self.state.resource_groups[0]
        else:
            self.state.instances = list(result)
            self._fill_instances()
