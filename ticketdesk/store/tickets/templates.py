"""Reply templates (macros): stored, listed, edited, previewed and applied.

Applying a template renders its body for each ticket (rules/templates.py) and hands the
replies and the template's field changes to `update_tickets`, so every ticket gets its
reply, its changes and their events in the caller's one transaction with one version bump.
Everything is rendered before anything is written: one ticket whose rendering fails stops
the whole batch. Only admins manage templates; every agent may apply them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from ticketdesk.models import Agent, Customer, Priority, ReplyTemplate, Role, Status, Team, Ticket
from ticketdesk.models.clock import utcnow
from ticketdesk.models.enums import parse_enum
from ticketdesk.rules import templates as rules
from ticketdesk.rules import text
from ticketdesk.store.db.errors import Forbidden, InvalidInput, NotFound
from ticketdesk.store.db.in_list import any_of, chunked
from ticketdesk.store.readmodels import TemplateInfo, UpdateResult
from ticketdesk.store.tickets.followups import Followups
from ticketdesk.store.tickets.lookups import id_of, load_tickets, lock_ticket
from ticketdesk.store.tickets.tags import current_tags
from ticketdesk.store.tickets.update import TicketChanges, update_tickets

#: Roles that may add, edit and remove templates (they are shared by the whole desk).
MANAGERS = frozenset({Role.ADMIN})
#: The word that clears a template's status or priority in an edit.
CLEAR = "none"


@dataclass(frozen=True)
class TemplateSpec:
    """A new template. `sets_status` / `sets_priority` / `add_tags` are applied with the reply."""

    name: str
    body: str
    sets_status: str | None = None
    sets_priority: str | None = None
    add_tags: tuple[str, ...] = ()
    internal: bool = False


@dataclass(frozen=True)
class TemplateEdit:
    """Changes to a template; None leaves a field as it is. `sets_status` / `sets_priority`
    of "none" clear it; `add_tags` replaces the list (an empty tuple clears it)."""

    name: str | None = None
    body: str | None = None
    sets_status: str | None = None
    sets_priority: str | None = None
    add_tags: tuple[str, ...] | None = None
    internal: bool | None = None

    @property
    def is_empty(self) -> bool:
        return all(value is None for value in vars(self).values())


# --- defaults ---------------------------------------------------------------------------

DEFAULT_TEMPLATES: list[TemplateSpec] = [
    TemplateSpec(
        name="Acknowledge",
        body=(
            "Hello {{ customer_name or 'there' }},\n\n"
            'thank you for contacting us. We have logged your request "{{ subject }}" as ticket'
            " {{ ticket_number }}{% if team %} with {{ team }}{% endif %} and are looking into it."
            "{% if resolution_due %} We aim to have it solved by {{ resolution_due }}.{% endif %}\n\n"
            "Best regards,\n{{ agent_name }}\n"
        ),
    ),
    TemplateSpec(
        name="Need more info",
        body=(
            "Hello {{ customer_name or 'there' }},\n\n"
            'to continue with ticket {{ ticket_number }} ("{{ subject }}") we need a few more details:'
            " what you were doing when the problem appeared, any error message exactly as shown, and"
            " a screenshot if you can. We will pick the ticket up again as soon as you reply.\n\n"
            "Best regards,\n{{ agent_name }}\n"
        ),
        sets_status="pending",
    ),
    TemplateSpec(
        # Resolving needs a resolution note: the rendered reply is recorded as the resolution.
        name="Resolved - please confirm",
        body=(
            "Hello {{ customer_name or 'there' }},\n\n"
            'we believe ticket {{ ticket_number }} ("{{ subject }}") is now solved. If anything is'
            " still not working, just reply and we will reopen it.\n\n"
            "Best regards,\n{{ agent_name }}\n"
        ),
        sets_status="resolved",
    ),
    TemplateSpec(
        name="Escalated to L2",
        body=(
            "Escalated to L2 by {{ agent_name }} on {{ today }}.\n"
            "Ticket {{ ticket_number }}: {{ subject }}\n"
            "Priority {{ priority }}, status {{ status }}"
            "{% if resolution_due %}, resolution due {{ resolution_due }}{% endif %}.\n"
            "Customer: {{ customer_name or '-' }}{% if customer_email %} <{{ customer_email }}>{% endif %}\n"
        ),
        add_tags=("escalated",),
        internal=True,
    ),
    TemplateSpec(
        # Closing needs a resolution note: the rendered reply is recorded as the resolution.
        name="Closing - no response",
        body=(
            "Hello {{ customer_name or 'there' }},\n\n"
            'we have not heard back from you about ticket {{ ticket_number }} ("{{ subject }}"), so we'
            " are closing it now. If you still need help, just contact us and mention"
            " {{ ticket_number }}.\n\n"
            "Best regards,\n{{ agent_name }}\n"
        ),
        sets_status="closed",
    ),
    TemplateSpec(
        # For resolved tickets: asks for the five CSAT scores (recorded with `ticketdesk survey`).
        name="Survey request",
        body=(
            "Hello {{ customer_name or 'there' }},\n\n"
            'ticket {{ ticket_number }} ("{{ subject }}") has been resolved. Would you tell us how we'
            " did? Please reply with a score from 1 (poor) to 5 (excellent) for each of:\n\n"
            "- response speed:\n"
            "- resolution efficiency:\n"
            "- attitude:\n"
            "- effectiveness:\n"
            "- overall:\n\n"
            "and any comment you would like to add. It takes a minute and helps us improve.\n\n"
            "Best regards,\n{{ agent_name }}\n"
        ),
        add_tags=("survey-sent",),
    ),
]


def seed_templates(session: Session, *, now: datetime | None = None) -> list[str]:
    """Add the default templates to a desk that has none (so a removed default stays removed)."""
    if session.execute(select(col(ReplyTemplate.id)).limit(1)).first():
        return []
    now = now or utcnow()
    for spec in DEFAULT_TEMPLATES:
        session.add(_new_row(spec, created_by_id=None, now=now))
    session.flush()
    return [f"reply template {spec.name!r}" for spec in DEFAULT_TEMPLATES]


# --- CRUD ---------------------------------------------------------------------------


def add_template(session: Session, *, actor: Agent, spec: TemplateSpec, now: datetime | None = None) -> TemplateInfo:
    _require_manager(actor, "add")
    row = _new_row(spec, created_by_id=actor.id, now=now or utcnow())
    existing = _lookup(session, row.key)
    if existing is not None:
        raise InvalidInput(f"a reply template named {existing.name!r} already exists")
    session.add(row)
    session.flush()
    return _info(session, row)


def list_templates(session: Session) -> list[TemplateInfo]:
    rows = session.scalars(select(ReplyTemplate).order_by(col(ReplyTemplate.key))).all()
    logins = _logins(session, {r.created_by_id for r in rows if r.created_by_id is not None})
    return [_info(session, r, logins) for r in rows]


def get_template(session: Session, name: str) -> TemplateInfo:
    return _info(session, _find(session, name))


def edit_template(
    session: Session, *, actor: Agent, name: str, edit: TemplateEdit, now: datetime | None = None
) -> TemplateInfo:
    _require_manager(actor, "edit")
    if edit.is_empty:
        raise InvalidInput("nothing to change: give a new body, status, priority, tags, kind or name")
    row = _find(session, name)
    if edit.name is not None:
        new_name = _valid_name(edit.name)
        new_key = rules.template_key(new_name)
        other = _lookup(session, new_key)
        if other is not None and other.id != row.id:
            raise InvalidInput(f"a reply template named {other.name!r} already exists")
        row.name, row.key = new_name, new_key
    if edit.body is not None:
        row.body = _valid_body(row.name, edit.body)
    if edit.sets_status is not None:
        row.sets_status = None if _is_clear(edit.sets_status) else _valid_status(edit.sets_status)
    if edit.sets_priority is not None:
        row.sets_priority = None if _is_clear(edit.sets_priority) else _valid_priority(edit.sets_priority)
    if edit.add_tags is not None:
        row.add_tags = _valid_tags(edit.add_tags)
    if edit.internal is not None:
        row.internal = edit.internal
    row.updated_at = now or utcnow()
    session.flush()
    return _info(session, row)


def remove_template(session: Session, *, actor: Agent, name: str) -> None:
    _require_manager(actor, "remove")
    session.delete(_find(session, name))
    session.flush()


# --- preview and apply ---------------------------------------------------------------------------


def preview_template(
    session: Session,
    *,
    actor: Agent,
    number: str,
    name: str,
    answers: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> str:
    """The reply the template would add to ticket `number`; nothing is written."""
    template = _find(session, name)
    ticket = lock_ticket(session, number)
    context = _contexts(session, actor, [ticket], now or utcnow())[id_of(ticket)]
    return _render(template, ticket, context, answers or {})


def template_prompts(session: Session, *, name: str) -> list[str]:
    """What the template asks for before it can be sent (rules.templates.prompts)."""
    template = _find(session, name)
    try:
        return rules.prompts(template.name, template.body)
    except rules.TemplateError as exc:
        raise InvalidInput(str(exc)) from None


def template_changes(session: Session, *, numbers: Sequence[str], name: str) -> list[tuple[str, list[str]]]:
    """What applying the template changes on each ticket besides the reply, as people say
    it: `status in_progress → pending`, `priority P2 → P1`, `tags +waiting`."""
    template = _find(session, name)
    tickets = load_tickets(session, numbers)
    tags = current_tags(session, [id_of(t) for t in tickets])
    wanted = _split_tags(template.add_tags)
    plan = []
    for t in tickets:
        said = []
        if template.sets_status and template.sets_status != t.status:
            said.append(f"status {t.status} → {template.sets_status}")
        if template.sets_priority and template.sets_priority != t.priority:
            said.append(f"priority {t.priority} → {template.sets_priority}")
        added = [tag for tag in wanted if tag not in tags.get(id_of(t), set())]
        if added:
            said.append("tags " + " ".join(f"+{tag}" for tag in added))
        plan.append((t.number, said))
    return plan


def apply_template(
    session: Session,
    *,
    actor: Agent,
    numbers: Sequence[str],
    name: str,
    followups: Followups,
    expected_versions: Mapping[str, int] | None = None,
    skip_conflicts: bool = False,
    internal: bool | None = None,
    answers: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> UpdateResult:
    """Reply to each ticket with the template rendered for it and apply the template's
    status, priority and tags; all in the caller's transaction. `internal` overrides the
    template's kind (True: a note instead of a public reply)."""
    now = now or utcnow()
    if not numbers:
        raise InvalidInput("no ticket numbers given")
    template = _find(session, name)
    tickets = load_tickets(session, numbers)
    contexts = _contexts(session, actor, tickets, now)
    replies = {t.number: _render(template, t, contexts[id_of(t)], answers or {}) for t in tickets}
    changes = TicketChanges(
        status=template.sets_status,
        priority=template.sets_priority,
        add_tags=tuple(_split_tags(template.add_tags)),
    )
    return update_tickets(
        session,
        actor=actor,
        numbers=[t.number for t in tickets],
        changes=changes,
        expected_versions=expected_versions,
        skip_conflicts=skip_conflicts,
        replies=replies,
        replies_internal=template.internal if internal is None else internal,
        now=now,
        followups=followups,
    )


