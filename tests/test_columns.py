"""The queue's SLA-left cell: which clock counts and how a duration is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from ticketdesk.widgets.columns import duration_short, sla_left

NOW = datetime(2026, 3, 18, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(minutes=45), "45m"),
        (timedelta(seconds=59), "0m"),
        (timedelta(hours=3, minutes=5), "3h05m"),
        (timedelta(days=2, hours=4, minutes=59), "2d4h"),
        (timedelta(days=150), "150d"),
        (-timedelta(minutes=1), "-1m"),
        (-timedelta(days=1, hours=3), "-1d3h"),
    ],
)
def test_duration_short(delta: timedelta, text: str) -> None:
    assert duration_short(delta) == text


def row(**kw: object) -> SimpleNamespace:
    base = dict(status="open", sla_state="ok", first_response_due=None, resolution_due=None, first_responded_at=None)
    return SimpleNamespace(**{**base, **kw})


def test_unanswered_ticket_counts_down_to_the_first_response() -> None:
    r = row(first_response_due=NOW + timedelta(hours=1), resolution_due=NOW + timedelta(hours=8))
    assert sla_left(r, NOW) == "1h00m"


def test_answered_ticket_counts_down_to_resolution() -> None:
    r = row(
        first_response_due=NOW - timedelta(hours=1),
        resolution_due=NOW + timedelta(hours=8),
        first_responded_at=NOW - timedelta(hours=2),
    )
    assert sla_left(r, NOW) == "8h00m"


def test_overdue_is_negative_and_finished_tickets_say_met_or_missed() -> None:
    assert sla_left(row(first_response_due=NOW - timedelta(minutes=90)), NOW) == "-1h30m"
    assert sla_left(row(status="resolved", sla_state="breached"), NOW) == "missed"
    assert sla_left(row(status="closed", sla_state="ok"), NOW) == "met"
    assert sla_left(row(), NOW) == ""
    paused = row(status="pending", first_response_due=NOW - timedelta(hours=5), sla_paused_at=NOW - timedelta(hours=6))
    assert sla_left(paused, NOW) == "paused"
