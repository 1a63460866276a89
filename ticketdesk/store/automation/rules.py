"""Escalation and automations, applied in the transaction of the change that triggers them
(rules in rules/automation.py; routing a new ticket is store/automation/routing.py).

Every automatic decision is an event naming the rule that made it; automatic changes are
made by the `system` agent. A rule fires at most once per occurrence: the (rule, ticket,
occurrence) row in `rule_firing` is claimed in the same transaction as its actions, and
a second claimant (another sweep, another host) finds it taken and does nothing. Changes
made by automations trigger "updated" rules again, at most MAX_CHAIN_DEPTH deep.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from ticketdesk.models import (
    Agent,
    Customer,
    Organisation,
    Role,
    RuleFiring,
    SupportLevel,
    Team,
    Ticket,
)
from ticketdesk.rules import automation as rules_automation
from ticketdesk.rules.automation import MAX_CHAIN_DEPTH, AutomationRule
from ticketdesk.rules.routing import TicketFacts
from ticketdesk.store.automation.routing import document, pick_in_team, system_agent
from ticketdesk.store.db.errors import InvalidInput
from ticketdesk.store.db.tables import table_of

if TYPE_CHECKING:
    from ticketdesk.store.tickets.followups import Followups


_RULE_FIRING = table_of(RuleFiring)


def claim(session: Session, rule: str, ticket_id: int, occurrence: str, now: datetime) -> bool:
    """Record that `rule` fired on the ticket for `occurrence`; False if it already had."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(_RULE_FIRING)
        .values(rule=rule[:120], ticket_id=ticket_id, occurrence=occurrence[:200], fired_at=now)
        .on_conflict_do_nothing(index_elements=["rule", "ticket_id", "occurrence"])
        .returning(_RULE_FIRING.c.id)  # a row back only if this claim inserted it (rowcount is unreliable here)
    )
    return session.connection().execute(stmt).first() is not None


# --- facts -----------------------------------------------------------------------------


def facts_for(session: Session, ticket_ids: Sequence[int], now: datetime) -> dict[int, TicketFacts]:
    """What rules may look at, for each ticket (one query for the rows, one for the rest)."""
    from ticketdesk.store.tickets.pages import rows_by_id

    if not ticket_ids:
        return {}
    rows = {r.id: r for r in rows_by_id(session, list(ticket_ids), now=now)}
    extra = session.execute(
        select(
            col(Ticket.id),
            col(Ticket.description),
            col(Ticket.category),
            col(Ticket.support_level),
            col(Ticket.status_changed_at),
            col(Ticket.last_customer_reply_at),
            col(Customer.vip),
            col(Organisation.name).label("organisation"),
        )
        .select_from(Ticket)
        .join(Customer, col(Customer.id) == Ticket.customer_id, isouter=True)
        .join(Organisation, col(Organisation.id) == Customer.organisation_id, isouter=True)
        .where(col(Ticket.id).in_(list(ticket_ids)))
    ).all()
    result: dict[int, TicketFacts] = {}
    for e in extra:
        r = rows.get(e.id)
        if r is None:
            continue
        result[e.id] = TicketFacts(
            number=r.number,
            subject=r.subject,
            description=e.description or "",
            type=r.type,
            category=e.category,
            priority=r.priority,
            status=r.status,
            channel=r.channel,
            team=r.team,
            assignee=r.assignee,
            support_level=e.support_level,
            tags=frozenset(r.tags),
            customer_vip=bool(e.vip),
            organisation=e.organisation,
            created_at=r.created_at,
            updated_at=r.updated_at,
            status_changed_at=e.status_changed_at,
            last_customer_reply_at=e.last_customer_reply_at,
            sla_state=r.sla_state,
        )
    return result


# --- automations on events -------------------------------------------------------------------


def fire(
    session: Session, ticket_ids: Sequence[int], trigger: str, now: datetime, *, followups: Followups, depth: int = 0
) -> int:
    """Run the active `trigger` rules on the tickets; returns how many rules fired. The
    changes they make are ticket changes like any other: `followups` runs after them
    (more rules, at most MAX_CHAIN_DEPTH deep; the mail of a public reply)."""
    if depth >= MAX_CHAIN_DEPTH or not ticket_ids:
        return 0
    rules = rules_automation.applicable(document(session).automation, trigger)
    if not rules:
        return 0
    fired = 0
    for ticket_id, facts in facts_for(session, ticket_ids, now).items():
        version = session.scalars(select(col(Ticket.version)).where(col(Ticket.id) == ticket_id)).one()
        for rule in rules:
            if not rules_automation.matches(rule, facts, now):
                continue
            marker = f"{trigger}@v{version}" if trigger != "time" else None
            occurrence = rules_automation.occurrence(rule, facts, event_marker=marker)
            if not claim(session, f"automation:{rule.name}", ticket_id, occurrence, now):
                continue
            run_actions(session, rule, facts.number, now, followups=followups, depth=depth)
            fired += 1
            facts = facts_for(session, [ticket_id], now).get(ticket_id, facts)  # later rules see the changes
    return fired