def _render(template: ReplyTemplate, ticket: Ticket, context: dict[str, str], answers: Mapping[str, str]) -> str:
    try:
        rendered = rules.render(template.name, template.body, rules.with_answers(context, answers))
    except rules.TemplateError as exc:
        raise InvalidInput(f"ticket {ticket.number}: {exc}") from None
    if not rendered.strip():
        raise InvalidInput(f"ticket {ticket.number}: template {template.name!r} renders an empty reply")
    return rendered


def _contexts(session: Session, actor: Agent, tickets: Sequence[Ticket], now: datetime) -> dict[int, dict[str, str]]:
    """The placeholder values of each ticket, by ticket id (two lookups for the whole batch)."""
    customer_ids = sorted({t.customer_id for t in tickets if t.customer_id is not None})
    customers: dict[int, tuple[str, str | None]] = {}
    for chunk in chunked(session, customer_ids):
        for cid, cname, email in session.execute(
            select(col(Customer.id), col(Customer.name), col(Customer.email)).where(
                any_of(session, col(Customer.id), chunk)
            )
        ):
            customers[cid] = (cname, email)
    teams: dict[int, str] = {team_id: name for team_id, name in session.execute(select(col(Team.id), col(Team.name)))}
    result: dict[int, dict[str, str]] = {}
    for t in tickets:
        cname, email = customers.get(t.customer_id, (None, None)) if t.customer_id is not None else (None, None)
        result[id_of(t)] = rules.build_context(
            ticket_number=t.number,
            subject=t.subject,
            priority=t.priority,
            status=t.status,
            now=now,
            customer_name=cname,
            customer_email=email,
            agent_name=actor.display_name,
            agent_login=actor.login,
            team=teams.get(t.team_id) if t.team_id is not None else None,
            first_response_due=t.first_response_due,
            resolution_due=t.resolution_due,
        )
    return result


