"""The WHERE conditions of a queue filter (rules/query.py parses the filter language): names
of teams, agents and tags resolved to ids, the SLA states as SQL, and the full-text search.

Search: every word must be found in the ticket's number, subject or description, one of its
comments, or its customer's name or email. A word of three or more characters is looked up in
the trigram indexes (SQLite: a phrase on the FTS5 trigram tables; PostgreSQL: ILIKE on the
pg_trgm GIN indexes), a word of two CJK characters (打印) in the bigram indexes (migration
0013, rules/cjk_bigrams.py), as one set of tickets or, for a common word, row by row in the
queue's order (`_indexed_words`); any other shorter word is a LIKE (ILIKE) on every row.

`T` is the ticket table, for the queries here and in store/reports/ that select columns
rather than tickets."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
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
    union,
)
from sqlmodel import Session, col

from ticketdesk.models import Agent, Comment, Customer, Tag, Team, Ticket, TicketTag
from ticketdesk.models.clock import utcnow
from ticketdesk.rules import cjk_bigrams, numbering, sla
from ticketdesk.rules.query import ME, TicketFilter
from ticketdesk.store.db.errors import InvalidInput
from ticketdesk.store.db.in_list import is_postgres
from ticketdesk.store.db.tables import table_of
from ticketdesk.store.sla import clocks as sla_clocks
from ticketdesk.store.tickets import status_tally
from ticketdesk.store.tickets.lookups import resolve_type

#: The ticket table (SQLModel makes it, but its stubs do not declare `__table__`).
T: Table = table_of(Ticket)
#: Search words shorter than this have no trigram: a CJK pair is looked up in the bigram
#: indexes, any other is tested with LIKE on every row.
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


def _indexable_words(session: Session, value: str) -> tuple[list[str], list[str]]:
    """The search's words: (those no index serves, those the trigram or bigram indexes serve)."""
    words = search_terms(value)
    if any("\x00" in word for word in words):
        raise InvalidInput("search text contains a NUL character")
    pairs = _pairs_indexed(session)

    def served(word: str) -> bool:
        return len(word) >= TRIGRAM or (pairs and cjk_bigrams.is_cjk_pair(word))

    return [w for w in words if not served(w)], [w for w in words if served(w)]


def _pairs_indexed(session: Session) -> bool:
    """Whether the bigram indexes serve CJK pairs here: on SQLite always; on PostgreSQL in a
    UTF8 database, where the function's code-point ranges mean characters (in an EUC_CN or
    SQL_ASCII database they do not, and the index would miss pairs ILIKE finds). Asked once
    per transaction."""
    if not is_postgres(session):
        return True
    if "utf8" not in session.info:
        session.info["utf8"] = session.execute(text("SHOW server_encoding")).scalar_one() == "UTF8"
    return bool(session.info["utf8"])


def _search_conditions(session: Session, value: str) -> list[ColumnElement[bool]]:
    """Every word must be found in the number, subject, description, a comment, or the
    customer's name or email."""
    short, indexed = _indexable_words(session, value)
    postgres = is_postgres(session)
    # a word no index serves is tested on every row, as a common word is on PostgreSQL
    conds = [_pg_common_word(word, served=False) if postgres else _like_word(word) for word in short]
    if indexed:
        conds.append(_indexed_words(session, indexed, postgres=postgres))
    return conds


def _search_only_set(session: Session, flt: TicketFilter) -> CTE | None:
    """For a filter that is nothing but an indexed search, the set of ticket ids it finds
    (`found_ids`); None for any other filter. Counting a common word's tickets from its set
    takes a third of the time of probing the set from the ticket table (and on PostgreSQL
    a fraction of testing every ticket)."""
    short, indexed = _indexable_words(session, flt.search or "")
    if short or not indexed or flt != TicketFilter(search=flt.search):
        return None
    return found_ids(indexed, postgres=is_postgres(session))


