"""The WHERE conditions of a queue filter (rules/query.py parses the filter language): names
of teams, agents and tags resolved to ids, the SLA states as SQL, and the full-text search.

Search: every word must be found in the ticket's number, subject or description, one of its
comments, or its customer's name or email. On SQLite a word of three or more characters is a
phrase on the FTS5 trigram tables, a shorter one a LIKE; on PostgreSQL an ILIKE that the
pg_trgm indexes serve.

`T` is the ticket table, for the queries here and in store/reports/ that select columns
rather than tickets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import (
    CTE,
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    Table,
    and_,
    bindparam,
    column,
    exists,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlmodel import Session, col

from ticketdesk.models import Agent, Comment, Customer, Tag, Team, Ticket, TicketTag
from ticketdesk.models.clock import utcnow
from ticketdesk.rules import numbering, sla
from ticketdesk.rules.query import ME, TicketFilter
from ticketdesk.store.db.errors import InvalidInput
from ticketdesk.store.db.tables import table_of
from ticketdesk.store.sla import clocks as sla_clocks
from ticketdesk.store.tickets.lookups import resolve_type

#: The ticket table (SQLModel makes it, but its stubs do not declare `__table__`).
T: Table = table_of(Ticket)
#: Search terms shorter than the trigram size cannot use the index and fall back to LIKE.
TRIGRAM = 3


def filter_conditions(
    session: Session, flt: TicketFilter, *, actor_id: int | None, now: datetime | None = None
) -> list[ColumnElement[bool]]:
    """The WHERE conditions of a filter; names (teams, logins, tags) resolved to ids first."""
    conds: list[ColumnElement[bool]] = []
    if flt.sla_states:
        lead = sla_clocks.warning_lead(session)
        conds.append(or_(*(sla_condition(state, now or utcnow(), lead) for state in flt.sla_states)))
    if flt.statuses:
        conds.append(T.c.status.in_([s.value for s in flt.statuses]))
    if flt.priorities:
        conds.append(T.c.priority.in_([p.value for p in flt.priorities]))
    if flt.types:
        conds.append(T.c.type.in_([resolve_type(session, t) for t in flt.types]))
    if flt.channels:
        conds.append(T.c.channel.in_([c.value for c in flt.channels]))
    if flt.levels:
        conds.append(T.c.support_level.in_([lv.value for lv in flt.levels]))
    if flt.teams:
        conds.append(T.c.team_id.in_(_team_ids(session, flt.teams)))
    if flt.assignees:
        conds.append(_assignee_condition(session, flt.assignees, actor_id))
    for tag in flt.tags:
        tag_id = session.scalars(select(col(Tag.id)).where(col(Tag.name) == tag)).one_or_none()
        if tag_id is None:
            conds.append(literal(False))
        else:
            conds.append(exists().where(col(TicketTag.ticket_id) == T.c.id, col(TicketTag.tag_id) == tag_id))
    if flt.customer:
        conds.append(T.c.customer_id.in_(_customer_ids(flt.customer)))
    for stamp, start, end in (
        (T.c.created_at, flt.created_from, flt.created_to),
        (T.c.updated_at, flt.updated_from, flt.updated_to),
    ):
        if start is not None:
            conds.append(stamp >= start)
        if end is not None:
            conds.append(stamp < end)
    if flt.search:
        conds.extend(_search_conditions(session, flt.search))
    return conds


def sla_condition(state: sla.SlaState, now: datetime, warning: timedelta = sla.DEFAULT_WARNING) -> ColumnElement[bool]:
    """The SQL twin of `rules.sla.sla_state`: breached if a clock ran out (or was met late),
    warning if one runs out within the warning lead time, ok otherwise. A paused ticket
    (pending, on hold) is judged as of its pause: breached only if it ran out before, and
    never in warning while its clock stands still."""
    soon = now + warning
    running = T.c.sla_paused_at.is_(None)
    clocks = ((T.c.first_response_due, T.c.first_responded_at), (T.c.resolution_due, T.c.resolved_at))

    def ran_out(due: ColumnElement[datetime]) -> ColumnElement[bool]:
        return or_(and_(running, due <= now), and_(~running, due <= T.c.sla_paused_at))

    breached = or_(
        *(
            and_(due.is_not(None), or_(and_(met.is_(None), ran_out(due)), and_(met.is_not(None), met > due)))
            for due, met in clocks
        )
    )
    warning_soon = or_(*(and_(due.is_not(None), met.is_(None), running, due > now, due <= soon) for due, met in clocks))
    any_clock = or_(*(due.is_not(None) for due, _ in clocks))
    if state == sla.SlaState.BREACHED:
        return breached
    if state == sla.SlaState.WARNING:
        return and_(~breached, warning_soon)
    return and_(any_clock, ~breached, ~warning_soon)


def _team_ids(session: Session, teams: Sequence[str]) -> list[int]:
    keys = [t.strip().lower() for t in teams]
    rows = session.execute(
        select(col(Team.id), col(Team.key), col(Team.name)).where(
            or_(func.lower(col(Team.key)).in_(keys), func.lower(col(Team.name)).in_(keys))
        )
    ).all()
    known = {r.key.lower() for r in rows} | {r.name.lower() for r in rows}
    unknown = [t for t in keys if t not in known]
    if unknown:
        all_keys = ", ".join(session.scalars(select(col(Team.key)).order_by(col(Team.key))))
        raise InvalidInput(f"unknown team {unknown[0]!r} (known: {all_keys})")
    return [r.id for r in rows]


def _assignee_condition(session: Session, assignees: Sequence[str], actor_id: int | None) -> ColumnElement[bool]:
    ids: list[int] = []
    unassigned = False
    for value in assignees:
        key = value.strip()
        if key.lower() in ("none", "unassigned", "nobody", "-"):
            unassigned = True
        elif key.lower() == ME:
            if actor_id is None:
                raise InvalidInput("assignee 'me' needs an acting agent")
            ids.append(actor_id)
        else:
            agent_id = session.scalars(select(col(Agent.id)).where(col(Agent.login) == key)).one_or_none()
            if agent_id is None:
                raise InvalidInput(f"unknown assignee {value!r}")
            ids.append(agent_id)
    parts: list[ColumnElement[bool]] = []
    if ids:
        parts.append(T.c.assignee_id.in_(ids))
    if unassigned:
        parts.append(T.c.assignee_id.is_(None))
    return or_(*parts)


def _customer_ids(value: str) -> Select[int | None]:
    """The ids of the customers with this email, or whose name or email contains `value`."""
    value = value.strip().lower()
    if "@" in value:
        return select(col(Customer.id)).where(func.lower(col(Customer.email)) == value)
    pattern = f"%{_escape_like(value)}%"
    return select(col(Customer.id)).where(
        or_(
            func.lower(col(Customer.name)).like(pattern, escape="\\"),
            func.lower(col(Customer.email)).like(pattern, escape="\\"),
        )
    )


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_terms(value: str) -> list[str]:
    return [w for w in value.split() if w]


def _search_conditions(session: Session, value: str) -> list[ColumnElement[bool]]:
    """Every word must be found in the number, subject, description, a comment, or the
    customer's name or email."""
    words = search_terms(value)
    if any("\x00" in word for word in words):
        raise InvalidInput("search text contains a NUL character")
    if session.get_bind().dialect.name == "postgresql":
        return [_pg_word(word) for word in words]
    conds = [_like_word(word) for word in words if len(word) < TRIGRAM]
    indexed = [word for word in words if len(word) >= TRIGRAM]
    if indexed:
        conds.append(_fts_words(session, indexed))
    return conds


