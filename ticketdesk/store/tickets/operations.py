"""Transactional ticket operations: each writes its change and its events together.

Every function takes the open write session first and the acting agent; the caller (the
`Store` facade) owns the transaction, so a failure anywhere leaves nothing behind.

What follows a change in the same transaction, automations firing and the mail of a public
reply, is the caller's `Followups` (store/automation/followups.py makes the real one): this module
imports neither the automations nor the outbox, which both use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import Protocol

from sqlalchemy import Integer, bindparam, cast, func, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from ticketdesk.models import (
    ACTIVE_STATUSES,
    Agent,
    Channel,
    Comment,
    CommentKind,
    Customer,
    Event,
    EventKind,
    LinkKind,
    Organisation,
    Priority,
    Role,
    Status,
    SupportLevel,
    Tag,
    Team,
    Ticket,
    TicketCounter,
    TicketLink,
    TicketTag,
    TicketType,
)
from ticketdesk.models.clock import utcnow
from ticketdesk.models.enums import parse_enum
from ticketdesk.rules import numbering, text, workflow
from ticketdesk.rules.routing import TicketFacts
from ticketdesk.store.automation import routing
from ticketdesk.store.db.errors import Conflict, InvalidInput, NotFound
from ticketdesk.store.readmodels import ConflictInfo, UpdateResult
from ticketdesk.store.sla import clocks as sla_clocks
from ticketdesk.store.tickets.rows import Change, TicketDraft, creation_changes, due_dates_for, new_ticket_row

CHUNK = 500


class Followups(Protocol):
    """What happens after a ticket change, in its transaction."""

    def changed(self, session: Session, ticket_ids: Sequence[int], trigger: str, now: datetime, *, depth: int) -> None:
        """The tickets were created, updated or replied to (`trigger`): run what that fires;
        `depth` counts changes made by automations, so chains stop."""

    def public_reply(self, session: Session, ticket: Ticket, comment: Comment, now: datetime) -> None:
        """A public reply was added: its mail to the customer goes out with it."""


# --- lookups ---------------------------------------------------------------------------


def _agent_by_login(session: Session, login: str) -> Agent | None:
    return session.exec(select(Agent).where(Agent.login == login)).scalar_one_or_none()  # type: ignore[call-overload]


def acting_agent(session: Session, login: str) -> Agent:
    """The agent the caller acts as; unknown or inactive logins are refused."""
    agent = _agent_by_login(session, login)
    if agent is None:
        raise NotFound(f"no agent with login {login!r}: act as a known agent with --as or TICKETDESK_AGENT")
    if not agent.active:
        raise NotFound(f"agent {login!r} is deactivated")
    return agent


def resolve_assignee(session: Session, value: str, actor: Agent) -> Agent | None:
    """`me`, `none` (unassigned) or a login."""
    key = value.strip()
    if key.lower() == "me":
        return actor
    if key.lower() in ("none", "nobody", "-", ""):
        return None
    agent = _agent_by_login(session, key)
    if agent is None:
        raise InvalidInput(f"unknown assignee {value!r}")
    if not agent.active:
        raise InvalidInput(f"assignee {value!r} is deactivated")
    return agent


def resolve_team(session: Session, value: str) -> Team:
    key = value.strip().lower()
    team = session.exec(  # type: ignore[call-overload]
        select(Team).where((func.lower(Team.key) == key) | (func.lower(Team.name) == key))
    ).scalar_one_or_none()
    if team is None:
        known = ", ".join(session.exec(select(Team.key).order_by(Team.key)).scalars())  # type: ignore[call-overload]
        raise InvalidInput(f"unknown team {value!r} (known: {known})")
    return team


def resolve_type(session: Session, value: str) -> str:
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    found = session.exec(select(TicketType.key).where(TicketType.key == key)).scalar_one_or_none()  # type: ignore[call-overload]
    if found is None:
        known = ", ".join(session.exec(select(TicketType.key).order_by(TicketType.key)).scalars())  # type: ignore[call-overload]
        raise InvalidInput(f"unknown type {value!r} (known: {known})")
    return found


def find_or_create_customer(session: Session, spec: str) -> Customer:
    """`Name <email>`, a bare email, or a bare name. The name is one line (no control
    characters) and the address is checked by a real parser (rules/text.py
    `validate_email`); either problem is refused naming the field."""
    if "\x00" in spec:
        raise InvalidInput("customer contains a NUL character")
    try:
        spec = text.validate_line(spec, "customer")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    name, email = parseaddr(spec)
    if "@" not in email:
        # `Name <something>` or anything with an @ was meant as an address: say it is not
        # one rather than keep it as a name
        if "@" in spec or (spec.endswith(">") and "<" in spec):
            raise InvalidInput(f"customer email {email or spec!r} is not a valid email address")
        name, email = spec, ""
    try:
        email = text.validate_email(email, "customer email").lower() if email else ""
        name = text.validate_line(name, "customer name") or email.split("@")[0]
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if not name:
        raise InvalidInput("customer must have a name or an email address")
    if len(name) > 200 or len(email) > 320:
        raise InvalidInput("customer name or email is too long")
    if email:
        customer = session.exec(select(Customer).where(Customer.email == email)).scalar_one_or_none()  # type: ignore[call-overload]
    else:
        customer = session.exec(  # type: ignore[call-overload]
            select(Customer).where(Customer.name == name).order_by(Customer.id).limit(1)
        ).scalar_one_or_none()
    if customer is None:
        customer = Customer(name=name, email=email or None)
        session.add(customer)
        session.flush()
    return customer


def lock_ticket(session: Session, number: str) -> Ticket:
    ticket = session.exec(select(Ticket).where(Ticket.number == number.strip())).scalar_one_or_none()  # type: ignore[call-overload]
    if ticket is None:
        raise NotFound(f"ticket {number} not found")
    return ticket


def load_tickets(session: Session, numbers: Sequence[str]) -> list[Ticket]:
    """The tickets in the order asked; unknown numbers are named in one error."""
    wanted = [n.strip() for n in numbers]
    found: dict[str, Ticket] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        for ticket in session.exec(select(Ticket).where(Ticket.number.in_(chunk))).scalars():  # type: ignore[call-overload, attr-defined]
            found[ticket.number] = ticket
    missing = [n for n in wanted if n not in found]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise NotFound(f"ticket{'s' if len(missing) > 1 else ''} {shown} not found")
    seen: set[str] = set()
    return [found[n] for n in wanted if not (n in seen or seen.add(n))]  # type: ignore[func-returns-value]


# --- numbering ---------------------------------------------------------------------------


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
        .where(TicketCounter.period == period)  # type: ignore[arg-type]
        .values(last_serial=TicketCounter.last_serial + count)
        .returning(TicketCounter.last_serial)
    )
    last = session.execute(bump).scalar_one_or_none()
    if last is None:
        _insert_counter(session, period, _used_serial(session, period))
        last = session.execute(bump).scalar_one()
    return last - count + 1


def _used_serial(session: Session, period: str) -> int:
    """The highest serial a ticket number of `period` already has."""
    next_period = str(int(period) + 1)
    used = session.execute(
        select(func.max(cast(func.substr(Ticket.number, len(period) + 1), Integer))).where(
            Ticket.number > period,  # type: ignore[arg-type]
            Ticket.number < next_period,  # type: ignore[arg-type]
        )
    ).scalar()
    return int(used or 0)


def _insert_counter(session: Session, period: str, start: int) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(TicketCounter).values(period=period, last_serial=start).on_conflict_do_nothing()
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(TicketCounter).values(period=period, last_serial=start).on_conflict_do_nothing()
    session.execute(stmt)


# --- events ---------------------------------------------------------------------------


def _event_rows(ticket: Ticket, actor: Agent, at: datetime, changes: Iterable[Change]) -> list[dict]:
    return [
        {
            "ticket_id": ticket.id,
            "actor_id": actor.id,
            "at": at,
            "kind": c.kind.value,
            "field": c.field,
            "old": c.old,
            "new": c.new,
            "ticket_version": ticket.version,
        }
        for c in changes
    ]


def _write_events(session: Session, rows: list[dict]) -> None:
    if rows:
        session.connection().execute(Event.__table__.insert(), rows)  # type: ignore[attr-defined]  # Core executemany


def _fmt(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


# --- create ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NewTicket:
    subject: str
    description: str = ""
    type: str = "incident"
    category: str | None = None
    priority: str = "P2"
    channel: str = "phone"
    customer: str | None = None
    team: str | None = None
    assignee: str | None = None
    support_level: str = "L1"
    expected_at: datetime | None = None
    tags: tuple[str, ...] = ()


def create_ticket(
    session: Session,
    *,
    actor: Agent,
    new: NewTicket,
    followups: Followups,
    now: datetime | None = None,
    customer: Customer | None = None,
) -> Ticket:
    """`customer`: one the caller already has (mail from an unusable address); else `new.customer`."""
    now = now or utcnow()
    try:
        subject = text.validate_line(text.validate_subject(new.subject), "subject")
        description = text.validate_body(new.description, "description")
        priority = parse_enum(Priority, new.priority, "priority")
        channel = parse_enum(Channel, new.channel, "channel")
        level = parse_enum(SupportLevel, new.support_level, "support level")
        tags = sorted({text.validate_tag(t) for t in new.tags})
        category = text.validate_category(new.category)
        category = text.validate_line(category, "category") or None
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    ticket_type = resolve_type(session, new.type)
    if customer is None and new.customer:
        customer = find_or_create_customer(session, new.customer)
    team = resolve_team(session, new.team) if new.team else None
    assignee = resolve_assignee(session, new.assignee, actor) if new.assignee else None
    if assignee is not None and team is None and assignee.team_id is not None:
        team = session.get(Team, assignee.team_id)
    routed = routing.route_new(
        session,
        TicketFacts(
            number="", subject=subject, description=description, type=ticket_type, category=category,
            priority=priority.value, status=Status.NEW.value, channel=channel.value,
            team=team.key if team else None, assignee=assignee.login if assignee else None,
            support_level=level.value, tags=frozenset(tags), customer_vip=bool(customer and customer.vip),
            organisation=_organisation_name(session, customer), created_at=now, updated_at=now,
        ),
        team=team,
        level_given=new.support_level != NewTicket.support_level,
        assignee=assignee,
    )  # fmt: skip
    team, assignee = routed.team, routed.assignee
    if routed.level is not None:
        level = SupportLevel(routed.level)
    draft = TicketDraft(
        number=next_number(session, now),
        subject=subject,
        description=description,
        type=ticket_type,
        category=category,
        priority=priority.value,
        channel=channel.value,
        support_level=level.value,
        customer_id=customer.id if customer else None,
        customer_vip=bool(customer and customer.vip),
        team_id=team.id if team else None,
        team_key=team.key if team else None,
        assignee_id=assignee.id if assignee else None,
        assignee_login=assignee.login if assignee else None,
        expected_at=new.expected_at,
        tags=tuple(tags),
        created_at=now,
    )
    ticket = Ticket(**new_ticket_row(draft, due_dates_for(draft, sla_clocks.policy(session))))
    session.add(ticket)
    session.flush()
    _apply_tag_ops(session, [(ticket.id, tags, [])])  # type: ignore[list-item]
    rows = _event_rows(ticket, actor, now, creation_changes(draft, routed.decisions))
    duplicate = routing.suspected_duplicate(session, ticket)
    if duplicate is not None:
        other, score = duplicate
        ours, theirs = _add_link(session, actor=actor, ticket=ticket, target=other, kind=LinkKind.DUPLICATE, now=now)
        flag = Change(
            "duplicate", None, f"suspected duplicate of {other.number} ({score:.0f}% alike)", EventKind.AUTOMATION
        )
        rows += _event_rows(ticket, actor, now, [ours, flag]) + _event_rows(other, actor, now, [theirs])
    _write_events(session, rows)
    followups.changed(session, [ticket.id], "created", now, depth=0)  # type: ignore[list-item]
    return ticket


def _organisation_name(session: Session, customer: Customer | None) -> str | None:
    if customer is None or customer.organisation_id is None:
        return None
    with session.no_autoflush:
        org = session.get(Organisation, customer.organisation_id)
    return org.name if org else None


# --- tags ---------------------------------------------------------------------------


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


def _current_tags(session: Session, ticket_ids: Sequence[int]) -> dict[int, set[str]]:
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


def _apply_tag_ops(session: Session, ops: Sequence[tuple[int, list[str], list[str]]]) -> None:
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


# --- update ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketChanges:
    status: str | None = None
    priority: str | None = None
    assignee: str | None = None
    team: str | None = None
    support_level: str | None = None
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    note: str | None = None

    @property
    def is_empty(self) -> bool:
        return (
            self.status is None
            and self.priority is None
            and self.assignee is None
            and self.team is None
            and self.support_level is None
            and not self.add_tags
            and not self.remove_tags
            and not (self.note or "").strip()
        )


def update_tickets(
    session: Session,
    *,
    actor: Agent,
    numbers: Sequence[str],
    changes: TicketChanges,
    expected_versions: dict[str, int] | None = None,
    skip_conflicts: bool = False,
    replies: Mapping[str, str] | None = None,
    replies_internal: bool = False,
    now: datetime | None = None,
    cause: str | None = None,
    escalation: str | None = None,
    followups: Followups,
    depth: int = 0,
) -> UpdateResult:
    """Apply the same changes to many tickets in the caller's one transaction.

    A forbidden transition on any ticket raises and so rolls everything back. A ticket whose
    version differs from `expected_versions` is a conflict: it raises, or with
    `skip_conflicts` is left alone and reported while the others are changed.

    `replies` (ticket number -> text) adds a per-ticket reply, or note with
    `replies_internal`, before the shared changes, in the same single version bump (reply
    templates use this). A status change that needs a resolution note and has no `note`
    takes the ticket's reply as its resolution.
    """
    now = now or utcnow()
    if not numbers:
        raise InvalidInput("no ticket numbers given")
    if changes.is_empty and not replies:
        raise InvalidInput("nothing to change: give --status, --priority, --assignee, --team, tags or --note")
    replies = {n.strip(): _comment_body(body) for n, body in (replies or {}).items()}
    try:
        status = parse_enum(Status, changes.status, "status") if changes.status else None
        priority = parse_enum(Priority, changes.priority, "priority") if changes.priority else None
        level = parse_enum(SupportLevel, changes.support_level, "support level") if changes.support_level else None
        add_tags = {text.validate_tag(t) for t in changes.add_tags}
        remove_tags = {text.validate_tag(t) for t in changes.remove_tags}
        note = text.validate_body(changes.note, "note").strip() or None if changes.note else None
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    both = add_tags & remove_tags
    if both:
        raise InvalidInput(f"tag {sorted(both)[0]!r} is both added and removed")
    assignee: Agent | None = None
    unassign = False
    if changes.assignee is not None:
        assignee = resolve_assignee(session, changes.assignee, actor)
        unassign = assignee is None
    team = resolve_team(session, changes.team) if changes.team else None
    role = Role(actor.role)

    tickets = load_tickets(session, numbers)
    conflicts = _conflicts(session, tickets, expected_versions or {})
    if conflicts and not skip_conflicts:
        raise Conflict("; ".join(c.message for c in conflicts), numbers=[c.number for c in conflicts])
    conflicted = {c.number for c in conflicts}
    tickets = [t for t in tickets if t.number not in conflicted]
    tags_now = _current_tags(session, [t.id for t in tickets])  # type: ignore[misc]
    agents = _agent_logins(session, tickets, assignee)
    teams = _team_keys(session)

    pending_events: list[tuple[Ticket, list[Change]]] = []
    tag_ops: list[tuple[int, list[str], list[str]]] = []
    note_rows: list[dict] = []
    unchanged: list[str] = []
    for ticket in tickets:
        ticket_changes: list[Change] = []
        before = sla_clocks.Before.of(ticket)
        reply = replies.get(ticket.number)
        if reply is not None:
            ticket_changes.extend(
                stage_comment(
                    session,
                    actor=actor,
                    ticket=ticket,
                    body=reply,
                    internal=replies_internal,
                    now=now,
                    followups=followups,
                )[1]
            )
        if priority is not None and ticket.priority != priority.value:
            ticket_changes.append(Change("priority", ticket.priority, priority.value))
            ticket.priority = priority.value
        if level is not None and ticket.support_level != level.value:
            ticket_changes.append(Change("support_level", ticket.support_level, level.value))
            ticket.support_level = level.value
        if team is not None and ticket.team_id != team.id:
            ticket_changes.append(Change("team", teams.get(ticket.team_id), team.key))  # type: ignore[arg-type]
            ticket.team_id = team.id
        new_assignee_id = assignee.id if assignee is not None else (None if unassign else ticket.assignee_id)
        if new_assignee_id != ticket.assignee_id:
            ticket_changes.append(
                Change("assignee", agents.get(ticket.assignee_id), assignee.login if assignee else None)  # type: ignore[arg-type]
            )
            ticket.assignee_id = new_assignee_id
            implied = workflow.status_after_assignment(Status(ticket.status)) if assignee else None
            if implied is not None and status is None:
                ticket_changes.append(Change("status", ticket.status, implied.value))
                ticket.status = implied.value
                ticket.status_changed_at = now
        if status is not None and ticket.status != status.value:
            try:
                plan = workflow.plan_transition(
                    workflow.TicketState(
                        number=ticket.number,
                        status=Status(ticket.status),
                        priority=Priority(ticket.priority),
                        has_resolution=bool(ticket.resolution),
                    ),
                    status,
                    actor_role=role,
                    note=note or reply,
                    now=now,
                )
            except workflow.TransitionError as exc:
                raise InvalidInput(str(exc)) from None
            ticket_changes += apply_transition(ticket, plan)
        for name, was, due in sla_clocks.after_change(session, ticket, before, now):
            ticket_changes.append(Change(name, _fmt(was), _fmt(due)))
        current_tags = tags_now.get(ticket.id, set())  # type: ignore[arg-type]
        to_add = sorted(add_tags - current_tags)
        to_remove = sorted(remove_tags & current_tags)
        if to_add or to_remove:
            tag_ops.append((ticket.id, to_add, to_remove))  # type: ignore[arg-type]
            ticket_changes.extend(Change("tag", None, t, EventKind.TAGGED) for t in to_add)
            ticket_changes.extend(Change("tag", t, None, EventKind.UNTAGGED) for t in to_remove)
        if note:
            note_rows.append(
                {
                    "ticket_id": ticket.id,
                    "kind": CommentKind.INTERNAL.value,
                    "author_id": actor.id,
                    "body": note,
                    "created_at": now,
                }
            )
            ticket_changes.append(Change("comment", None, CommentKind.INTERNAL.value, EventKind.COMMENTED))
        if not ticket_changes:
            unchanged.append(ticket.number)
            continue
        if escalation:
            ticket_changes.append(Change("escalation", None, escalation, EventKind.ESCALATED))
        if cause:  # an automatic change names the rule that made it
            ticket_changes.append(Change("rule", None, cause, EventKind.AUTOMATION))
        ticket.updated_at = now
        pending_events.append((ticket, ticket_changes))

    # The UPDATE carries `WHERE version = <as read>`, so a concurrent writer that got in
    # between our read and this write makes it fail instead of being overwritten.
    _save_tickets(session, [t for t, _ in pending_events])
    _apply_tag_ops(session, tag_ops)
    if note_rows:
        session.connection().execute(Comment.__table__.insert(), note_rows)  # type: ignore[attr-defined]
    rows: list[dict] = []
    for ticket, ticket_changes in pending_events:
        rows.extend(_event_rows(ticket, actor, now, ticket_changes))
    _write_events(session, rows)
    trigger = "replied" if replies and not replies_internal else "updated"
    followups.changed(session, [t.id for t, _ in pending_events], trigger, now, depth=depth)  # type: ignore[misc]
    return UpdateResult(changed=[t.number for t, _ in pending_events], unchanged=unchanged, conflicts=conflicts)


def apply_transition(ticket: Ticket, plan: workflow.TransitionPlan) -> list[Change]:
    """Set what a planned status change sets on `ticket`; returns the changes for its events."""
    changes = [Change("status", ticket.status, plan.status.value)]
    ticket.status = plan.status.value
    for name, value in plan.set_timestamps.items():
        if name != "status_changed_at":
            changes.append(Change(name, _fmt(getattr(ticket, name)), _fmt(value)))
        setattr(ticket, name, value)
    for name in plan.clear_timestamps:
        if getattr(ticket, name) is not None:
            changes.append(Change(name, _fmt(getattr(ticket, name)), None))
            setattr(ticket, name, None)
    if plan.is_reopen:
        ticket.reopen_count += 1
    if plan.resolution is not None and plan.resolution != ticket.resolution:
        changes.append(Change("resolution", ticket.resolution, plan.resolution))
        ticket.resolution = plan.resolution
    return changes


def _save_tickets(session: Session, tickets: Sequence[Ticket]) -> None:
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
        changed = sorted(set().union(*(columns - state.unmodified for state in states)))
        table = Ticket.__table__  # type: ignore[attr-defined]
        write = (
            update(table)
            .where(table.c.id == bindparam("ticket_id"), table.c.version == bindparam("read_version"))
            .values(version=table.c.version + 1)
        )  # SET also has the columns named in the rows below
        rows = [{"ticket_id": t.id, "read_version": t.version, **{c: getattr(t, c) for c in changed}} for t in tickets]
        if session.connection().execute(write, rows).rowcount != len(rows):
            raise _lost_race(session, tickets)
        for ticket in tickets:
            # Written: out of the ORM's unit of work, lest it write them again (and bump
            # the version twice); still readable, now at their new version.
            set_committed_value(ticket, "version", ticket.version + 1)
            session.expunge(ticket)
    session.flush()


def _lost_race(session: Session, tickets: Sequence[Ticket]) -> Conflict:
    """The Conflict for the tickets another writer committed after we read them, asked on a
    fresh connection: it sees their commit, and not our own writes, which are being refused."""
    read = {t.id: (t.number, t.version) for t in tickets}
    with session.get_bind().connect() as conn, Session(bind=conn) as fresh:
        current = dict(fresh.execute(select(Ticket.id, Ticket.version).where(Ticket.id.in_(list(read)))).all())  # type: ignore[union-attr]
        infos = [
            describe_conflict(fresh, tid, number, version, current.get(tid, version))
            for tid, (number, version) in read.items()
            if current.get(tid) != version
        ]
    message = "; ".join(i.message for i in infos) or "a ticket was changed by someone else meanwhile"
    return Conflict(message, numbers=[i.number for i in infos])


def _agent_logins(session: Session, tickets: Sequence[Ticket], extra: Agent | None) -> dict[int, str]:
    ids = {t.assignee_id for t in tickets if t.assignee_id is not None}
    logins = dict(session.execute(select(Agent.id, Agent.login).where(Agent.id.in_(ids))).all()) if ids else {}  # type: ignore[union-attr]
    if extra is not None:
        logins[extra.id] = extra.login
    return logins  # type: ignore[return-value]


def _team_keys(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Team.id, Team.key)).all())  # type: ignore[arg-type]


def _conflicts(session: Session, tickets: Sequence[Ticket], expected: dict[str, int]) -> list[ConflictInfo]:
    result = []
    for ticket in tickets:
        want = expected.get(ticket.number)
        if want is not None and want != ticket.version:
            result.append(describe_conflict(session, ticket.id, ticket.number, want, ticket.version))  # type: ignore[arg-type]
    return result


def describe_conflict(session: Session, ticket_id: int, number: str, expected: int, current: int) -> ConflictInfo:
    """Who changed the ticket, and which fields, since version `expected`."""
    rows = session.execute(
        select(Agent.login, Event.field)
        .select_from(Event)
        .join(Agent, Agent.id == Event.actor_id, isouter=True)  # type: ignore[arg-type]
        .where(Event.ticket_id == ticket_id, Event.ticket_version > expected)  # type: ignore[arg-type, operator]
        .order_by(Event.id)  # type: ignore[arg-type]
    ).all()
    who = tuple(dict.fromkeys(login or "system" for login, _ in rows))
    fields = tuple(dict.fromkeys(f for _, f in rows if f))
    return ConflictInfo(
        number=number, expected_version=expected, current_version=current, changed_by=who, fields=fields
    )


# --- comments ---------------------------------------------------------------------------


def add_comment(
    session: Session,
    *,
    actor: Agent,
    number: str,
    body: str,
    internal: bool,
    followups: Followups,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Comment:
    now = now or utcnow()
    body = _comment_body(body)
    ticket = lock_ticket(session, number)
    if expected_version is not None and ticket.version != expected_version:
        info = describe_conflict(session, ticket.id, ticket.number, expected_version, ticket.version)  # type: ignore[arg-type]
        raise Conflict(info.message, numbers=[ticket.number])
    before = sla_clocks.Before.of(ticket)
    comment, changes = stage_comment(
        session, actor=actor, ticket=ticket, body=body, internal=internal, now=now, followups=followups
    )
    changes += [
        Change(name, _fmt(was), _fmt(due)) for name, was, due in sla_clocks.after_change(session, ticket, before, now)
    ]
    _save_tickets(session, [ticket])
    _write_events(session, _event_rows(ticket, actor, now, changes))
    followups.changed(session, [ticket.id], "updated" if internal else "replied", now, depth=0)  # type: ignore[list-item]
    return comment


def _comment_body(body: str) -> str:
    try:
        body = text.validate_body(body, "body")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if not body.strip():
        raise InvalidInput("body must not be empty")
    return body


def stage_comment(
    session: Session, *, actor: Agent, ticket: Ticket, body: str, internal: bool, now: datetime, followups: Followups
) -> tuple[Comment, list[Change]]:
    """Add a comment to `ticket` and apply what it implies (first response, new -> open),
    without flushing; returns it and the changes for the caller's events."""
    kind = CommentKind.INTERNAL if internal else CommentKind.PUBLIC
    comment = Comment(ticket_id=ticket.id, kind=kind.value, author_id=actor.id, body=body, created_at=now)  # type: ignore[arg-type]
    session.add(comment)
    changes = [Change("comment", None, kind.value, EventKind.COMMENTED)]
    if kind == CommentKind.PUBLIC:
        if ticket.first_responded_at is None:
            changes.append(Change("first_responded_at", None, _fmt(now)))
            ticket.first_responded_at = now
        implied = workflow.status_after_public_reply(Status(ticket.status))
        if implied is not None:
            changes.append(Change("status", ticket.status, implied.value))
            ticket.status = implied.value
            ticket.status_changed_at = now
        followups.public_reply(session, ticket, comment, now)  # its mail, written with the comment
    ticket.updated_at = now
    return comment, changes


