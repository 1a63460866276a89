"""Tags of tickets: the tags tickets have, and adding and removing them in bulk (a tag row is
created the first time its name is used)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from ticketdesk.models import Tag, TicketTag
from ticketdesk.store.db.in_list import any_of, chunked

#: One ticket's tag changes: (ticket id, tags to add, tags to remove).
TagOp = tuple[int, Sequence[str], Sequence[str]]


def _tag_ids(session: Session, names: Iterable[str], *, create: bool) -> dict[str, int]:
    wanted = sorted(set(names))
    if not wanted:
        return {}
    found = _ids_by_name(session, wanted)
    missing = [n for n in wanted if n not in found]
    if missing and create:
        # ON CONFLICT: another transaction may be creating the same tag right now (two
        # agents, two sweeps); it waits for that one and then reads its row
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.connection().execute(  # Core, as the deletes below: no ORM bookkeeping
            dialect.insert(Tag).values([{"name": n} for n in missing]).on_conflict_do_nothing(index_elements=["name"])
        )
        found.update(_ids_by_name(session, missing))
    return found


def _ids_by_name(session: Session, names: Sequence[str]) -> dict[str, int]:
    rows = session.execute(select(col(Tag.name), col(Tag.id)).where(col(Tag.name).in_(names)))
    return {name: tag_id for name, tag_id in rows}


def current_tags(session: Session, ticket_ids: Sequence[int]) -> dict[int, set[str]]:
    """The tags each ticket has (an empty set for one with none)."""
    result: dict[int, set[str]] = {tid: set() for tid in ticket_ids}
    for chunk in chunked(session, ticket_ids):
        rows = session.execute(
            select(col(TicketTag.ticket_id), col(Tag.name))
            .join(Tag, col(Tag.id) == col(TicketTag.tag_id))
            .where(any_of(session, col(TicketTag.ticket_id), chunk))
        )
        for ticket_id, name in rows:
            result[ticket_id].add(name)
    return result


def apply_tag_ops(session: Session, ops: Sequence[TagOp]) -> None:
    """Tag rows for many tickets with one lookup of the tag ids."""
    if not ops:
        return
    ids = _tag_ids(session, {t for _, add, _ in ops for t in add}, create=True)
    ids |= _tag_ids(session, {t for _, _, remove in ops for t in remove}, create=False)
    inserts = [{"ticket_id": tid, "tag_id": ids[t]} for tid, add, _ in ops for t in add]
    if inserts:
        session.connection().execute(insert(TicketTag), inserts)
    for tid, _, remove in ops:
        if remove:
            session.connection().execute(
                delete(TicketTag).where(
                    (col(TicketTag.ticket_id) == tid) & col(TicketTag.tag_id).in_([ids[t] for t in remove])
                )
            )


def tags_by_ticket(session: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    """The tags of the tickets that have any."""
    result: dict[int, list[str]] = {}
    if not ids:
        return result
    rows = session.execute(
        select(col(TicketTag.ticket_id), col(Tag.name))
        .join(Tag, col(Tag.id) == col(TicketTag.tag_id))
        .where(any_of(session, col(TicketTag.ticket_id), ids))
    )
    for ticket_id, name in rows:
        result.setdefault(ticket_id, []).append(name)
    return result