def search_only_set(session: Session, flt: TicketFilter) -> CTE | None:
    """For a filter that is nothing but a full-text search on SQLite, the set of ticket ids
    it finds (`found_ids`); None for any other filter. Counting a common word's tickets
    from its set takes a third of the time of probing the set from the ticket table."""
    words = search_terms(flt.search or "")
    if not words or flt != TicketFilter(search=flt.search) or session.get_bind().dialect.name != "sqlite":
        return None
    if any(len(word) < TRIGRAM or "\x00" in word for word in words):
        return None
    return found_ids(words)


def _fts_phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


#: A word the FTS5 tables find this often (tickets plus comments, counted up to this) is
#: "common": see `_fts_words`.
COMMON_MATCHES = 2_000


def _fts_words(session: Session, words: Sequence[str]) -> ColumnElement[bool]:
    """The tickets the words find, as one set (`found_ids`), read once per query however
    many branches the page's UNION has; how the set is used depends on its size.

    A small set: from the set to the tickets (primary-key lookups), then sort the few. A
    big one (`printer` finds 60,000 of 1M tickets): read the tickets in the queue's own
    index order and keep those in the set; the first page is full after a few hundred rows,
    where fetching and sorting every match took ~0.3 s. `id + 0` is what keeps SQLite from
    driving the query from the set. The size is probed on the FTS tables, a few ms; only
    for one word, as two common words may have few tickets or none in common (then the scan
    would read the whole index).
    """
    found = found_ids(words)
    if len(words) == 1 and _fts_matches(session, _fts_phrase(words[0]), COMMON_MATCHES) >= COMMON_MATCHES:
        return (T.c.id + 0).in_(select(found.c.id))
    return T.c.id.in_(select(found.c.id))


