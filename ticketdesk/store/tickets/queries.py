"""Read side: the queue (keyset pages, filters, full-text search), ticket detail, counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, exists, func, literal, or_, select, text, tuple_, union_all
from sqlalchemy.orm import aliased
from sqlmodel import Session

from ticketdesk.models import Agent, Comment, Customer, Event, Organisation, Tag, Team, Ticket, TicketLink, TicketTag
from ticketdesk.models.clock import utcnow
from ticketdesk.rules import numbering, sla
from ticketdesk.rules.query import ME, Sort, SortKey, TicketFilter, parse_sort
from ticketdesk.store.db.errors import InvalidInput, NotFound
from ticketdesk.store.readmodels import (
    AgentView,
    CommentView,
    CustomerView,
    EventView,
    LinkView,
    Page,
    StatusPriorityTeamCount,
    TicketDetail,
    TicketRow,
)
from ticketdesk.store.sla import clocks as sla_clocks
from ticketdesk.store.tickets.lookups import resolve_type

T = Ticket.__table__  # type: ignore[attr-defined]
MAX_PAGE = 1000
#: Search terms shorter than the trigram size cannot use the index and fall back to LIKE.
TRIGRAM = 3


# --- filters ---------------------------------------------------------------------------


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
        tag_id = session.execute(select(Tag.id).where(Tag.name == tag)).scalar_one_or_none()
        if tag_id is None:
            conds.append(literal(False))
        else:
            conds.append(
                exists().where(TicketTag.ticket_id == T.c.id, TicketTag.tag_id == tag_id)  # type: ignore[arg-type]
            )
    if flt.customer:
        conds.append(T.c.customer_id.in_(_customer_ids(session, flt.customer)))
    for column, start, end in (
        (T.c.created_at, flt.created_from, flt.created_to),
        (T.c.updated_at, flt.updated_from, flt.updated_to),
    ):
        if start is not None:
            conds.append(column >= start)
        if end is not None:
            conds.append(column < end)
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

    def ran_out(due: Any) -> ColumnElement[bool]:
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
        select(Team.id, Team.key, Team.name).where(or_(func.lower(Team.key).in_(keys), func.lower(Team.name).in_(keys)))
    ).all()
    known = {r.key.lower() for r in rows} | {r.name.lower() for r in rows}
    unknown = [t for t in keys if t not in known]
    if unknown:
        all_keys = ", ".join(session.execute(select(Team.key).order_by(Team.key)).scalars())
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
            agent_id = session.execute(select(Agent.id).where(Agent.login == key)).scalar_one_or_none()
            if agent_id is None:
                raise InvalidInput(f"unknown assignee {value!r}")
            ids.append(agent_id)
    parts: list[ColumnElement[bool]] = []
    if ids:
        parts.append(T.c.assignee_id.in_(ids))
    if unassigned:
        parts.append(T.c.assignee_id.is_(None))
    return or_(*parts)


def _customer_ids(session: Session, value: str) -> Any:
    value = value.strip().lower()
    if "@" in value:
        return select(Customer.id).where(func.lower(Customer.email) == value)
    pattern = f"%{_escape_like(value)}%"
    return select(Customer.id).where(
        or_(func.lower(Customer.name).like(pattern, escape="\\"), func.lower(Customer.email).like(pattern, escape="\\"))
    )


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_terms(value: str) -> list[str]:
    return [w for w in value.split() if w]


def _search_conditions(session: Session, value: str) -> list[ColumnElement[bool]]:
    """Every word must be found in the number, subject, description, a comment, or the
    customer's name or email."""
    postgres = session.get_bind().dialect.name == "postgresql"
    conds = []
    for word in search_terms(value):
        if "\x00" in word:
            raise InvalidInput("search text contains a NUL character")
        if postgres:
            conds.append(_pg_word(word))
        elif len(word) >= TRIGRAM:
            conds.append(_fts_word(word))
        else:
            conds.append(_like_word(word))
    return conds


