"""The queue columns of a ticket row as text: shared by the TUI table and `ticketdesk list`.

No Textual import here, so the CLI does not pay for it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any


def cells(row: Any, selected: bool, when: Callable[[datetime | None], str]) -> dict[str, str]:
    """The queue columns of a row as text (shared with `ticketdesk list`); `when` writes the
    updated time (in the zone the reader reads)."""
    return {
        "mark": "●" if selected else " ",
        "number": row.number,
        "priority": row.priority,
        "status": row.status,
        "sla": row.sla_state or "",
        "subject": row.subject,
        "customer": row.customer or "",
        "assignee": row.assignee or "",
        "team": row.team or "",
        "updated": when(row.updated_at),
    }


def sla_left(row: Any, now: datetime) -> str:
    """Time left on the nearest running SLA clock ("3h20m", "-2d4h" once overdue); for a
    finished ticket whether its SLA was met."""
    if row.status in ("resolved", "closed"):
        return "missed" if row.sla_state == "breached" else "met"
    if getattr(row, "sla_paused_at", None) is not None:
        return "paused"
    running = [row.resolution_due]
    if row.first_responded_at is None:
        running.append(row.first_response_due)
    dues = [d for d in running if d is not None]
    if not dues:
        return ""
    return duration_short(min(dues) - now)


def duration_short(delta: timedelta) -> str:
    """A signed duration in at most two units: 45m, 3h20m, 2d4h, -1d3h."""
    minutes = int(delta.total_seconds() // 60)
    sign, minutes = ("-", -minutes) if minutes < 0 else ("", minutes)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{sign}{days}d{hours}h" if days < 100 else f"{sign}{days}d"
    if hours:
        return f"{sign}{hours}h{mins:02d}m"
    return f"{sign}{mins}m"