def found_ids(words: Sequence[str]) -> CTE:
    """The ids of the tickets that hold every word in their number, subject or description,
    a comment or their customer (or whose number is the word), materialized once per
    statement."""
    selects: list[str] = []
    binds: list[BindParameter[str]] = []
    for i, word in enumerate(words):
        sql = (
            f"SELECT rowid AS id FROM ticket_fts WHERE ticket_fts MATCH :q{i}"
            f" UNION SELECT ticket_id FROM comment WHERE id IN"
            f" (SELECT rowid FROM comment_fts WHERE comment_fts MATCH :q{i})"
            f" UNION SELECT id FROM ticket WHERE customer_id IN"
            f" (SELECT rowid FROM customer_fts WHERE customer_fts MATCH :q{i})"
        )
        binds.append(bindparam(f"q{i}", _fts_phrase(word), unique=True))
        if numbering.looks_like_number(word):
            sql += f" UNION SELECT id FROM ticket WHERE number = :n{i}"
            binds.append(bindparam(f"n{i}", word, unique=True))
        selects.append(sql if len(words) == 1 else f"SELECT id FROM ({sql})")
    intersection = " INTERSECT ".join(selects)
    return text(intersection).bindparams(*binds).columns(column("id", Integer)).cte().prefix_with("MATERIALIZED")


def _fts_matches(session: Session, phrase: str, cap: int) -> int:
    """How many ticket and comment rows the phrase finds, each table counted up to `cap`."""
    probe = " + ".join(
        f"(SELECT count(*) FROM (SELECT rowid FROM {table} WHERE {table} MATCH :q LIMIT :cap))"
        for table in ("ticket_fts", "comment_fts")
    )
    return int(session.execute(text(f"SELECT {probe}"), {"q": phrase, "cap": cap}).scalar_one())


def _like_word(word: str) -> ColumnElement[bool]:
    pattern = f"%{_escape_like(word.lower())}%"
    return or_(
        func.lower(T.c.subject).like(pattern, escape="\\"),
        func.lower(T.c.description).like(pattern, escape="\\"),
        T.c.id.in_(select(col(Comment.ticket_id)).where(func.lower(col(Comment.body)).like(pattern, escape="\\"))),
        T.c.customer_id.in_(
            select(col(Customer.id)).where(
                or_(
                    func.lower(col(Customer.name)).like(pattern, escape="\\"),
                    func.lower(col(Customer.email)).like(pattern, escape="\\"),
                )
            )
        ),
    )


def _pg_word(word: str) -> ColumnElement[bool]:
    # The expressions match the pg_trgm GIN indexes of the initial migration.
    pattern = f"%{_escape_like(word)}%"
    parts: list[ColumnElement[bool]] = [
        (T.c.subject + literal(" ") + T.c.description).ilike(pattern, escape="\\"),
        T.c.id.in_(select(col(Comment.ticket_id)).where(col(Comment.body).ilike(pattern, escape="\\"))),
        T.c.customer_id.in_(
            select(col(Customer.id)).where(
                (col(Customer.name) + literal(" ") + func.coalesce(col(Customer.email), "")).ilike(pattern, escape="\\")
            )
        ),
    ]
    if numbering.looks_like_number(word):
        parts.append(T.c.number == word)
    return or_(*parts)
