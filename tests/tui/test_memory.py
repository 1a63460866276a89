"""What a TUI left open all day must not keep: widgets it has replaced or closed.

Textual keeps a removed widget alive when it watched something that lives on (the footer's
`compact`, the app's `theme` and `outage`): widgets/watchers.py drops those watchers
(bench/memory.py measures the whole day)."""

from __future__ import annotations

import ctypes
import gc
import os
import platform
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Footer, TextArea
from textual.widgets._footer import FooterKey

import ticketdesk.screens
from ticketdesk import process_memory
from ticketdesk.screens.dashboard import DashboardScreen
from ticketdesk.screens.queue import QueueScreen
from ticketdesk.store import Store
from ticketdesk.widgets.outage_line import OutageLine

from .helpers import SIZE, make_app, new, run_async, settle, until
from .test_ticket import open_ticket

ROUNDS = 4


def detached(kind: type) -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, kind) and not obj.is_attached)


def footer_watchers(pilot: Any) -> list[tuple[int, int]]:
    """(watchers of `compact`, keys attached) for each footer on the screen stack."""
    found = []
    for screen in pilot.app.screen_stack:
        for footer in screen.query(Footer):
            watchers = getattr(footer, "__watchers", {}).get("compact", [])
            found.append((len(watchers), len(footer.query(FooterKey))))
    return found


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@run_async
async def test_screens_opened_and_closed_all_day_leave_no_footer_keys_behind(store: Store) -> None:
    number = new(store, "Printer jams on tray 2")
    new(store, "VPN drops every hour")
    async with make_app(store, live=False).run_test(size=SIZE) as pilot:
        await open_ticket(pilot, number)
        await pilot.press("escape")
        await settle(pilot)
        before = {kind: detached(kind) for kind in (FooterKey, TextArea, OutageLine)}
        for _ in range(ROUNDS):
            await open_ticket(pilot, number)
            await pilot.press("escape")
            await until(lambda: isinstance(pilot.app.screen, QueueScreen), pilot=pilot)
            await pilot.press("d")
            await until(lambda: isinstance(pilot.app.screen, DashboardScreen), pilot=pilot)
            await settle(pilot)
            await pilot.press("escape")
            await until(lambda: isinstance(pilot.app.screen, QueueScreen), pilot=pilot)
            await settle(pilot)
        for watchers, keys in footer_watchers(pilot):
            assert watchers <= keys  # (the command palette key is not bound)
        # kept only until the next screen change: the ticket screens' composers and outage
        # lines watched the app's theme and outage (widgets/watchers.py)
        after = {kind: detached(kind) for kind in before}
        assert after[FooterKey] <= before[FooterKey]
        assert after[TextArea] <= before[TextArea] + 1
        assert after[OutageLine] <= before[OutageLine] + 1


def test_every_screen_uses_the_desk_footer() -> None:
    screens = Path(ticketdesk.screens.__file__).parent
    plain = [p.name for p in screens.glob("*.py") if "yield Footer(" in p.read_text(encoding="utf-8")]
    assert plain == []


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator")
def test_the_allocator_gives_freed_memory_back() -> None:
    """Memory freed in the middle of the heap stays with the process until it is trimmed."""
    libc = process_memory.glibc()
    assert libc is not None  # found where Python says it runs on glibc: the settings take effect
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(4000) for _ in range(20_000)]
    for block in blocks:
        ctypes.memset(block, 1, 4000)  # 80 MB, resident
    for block in blocks[:-1]:  # the last one keeps the freed space from being the heap's top
        libc.free(block)
    kept = resident_mb()
    assert process_memory.give_back()
    assert resident_mb() < kept - 60
    libc.free(blocks[-1])


def resident_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@run_async
async def test_memory_goes_back_to_the_system_after_each_screen_change(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    trims: list[str] = []
    monkeypatch.setattr(process_memory, "give_back", lambda: trims.append(type(app.screen).__name__) or True)
    number = new(store, "Printer jams on tray 2")
    app = make_app(store, live=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_ticket(pilot, number)
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, QueueScreen), pilot=pilot)
        await settle(pilot)
    assert trims[-2:] == ["TicketScreen", "QueueScreen"]  # after the new screen was shown