# --- validation and lookups ---------------------------------------------------------------------------


def _require_manager(actor: Agent, verb: str) -> None:
    if Role(actor.role) not in MANAGERS:
        raise Forbidden(f"only an admin may {verb} reply templates ({actor.login} is {actor.role})")


def _new_row(spec: TemplateSpec, *, created_by_id: int | None, now: datetime) -> ReplyTemplate:
    name = _valid_name(spec.name)
    return ReplyTemplate(
        key=rules.template_key(name),
        name=name,
        body=_valid_body(name, spec.body),
        sets_status=_valid_status(spec.sets_status) if spec.sets_status else None,
        sets_priority=_valid_priority(spec.sets_priority) if spec.sets_priority else None,
        add_tags=_valid_tags(spec.add_tags),
        internal=spec.internal,
        created_at=now,
        updated_at=now,
        created_by_id=created_by_id,
    )


def _valid_name(name: str) -> str:
    try:
        return rules.validate_name(name)
    except rules.TemplateError as exc:
        raise InvalidInput(str(exc)) from None


def _valid_body(name: str, body: str) -> str:
    try:
        return rules.validate(name, body)
    except rules.TemplateError as exc:
        raise InvalidInput(str(exc)) from None


def _valid_status(value: str) -> str:
    try:
        status = parse_enum(Status, value, "status")
    except ValueError as exc:
        raise InvalidInput(f"template status: {exc}") from None
    if status == Status.NEW:
        raise InvalidInput("a template cannot set status new (nothing returns to new)")
    return status.value


