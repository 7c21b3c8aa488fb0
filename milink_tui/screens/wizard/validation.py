"""Validation: the checks that need both sides — database absent on the target, collation, storage,
In-Memory OLTP versus tier, sysadmin, TDE, link name free, update policy, link limit, master key."""

from __future__ import annotations

from milink_tui.engine.plan import count_of

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Static

from milink_tui.engine.checks import DOC_PREP, DOC_SCRIPTS, CheckContext, CheckResult, blocking, run_checks
from milink_tui.engine.plan import PlanError, validate

from .base import WizardPage, explain_error
from .widgets import CheckTable, PasswordDialog, detail_renderable

HELP = """\
# Validation

Checks that need both sides, re-read now:

* the **database is absent** on the target (a same-named database blocks the link);
* **collation** of SQL Server and the managed instance match;
* **storage**: the databases fit the instance's free storage;
* **In-Memory OLTP** needs a Business Critical instance;
* **sysadmin** on SQL Server; **TDE** databases need their certificate on the instance first;
* the **link name is free** on both sides; the **update policy** allows the direction you chose;
  the instance's **link limit**; the **database master key** exists or has a password for setup.

All ✗ FAIL rows must be fixed (F5 re-runs validation). ▲ WARN rows are advice.
"""


class ValidationPage(WizardPage):
    KEY = "validation"
    TITLE = "Validation"
    HELP = HELP

    def compose(self) -> ComposeResult:
        yield Static("◌ Validating…", id="val-summary")
        yield CheckTable(id="val-table")
        yield Static("", id="val-detail")
        with Horizontal(classes="page-buttons"):
            yield Button("Set master key password", id="val-mk", compact=True)
            yield Button("Re-run validation", id="val-rerun", compact=True)

    def on_mount(self) -> None:
        self.query_one("#val-mk").display = False

    def enter(self) -> None:
        if not self.state.validation:
            self.rerun()
        else:
            self._redraw()

    def rerun(self) -> None:
        s = self.state
        if s.mi is None:
            return
        self.query_one("#val-summary", Static).update("◌ Validating…")
        ref = s.mi.ref()

        async def work():  # type: ignore[no-untyped-def]
            facts = await self.backend.instance_facts(ref)
            server = await self.backend.read_server()
            return facts, server
        self.call("validate", work, self._loaded, self._failed)

    def _failed(self, exc: BaseException) -> None:
        self.query_one("#val-summary", Static).update(Text(explain_error(exc), style="red"))

    def _loaded(self, result) -> None:  # type: ignore[no-untyped-def]
        facts, server = result
        self.state.mi_facts, self.state.server = facts, server
        self.state.validation = self.evaluate()
        self._redraw()

    def evaluate(self) -> list[CheckResult]:
        s = self.state
        assert s.server is not None and s.mi_facts is not None
        chosen = [d for d in s.databases if d.name in s.selected] if not s.mi_first else []
        ctx = CheckContext(server=s.server, direction=s.direction, two_way=s.two_way, mi=s.mi_facts,
                           databases=chosen, now=self.backend.now())
        out = [r for r in run_checks(ctx) if r.tab == "mi" or r.id in ("version", "sysadmin")]
        if s.mi_first:
            clashes = [r.name for r in s.mi_databases if r.name in s.selected and r.reasons]
            out.append(CheckResult("sql_db_absent", "Database absent on SQL Server",
                                   "fail" if clashes else "pass", ", ".join(clashes) or "no clash",
                                   "SQL Server receives the database: no database of that name may exist there.",
                                   tab="mi"))
        else:
            tde = [d.name for d in chosen if d.is_encrypted]
            out.append(CheckResult(
                "tde", "TDE certificate on the managed instance", "warn" if tde else "pass",
                ", ".join(tde) + " encrypted" if tde else "no TDE-encrypted database chosen",
                "A TDE-protected database can only be seeded if its certificate is on the managed instance first."
                if tde else "Nothing to migrate.",
                "Export the TDE certificate with its private key and upload it to the managed instance "
                "(Add-AzSqlManagedInstanceTransparentDataEncryptionCertificate)." if tde else "", tab="mi",
                doc=DOC_PREP))
        try:
            plan = s.plan()
            validate(plan, s.mi_facts.link_names, [str(a.get("name") or "") for a in s.server.availability_groups])
            out.append(CheckResult("link_name", "Link name is free", "pass",
                                   ", ".join(x.link_name for x in plan.links), "No link or availability group "
                                   "uses these names on either side.", tab="mi"))
        except PlanError as e:
            out.append(CheckResult("link_name", "Link name is free", "fail", str(e),
                                   "The link name must be unused on the managed instance and on SQL Server.",
                                   "Go back to Specify Link Options and choose another name.", tab="mi"))
        has_key = s.server.master_key or bool(self.secrets.master_key_password)
        out.append(CheckResult(
            "master_key_ready", "Database master key ready for the setup", "pass" if has_key else "fail",
            "exists in master" if s.server.master_key else ("password set (kept in memory only)" if has_key
                                                            else "absent, no password given"),
            "The endpoint certificate is protected by the master key; setup creates it if needed.",
            "" if has_key else "Press 'Set master key password' (the password is never stored).", tab="ag",
            doc=DOC_SCRIPTS))
        return out

    def _redraw(self) -> None:
        results = self.state.validation
        self.query_one("#val-table", CheckTable).show(results)
        bad = blocking(results)
        self.query_one("#val-summary", Static).update(
            Text.assemble((f"✗ {len(bad)} must be fixed", "bold red"), " — select a row for details.") if bad else
            Text.assemble(("✓ Validation passed", "bold green"),
                          f" · ▲ {sum(r.status == 'warn' for r in results)} warnings"))
        need_key = any(r.id == "master_key_ready" and r.status == "fail" for r in results)
        self.query_one("#val-mk").display = need_key
        self.nav_changed()

    @on(CheckTable.Chosen)
    def _chosen(self, event: CheckTable.Chosen) -> None:
        self.query_one("#val-detail", Static).update(detail_renderable(event.result))

    @on(Button.Pressed, "#val-rerun")
    def _rerun(self) -> None:
        self.rerun()

    @on(Button.Pressed, "#val-mk")
    def _master_key(self) -> None:
        def got(pw: str | None) -> None:
            if pw:
                self.secrets.master_key_password = pw
                if self.state.mi_facts is not None:
                    self.state.validation = self.evaluate()
                    self._redraw()
        self.app.push_screen(PasswordDialog(
            "Database master key password", "Setup creates the master key in master with this password. "
            "Keep it in your password manager: milink does not store it."), got)

    def blocker(self) -> str | None:
        if not self.state.validation:
            return "Validating…"
        bad = blocking(self.state.validation)
        if bad:
            return f"{count_of(len(bad), 'validation failure')}: " + ", ".join(r.title for r in bad)
        return None
