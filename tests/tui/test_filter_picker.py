"""The filter box pickers (subscription → resource group → managed instance), keyboard only at 80×24:
typing filters case-insensitively by substring, ↑/↓ move while the box keeps focus, Enter picks,
"n of m" and an empty state; on the replica page each pick loads the next list in a worker."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult
from textual.widgets import Input, OptionList

from milink_tui.clients.azure import SubscriptionInfo
from milink_tui.screens.wizard import WizardScreen, WizardState
from milink_tui.screens.wizard.widgets import FilterPicker, PickItem

from . import driver as d
from . import fakes
from .test_snapshots import full_state, make_app

ITEMS = [PickItem("a", "sqlmi-prod-weu"), PickItem("b", "sqlmi-PROD-neu"), PickItem("c", "sqlmi-test"),
         PickItem("d", "sqlmi-prod-old", reason="state Stopped")]


class PickerApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.picked: list[str] = []

    def compose(self) -> ComposeResult:
        yield FilterPicker("Instance", empty="Nothing here.", noun="instance", id="p")

    def on_filter_picker_picked(self, event: FilterPicker.Picked) -> None:
        self.picked.append(event.key)


def count(picker: FilterPicker) -> str:
    return str(picker.query_one(".fp-count").render())


def message(picker: FilterPicker) -> str:
    return str(picker.query_one(".fp-message").render())


async def test_typing_filters_arrows_move_enter_picks() -> None:
    app = PickerApp()
    async with app.run_test(size=(80, 24)) as pilot:
        picker = app.query_one(FilterPicker)
        assert message(picker) == "Nothing here." and count(picker) == "0"
        picker.set_items(ITEMS)
        await pilot.pause()
        assert count(picker) == "4 of 4"
        picker.query_one(Input).focus()
        await pilot.press(*"prod")  # case-insensitive substring
        await pilot.pause()
        assert [i.label for i in picker.shown] == ["sqlmi-prod-weu", "sqlmi-PROD-neu", "sqlmi-prod-old"]
        assert count(picker) == "3 of 4"
        ol = picker.query_one(OptionList)
        assert ol.highlighted == 0
        await pilot.press("down")  # moves in the list; the box keeps focus
        assert ol.highlighted == 1 and picker.query_one(Input).has_focus
        await pilot.press("down")  # the disabled row is skipped (it shows why)
        assert ol.highlighted in (0, 1) and "✗ state Stopped" in str(ol.get_option_at_index(2).prompt)
        ol.highlighted = 1
        await pilot.press("enter")
        await pilot.pause()
        assert app.picked == ["b"] and picker.picked == "b"
        assert picker.query_one(Input).value == "sqlmi-PROD-neu"  # the box shows the pick
        assert count(picker) == "4 of 4"  # … and the pick is not a filter
        await pilot.press(*"zz")  # the shown pick is selected: typing replaces it
        await pilot.pause()
        assert picker.shown == [] and count(picker) == "0 of 4"
        assert message(picker).startswith("No instance matches “zz”")
        assert picker.picked == "b"  # a filter never drops the pick


async def test_enter_with_a_single_match_picks_it() -> None:
    app = PickerApp()
    async with app.run_test(size=(80, 24)) as pilot:
        picker = app.query_one(FilterPicker)
        picker.set_items(ITEMS)
        picker.query_one(Input).focus()
        await pilot.press(*"TEST", "enter")
        await pilot.pause()
        assert app.picked == ["c"]


class ManySubscriptions(fakes.FakeBackend):
    """Two subscriptions, several resource groups; resource groups load only when released."""

    def __init__(self) -> None:
        super().__init__(fakes.ready_server())
        self.signed_in = full_state().identity
        self.release = asyncio.Event()
        self.asked: list[tuple[str, str | None]] = []

    async def subscriptions(self) -> list[SubscriptionInfo]:
        return [SubscriptionInfo(fakes.SUB, "Contoso Lab", "72f988bf", "Enabled"),
                SubscriptionInfo("9d1e2f3a-0000-4000-8000-000000000002", "Contoso Sandbox", "72f988bf", "Enabled")]

    async def resource_groups(self, subscription_id: str) -> list[str]:
        self.asked.append((subscription_id, None))
        await self.release.wait()
        if subscription_id != fakes.SUB:
            return []
        return ["rg-dr", "rg-milink-lab", "rg-web-prod", "rg-web-test"]

    async def managed_instances(self, subscription_id: str, resource_group: str):  # type: ignore[no-untyped-def]
        self.asked.append((subscription_id, resource_group))
        return [m for m in fakes.INSTANCES if m.resource_group == resource_group]


async def test_replica_page_filters_each_picker_and_loads_the_next(tmp_path) -> None:
    backend = ManySubscriptions()
    state = WizardState(server=fakes.ready_server(), selected=["SalesDb"], identity=backend.signed_in)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        w = WizardScreen(backend, state=state, start_at="replica")
        await app.push_screen(w)
        await d.until(pilot, lambda: len(state.subscriptions) == 2, 5, "subscriptions")
        page = w.current_page
        subs, rgs, mis = (page.query_one(f"#{x}", FilterPicker) for x in ("mi-sub", "mi-rg", "mi"))
        # the first subscription is picked (as SSMS does); its resource groups are loading
        await d.until(pilot, lambda: subs.picked == fakes.SUB, 5, "first subscription picked")
        await d.until(pilot, lambda: "◌ Loading the resource groups of Contoso Lab" in message(rgs), 5, "loading")
        backend.release.set()
        await d.until(pilot, lambda: len(rgs.items) == 4, 5, "resource groups")
        assert count(rgs) == "4 of 4" and rgs.picked is None and state.mi is None
        # another subscription, by typing part of its name: no resource group there → the empty state
        await d.filter_pick(pilot, "mi-sub", "SAND", "9d1e2f3a-0000-4000-8000-000000000002")
        await d.until(pilot, lambda: not rgs.items and not rgs._note, 5, "the sandbox's resource groups")
        assert message(rgs) == "No resource group in this subscription holds a managed instance."
        # back to Contoso Lab; "web" leaves two groups, ↓ moves to the second; Enter picks it
        await d.filter_pick(pilot, "mi-sub", "lab", fakes.SUB)
        await d.until(pilot, lambda: len(rgs.items) == 4, 5, "resource groups again")
        rgs.query_one(Input).focus()
        await pilot.press(*"web")
        await pilot.pause()
        assert [i.key for i in rgs.shown] == ["rg-web-prod", "rg-web-test"] and count(rgs) == "2 of 4"
        await pilot.press("down", "enter")
        await d.until(pilot, lambda: rgs.picked == "rg-web-test", 5, "rg picked")
        await d.until(pilot, lambda: backend.asked[-1] == (fakes.SUB, "rg-web-test") and not mis._note, 5, "MIs")
        assert message(mis) == "No managed instance in this resource group."
        # the lab's group: its instances, filtered; Enter picks the only match
        await d.filter_pick(pilot, "mi-rg", "MILINK", "rg-milink-lab")
        await d.until(pilot, lambda: len(mis.items) == 2, 5, "instances")
        mis.query_one(Input).focus()
        await pilot.press(*"-GP", "enter")
        await d.until(pilot, lambda: state.mi is not None and state.mi.name == "sqlmi-lab-gp", 5, "instance chosen")
        assert "✓ Chosen: sqlmi-lab-gp" in str(page.query_one("#mi-detail").render())
        # Back and Next keep every pick
        await pilot.press("f7")
        await d.until(pilot, lambda: w.current != "replica", 5, "back")
        await pilot.press("f8")
        await d.until(pilot, lambda: w.current == "replica", 5, "replica again")
        await pilot.pause()
        page = w.current_page
        subs, rgs, mis = (page.query_one(f"#{x}", FilterPicker) for x in ("mi-sub", "mi-rg", "mi"))
        assert (subs.picked, rgs.picked, mis.picked) == (fakes.SUB, "rg-milink-lab", "sqlmi-lab-gp")
        assert mis.query_one(Input).value == "sqlmi-lab-gp"
        # a different resource group forgets the instance chosen in the other one
        await d.filter_pick(pilot, "mi-rg", "dr", "rg-dr")
        await d.until(pilot, lambda: state.mi is None, 5, "instance forgotten")


async def test_replica_page_is_keyboard_first_once_signed_in() -> None:
    """Signed in, the keyboard lands in the first picker still to choose, and a pick made there
    moves on to the next one: typing and Enter alone reach an instance."""
    backend = ManySubscriptions()
    backend.release.set()
    state = WizardState(server=fakes.ready_server(), selected=["SalesDb"], identity=backend.signed_in)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        w = WizardScreen(backend, state=state, start_at="replica")
        await app.push_screen(w)
        page = w.current_page
        rgs = page.query_one("#mi-rg", FilterPicker)
        await d.until(pilot, lambda: len(rgs.items) == 4, 5, "resource groups of the first subscription")
        await w.show_page("databases")  # come back: focus is placed on arrival
        await w.show_page("replica")
        await pilot.pause()
        assert app.focused is w.current_page.query_one("#mi-rg-filter", Input)
        await pilot.press(*"milink", "enter")
        await d.until(pilot, lambda: state.resource_group == "rg-milink-lab", 5, "group picked")
        assert app.focused is w.current_page.query_one("#mi-filter", Input)
        await d.until(pilot, lambda: len(w.current_page.query_one("#mi", FilterPicker).items) == 2, 5, "instances")
        await pilot.press(*"gp", "enter")
        await d.until(pilot, lambda: state.mi is not None and state.mi.name == "sqlmi-lab-gp", 5, "instance chosen")
