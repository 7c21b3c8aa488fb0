"""One registry of user actions: it feeds key bindings, the footer, the command palette and F1 help.

An action belongs to a scope (``app`` everywhere, or one screen). Screens build their
``BINDINGS`` from it with :func:`bindings`, the palette lists :func:`for_scopes` of the screen
on top, and the help screen prints the same keys — so a key never exists in one place only.
Every chord has a plain-key or F-key twin (listed first, so the footer shows it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Action:
    id: str  # action_<id> on the screen (or app, for scope "app")
    title: str  # palette and footer text
    keys: str  # Textual key list, first one shown in the footer
    scope: str
    help: str = ""
    footer: bool = True


ACTIONS: tuple[Action, ...] = (
    # everywhere
    Action("help", "Help", "f1", "app", "Guidance for this screen and every key that works here."),
    Action("toggle_theme", "Theme", "f2", "app", "Switch between the dark and light themes.", footer=False),
    Action("command_palette", "Commands", "ctrl+p", "app", "Search every action by name.", footer=False),
    Action("quit", "Quit", "ctrl+q", "app", "Leave milink (stops the lab if milink started it).", footer=False),
    # home
    Action("new_link", "New link", "n", "home", "Start the New Managed Instance link wizard."),
    Action("connect", "Connect", "c", "home", "Connect to a SQL Server (saved or new)."),
    Action("dashboard", "Dashboard", "d", "home", "Watch every link live (needs a connection)."),
    Action("lab", "Lab", "l", "home", "Start the built-in lab and use it instead of real servers."),
    Action("refresh", "Refresh", "r,f5", "home", "Read the links on both sides again.", footer=False),
    Action("resume_run", "Resume run", "u", "home", "Resume the interrupted link setup found in the journal.",
           footer=False),
    Action("rollback_run", "Roll back run", "b", "home", "Undo what the interrupted link setup created.",
           footer=False),
    Action("quit_home", "Quit", "q", "home", "Leave milink."),
    # connect dialog
    Action("test", "Test", "f5", "connect", "Test the connection; errors come with a cause and a fix."),
    Action("save", "Connect", "f6,ctrl+s", "connect", "Connect and remember this server (not the password, "
           "unless you ask and a keyring exists)."),
    Action("cancel", "Cancel", "escape", "connect", "Close without connecting."),
    # wizard
    Action("next", "Next", "f8,ctrl+n", "wizard", "Go to the next page (what you typed is kept)."),
    Action("back", "Back", "f7,ctrl+b", "wizard", "Go back a page (what you typed is kept)."),
    Action("rerun", "Re-run", "f5", "wizard", "Re-run validation on pages that validate; refresh lists."),
    Action("apply_fix", "Apply fix", "f4", "wizard", "Apply milink's fix for the selected requirement.",
           footer=False),
    Action("script", "Script", "f9", "wizard", "Show (and save) every script of the plan: T-SQL, PowerShell, "
           "az CLI and a runbook.", footer=False),
    Action("cancel_wizard", "Close", "escape", "wizard", "Leave the wizard; a running setup is cancelled safely "
           "first (the current step finishes)."),
    # script viewer
    Action("save_script", "Save", "f6,ctrl+s", "script", "Save the scripts to files in a folder you name."),
    Action("close", "Close", "escape", "script", "Back to the Summary page."),
)


def for_scopes(*scopes: str) -> list[Action]:
    """Actions available in these scopes, in registry order."""
    return [a for a in ACTIONS if a.scope in scopes]


def bindings(scope: str, *, priority: bool = False) -> list:
    """Textual bindings for one scope (imported lazily so this module stays Textual-free)."""
    from textual.binding import Binding

    out = []
    for a in for_scopes(scope):
        action = a.id
        if action == "quit_home":
            action = "app.quit"
        out.append(Binding(a.keys, action, a.title, show=a.footer, priority=priority, id=f"{scope}.{a.id}"))
    return out


def key_label(keys: str) -> str:
    """``f8,ctrl+n`` → ``F8 / Ctrl+N`` for help text."""
    def one(k: str) -> str:
        return "+".join(p.capitalize() if len(p) > 1 else p.upper() for p in k.split("+")) if "+" in k else (
            k.upper() if k.startswith("f") and k[1:].isdigit() else k.capitalize() if len(k) > 1 else k)
    return " / ".join(one(k) for k in keys.split(","))