#: A word the indexes find this often (SQLite: FTS rows of tickets and comments, counted up to
#: this; PostgreSQL: the planner's estimate of matching tickets) is "common": see `_indexed_words`.
COMMON_MATCHES = 2_000


def _indexed_words(session: Session, words: Sequence[str], *, postgres: bool) -> ColumnElement[bool]:
    """The tickets the words find, as one set (`found_ids`), read once per query however
    many branches the page's UNION has; how the set is used depends on its size.

    A small set: from the set to the tickets (primary-key lookups), then sort the few. A
    big one (`printer` finds 60,000 of 1M tickets): read the tickets in the queue's own
    index order and keep those that match; the first page is full after a few hundred rows,
    where fetching and sorting every match took ~0.3 s. SQLite tests each row against the
    set (`id + 0` keeps it from driving the query from the set); PostgreSQL tests the row's
    own text and the (smaller) sets of matching comments and customers, as building the
    set costs it ~0.4 s of re-checking trigram matches. Only one word is ever "common": two
    common words may have few tickets or none in common (then the scan would read the whole
    index). How common is asked of the indexes, a few ms.
    """
    if _is_common(session, words, postgres=postgres):
        if postgres:
            return _pg_common_word(words[0], served=True)
        return (T.c.id + 0).in_(select(found_ids(words, postgres=False).c.id))
    return T.c.id.in_(select(found_ids(words, postgres=postgres).c.id))


def _fts_phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _sqlite_index(word: str) -> tuple[tuple[str, str, str], str]:
    """The FTS5 tables serving the word (of tickets, comments, customers) and its MATCH
    query: the trigram tables and the word as a phrase, or the bigram tables and its token."""
    if cjk_bigrams.is_cjk_pair(word):
        return ("ticket_bigram", "comment_bigram", "customer_bigram"), _fts_phrase(cjk_bigrams.token(word))
    return ("ticket_fts", "comment_fts", "customer_fts"), _fts_phrase(word)


def _pg_match(text_sql: str, word: str, name: str, *, pair: bool = True) -> tuple[str, BindParameter[str]]:
    """A condition finding the word in a text (one of the expressions the GIN indexes are
    on): a CJK pair's containment in the bigram index (unless `pair` is False: the database
    has no usable bigram index), else ILIKE, which pg_trgm serves from three characters."""
    if pair and cjk_bigrams.is_cjk_pair(word):
        return f"ticketdesk_bigrams({text_sql}) @> ARRAY[CAST(:{name} AS text)]", bindparam(name, word, unique=True)
    return f"{text_sql} ILIKE :{name}", bindparam(name, _ilike_pattern(word), unique=True)


def _ilike_pattern(word: str) -> str:
    return f"%{_escape_like(word)}%"


#: The text each table is searched in on PostgreSQL: the expressions of its pg_trgm GIN
#: indexes (migrations 0001), so that ILIKE on them is served by the index.
_PG_TICKET_TEXT = "(subject || ' ' || description)"
_PG_CUSTOMER_TEXT = "(name || ' ' || coalesce(email, ''))"


