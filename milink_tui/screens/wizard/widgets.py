"""Widgets several wizard pages share: the check list with its detail, Azure sign-in, the
subscription → resource group → managed instance pickers, and small confirm/password dialogs."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from .base import WizardPage, explain_error

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


_POWERSHELL = re.compile(r"\b(?:New|Set|Get|Remove|Add|Start|Test)-[A-Z][A-Za-z]+\b|^tnc\b", re.M)
_SHELL = re.compile(r"^\s*(?:(?:sudo|az|ufw|systemctl|timeout|iptables|firewall-cmd)\b|# )", re.M)


def remediation_lexer(text: str) -> str:
    """PowerShell, a Linux shell, or T-SQL: remediations are one of the three."""
    if _POWERSHELL.search(text):
        return "powershell"
    if _SHELL.search(text):
        return "bash"
    return "tsql"


def detail_renderable(r: CheckResult, extra: str = "") -> Group:
    """Evidence, explanation, remediation (highlighted when it is a script) and the doc link."""
    parts: list[Any] = [Text.assemble((r.label, STATUS_STYLE.get(r.status, "")), "  ", (r.title, "bold")),
                        Text.assemble(("Evidence: ", "bold"), r.evidence),
                        Text(r.explanation)]
    if r.remediation:
        parts.append(Text("Remediation:", style="bold"))
        if looks_like_code(r.remediation):
            parts.append(Syntax(r.remediation, remediation_lexer(r.remediation), word_wrap=True, theme="ansi_dark",
                                background_color="default"))
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


@dataclass(frozen=True)
class PickItem:
    """One row of a :class:`FilterPicker`: ``key`` is what a pick reports, ``label`` is what the
    filter matches; ``reason`` lists the row disabled, with why."""

    key: str
    label: str
    detail: str = ""
    reason: str | None = None


class FilterPicker(Vertical):
    """A list with a filter box. Typing narrows the list (case-insensitive substring of the
    label); ↑/↓/PgUp/PgDn move the highlight while focus stays in the box; Enter picks. The row
    says "n of m"; an empty list or filter says so. Once something is picked, the box shows it
    and the list folds away until the picker has focus again — three pickers fit on 80×24."""

    DEFAULT_CSS = """
    FilterPicker { height: auto; }
    FilterPicker > .fp-row { height: 1; }
    FilterPicker .fp-label { width: 16; }
    FilterPicker .fp-filter { width: 1fr; }
    FilterPicker .fp-count { width: auto; min-width: 9; padding-left: 1; color: $text-muted; }
    FilterPicker > OptionList { height: auto; max-height: 4; margin-left: 16; }
    FilterPicker.-tall > OptionList { max-height: 6; }
    FilterPicker > .fp-message { height: auto; margin-left: 16; color: $text-muted; }
    FilterPicker.-picked > OptionList, FilterPicker.-empty > OptionList { display: none; }
    FilterPicker.-picked.-open > OptionList { display: block; }
    FilterPicker.-empty.-open > OptionList { display: none; }
    FilterPicker.-open > OptionList > .option-list--option-highlighted {
        color: $block-cursor-foreground;
        background: $block-cursor-background;
    }
    """

    BINDINGS = [
        Binding("down", "move('cursor_down')", "Down", show=False),
        Binding("up", "move('cursor_up')", "Up", show=False),
        Binding("pagedown", "move('page_down')", "Page down", show=False),
        Binding("pageup", "move('page_up')", "Page up", show=False),
    ]

    class Picked(Message):
        """The user picked ``key`` (Enter, or a click on a row)."""

        def __init__(self, picker: FilterPicker, key: str) -> None:
            super().__init__()
            self.picker = picker
            self.key = key

        @property
        def control(self) -> FilterPicker:
            return self.picker

    def __init__(self, label: str, *, empty: str, noun: str = "row", tall: bool = False, **kwargs: Any) -> None:
        super().__init__(classes="filter-picker -tall" if tall else "filter-picker", **kwargs)
        self.label, self.empty, self.noun = label, empty, noun
        self.items: list[PickItem] = []
        self.picked: str | None = None
        self.shown: list[PickItem] = []
        self._note = ""  # loading / error / "sign in first": replaces the list while set

    def compose(self) -> ComposeResult:
        base = self.id or "picker"
        with Horizontal(classes="fp-row"):
            yield Label(self.label, classes="fp-label")
            yield Input(placeholder="type to filter", id=f"{base}-filter", classes="fp-filter", compact=True)
            yield Static("", classes="fp-count")
        yield OptionList(id=f"{base}-list", compact=True)
        yield Static("", classes="fp-message")

    def on_mount(self) -> None:
        self.query_one(OptionList).can_focus = False  # focus stays in the box: Tab goes picker to picker
        self._refill()

    # ------------------------------------------------------------- what the owner calls

    def set_items(self, items: list[PickItem], picked: str | None = None) -> None:
        """New rows (a load finished). ``picked`` keeps a pick that is still among them."""
        self.items = list(items)
        self._note = ""
        keys = {i.key for i in self.items}
        self.picked = picked if picked in keys else None
        self._show_pick()
        self._refill()

    def set_note(self, text: str) -> None:
        """Show ``text`` instead of the list: "◌ Loading…", an error, what to do first."""
        self.items, self.picked, self._note = [], None, text
        self._show_pick()
        self._refill()

    def pick(self, key: str) -> None:
        """Pick ``key`` as if the user had, and say so (``Picked``)."""
        if key not in {i.key for i in self.items}:
            return
        self.picked = key
        self._show_pick()
        self._refill()
        self.post_message(self.Picked(self, key))

    @property
    def filter_text(self) -> str:
        """What the user typed; the shown pick is not a filter."""
        value = self.query_one(Input).value
        item = self._picked_item()
        return "" if item is not None and value == item.label else value.strip()

    # ------------------------------------------------------------- internals

    def _picked_item(self) -> PickItem | None:
        return next((i for i in self.items if i.key == self.picked), None)

    def _show_pick(self) -> None:
        item = self._picked_item()
        box = self.query_one(Input)
        box.value = item.label if item is not None else ""
        if item is not None and box.has_focus:
            box.select_all()  # typing next replaces the shown pick: a new filter
        self.set_class(item is not None, "-picked")

    def _refill(self) -> None:
        text = self.filter_text.lower()
        self.shown = [i for i in self.items if text in i.label.lower()]
        ol = self.query_one(OptionList)
        options = []
        for i in self.shown:
            prompt = Text.assemble("✓ " if i.key == self.picked else "  ", i.label,
                                   (f"  {i.detail}" if i.detail else "", "dim"),
                                   (f"  ✗ {i.reason}" if i.reason else "", "dim"))
            options.append(Option(prompt, id=i.key, disabled=bool(i.reason)))
        ol.set_options(options)
        keys = [i.key for i in self.shown]
        enabled = [n for n, i in enumerate(self.shown) if not i.reason]
        if self.picked in keys:
            ol.highlighted = keys.index(self.picked)
        elif enabled:
            ol.highlighted = enabled[0]
        self.set_class(not self.shown, "-empty")
        count, message = self.query_one(".fp-count", Static), self.query_one(".fp-message", Static)
        if self._note:
            count.update("")
            message.update(self._note)
        elif not self.items:
            count.update("0")
            message.update(self.empty)
        elif not self.shown:
            count.update(f"0 of {len(self.items)}")
            message.update(f"No {self.noun} matches “{self.filter_text}” (Backspace widens the list).")
        else:
            count.update(f"{len(self.shown)} of {len(self.items)}")
            message.update("")
        message.display = bool(self._note) or not self.shown

    def action_move(self, how: str) -> None:
        if self.shown:
            getattr(self.query_one(OptionList), f"action_{how}")()

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        self._refill()

    def on_descendant_focus(self) -> None:
        self.add_class("-open")  # a class, not :focus-within, so the list's display is restyled

    def on_descendant_blur(self) -> None:
        """Leaving with a half-typed filter: the box shows the pick again."""
        self.remove_class("-open")
        item = self._picked_item()
        box = self.query_one(Input)
        if item is not None and box.value != item.label:
            box.value = item.label

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        event.stop()
        ol = self.query_one(OptionList)
        idx = ol.highlighted
        if idx is None or not 0 <= idx < len(self.shown) or self.shown[idx].reason:
            enabled = [i for i in self.shown if not i.reason]
            if len(enabled) != 1:
                return
            self.pick(enabled[0].key)
            return
        self.pick(self.shown[idx].key)

    @on(OptionList.OptionSelected)
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.pick(event.option.id)


def _tier(mi: ManagedInstanceInfo) -> str:
    return "GP" if mi.tier == "GeneralPurpose" else "BC" if mi.tier == "BusinessCritical" else mi.tier


class MiPicker(Vertical):
    """Subscription → resource group → managed instance, each a :class:`FilterPicker`. Picking a
    subscription loads its resource groups, picking a group loads its instances (workers; the
    picker being filled says "◌ Loading…"). Picks live in the wizard state, so Back/Next keep them.

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
        yield FilterPicker("Subscription", empty="No subscription is visible to this account.",
                           noun="subscription", id="mi-sub")
        yield FilterPicker("Resource group", empty="No resource group in this subscription holds a managed instance.",
                           noun="resource group", id="mi-rg")
        yield FilterPicker("Managed inst.", empty="No managed instance in this resource group.",
                           noun="managed instance", tall=True, id="mi")
        yield Static("", id="mi-detail")

    def on_mount(self) -> None:
        s = self.state
        subs, rgs, mis = self._pickers()
        if s.subscriptions:
            subs.set_items(self._sub_items(), s.subscription.subscription_id if s.subscription else None)
        else:
            subs.set_note("Sign in to Azure first.")
        if s.resource_groups or s.subscription is not None:
            rgs.set_items(self._rg_items(), s.resource_group)
        else:
            rgs.set_note("Choose a subscription first.")
        if s.instances or s.resource_group is not None:
            mis.set_items(self._mi_items(), s.mi.name if s.mi else None)
        else:
            mis.set_note("Choose a resource group first.")
        self._show_detail()

    def next_to_pick(self) -> str:
        """Selector of the first picker still waiting for a pick (where the keyboard should be)."""
        for picker in self._pickers():
            if picker.picked is None:
                return f"#{picker.id}-filter"
        return f"#{self._pickers()[-1].id}-filter"

    def _pickers(self) -> tuple[FilterPicker, FilterPicker, FilterPicker]:
        return (self.query_one("#mi-sub", FilterPicker), self.query_one("#mi-rg", FilterPicker),
                self.query_one("#mi", FilterPicker))

    def _sub_items(self) -> list[PickItem]:
        return [PickItem(x.subscription_id, x.display_name, x.subscription_id) for x in self.state.subscriptions]

    def _rg_items(self) -> list[PickItem]:
        return [PickItem(g, g) for g in self.state.resource_groups]

    def _mi_items(self) -> list[PickItem]:
        return [PickItem(mi.name, mi.name, f"{_tier(mi)} · {mi.database_format} · {mi.state}", self.reason(mi))
                for mi in self.state.instances]

    def load(self) -> None:
        """Read subscriptions (after sign-in)."""
        self._pickers()[0].set_note("◌ Loading subscriptions…")

        async def work() -> Any:
            return await self.backend.subscriptions()
        self.run_worker(work(), name="subs", group="mi-subs", exclusive=True, exit_on_error=False)

    @on(FilterPicker.Picked, "#mi-sub")
    def _sub_picked(self, event: FilterPicker.Picked) -> None:
        event.stop()
        s = self.state
        sub = next((x for x in s.subscriptions if x.subscription_id == event.key), None)
        if sub is None or (s.subscription is not None and sub.subscription_id == s.subscription.subscription_id
                           and s.resource_groups):
            return
        s.subscription, s.resource_groups, s.resource_group, s.instances = sub, [], None, []
        self._forget_mi()
        _, rgs, mis = self._pickers()
        self._advance_focus(event.control, rgs)
        rgs.set_note(f"◌ Loading the resource groups of {sub.display_name}…")
        mis.set_note("Choose a resource group first.")

        async def work() -> Any:
            return await self.backend.resource_groups(sub.subscription_id)
        self.run_worker(work(), name="rgs", group="mi-rgs", exclusive=True, exit_on_error=False)

    @on(FilterPicker.Picked, "#mi-rg")
    def _rg_picked(self, event: FilterPicker.Picked) -> None:
        event.stop()
        s = self.state
        if s.subscription is None or (event.key == s.resource_group and s.instances):
            return
        s.resource_group, s.instances = event.key, []
        self._forget_mi()
        self._advance_focus(event.control, self._pickers()[2])
        self._pickers()[2].set_note(f"◌ Loading the managed instances in {event.key}…")
        sub, rg = s.subscription.subscription_id, event.key

        async def work() -> Any:
            return await self.backend.managed_instances(sub, rg)
        self.run_worker(work(), name="mis", group="mi-mis", exclusive=True, exit_on_error=False)

    @on(FilterPicker.Picked, "#mi")
    def _mi_picked(self, event: FilterPicker.Picked) -> None:
        event.stop()
        mi = next((m for m in self.state.instances if m.name == event.key), None)
        if mi is None:
            return
        self.state.mi = mi
        self._show_detail()
        self.post_message(self.Chosen(mi))

    def _advance_focus(self, picked: FilterPicker, following: FilterPicker) -> None:
        """A pick made at the keyboard moves on to the next picker (a pick made for the user does not)."""
        if picked.has_focus_within:
            self.query_one(f"#{following.id}-filter").focus()

    def _forget_mi(self) -> None:
        """A different subscription or group: the instance chosen before is no longer on offer."""
        if self.state.mi is not None:
            self.state.mi = None
            self._show_detail()
            self.post_message(WizardPage.NavChanged())

    def _show_detail(self) -> None:
        mi = self.state.mi
        self.query_one("#mi-detail", Static).update(
            Text.assemble(("✓ Chosen: ", "bold green"), f"{mi.name} ({mi.fqdn})") if mi else
            Text("Choose a managed instance: type to filter, ↑/↓, Enter." if self.state.instances else ""))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        name = event.worker.name
        if name not in ("subs", "rgs", "mis") or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        event.stop()
        subs, rgs, mis = self._pickers()
        target = {"subs": subs, "rgs": rgs, "mis": mis}[name]
        if event.state == WorkerState.ERROR:
            error = explain_error(event.worker.error or Exception())
            target.set_note(error)
            self.notify(error, severity="error", timeout=8)
            return
        result = event.worker.result
        s = self.state
        if name == "subs":
            s.subscriptions = list(result)
            keep = s.subscription.subscription_id if s.subscription else None
            subs.set_items(self._sub_items(), keep)
            if subs.picked is None and s.subscriptions:
                subs.pick(s.subscriptions[0].subscription_id)  # as SSMS: the first one, change it if needed
        elif name == "rgs":
            s.resource_groups = list(result)
            rgs.set_items(self._rg_items(), s.resource_group)
            if rgs.picked is None and len(s.resource_groups) == 1:
                rgs.pick(s.resource_groups[0])
        else:
            s.instances = list(result)
            mis.set_items(self._mi_items(), s.mi.name if s.mi else None)
            self._show_detail()


class AzurePickPage(WizardPage):
    """A page with the Azure sign-in and the instance pickers (Specify Secondary Replica, Login to Azure)."""

    def focus_target(self) -> str:
        """Signed in: the first picker still to choose, not the sign-in method."""
        pickers = self.query(MiPicker)
        if pickers and self.backend.identity() is not None:
            return pickers.first().next_to_pick()
        return self.FOCUS

    @on(AzureSignIn.SignedIn)
    def _signed_in(self, event: AzureSignIn.SignedIn) -> None:
        self.state.identity = event.identity
        self.query_one(MiPicker).load()
        self.nav_changed()
