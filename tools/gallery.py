"""Regenerate the screen gallery: one SVG per page, taken from the lab (``make gallery``).

Runs the app against a `fresh` lab (SQL Server first, connectivity troubleshooting on, so every
page appears) and a `mi-primary` lab (managed instance first), driving it like a user with
Pilot, and writes ``screens/NN-name.svg`` at the top of the repository. Secrets never appear:
password inputs are masked and the lab's credentials are not printed anywhere on screen.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZE = (110, 34)


@contextlib.asynccontextmanager
async def lab_app(scenario: str, out: Path, counter: list[int]) -> AsyncIterator[tuple[Any, Any, Callable]]:
    """The app against a lab in ``scenario``, under Pilot, and ``shot(name)`` saving NN-name.svg."""
    from milink_tui.app import MilinkApp
    from milink_tui.services.lab_process import LabProcess
    from milink_tui.services.session import Session

    with LabProcess(scenario, speed=50) as lab:
        app = MilinkApp(lab_info=lab.info, session=Session(persist=False))
        async with app.run_test(size=SIZE) as pilot:
            def shot(name: str) -> None:
                counter[0] += 1
                app.save_screenshot(f"{counter[0]:02d}-{name}.svg", path=str(out))
                print("  ", f"{counter[0]:02d}-{name}.svg")

            yield app, pilot, shot


async def sql_first(out: Path, counter: list[int]) -> None:
    from tests.tui import driver as d

    async with lab_app("fresh", out, counter) as (app, pilot, shot):
        async def before_first_page(name: str) -> None:
            shot(name)
            if name == "home":
                from milink_tui.screens.connect import ConnectDialog

                await app.push_screen(ConnectDialog(app.session))
                await pilot.pause(0.3)
                shot("connect")
                await pilot.press("escape")
                await pilot.pause(0.2)
            if name == "requirements":  # F1 on the page with the most guidance
                await pilot.press("f1")
                await pilot.pause(0.3)
                shot("help")
                await pilot.press("escape")
                await pilot.pause(0.2)

        w = await d.create_link_sql_first(pilot, ["SalesDb", "Orders"], link_name="sales",
                                          shot=before_first_page, troubleshooting=True)
        await d.next_page(pilot, "results")
        await d.until(pilot, lambda: bool(w.state.link_states), 20, "link states")
        await pilot.pause(0.2)
        shot("results")
        await pilot.press("f8")
        await d.until(pilot, lambda: type(app.screen).__name__ == "HomeScreen", 5, "home")
        await d.until(pilot, lambda: len(app.screen.link_rows) >= 2, 20, "links on the home screen")
        shot("home-with-links")
        await pilot.press("d")
        await d.until(pilot, lambda: type(app.screen).__name__ == "DashboardScreen", 10, "dashboard")
        await d.until(pilot, lambda: len(app.screen.query("LinkTable")) > 0, 10, "dashboard table")
        await pilot.pause(4)  # a couple of refreshes so rates and history have values
        shot("dashboard")


async def mi_first(out: Path, counter: list[int]) -> None:
    from tests.tui import driver as d

    async with lab_app("mi-primary", out, counter) as (app, pilot, shot):
        await d.home_ready(pilot)
        await pilot.press("n")
        await d.until(pilot, lambda: type(app.screen).__name__ == "WizardScreen", 5, "wizard")
        w = d.wizard(pilot)
        await d.until(pilot, lambda: w.state.server is not None, 20, "server facts")
        await pilot.click("#dir-mi-first")
        await pilot.pause(0.2)
        shot("mi-first-intro")
        await d.next_page(pilot, "options")
        await d.next_page(pilot, "requirements")
        await d.fix_requirements(pilot)
        await d.next_page(pilot, "login_azure")
        await d.pick_instance(pilot, "sqlmi-lab-gp", sign_in=False)
        await d.until(pilot, lambda: w.state.mi_facts is not None, 20, "instance databases")
        await pilot.pause(0.2)
        shot("mi-first-login-azure")
        await d.next_page(pilot, "databases")
        await d.choose_databases(pilot, ["CloudDb"])
        shot("mi-first-databases")
        await d.next_page(pilot, "replica")
        shot("mi-first-replica")


async def network_test(out: Path, counter: list[int]) -> None:
    """The Network Checker after a run, on a lab SQL Server whose Agent can run PowerShell."""
    from tests.tui import driver as d

    async with lab_app("ready-windows", out, counter) as (app, pilot, shot):
        w = await d.to_network_page(pilot)
        await pilot.press("f5")
        await d.until(pilot, lambda: w.state.network_report is not None and "network" not in w.current_page.busy,
                      60, "the network test")
        await pilot.pause(0.3)
        shot("network-tested")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "screens"), help="folder for the SVGs (default: screens/)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.svg"):
        old.unlink()
    os.environ.setdefault("ODBCSYSINI", str(ROOT / ".odbc"))
    os.environ["MILINK_STATE_DIR"] = tempfile.mkdtemp(prefix="milink-gallery-")
    os.environ["MILINK_KEYRING"] = "off"
    counter = [0]
    print("SQL Server first (fresh lab):")
    asyncio.run(sql_first(out, counter))
    print("Managed instance first (mi-primary lab):")
    asyncio.run(mi_first(out, counter))
    print("Network test (ready-windows lab):")
    asyncio.run(network_test(out, counter))
    print(f"{counter[0]} screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
