"""The Reports screen through the pilot: loads the KPIs in a worker, switches period and
breakdown by key, steps back a period, and goes back with escape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from textual.widgets import DataTable

from ticketdesk.screens.queue import QueueScreen
from ticketdesk.screens.reports import ReportsScreen
from ticketdesk.store import NewTicket, Store, TicketChanges

from .helpers import SIZE, make_app, queue_ready, run_async, screen_text, settle, text_of, until

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _rows(screen: ReportsScreen) -> dict[str, list[str]]:
    table = screen.query_one("#report-table", DataTable)
    return {str(k.value): [str(c) for c in table.get_row(k)] for k in table.rows}


async def _loaded(pilot: Any, screen: ReportsScreen, before: Any = None) -> Any:
    await until(lambda: screen.report is not None and screen.report is not before, pilot=pilot)
    await settle(pilot)
    return screen.report


@sqlite_only
@run_async
async def test_reports_screen_keys(store: Store) -> None:
    now = datetime.now(UTC)
    done = store.tickets.create(
        NewTicket(subject="done", team="support", assignee="alice"), now=now - timedelta(minutes=3)
    )
    store.tickets.update([done], TicketChanges(status="resolved", note="fixed"), now=now - timedelta(minutes=1))
    store.tickets.create(NewTicket(subject="open", team="ops", priority="P1"), now=now - timedelta(minutes=2))
    async with make_app(store).run_test(size=SIZE) as pilot:
        await queue_ready(pilot)
        screen = ReportsScreen()
        pilot.app.push_screen(screen)
        report = await _loaded(pilot, screen)
        assert report.label.startswith("week ") and list(report.breakdowns) == ["team"]
        rows = _rows(screen)
        # the current week so far (minutes old: only the first 3 minutes of a week could miss them)
        assert rows["support"][:3] == ["support", "1", "1"] and rows["ops"][10] == "1"  # new, done; backlog
        assert "KPIs: week" in text_of(screen.query_one("#report-title"))
        shown = screen_text(pilot.app)
        assert "resolved 1" in shown and "SLA met" in shown and "Resolved and backlog by team" in shown

        await pilot.press("b")
        report = await _loaded(pilot, screen, report)
        assert list(report.breakdowns) == ["agent"] and "alice" in _rows(screen)

        await pilot.press("m")
        report = await _loaded(pilot, screen, report)
        assert report.label.startswith(f"{now:%B %Y}")

        await pilot.press("left_square_bracket")
        report = await _loaded(pilot, screen, report)
        assert screen.periods_back == -1 and report.total.resolved == 0

        await pilot.press("right_square_bracket", "right_square_bracket")  # no future periods
        await settle(pilot)
        assert screen.periods_back == 0

        await pilot.press("B", "B")
        report = await _loaded(pilot, screen, report)
        assert list(report.breakdowns) == ["priority"]

        await pilot.press("escape")
        await until(lambda: isinstance(pilot.app.screen, QueueScreen), pilot=pilot)


@sqlite_only
@run_async
async def test_the_kpi_table_is_whole_at_160_columns(store: Store) -> None:
    store.generate_demo(tickets=600, seed=3)  # figures as wide as a real desk's
    async with make_app(store).run_test(size=(160, 48)) as pilot:
        await queue_ready(pilot)
        screen = ReportsScreen()
        pilot.app.push_screen(screen)
        await _loaded(pilot, screen)
        header = next(line for line in screen_text(pilot.app).splitlines() if "backlog" in line and "FRT" in line)
        assert "QA" in header.split(), header
        table = screen.query_one("#report-table", DataTable)
        assert table.virtual_size.width <= table.size.width  # nothing to scroll to
