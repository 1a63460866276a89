"""PostgreSQL's running tally of tickets per status (migration 0014): the counts, and the
fold that keeps the tally short.

The triggers append signed rows; a status's count is the sum of its rows, exact in any
snapshot (the rows of a transaction commit with it). `fold` replaces the rows with one per
status, in one statement: the rows it deletes are the ones its sums come from, and rows
appended meanwhile by other transactions are not in its snapshot, so they stay as they are.
Without folds the tally grows by a row per status each ticket-changing statement moved, and
the sums slow down accordingly, never wrong; the sweep folds it each run.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BigInteger, Select, cast, column, func, select, table, text
from sqlmodel import Session

_TALLY = table("ticket_status_tally", column("status"), column("n"))


def counts(session: Session, statuses: Sequence[str]) -> dict[str, int]:
    """Tickets per status, for these statuses (0 for one with no tickets)."""
    per_status = (
        select(_TALLY.c.status, func.sum(_TALLY.c.n))
        .where(_TALLY.c.status.in_(list(statuses)))
        .group_by(_TALLY.c.status)
    )
    found = {status: int(n) for status, n in session.execute(per_status)}
    return {status: found.get(status, 0) for status in statuses}


def count_statement(statuses: Sequence[str]) -> Select[int]:
    """The tickets in any of these statuses, as one count (the queue's and the views' count
    of a filter that is statuses and nothing else)."""
    total = cast(func.coalesce(func.sum(_TALLY.c.n), 0), BigInteger)
    return select(total).where(_TALLY.c.status.in_(list(statuses)))


def fold(session: Session) -> None:
    """One row per status with tickets (statuses at 0 drop out), in the caller's transaction."""
    session.execute(
        text(
            "WITH gone AS (DELETE FROM ticket_status_tally RETURNING status, n)"
            " INSERT INTO ticket_status_tally (status, n)"
            " SELECT status, sum(n) FROM gone GROUP BY status HAVING sum(n) <> 0"
        )
    )