def _fts_phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _fts_match(table: str, phrase: str) -> Any:
    """rowids of an FTS5 table matching a phrase (a unique bind name per use: a query may
    hold several words)."""
    return text(f"SELECT rowid FROM {table} WHERE {table} MATCH :q").bindparams(bindparam("q", phrase, unique=True))


def _fts_word(word: str) -> ColumnElement[bool]:
    phrase = _fts_phrase(word)
    parts = [
        T.c.id.in_(_fts_match("ticket_fts", phrase)),
        T.c.id.in_(select(Comment.ticket_id).where(Comment.id.in_(_fts_match("comment_fts", phrase)))),  # type: ignore[union-attr]
        T.c.customer_id.in_(_fts_match("customer_fts", phrase)),
    ]
    if numbering.looks_like_number(word):
        parts.append(T.c.number == word)
    return or_(*parts)


def _like_word(word: str) -> ColumnElement[bool]:
    pattern = f"%{_escape_like(word.lower())}%"
    return or_(
        func.lower(T.c.subject).like(pattern, escape="\\"),
        func.lower(T.c.description).like(pattern, escape="\\"),
        T.c.id.in_(select(Comment.ticket_id).where(func.lower(Comment.body).like(pattern, escape="\\"))),
        T.c.customer_id.in_(
            select(Customer.id).where(
                or_(
                    func.lower(Customer.name).like(pattern, escape="\\"),
                    func.lower(Customer.email).like(pattern, escape="\\"),
                )
            )
        ),
    )


def _pg_word(word: str) -> ColumnElement[bool]:
    # The expressions match the pg_trgm GIN indexes of the initial migration.
    pattern = f"%{_escape_like(word)}%"
    parts = [
        (T.c.subject + literal(" ") + T.c.description).ilike(pattern, escape="\\"),
        T.c.id.in_(select(Comment.ticket_id).where(Comment.body.ilike(pattern, escape="\\"))),  # type: ignore[attr-defined]
        T.c.customer_id.in_(
            select(Customer.id).where(
                (Customer.name + literal(" ") + func.coalesce(Customer.email, "")).ilike(pattern, escape="\\")  # type: ignore[operator]
            )
        ),
    ]
    if numbering.looks_like_number(word):
        parts.append(T.c.number == word)
    return or_(*parts)


# --- keyset pages ---------------------------------------------------------------------------


def _keyset_branches(keys: Sequence[SortKey], after: Sequence[Any]) -> list[ColumnElement[bool]]:
    """Predicates, one per branch, that together select the rows strictly after `after`.

    Runs of keys with the same direction become one row-value comparison, so every branch is
    a plain index range: (p = :p AND (u, id) < (:u, :id)) UNION ALL (p > :p).
    """
    groups: list[list[int]] = []
    for i, key in enumerate(keys):
        if groups and keys[groups[-1][0]].descending == key.descending:
            groups[-1].append(i)
        else:
            groups.append([i])
    branches = []
    for g, group in enumerate(groups):
        equal = [T.c[keys[i].column] == after[i] for grp in groups[:g] for i in grp]
        cols = [T.c[keys[i].column] for i in group]
        vals = [after[i] for i in group]
        if len(cols) == 1:
            step = cols[0] < vals[0] if keys[group[0]].descending else cols[0] > vals[0]
        else:
            left, right = tuple_(*cols), tuple_(*[literal(v, type_=c.type) for c, v in zip(cols, vals, strict=True)])
            step = left < right if keys[group[0]].descending else left > right
        branches.append(and_(*equal, step))
    return branches


def _order_by(keys: Sequence[SortKey], table: Any) -> list[Any]:
    return [table.c[k.column].desc() if k.descending else table.c[k.column].asc() for k in keys]