# --- links and merge ---------------------------------------------------------------------------


def link_tickets(
    session: Session, *, actor: Agent, number: str, other: str, kind: str, now: datetime | None = None
) -> None:
    now = now or utcnow()
    try:
        link_kind = parse_enum(LinkKind, kind, "link kind")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if number.strip() == other.strip():
        raise InvalidInput(f"ticket {number} cannot be linked to itself")
    ticket, target = load_tickets(session, [number, other])
    ours, theirs = _add_link(session, actor=actor, ticket=ticket, target=target, kind=link_kind, now=now)
    session.flush()
    _write_events(session, _event_rows(ticket, actor, now, [ours]) + _event_rows(target, actor, now, [theirs]))


LINK_LABELS: dict[LinkKind, tuple[str, str]] = {
    # kind: (as seen from the ticket, as seen from the other one)
    LinkKind.RELATED: ("related", "related"),
    LinkKind.DUPLICATE: ("duplicate-of", "duplicated-by"),
    LinkKind.PARENT: ("parent-of", "child-of"),
}


def _add_link(
    session: Session, *, actor: Agent, ticket: Ticket, target: Ticket, kind: LinkKind, now: datetime
) -> tuple[Change, Change]:
    """Add the link row and touch both tickets; returns the event of each side for the caller
    to write after its single flush. `related` reads the same from both ends."""
    existing = session.execute(
        select(TicketLink.ticket_id, TicketLink.kind).where(
            ((TicketLink.ticket_id == ticket.id) & (TicketLink.other_id == target.id))  # type: ignore[arg-type]
            | ((TicketLink.ticket_id == target.id) & (TicketLink.other_id == ticket.id))  # type: ignore[arg-type]
        )
    ).all()
    for from_id, existing_kind in existing:
        if existing_kind != kind.value:
            continue
        if from_id == ticket.id or kind == LinkKind.RELATED:
            raise InvalidInput(f"ticket {ticket.number} is already linked to {target.number} as {kind.value}")
        raise InvalidInput(
            f"ticket {target.number} is already {LINK_LABELS[kind][0]} {ticket.number}: the link would loop"
        )
    session.add(
        TicketLink(
            ticket_id=ticket.id,  # type: ignore[arg-type]
            other_id=target.id,  # type: ignore[arg-type]
            kind=kind.value,
            created_by_id=actor.id,
            created_at=now,
        )
    )
    label, back = LINK_LABELS[kind]
    ticket.updated_at = now
    target.updated_at = now
    return Change(label, None, target.number, EventKind.LINKED), Change(back, None, ticket.number, EventKind.LINKED)