def _valid_priority(value: str) -> str:
    try:
        return parse_enum(Priority, value, "priority").value
    except ValueError as exc:
        raise InvalidInput(f"template priority: {exc}") from None


def _valid_tags(tags: Sequence[str]) -> str:
    try:
        joined = ",".join(sorted({text.validate_tag(t) for t in tags if t.strip()}))
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if len(joined) > 1000:
        raise InvalidInput("a template adds too many tags (at most 1000 characters together)")
    return joined


def _is_clear(value: str) -> bool:
    return value.strip().lower() in (CLEAR, "")


def _split_tags(value: str) -> list[str]:
    return [t for t in value.split(",") if t]


def _lookup(session: Session, key: str) -> ReplyTemplate | None:
    return session.scalars(select(ReplyTemplate).where(col(ReplyTemplate.key) == key)).one_or_none()


def _find(session: Session, name: str) -> ReplyTemplate:
    row = _lookup(session, rules.template_key(name or ""))
    if row is None:
        names = session.scalars(select(col(ReplyTemplate.name)).order_by(col(ReplyTemplate.key)))
        known = ", ".join(repr(n) for n in names)
        raise NotFound(f"no reply template named {name!r}" + (f" (known: {known})" if known else ""))
    return row


def _logins(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(col(Agent.id), col(Agent.login)).where(col(Agent.id).in_(ids)))
    return {agent_id: login for agent_id, login in rows}


def _info(session: Session, row: ReplyTemplate, logins: dict[int, str] | None = None) -> TemplateInfo:
    if logins is None:
        logins = _logins(session, {row.created_by_id} if row.created_by_id is not None else set())
    return TemplateInfo(
        name=row.name,
        body=row.body,
        sets_status=row.sets_status,
        sets_priority=row.sets_priority,
        add_tags=tuple(_split_tags(row.add_tags)),
        internal=row.internal,
        created_by=logins.get(row.created_by_id) if row.created_by_id is not None else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