def page_ids(
    session: Session,
    *,
    conditions: Sequence[ColumnElement[bool]],
    sort: Sort,
    after: Sequence[Any] | None,
    limit: int,
    alternatives: Sequence[ColumnElement[bool]] = (),
) -> list[Any]:
    """(sort keys, id last) of the next `limit` rows, by keyset: never OFFSET.

    `alternatives` (e.g. one `status = x` per wanted status) and the keyset steps become
    separate branches of a UNION ALL, each a single index range read in index order, and
    only the few rows they return get merged; an IN list or an OR would make the database
    sort every matching row instead.
    """
    key_cols = [T.c[k.column] for k in sort.keys]
    steps: list[ColumnElement[bool] | None] = list(_keyset_branches(sort.keys, after)) if after else [None]
    choices: list[ColumnElement[bool] | None] = list(alternatives) or [None]
    branches = [[c for c in (*conditions, choice, step) if c is not None] for choice in choices for step in steps]
    parts = [select(*key_cols).where(*where).order_by(*_order_by(sort.keys, T)).limit(limit) for where in branches]
    if len(parts) == 1:
        return list(session.execute(parts[0]).all())
    # SQLite refuses ORDER BY/LIMIT inside a compound select unless each part is a subquery.
    combined = union_all(*[select(p.subquery().c) for p in parts]).subquery()
    stmt = select(combined).order_by(*_order_by(sort.keys, combined)).limit(limit)
    return list(session.execute(stmt).all())


def list_tickets(
    session: Session,
    *,
    flt: TicketFilter,
    actor_id: int | None,
    sort: Sort | None = None,
    after: Sequence[Any] | None = None,
    limit: int = 50,
    now: datetime | None = None,
) -> Page:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
    sort = sort or parse_sort(None)
    if after is not None and len(after) != len(sort.keys):
        raise InvalidInput("page cursor does not match the sort")
    alternatives: list[ColumnElement[bool]] = []
    if len(flt.statuses) > 1:
        alternatives = [T.c.status == s.value for s in flt.statuses]
        flt = replace(flt, statuses=())
    conditions = filter_conditions(session, flt, actor_id=actor_id, now=now)
    keys = page_ids(session, conditions=conditions, sort=sort, after=after, limit=limit + 1, alternatives=alternatives)
    has_more = len(keys) > limit
    keys = keys[:limit]
    id_pos = [k.column for k in sort.keys].index("id")
    rows = rows_by_id(session, [k[id_pos] for k in keys], now=now)
    next_after = tuple(keys[-1]) if has_more and keys else None
    return Page(rows=rows, next_after=next_after)


_assignee = aliased(Agent)


def rows_by_id(session: Session, ids: Sequence[int], *, now: datetime | None = None) -> list[TicketRow]:
    """Full queue rows for the given ids, in the given order."""
    if not ids:
        return []
    now = now or utcnow()
    stmt = (
        select(
            T.c.id,
            T.c.number,
            T.c.subject,
            T.c.status,
            T.c.priority,
            T.c.type,
            T.c.channel,
            Team.key.label("team"),  # type: ignore[attr-defined]
            _assignee.login.label("assignee"),
            Customer.name.label("customer"),  # type: ignore[attr-defined]
            Customer.email.label("customer_email"),  # type: ignore[union-attr]
            T.c.created_at,
            T.c.updated_at,
            T.c.first_response_due,
            T.c.resolution_due,
            T.c.first_responded_at,
            T.c.resolved_at,
            T.c.sla_paused_at,
            T.c.version,
        )
        .select_from(T)
        .join(Team, Team.id == T.c.team_id, isouter=True)  # type: ignore[arg-type]
        .join(_assignee, _assignee.id == T.c.assignee_id, isouter=True)
        .join(Customer, Customer.id == T.c.customer_id, isouter=True)  # type: ignore[arg-type]
        .where(T.c.id.in_(list(ids)))
    )
    by_id = {r.id: r for r in session.execute(stmt)}
    tags = tags_by_ticket(session, list(by_id))
    lead = sla_clocks.warning_lead(session)
    result = []
    for ticket_id in ids:
        r = by_id.get(ticket_id)
        if r is None:
            continue
        result.append(
            TicketRow(
                id=r.id,
                number=r.number,
                subject=r.subject,
                status=r.status,
                priority=r.priority,
                type=r.type,
                channel=r.channel,
                team=r.team,
                assignee=r.assignee,
                customer=r.customer,
                customer_email=r.customer_email,
                tags=tuple(sorted(tags.get(r.id, ()))),
                created_at=r.created_at,
                updated_at=r.updated_at,
                first_response_due=r.first_response_due,
                resolution_due=r.resolution_due,
                first_responded_at=r.first_responded_at,
                resolved_at=r.resolved_at,
                sla_state=_sla_state(r, now, lead),
                version=r.version,
                sla_paused_at=r.sla_paused_at,
            )
        )
    return result


