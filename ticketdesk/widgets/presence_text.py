"""Presence as people read it: `👁ana` viewing, `✎bo` writing, in queue rows, the ticket
header and the dashboard. The marks are letters' width (one cell each) and say it without
colour; logins are shown literally."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from rich.table import Table
from rich.text import Text

from ticketdesk.rules.local_time import clock_stamp
from ticketdesk.rules.presence import Activity, Present
from ticketdesk.rules.text import one_line

VIEWING = "👁"
WRITING = "✎"

#: what an activity reads as in a sentence
DOING = {
    Activity.BROWSING: "browsing",
    Activity.VIEWING: "viewing",
    Activity.REPLYING: "writing a reply",
    Activity.NOTING: "writing a note",
}


def mark(p: Present) -> str:
    return f"{WRITING if p.activity.writing else VIEWING}{one_line(p.login, 20)}"


def row_label(on_ticket: Sequence[Present]) -> str:
    """A queue row's presence: the first two (writers first), then how many more."""
    shown = " ".join(mark(p) for p in on_ticket[:2])
    more = len(on_ticket) - 2
    return f"{shown} +{more}" if more > 0 else shown


def ticket_line(on_ticket: Sequence[Present], accent: str, tz: tzinfo) -> Text | None:
    """The ticket header's line naming everyone else on the ticket (None: nobody)."""
    if not on_ticket:
        return None
    line = Text("also here  ", style="bold")
    for i, p in enumerate(on_ticket):
        if i:
            line.append(", ")
        line.append(mark(p), style=accent)
        line.append(f" {DOING[p.activity]} since {clock_stamp(p.since, tz)}")
        if p.via == "ssh":
            line.append(" (ssh)")
    return line


def online_table(present: Sequence[Present], *, mine: str, tz: tzinfo) -> Table:
    """The dashboard's "who is online": agent, where, what, since; one row per session
    (`mine`, this session's id, is marked)."""
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    table.add_column("agent", no_wrap=True, overflow="ellipsis")
    table.add_column("on", no_wrap=True, overflow="ellipsis")
    table.add_column("doing", no_wrap=True, overflow="ellipsis")
    table.add_column("since", no_wrap=True)
    for p in present:
        who = one_line(p.login, 20) + (" (you)" if p.session_id == mine else "")
        where = Text(one_line(p.ticket or p.place, 20))
        table.add_row(Text(who), where, DOING[p.activity], clock_stamp(p.since, tz))
    return table
