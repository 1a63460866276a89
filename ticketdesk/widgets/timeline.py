"""A ticket's timeline as Rich text: replies, notes and field events, oldest first.

Shared by `ticketdesk show` and the ticket screen. Customer text is made printable and
never parsed as markup.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from rich.text import Text

from ticketdesk.rules.local_time import stamp
from ticketdesk.rules.text import one_line, printable

#: the SLA clocks as people say them
_CLOCKS = {"first_response": "first-response", "resolution": "resolution-time"}


def when(value: datetime | None, tz: tzinfo) -> str:
    return stamp(value, tz, "-")


def _value(field: str | None, value: str | None, tz: tzinfo) -> str:
    """An event's old or new value; a time (a due time, a first reply) in `tz`."""
    if value is None:
        return "-"
    if field and field.endswith(("_due", "_at")):
        try:
            return stamp(datetime.fromisoformat(value), tz)
        except ValueError:
            return value
    return value


def timeline_texts(detail: Any, tz: tzinfo) -> list[Text]:
    items: list[tuple[datetime, int, Text]] = []
    for c in detail.comments:
        head = Text(
            f"{when(c.created_at, tz)}  {'reply' if c.kind == 'public' else 'note'} by {c.author or '?'}",
            style="bold" if c.kind == "public" else "italic",
        )
        if c.ticket_number != detail.row.number:
            head.append(f"  (from merged {c.ticket_number})")
        items.append((c.created_at, 0, head + Text("\n    " + printable(c.body).replace("\n", "\n    "))))
    for e in detail.events:
        if e.kind == "commented":  # the comment itself is in the timeline
            continue
        change = f"{e.field}: {_value(e.field, e.old, tz)} -> {_value(e.field, e.new, tz)}"
        if e.kind in ("linked", "merged", "created"):
            change = f"{e.kind} {e.field} {e.new or e.old or ''}".strip()
        elif e.kind == "sla":  # "resolution" alone reads like the resolution note
            change = f"SLA {_CLOCKS.get(e.field or '', e.field)} clock {e.new or ''}"
        elif e.field == "time":
            change = f"logged {e.new or ''}"
        elif e.kind == "undone":  # the restored fields follow as changes of their own
            change = f"undid their change: {e.new or ''}"
        items.append((e.at, 1, Text(f"{when(e.at, tz)}  {e.actor or 'system'}: {one_line(change)}", style="dim")))
    return [text for _, _, text in sorted(items, key=lambda item: (item[0], item[1]))]