def _sla_state(r: Any, now: datetime, warning: timedelta = sla.DEFAULT_WARNING) -> str | None:
    paused = r.sla_paused_at is not None  # judged as of the pause, no warning while it stands still
    state = sla.sla_state(
        now=r.sla_paused_at if paused else now,
        first_response_due=r.first_response_due,
        first_responded_at=r.first_responded_at,
        resolution_due=r.resolution_due,
        resolved_at=r.resolved_at,
        warning=timedelta(0) if paused else warning,
    )
    return state.value if state else None


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


def count_tickets(session: Session, *, flt: TicketFilter, actor_id: int | None) -> int:
    conditions = filter_conditions(session, flt, actor_id=actor_id)
    return session.execute(select(func.count()).select_from(T).where(*conditions)).scalar_one()


def counts_by_status_priority_team(session: Session) -> list[StatusPriorityTeamCount]:
    """Grouped in the order of the team queue index (a covering index scan, no sort, no join);
    team keys are mapped afterwards."""
    teams = dict(session.execute(select(Team.id, Team.key)).all())
    stmt = select(T.c.team_id, T.c.status, T.c.priority, func.count()).group_by(T.c.team_id, T.c.status, T.c.priority)
    return [
        StatusPriorityTeamCount(status=s, priority=p, team=teams.get(t) if t is not None else None, count=n)
        for t, s, p, n in session.execute(stmt)
    ]


def matching_numbers(session: Session, *, flt: TicketFilter, actor_id: int | None, limit: int) -> list[str]:
    conditions = filter_conditions(session, flt, actor_id=actor_id)
    return list(session.execute(select(T.c.number).where(*conditions).limit(limit)).scalars())


def agent_view(session: Session, login: str) -> AgentView:
    row = session.execute(
        select(Agent.login, Agent.display_name, Agent.role, Team.key)
        .join(Team, Team.id == Agent.team_id, isouter=True)  # type: ignore[arg-type]
        .where(Agent.login == login)
    ).one()
    return AgentView(login=row[0], name=row[1], role=row[2], team=row[3])


def team_keys(session: Session) -> list[str]:
    return list(session.execute(select(Team.key).order_by(Team.key)).scalars())


def active_agents(session: Session) -> list[tuple[str, str]]:
    rows = session.execute(select(Agent.login, Agent.display_name).where(Agent.active).order_by(Agent.login))
    return [(login, name) for login, name in rows]


def latest_event_id(session: Session) -> int:
    """A cheap change marker: grows with every change to any ticket."""
    return session.execute(select(func.max(Event.id))).scalar_one() or 0


# --- detail ---------------------------------------------------------------------------


