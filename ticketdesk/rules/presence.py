"""Presence: where an open TUI is and what its agent is doing there. Pure: the store keeps
the rows (store/live/presence.py), the screens say where they are and show who else is on a
ticket.

A TUI says where it is whenever that changes and beats every HEARTBEAT seconds; a session
not heard from for EXPIRY seconds (crashed, killed with -9, cut off) is no longer shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

#: seconds between a TUI's heartbeats
HEARTBEAT = 5.0
#: a session silent this long is gone (three missed beats)
EXPIRY = 15.0


class Activity(StrEnum):
    """What the agent is doing where they are."""

    BROWSING = "browsing"  # a list: the queue, the dashboard, reports
    VIEWING = "viewing"  # a ticket
    REPLYING = "replying"  # writing a public reply on the ticket
    NOTING = "noting"  # writing an internal note on the ticket

    @property
    def writing(self) -> bool:
        return self in (Activity.REPLYING, Activity.NOTING)


@dataclass(frozen=True)
class Whereabouts:
    """Where one TUI is: a screen (`queue`, `ticket`, `dashboard`, …), the ticket it shows
    if any, and the activity."""

    place: str
    ticket: str | None = None
    activity: Activity = Activity.BROWSING


@dataclass(frozen=True)
class Present:
    """One live session as others see it."""

    session_id: str
    login: str
    host: str
    via: str  # "ssh" or "local"
    place: str
    ticket: str | None
    activity: Activity
    #: when the current activity began (a draft's start, for the send guard)
    since: datetime
    started_at: datetime

    def as_dict(self) -> dict[str, object]:
        return {
            "login": self.login,
            "host": self.host,
            "via": self.via,
            "place": self.place,
            "ticket": self.ticket,
            "activity": self.activity.value,
            "since": self.since.isoformat(),
            "started_at": self.started_at.isoformat(),
        }


def on_ticket(present: list[Present], number: str, *, besides: str | None = None) -> list[Present]:
    """The sessions on ticket `number`, writers first, then by login; `besides` (a session
    id, usually one's own) left out."""
    found = [p for p in present if p.ticket == number and p.session_id != besides]
    return sorted(found, key=lambda p: (not p.activity.writing, p.login, p.session_id))


def by_ticket(present: list[Present], *, besides: str | None = None) -> dict[str, list[Present]]:
    """Sessions per ticket number (writers first), for the queue's rows."""
    numbers = {p.ticket for p in present if p.ticket is not None and p.session_id != besides}
    return {n: on_ticket(present, n, besides=besides) for n in sorted(numbers)}


@dataclass(frozen=True)
class TuiSession:
    """Who one TUI process is, for its presence row: a random id, the host and process,
    and how the agent reached it."""

    session_id: str
    host: str
    pid: int
    via: str  # "ssh" or "local"
    started_at: datetime
