"""Ticket numbers: a per-month counter row (`ticket_counter`) bumped in the creator's
transaction; the format is rules/numbering.py's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, cast, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from ticketdesk.models import Ticket, TicketCounter
from ticketdesk.rules import numbering


def next_number(session: Session, now: datetime) -> str:
    """Bump this month's counter inside the caller's transaction.

    The UPDATE takes the row lock (PostgreSQL) or runs under BEGIN IMMEDIATE (SQLite), so
    concurrent creators queue on it; the unique index on `number` is the last guard.
    """
    period = numbering.period_of(now)
    return numbering.format_number(period, reserve_serials(session, period, 1))


def reserve_serials(session: Session, period: str, count: int) -> int:
    """Bump `period`'s counter by `count`; the first of the serials reserved. A month without
    a counter row starts after the numbers its tickets already have (demo or imported data)."""
    bump = (
        update(TicketCounter)
        .where(col(TicketCounter.period) == period)
        .values(last_serial=col(TicketCounter.last_serial) + count)
        .returning(col(TicketCounter.last_serial))
    )
    last = session.scalars(bump).one_or_none()
    if last is None:
        _insert_counter(session, period, _used_serial(session, period))
        last = session.scalars(bump).one()
    return last - count + 1


def _used_serial(session: Session, period: str) -> int:
    """The highest serial a ticket number of `period` already has."""
    next_period = str(int(period) + 1)
    used = session.scalar(
        select(func.max(cast(func.substr(col(Ticket.number), len(period) + 1), Integer))).where(
            col(Ticket.number) > period,
            col(Ticket.number) < next_period,
        )
    )
    return int(used or 0)


def _insert_counter(session: Session, period: str, start: int) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(TicketCounter).values(period=period, last_serial=start).on_conflict_do_nothing())