def ticket_detail(session: Session, number: str, *, now: datetime | None = None) -> TicketDetail:
    ticket = session.execute(select(Ticket).where(Ticket.number == number.strip())).scalar_one_or_none()
    if ticket is None:
        raise NotFound(f"ticket {number} not found")
    row = rows_by_id(session, [ticket.id], now=now)[0]  # type: ignore[list-item]
    customer = None
    if ticket.customer_id is not None:
        c = session.get(Customer, ticket.customer_id)
        org = session.get(Organisation, c.organisation_id) if c and c.organisation_id else None
        if c is not None:
            customer = CustomerView(
                name=c.name,
                email=c.email,
                phone=c.phone,
                organisation=org.name if org else None,
                department=c.department,
                industry=c.industry or (org.industry if org else None),
                vip=c.vip,
            )
    assignee = session.get(Agent, ticket.assignee_id) if ticket.assignee_id else None
    team = session.get(Team, ticket.team_id) if ticket.team_id else None
    merged_into = None
    if ticket.merged_into_id is not None:
        merged_into = session.execute(select(Ticket.number).where(Ticket.id == ticket.merged_into_id)).scalar_one()
    return TicketDetail(
        row=row,
        description=ticket.description,
        category=ticket.category,
        support_level=ticket.support_level,
        resolution=ticket.resolution,
        expected_at=ticket.expected_at,
        status_changed_at=ticket.status_changed_at,
        closed_at=ticket.closed_at,
        reopen_count=ticket.reopen_count,
        merged_into=merged_into,
        customer=customer,
        assignee_name=assignee.display_name if assignee else None,
        team_name=team.name if team else None,
        comments=_comments(session, ticket.id),  # type: ignore[arg-type]
        events=_events(session, ticket.id),  # type: ignore[arg-type]
        links=_links(session, ticket.id),  # type: ignore[arg-type]
    )


def _comments(session: Session, ticket_id: int) -> list[CommentView]:
    """The ticket's own comments and those of tickets merged into it, oldest first."""
    merged = select(Ticket.id).where(Ticket.merged_into_id == ticket_id)
    author = aliased(Agent)
    source = aliased(Ticket)
    stmt = (
        select(Comment.id, Comment.kind, author.login, Customer.name, Comment.body, Comment.created_at, source.number)
        .join(author, author.id == Comment.author_id, isouter=True)
        .join(Customer, Customer.id == Comment.customer_id, isouter=True)  # type: ignore[arg-type]
        .join(source, source.id == Comment.ticket_id)
        .where(or_(Comment.ticket_id == ticket_id, Comment.ticket_id.in_(merged)))  # type: ignore[attr-defined]
        .order_by(Comment.created_at, Comment.id)  # type: ignore[arg-type]
    )
    return [
        CommentView(id=i, kind=k, author=login or cname, body=b, created_at=at, ticket_number=n)
        for i, k, login, cname, b, at, n in session.execute(stmt)
    ]


def _events(session: Session, ticket_id: int) -> list[EventView]:
    stmt = (
        select(Event.id, Event.at, Agent.login, Event.kind, Event.field, Event.old, Event.new, Event.ticket_version)
        .join(Agent, Agent.id == Event.actor_id, isouter=True)  # type: ignore[arg-type]
        .where(Event.ticket_id == ticket_id)  # type: ignore[arg-type]
        .order_by(Event.id)  # type: ignore[arg-type]
    )
    return [EventView(*r) for r in session.execute(stmt)]


def _links(session: Session, ticket_id: int) -> list[LinkView]:
    other = aliased(Ticket)
    out = (
        select(TicketLink.kind, other.number, other.subject, other.status)
        .join(other, other.id == TicketLink.other_id)
        .where(TicketLink.ticket_id == ticket_id)  # type: ignore[arg-type]
    )
    back = (
        select(TicketLink.kind, other.number, other.subject, other.status)
        .join(other, other.id == TicketLink.ticket_id)
        .where(TicketLink.other_id == ticket_id)  # type: ignore[arg-type]
    )
    forward_names = {"related": "related", "duplicate": "duplicate-of", "parent": "parent-of"}
    backward_names = {"related": "related", "duplicate": "duplicated-by", "parent": "child-of"}
    links = [LinkView(forward_names[k], n, s, st) for k, n, s, st in session.execute(out)]
    links += [LinkView(backward_names[k], n, s, st) for k, n, s, st in session.execute(back)]
    return links
