"""What a TUI left open all day must not keep: widgets it has replaced.

The footer recomposes on every bindings change (a screen opened or closed, focus moved).
Textual's own Footer kept every replaced key alive through its `compact` watcher list;
`DeskFooter` drops them (bench/memory.py measures the whole day)."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

import ticketdesk.screens
from ticketdesk.screens.dashboard import DashboardScreen
from ticketdesk.screens.queue import QueueScreen
from ticketdesk.store import Store

from .helpers import SIZE, make_app, new, run_async, settle, until
from .test_ticket import open_ticket

ROUNDS = 4


def detached_footer_keys() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, FooterKey) and not obj.is_attached)


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
        before = detached_footer_keys()
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
        assert detached_footer_keys() <= before


def test_every_screen_uses_the_desk_footer() -> None:
    screens = Path(ticketdesk.screens.__file__).parent
    plain = [p.name for p in screens.glob("*.py") if "yield Footer(" in p.read_text(encoding="utf-8")]
    assert plain == []