def found_ids(words: Sequence[str], *, postgres: bool) -> CTE:
    """The ids of the tickets that hold every word in their number, subject or description,
    a comment or their customer (or whose number is the word), materialized once per
    statement: from the FTS5 tables on SQLite, the GIN indexes on PostgreSQL (trigram, or
    bigram for a CJK pair, `_sqlite_index` and `_pg_match`)."""
    selects: list[str] = []
    binds: list[BindParameter[str]] = []
    for i, word in enumerate(words):
        if postgres:
            (in_ticket, bind), (in_comment, _), (in_customer, _) = (
                _pg_match(text_sql, word, f"q{i}") for text_sql in (_PG_TICKET_TEXT, "body", _PG_CUSTOMER_TEXT)
            )
            sql = (
                f"SELECT id FROM ticket WHERE {in_ticket}"
                f" UNION SELECT ticket_id FROM comment WHERE {in_comment}"
                f" UNION SELECT id FROM ticket WHERE customer_id IN (SELECT id FROM customer WHERE {in_customer})"
            )
            binds.append(bind)
        else:
            (tickets, comments, customers), query = _sqlite_index(word)
            sql = (
                f"SELECT rowid AS id FROM {tickets} WHERE {tickets} MATCH :q{i}"
                f" UNION SELECT ticket_id FROM comment WHERE id IN"
                f" (SELECT rowid FROM {comments} WHERE {comments} MATCH :q{i})"
                f" UNION SELECT id FROM ticket WHERE customer_id IN"
                f" (SELECT rowid FROM {customers} WHERE {customers} MATCH :q{i})"
            )
            binds.append(bindparam(f"q{i}", query, unique=True))
        if numbering.looks_like_number(word):
            sql += f" UNION SELECT id FROM ticket WHERE number = :n{i}"
            binds.append(bindparam(f"n{i}", word, unique=True))
        selects.append(sql if len(words) == 1 else f"SELECT id FROM ({sql}) AS w{i}")
    intersection = " INTERSECT ".join(selects)
    return text(intersection).bindparams(*binds).columns(column("id", Integer)).cte().prefix_with("MATERIALIZED")


def _is_common(session: Session, words: Sequence[str], *, postgres: bool) -> bool:
    """Whether the search is one common word, read row by row in the queue's order."""
    return len(words) == 1 and _matches(session, words[0], postgres=postgres) >= COMMON_MATCHES


def _matches(session: Session, word: str, *, postgres: bool) -> int:
    """How often the indexes find the word, asked once per transaction. SQLite: the ticket
    and comment rows, each table counted up to COMMON_MATCHES. PostgreSQL: the planner's
    estimate of matching tickets (from the trigram or bigram index's statistics, so it relies on ANALYZE:
    PostgreSQL's autovacuum runs it; no rows are read, where a real count must re-check
    every candidate row, ~25 ms for a common word). A wrong guess costs time, never rows:
    both plans find the same tickets."""
    cache: dict[str, int] = session.info.setdefault("search_matches", {})
    if word not in cache:
        cache[word] = _count_matches(session, word, postgres=postgres)
    return cache[word]