def merge_tickets(session: Session, *, actor: Agent, duplicate: str, into: str, now: datetime | None = None) -> None:
    """Close `duplicate` as a duplicate of `into`: linked, tags carried over, its
    conversation kept (shown on `into` too), a note on the surviving ticket."""
    now = now or utcnow()
    if duplicate.strip() == into.strip():
        raise InvalidInput(f"ticket {duplicate} cannot be merged into itself")
    dup, target = load_tickets(session, [duplicate, into])
    if dup.merged_into_id is not None:
        raise InvalidInput(f"ticket {dup.number} is already merged")
    if target.status == Status.CLOSED.value or target.merged_into_id is not None:
        raise InvalidInput(f"ticket {target.number} is closed: reopen it before merging into it")
    if dup.status == Status.CLOSED.value:
        raise InvalidInput(f"ticket {dup.number} is closed: reopen it before merging it")
    note = f"Merged into {target.number}: {target.subject}"
    try:
        plan = workflow.plan_transition(
            workflow.TicketState(dup.number, Status(dup.status), Priority(dup.priority), bool(dup.resolution)),
            Status.CLOSED,
            actor_role=Role(actor.role),
            note=note,
            now=now,
        )
    except workflow.TransitionError as exc:
        raise InvalidInput(str(exc)) from None
    tags = _current_tags(session, [dup.id, target.id])  # type: ignore[list-item]
    missing_tags = sorted(tags[dup.id] - tags[target.id])  # type: ignore[index]

    with session.no_autoflush:  # one UPDATE per ticket: version bumps once
        already = session.execute(  # flagged as a suspected duplicate on create: the merge completes it
            select(TicketLink.id).where(
                TicketLink.ticket_id == dup.id,  # type: ignore[arg-type]
                TicketLink.other_id == target.id,  # type: ignore[arg-type]
                TicketLink.kind == LinkKind.DUPLICATE.value,  # type: ignore[arg-type]
            )
        ).first()
        links = (
            []
            if already
            else list(_add_link(session, actor=actor, ticket=dup, target=target, kind=LinkKind.DUPLICATE, now=now))
        )
        dup_changes = [Change("status", dup.status, plan.status.value)]
        dup.status = plan.status.value
        for name, value in plan.set_timestamps.items():
            if name != "status_changed_at":
                dup_changes.append(Change(name, _fmt(getattr(dup, name)), _fmt(value)))
            setattr(dup, name, value)
        if not dup.resolution:
            dup_changes.append(Change("resolution", None, note))
            dup.resolution = note
        dup.merged_into_id = target.id
        dup_changes += [*links[:1], Change("merged_into", None, target.number, EventKind.MERGED)]
        target_changes = [*links[1:], Change("merged_from", None, dup.number, EventKind.MERGED)]
        target_changes.extend(Change("tag", None, t, EventKind.TAGGED) for t in missing_tags)
        target_changes.append(Change("comment", None, CommentKind.INTERNAL.value, EventKind.COMMENTED))
    session.flush()
    _apply_tag_ops(session, [(target.id, missing_tags, [])])  # type: ignore[list-item]
    session.add(
        Comment(
            ticket_id=target.id,  # type: ignore[arg-type]
            kind=CommentKind.INTERNAL.value,
            author_id=actor.id,
            body=f"Merged {dup.number} into this ticket: {dup.subject}",
            created_at=now,
        )
    )
    session.flush()
    _write_events(session, _event_rows(dup, actor, now, dup_changes) + _event_rows(target, actor, now, target_changes))


