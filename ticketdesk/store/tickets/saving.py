"""Writing changed tickets guarded by their `version`, and the conflicts that guard reports:
a ticket another writer changed since we read it is refused, naming who changed it and what,
never silently overwritten."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Update, bindparam, inspect, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col

from ticketdesk.models import Agent, Event, Ticket
from ticketdesk.store.db.errors import Conflict
from ticketdesk.store.db.in_list import is_postgres, rows_table
from ticketdesk.store.db.tables import table_of
from ticketdesk.store.readmodels import ConflictInfo
from ticketdesk.store.tickets.lookups import id_of


def save_tickets(session: Session, tickets: Sequence[Ticket]) -> None:
    """Write what was changed on `tickets`, bumping each version once, then flush the rest of
    the session (such as the comments staged with the change).

    One UPDATE executemany for them all (the ORM would send one versioned UPDATE per row): it
    sets every column changed on any of the tickets, a ticket whose column did not change
    getting its own value back, and each row is guarded by `version = <the version we read>`.
    So if another writer committed one of the tickets since we read it, fewer rows match and
    the change is refused with a Conflict naming that ticket, who changed it and what.
    """
    if tickets:
        columns = set(inspect(Ticket).column_attrs.keys())
        states = [inspect(t) for t in tickets]
        changed = sorted(set[str]().union(*(columns - state.unmodified for state in states)))
        write = (
            update(Ticket)
            .where(col(Ticket.id) == bindparam("ticket_id"), col(Ticket.version) == bindparam("read_version"))
            .values(version=col(Ticket.version) + 1)
        )  # SET also has the columns named in the rows below
        rows = [{"ticket_id": t.id, "read_version": t.version, **{c: getattr(t, c) for c in changed}} for t in tickets]
        if is_postgres(session):
            written = session.connection().execute(_update_from_arrays(changed, rows)).rowcount
        else:
            written = session.connection().execute(write, rows).rowcount
        if written != len(rows):
            raise _lost_race(session, tickets)
        for ticket in tickets:
            # Written: out of the ORM's unit of work, lest it write them again (and bump
            # the version twice); still readable, now at their new version.
            set_committed_value(ticket, "version", ticket.version + 1)
            session.expunge(ticket)
    session.flush()


_TICKET = table_of(Ticket)


def _update_from_arrays(changed: Sequence[str], rows: Sequence[dict[str, Any]]) -> Update:
    """PostgreSQL: the same guarded UPDATE as one statement, `UPDATE ticket ... FROM
    unnest(...)` with an array per column (an executemany sent 1,000 statements: about
    twice the time of the writes themselves)."""
    types = {"ticket_id": _TICKET.c.id.type, "read_version": _TICKET.c.version.type}
    types |= {c: _TICKET.c[c].type for c in changed}
    given = rows_table("given", types, rows)
    return (
        update(_TICKET)
        .where(_TICKET.c.id == given.c.ticket_id, _TICKET.c.version == given.c.read_version)
        .values(version=_TICKET.c.version + 1, **{c: given.c[c] for c in changed})
    )


def _lost_race(session: Session, tickets: Sequence[Ticket]) -> Conflict:
    """The Conflict for the tickets another writer committed after we read them, asked on a
    fresh connection: it sees their commit, and not our own writes, which are being refused."""
    read = {id_of(t): (t.number, t.version) for t in tickets}
    with session.get_bind().engine.connect() as conn, Session(bind=conn) as fresh:
        current: dict[int, int] = {
            tid: version
            for tid, version in fresh.execute(
                select(col(Ticket.id), col(Ticket.version)).where(col(Ticket.id).in_(list(read)))
            )
        }
        infos = [
            describe_conflict(fresh, tid, number, version, current.get(tid, version))
            for tid, (number, version) in read.items()
            if current.get(tid) != version
        ]
    message = "; ".join(i.message for i in infos) or "a ticket was changed by someone else meanwhile"
    return Conflict(message, numbers=[i.number for i in infos])


def version_conflicts(session: Session, tickets: Sequence[Ticket], expected: Mapping[str, int]) -> list[ConflictInfo]:
    """A conflict for each ticket whose version is not the one the caller expected (it read
    the ticket at that version before asking for the change)."""
    result = []
    for ticket in tickets:
        want = expected.get(ticket.number)
        if want is not None and want != ticket.version:
            result.append(describe_conflict(session, id_of(ticket), ticket.number, want, ticket.version))
    return result


def describe_conflict(session: Session, ticket_id: int, number: str, expected: int, current: int) -> ConflictInfo:
    """Who changed the ticket, and which fields, since version `expected`."""
    rows = session.execute(
        select(col(Agent.login), col(Event.field))
        .select_from(Event)
        .join(Agent, col(Agent.id) == col(Event.actor_id), isouter=True)
        .where(col(Event.ticket_id) == ticket_id, col(Event.ticket_version) > expected)
        .order_by(col(Event.id))
    ).all()
    who = tuple(dict.fromkeys(login or "system" for login, _ in rows))
    fields = tuple(dict.fromkeys(f for _, f in rows if f))
    return ConflictInfo(
        number=number, expected_version=expected, current_version=current, changed_by=who, fields=fields
    )
