"""SVG snapshots of the queue, ticket and dashboard screens at 80×24 and 160×48.

A fixed demo dataset (same seed, same size) generated and shown under a frozen clock, in
UTC, so the relative parts of the screen (SLA states, aging, "today") do not move. After a
deliberate change to a screen, look at the diff report, then `pytest --snapshot-update`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from textual.pilot import Pilot

from ticketdesk.screens.dashboard import DashboardScreen
from ticketdesk.screens.ticket import TicketScreen
from ticketdesk.store import Store

from .helpers import make_app, queue_ready, settle, until

FROZEN = datetime(2026, 3, 18, 10, 30, tzinfo=UTC)  # a Wednesday morning
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
LEAD = "demo.lead"


@pytest.fixture
def frozen_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    with time_machine.travel(FROZEN, tick=False):
        store = Store.open(f"sqlite:///{tmp_path / 'snap.db'}", login=LEAD, check=False)
        store.init()
        store.generate_demo(tickets=400, seed=11)
        try:
            yield store
        finally:
            store.close()
    monkeypatch.undo()
    time.tzset()


async def _queue(pilot: Pilot[Any]) -> None:
    await queue_ready(pilot)


async def _ticket(pilot: Pilot[Any]) -> None:
    await queue_ready(pilot)
    await pilot.press("j", "j", "enter")
    screen = await until(lambda: isinstance(pilot.app.screen, TicketScreen) and pilot.app.screen, pilot=pilot)
    await until(lambda: screen.detail is not None, pilot=pilot)
    await settle(pilot)


async def _dashboard(pilot: Pilot[Any]) -> None:
    await queue_ready(pilot)
    await pilot.press("d")
    screen = await until(lambda: isinstance(pilot.app.screen, DashboardScreen) and pilot.app.screen, pilot=pilot)
    await until(lambda: screen._marker is not None, pilot=pilot)
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("prepare", [_queue, _ticket, _dashboard], ids=["queue", "ticket", "dashboard"])
def test_screen(frozen_demo: Store, snap_compare: Any, prepare: Any, size: tuple[int, int]) -> None:
    assert os.environ["TZ"] == "UTC"
    with time_machine.travel(FROZEN, tick=False):
        assert snap_compare(make_app(frozen_demo, live=False), run_before=prepare, terminal_size=size)
