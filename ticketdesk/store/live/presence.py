"""Presence rows (models/presence.py): a TUI reports where it is, beats, and leaves; anyone
reads who is live. Liveness is the heartbeat's age (rules/presence.py EXPIRY), so a session
killed with -9 disappears without anyone cleaning up after it; its row is deleted by the next
heartbeat of any session once it is a minute old."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, delete, select, update
from sqlmodel import Session, col

from ticketdesk.models import Agent, Presence
from ticketdesk.rules.presence import EXPIRY, Activity, Present, TuiSession, Whereabouts
from ticketdesk.store.tickets.counts import latest_event_id

#: rows silent this long are deleted (well past EXPIRY: a slow beat is not a departure)
FORGET_AFTER = timedelta(minutes=1)


@dataclass(frozen=True)
class DeskState:
    """What a TUI follows: the change marker of the tickets (the newest event id) and who is
    live where. Equal states mean nothing a screen shows has changed."""

    latest_event_id: int
    present: tuple[Present, ...]


def report(
    session: Session, *, me: TuiSession, agent_id: int, where: Whereabouts, since: datetime, moved: bool, now: datetime
) -> None:
    """A heartbeat, and the new whereabouts when `moved`. A beat alone touches `seen_at` only
    (on PostgreSQL that wakes nobody); a row gone missing (swept while the database was
    away, or the first report) is written whole."""
    values: dict[str, object] = {"seen_at": now}
    if moved:
        values |= {"place": where.place, "ticket_number": where.ticket, "activity": where.activity.value}
        values["since"] = since
    done = session.execute(update(Presence).where(col(Presence.session_id) == me.session_id).values(**values))
    assert isinstance(done, CursorResult)  # an UPDATE's result
    if not done.rowcount:
        session.add(
            Presence(
                session_id=me.session_id,
                agent_id=agent_id,
                host=me.host,
                pid=me.pid,
                via=me.via,
                place=where.place,
                ticket_number=where.ticket,
                activity=where.activity.value,
                since=since,
                started_at=me.started_at,
                seen_at=now,
            )
        )
    session.execute(delete(Presence).where(col(Presence.seen_at) < now - FORGET_AFTER))


def leave(session: Session, session_id: str) -> None:
    session.execute(delete(Presence).where(col(Presence.session_id) == session_id))


def present(session: Session, now: datetime) -> tuple[Present, ...]:
    """Every live session, by login. Plain columns, not table objects: every TUI reads this
    after each commit anyone makes, so it is kept cheap."""
    p = Presence
    stmt = (
        select(
            col(p.session_id), col(Agent.login), col(p.host), col(p.via), col(p.place),
            col(p.ticket_number), col(p.activity), col(p.since), col(p.started_at),
        )
        .join(Agent, col(Agent.id) == col(p.agent_id))
        .where(col(p.seen_at) >= now - timedelta(seconds=EXPIRY))
        .order_by(col(Agent.login), col(p.started_at), col(p.session_id))
    )  # fmt: skip
    return tuple(
        Present(
            session_id=sid, login=login, host=host, via=via, place=place, ticket=ticket,
            activity=Activity(activity), since=since, started_at=started,
        )
        for sid, login, host, via, place, ticket, activity, since, started in session.execute(stmt)
    )  # fmt: skip


def desk_state(session: Session, now: datetime) -> DeskState:
    return DeskState(latest_event_id=latest_event_id(session), present=present(session, now))
