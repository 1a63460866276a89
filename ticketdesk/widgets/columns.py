"""The queue columns of a ticket row as text: shared by the TUI table and `ticketdesk list`.

No Textual import here, so the CLI does not pay for it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any


def cells(row: Any, selected: bool, when: Callable[[datetime | None], str] | None = None) -> dict[str, str]:
    """The queue columns of a row as text (shared with `ticketdesk list`)."""
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
        "updated": (when or _short)(row.updated_at),
    }


def _short(value: datetime | None) -> str:
    return value.astimezone().strftime("%m-%d %H:%M") if value else ""