def _count_matches(session: Session, word: str, *, postgres: bool) -> int:
    if postgres:
        condition, bind = _pg_match(_PG_TICKET_TEXT, word, "q")
        plan = session.execute(
            text(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM ticket WHERE {condition}").bindparams(bind)
        ).scalar_one()
        return int((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"])
    (tickets, comments, _), query = _sqlite_index(word)
    probe = " + ".join(
        f"(SELECT count(*) FROM (SELECT rowid FROM {table} WHERE {table} MATCH :q LIMIT :cap))"
        for table in (tickets, comments)
    )
    return int(session.execute(text(f"SELECT {probe}"), {"q": query, "cap": COMMON_MATCHES}).scalar_one())


def _pg_common_word(word: str, *, served: bool) -> ColumnElement[bool]:
    """A common word (or one no index serves) on PostgreSQL, tested row by row: the
    ticket's own text, then the sets of matching comments and customers, each materialized
    once per statement (a set per branch of the page's UNION would re-read them five
    times). `served`: the word is one the indexes serve (a CJK pair's comments and customers
    come from the bigram indexes)."""
    return or_(*_pg_common_word_parts(word, served=served))


def _pg_common_word_parts(word: str, *, served: bool, count: bool = False) -> list[ColumnElement[bool]]:
    """The places a word can be, as conditions on the ticket. `count`: for the count's
    branches, which combine each with the other conditions' indexes: a CJK pair in the
    ticket's own text then goes through the bigram index too (ILIKE '%打印%' has no trigram
    and would test every ticket the other conditions select); the page tests the text row
    by row in the queue's order, where ILIKE is the cheaper test."""
    pair = served and cjk_bigrams.is_cjk_pair(word)
    comments = _pg_matching("SELECT ticket_id AS id FROM comment WHERE {}", "body", word, pair=pair)
    customers = _pg_matching("SELECT id FROM customer WHERE {}", _PG_CUSTOMER_TEXT, word, pair=pair)
    if count and pair:
        in_text, bind = _pg_match(_PG_TICKET_TEXT, word, "q")
        own_text: ColumnElement[bool] = and_(text(in_text).bindparams(bind))
    else:
        own_text = (T.c.subject + literal(" ") + T.c.description).ilike(_ilike_pattern(word), escape="\\")
    parts: list[ColumnElement[bool]] = [
        own_text,
        T.c.id.in_(select(comments.c.id)),
        T.c.customer_id.in_(select(customers.c.id)),
    ]
    if numbering.looks_like_number(word):
        parts.append(T.c.number == word)
    return parts


def count_statement(session: Session, flt: TicketFilter, *, actor_id: int | None) -> Select[int]:
    """The statement counting a filter's tickets.

    A search and nothing else counts its set (`_search_only_set`). On PostgreSQL, a common
    word with other conditions counts the union of one branch per place the word can be (the
    ticket's text, its comments, its customer), each with all the other conditions: the
    text branch then combines the trigram index with the others' (a BitmapAnd of the status
    and trigram indexes) instead of testing the text of every open ticket (80 ms where that
    took 110 at 1M tickets). Statuses and nothing else (the open queue, "Waiting on
    customer") count from PostgreSQL's running tally (migration 0014): a few rows, however
    big the desk and its backlog. Anything else counts the rows the conditions select.
    """
    if is_postgres(session) and flt.statuses and flt == TicketFilter(statuses=flt.statuses):
        return status_tally.count_statement([s.value for s in flt.statuses])
    found = _search_only_set(session, flt)
    if found is not None:
        return select(func.count()).select_from(found)
    short, indexed = _indexable_words(session, flt.search or "")
    if is_postgres(session) and not short and _is_common(session, indexed, postgres=True):
        others = filter_conditions(session, replace(flt, search=None), actor_id=actor_id)
        parts = _pg_common_word_parts(indexed[0], served=True, count=True)
        branches = union(*(select(T.c.id).where(*others, part) for part in parts))
        return select(func.count()).select_from(branches.subquery())
    return select(func.count()).select_from(T).where(*filter_conditions(session, flt, actor_id=actor_id))


def _pg_matching(sql: str, text_sql: str, word: str, *, pair: bool) -> CTE:
    """`sql` with the word's condition on `text_sql` in its `{}`, materialized once per statement."""
    condition, bind = _pg_match(text_sql, word, "q", pair=pair)
    return text(sql.format(condition)).bindparams(bind).columns(column("id", Integer)).cte().prefix_with("MATERIALIZED")


def _like_word(word: str) -> ColumnElement[bool]:
    """A word no index serves, on SQLite: tested on every row.
    The matching comments and customers are read once per statement (materialized), not
    once per branch of the page's UNION: `打印` on the open queue took 4.3 s at 1M tickets,
    five reads of every comment."""
    pattern = f"%{_escape_like(word.lower())}%"
    comments = (
        select(col(Comment.ticket_id).label("id"))
        .where(func.lower(col(Comment.body)).like(pattern, escape="\\"))
        .cte()
        .prefix_with("MATERIALIZED")
    )
    customers = (
        select(col(Customer.id))
        .where(
            or_(
                func.lower(col(Customer.name)).like(pattern, escape="\\"),
                func.lower(col(Customer.email)).like(pattern, escape="\\"),
            )
        )
        .cte()
        .prefix_with("MATERIALIZED")
    )
    return or_(
        func.lower(T.c.subject).like(pattern, escape="\\"),
        func.lower(T.c.description).like(pattern, escape="\\"),
        T.c.id.in_(select(comments.c.id)),
        T.c.customer_id.in_(select(customers.c.id)),
    )