# --- customers ---------------------------------------------------------------------------


def set_customer_vip(
    session: Session, *, actor: Agent, customer: str, vip: bool, now: datetime | None = None
) -> list[str]:
    """Change a customer's tier (VIP or not): the SLA clocks of their open tickets are
    recomputed, each with its events, in this one transaction. Returns the tickets moved."""
    now = now or utcnow()
    spec = customer.strip().lower()
    with session.no_autoflush:
        found = (
            session.execute(
                select(Customer).where((func.lower(Customer.email) == spec) | (func.lower(Customer.name) == spec))  # type: ignore[arg-type]
            )
            .scalars()
            .all()
        )
    if not found:
        raise NotFound(f"no customer {customer!r} (give an email or an exact name)")
    if len(found) > 1:
        raise InvalidInput(f"{len(found)} customers are called {customer!r}: give the email")
    (who,) = found
    if who.vip == vip:
        return []
    who.vip = vip
    session.flush()
    tickets = list(
        session.execute(
            select(Ticket).where(Ticket.customer_id == who.id, Ticket.status.in_([s.value for s in ACTIVE_STATUSES]))  # type: ignore[arg-type, attr-defined]
        ).scalars()
    )
    pending: list[tuple[Ticket, list[Change]]] = []
    for ticket in tickets:
        moved = sla_clocks.recompute(session, ticket)
        if moved:
            ticket.updated_at = now
            changes = [Change("customer_vip", str(not vip).lower(), str(vip).lower())]
            changes += [Change(name, _fmt(was), _fmt(due)) for name, was, due in moved]
            pending.append((ticket, changes))
    _save_tickets(session, [t for t, _ in pending])
    rows: list[dict] = []
    for ticket, changes in pending:
        rows.extend(_event_rows(ticket, actor, now, changes))
    _write_events(session, rows)
    return [t.number for t, _ in pending]
