"""Tags of tickets: the tags tickets have, and adding and removing them in bulk (a tag row is
created the first time its name is used)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from ticketdesk.models import Tag, TicketTag
from ticketdesk.store.tickets.lookups import CHUNK


def _tag_ids(session: Session, names: Iterable[str], *, create: bool) -> dict[str, int]:
    names = sorted(set(names))
    if not names:
        return {}
    found = dict(session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(names))).all())  # type: ignore[attr-defined]
    missing = [n for n in names if n not in found]
    if missing and create:
        # ON CONFLICT: another transaction may be creating the same tag right now (two
        # agents, two sweeps); it waits for that one and then reads its row
        table = Tag.__table__  # type: ignore[attr-defined]
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(
            dialect.insert(table).values([{"name": n} for n in missing]).on_conflict_do_nothing(index_elements=["name"])
        )
        found.update(session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(missing))).all())  # type: ignore[attr-defined, arg-type]
    return found  # type: ignore[return-value]


def current_tags(session: Session, ticket_ids: Sequence[int]) -> dict[int, set[str]]:
    result: dict[int, set[str]] = {tid: set() for tid in ticket_ids}
    for start in range(0, len(ticket_ids), CHUNK):
        chunk = list(ticket_ids[start : start + CHUNK])
        rows = session.execute(
            select(TicketTag.ticket_id, Tag.name)
            .join(Tag, Tag.id == TicketTag.tag_id)  # type: ignore[arg-type]
            .where(TicketTag.ticket_id.in_(chunk))  # type: ignore[attr-defined]
        )
        for ticket_id, name in rows:
            result[ticket_id].add(name)
    return result


def apply_tag_ops(session: Session, ops: Sequence[tuple[int, list[str], list[str]]]) -> None:
    """Tag rows for many tickets with one lookup of the tag ids."""
    if not ops:
        return
    ids = _tag_ids(session, {t for _, add, _ in ops for t in add}, create=True)
    ids |= _tag_ids(session, {t for _, _, remove in ops for t in remove}, create=False)
    inserts = [{"ticket_id": tid, "tag_id": ids[t]} for tid, add, _ in ops for t in add]
    if inserts:
        session.connection().execute(TicketTag.__table__.insert(), inserts)  # type: ignore[attr-defined]
    for tid, _, remove in ops:
        if remove:
            session.execute(
                TicketTag.__table__.delete().where(  # type: ignore[attr-defined]
                    (TicketTag.ticket_id == tid) & TicketTag.tag_id.in_([ids[t] for t in remove])  # type: ignore[attr-defined]
                )
            )


def tags_by_ticket(session: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {}
    if not ids:
        return result
    rows = session.execute(
        select(TicketTag.ticket_id, Tag.name)
        .join(Tag, Tag.id == TicketTag.tag_id)  # type: ignore[arg-type]
        .where(TicketTag.ticket_id.in_(list(ids)))  # type: ignore[attr-defined]
    )
    for ticket_id, name in rows:
        result.setdefault(ticket_id, []).append(name)
    return result
