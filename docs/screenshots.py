"""Regenerate the README screenshots (SVG, from Textual's `save_screenshot`).

    python docs/screenshots.py

A fresh demo database (same seed, same size) under a frozen clock, so the pictures only
change when the screens do.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import time_machine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.tui.helpers import queue_ready, settle, until  # noqa: E402
from ticketdesk.app import TicketdeskApp  # noqa: E402
from ticketdesk.screens.dashboard import DashboardScreen  # noqa: E402
from ticketdesk.screens.templates import TemplatesScreen  # noqa: E402
from ticketdesk.screens.ticket import TicketScreen  # noqa: E402
from ticketdesk.store import Store  # noqa: E402

FROZEN = datetime(2026, 3, 18, 10, 30, tzinfo=UTC)
OUT = ROOT / "docs" / "screenshots"
SIZE = (140, 40)


async def shoot(store: Store) -> None:
    app = TicketdeskApp(store, live=False)
    async with app.run_test(size=SIZE) as pilot:
        await queue_ready(pilot)
        await pilot.press("j", "j", "j", "space", "space")
        await settle(pilot)
        app.save_screenshot("queue.svg", str(OUT))
        await pilot.press("k", "enter")
        ticket = await until(lambda: isinstance(app.screen, TicketScreen) and app.screen, pilot=pilot)
        await until(lambda: ticket.detail is not None, pilot=pilot)
        await settle(pilot)
        app.save_screenshot("ticket.svg", str(OUT))
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("d")
        board = await until(lambda: isinstance(app.screen, DashboardScreen) and app.screen, pilot=pilot)
        await until(lambda: board._marker is not None, pilot=pilot)
        await settle(pilot)
        app.save_screenshot("dashboard.svg", str(OUT))
        await pilot.press("escape", "M")
        templates = await until(lambda: isinstance(app.screen, TemplatesScreen) and app.screen, pilot=pilot)
        await until(lambda: templates.items, pilot=pilot)
        await pilot.press("j", "j", "j")
        await settle(pilot)
        app.save_screenshot("templates.svg", str(OUT))


def main() -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, time_machine.travel(FROZEN, tick=False):
        store = Store.open(f"sqlite:///{tmp}/shots.db", login="li.na", check=False)
        store.init()
        store.generate_demo(tickets=3000, seed=7)
        try:
            asyncio.run(shoot(store))
        finally:
            store.close()
    print("\n".join(str(p.relative_to(ROOT)) for p in sorted(OUT.glob("*.svg"))))


if __name__ == "__main__":
    main()