def run_actions(
    session: Session, rule: AutomationRule, number: str, now: datetime, *, followups: Followups, depth: int
) -> None:
    """Apply a rule's actions to one ticket as the system agent, naming the rule."""
    from ticketdesk.store.tickets import templates
    from ticketdesk.store.tickets.update import TicketChanges, update_tickets

    actor = system_agent(session)
    cause = f"rule {rule.name!r}"
    changes: dict[str, str | None] = {}
    add_tags: list[str] = []
    remove_tags: list[str] = []
    notes: list[str] = []
    for action in rule.actions:
        if action.action == "set":
            changes[_given(action.field, "set", "field")] = action.value
        elif action.action == "assign":
            if action.assigns_by_strategy:
                changes["assignee"] = _strategy_assignee(session, number, _given(action.to, "assign", "to"), now)
            else:
                changes["assignee"] = action.to
        elif action.action == "add_tag":
            add_tags.append(_given(action.tag, "add_tag", "tag"))
        elif action.action == "remove_tag":
            remove_tags.append(_given(action.tag, "remove_tag", "tag"))
        elif action.action == "note":
            notes.append(action.text or "")
        elif action.action == "close":
            changes["status"] = "closed"
            notes.append(action.note or f"closed by {cause}")
        elif action.action == "escalate":
            escalate(session, actor=actor, number=number, kind=action.kind or "technical",
                     reason=action.reason or cause, now=now, cause=cause, followups=followups, depth=depth)  # fmt: skip
        elif action.action == "template":
            name = _given(action.name, "template", "name")
            templates.apply_template(session, actor=actor, numbers=[number], name=name, now=now, followups=followups)
    if changes.get("assignee") is None:
        changes.pop("assignee", None)
    ticket_changes = TicketChanges(
        **changes, add_tags=tuple(add_tags), remove_tags=tuple(remove_tags), note="\n".join(notes) or None
    )
    if not ticket_changes.is_empty:
        update_tickets(session, actor=actor, numbers=[number], changes=ticket_changes, now=now,
                       cause=cause, followups=followups, depth=depth + 1)  # fmt: skip


def _given(value: str | None, action: str, key: str) -> str:
    """A key the rules document requires of this kind of action (rules/automation.py
    `Action.from_dict` refuses an action without it)."""
    if value is None:
        raise InvalidInput(f"a {action} action needs {key}")
    return value


def _strategy_assignee(session: Session, number: str, strategy: str, now: datetime) -> str | None:
    with session.no_autoflush:
        ticket = session.scalars(select(Ticket).where(col(Ticket.number) == number)).one()
        team = session.get(Team, ticket.team_id) if ticket.team_id else None
    if team is None:
        return None
    picked = pick_in_team(session, team, strategy)
    return picked[0].login if picked else None


# --- escalation ----------------------------------------------------------------------------

LEVELS = [lv.value for lv in SupportLevel]


def escalate(
    session: Session,
    *,
    actor: Agent,
    number: str,
    kind: str,
    reason: str,
    now: datetime,
    followups: Followups,
    team: str | None = None,
    cause: str | None = None,
    depth: int = 0,
) -> str:
    """Technical: up one support level (and to `team` if given). Management: the team lead
    is named in an internal note and assigned if nobody holds the ticket. Returns what was done."""
    from ticketdesk.store.tickets.lookups import load_tickets
    from ticketdesk.store.tickets.update import TicketChanges, update_tickets

    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("escalation needs a reason")
    if kind not in ("technical", "management"):
        raise InvalidInput(f"unknown escalation kind {kind!r} (technical or management)")
    (ticket,) = load_tickets(session, [number])
    level = ticket.support_level
    if kind == "technical":
        up = LEVELS[min(LEVELS.index(level) + 1, len(LEVELS) - 1)]
        if up == level and team is None:
            raise InvalidInput(f"ticket {number} is already at {level}: give a team to escalate to")
        done = f"technical {level} → {up}" + (f", team {team}" if team else "")
        # to another team: its people take it up, so an assignee who is not one of them lets go
        unassign = team is not None and not _in_team(session, ticket.assignee_id, team)
        changes = TicketChanges(
            support_level=up, team=team, assignee="none" if unassign else None, note=f"Escalated ({done}): {reason}"
        )
    else:
        lead = _team_lead(session, ticket.team_id)
        if lead is None:
            raise InvalidInput(f"ticket {number} has no team lead to escalate to (set its team first)")
        done = f"management → {lead.login}"
        assign = lead.login if ticket.assignee_id is None else None
        changes = TicketChanges(assignee=assign, note=f"Escalated to {lead.display_name} ({lead.login}): {reason}")
    update_tickets(session, actor=actor, numbers=[number], changes=changes, now=now,
                   cause=cause, escalation=done, followups=followups, depth=depth + 1)  # fmt: skip
    return done


def _in_team(session: Session, agent_id: int | None, team: str) -> bool:
    """Whether the agent (None: nobody, who is in every team) belongs to the team `team`."""
    from ticketdesk.store.tickets.lookups import resolve_team

    if agent_id is None:
        return True
    agent = session.get(Agent, agent_id)
    return agent is not None and agent.team_id == resolve_team(session, team).id


def _team_lead(session: Session, team_id: int | None) -> Agent | None:
    if team_id is None:
        return None
    with session.no_autoflush:
        return session.scalars(
            select(Agent)
            .where(col(Agent.team_id) == team_id, col(Agent.role) == Role.LEAD.value, col(Agent.active).is_(True))
            .order_by(col(Agent.id))
        ).first()
