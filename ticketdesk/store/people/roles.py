"""Who may do what (least privilege), checked in the store so the CLI and the TUI agree.

    agent    works tickets of their own team; cannot move them to another team
    lead     also closes P0, moves tickets across teams, sets customer tiers (VIP)
    admin    everything, and alone manages agents, SLA, rules and reply templates
    auditor  reads everything (personal data masked) and the audit log; changes nothing

A refusal is a Forbidden; Store._write records it in the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlmodel import Session, col

from ticketdesk.models import Agent, Role, Team, Ticket
from ticketdesk.models.enums import Priority, Status
from ticketdesk.rules.workflow import P0_CLOSERS
from ticketdesk.store.db.errors import Forbidden
from ticketdesk.store.db.in_list import any_of, chunked

#: Roles that move tickets across teams (or to an agent of another team).
CROSS_TEAM_MOVERS = frozenset({Role.LEAD, Role.ADMIN})
#: Roles that change a customer's tier (it moves SLA commitments).
TIER_SETTERS = frozenset({Role.LEAD, Role.ADMIN})
#: Roles that manage agents, SLA, rules and reply templates.
ADMINS = frozenset({Role.ADMIN})
#: Roles that read the audit log.
AUDIT_READERS = frozenset({Role.ADMIN, Role.AUDITOR})
#: Roles that may ask for one ticket's personal data in clear (audited).
UNMASKERS = frozenset({Role.AGENT, Role.LEAD, Role.ADMIN})


def role_of(agent: Agent) -> Role:
    return Role(agent.role)


def require_writer(actor: Agent) -> None:
    if role_of(actor) == Role.AUDITOR:
        raise Forbidden(f"auditor {actor.login} may read but not change anything")


def require(actor: Agent, roles: frozenset[Role], what: str) -> None:
    if role_of(actor) not in roles:
        names = [f"an {r.value}" if r.value[0] in "aeiou" else f"a {r.value}" for r in _ordered(roles)]
        who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        raise Forbidden(f"only {who} may {what} ({actor.login} is {actor.role})")


def _ordered(roles: frozenset[Role]) -> list[Role]:
    order = [Role.AGENT, Role.LEAD, Role.ADMIN, Role.AUDITOR]
    return [r for r in order if r in roles]


def _tickets(session: Session, numbers: Sequence[str]) -> list[Row[Any]]:
    wanted = sorted({n.strip() for n in numbers})
    rows: list[Row[Any]] = []
    for chunk in chunked(session, wanted):
        rows += session.execute(
            select(col(Ticket.number), col(Ticket.team_id), col(Ticket.priority), col(Ticket.status)).where(
                any_of(session, col(Ticket.number), chunk)
            )
        ).all()
    return rows


def _team_key(session: Session, team_id: int | None) -> str:
    if team_id is None:
        return "no team"
    team = session.get(Team, team_id)
    assert team is not None  # team_id is a foreign key
    return team.key


def check_ticket_changes(
    session: Session,
    actor: Agent,
    numbers: Sequence[str],
    *,
    status: str | None = None,
    priority: str | None = None,
    team: str | None = None,
    assignee: str | None = None,
) -> None:
    """Refuse, before anything is written, a change the actor's role does not allow:
    closing a P0 (leads and admins), moving a ticket to another team or to an agent of
    another team (leads and admins; agents move tickets within their own team)."""
    role = role_of(actor)
    closing = (status or "").strip().lower() == Status.CLOSED.value
    check_close = closing and role not in P0_CLOSERS
    check_move = role not in CROSS_TEAM_MOVERS and (team is not None or assignee is not None)
    if not (check_close or check_move):
        return
    from ticketdesk.store.tickets.lookups import resolve_assignee, resolve_team

    new_team = resolve_team(session, team) if team else None
    new_assignee = resolve_assignee(session, assignee, actor) if assignee is not None else None
    new_priority = (priority or "").strip().upper() or None
    for t in _tickets(session, numbers):
        if check_close and t.status != Status.CLOSED.value and (new_priority or t.priority) == Priority.P0.value:
            raise Forbidden(f"ticket {t.number} is P0: only a team lead or admin may close it")
        if not check_move:
            continue
        ends_in = t.team_id
        if new_team is not None and new_team.id != t.team_id:
            if t.team_id is not None or new_team.id != actor.team_id:
                raise Forbidden(
                    f"{actor.login} ({actor.role}) may only move tickets within their own team: moving"
                    f" {t.number} from {_team_key(session, t.team_id)} to {new_team.key} needs a team lead"
                    " (or escalate it)"
                )
            ends_in = new_team.id
        if new_assignee is not None and new_assignee.team_id is not None:
            home = ends_in if ends_in is not None else actor.team_id
            if new_assignee.team_id != home:
                raise Forbidden(
                    f"{actor.login} ({actor.role}) may only move tickets within their own team: giving"
                    f" {t.number} ({_team_key(session, ends_in)}) to {new_assignee.login} of team"
                    f" {_team_key(session, new_assignee.team_id)} needs a team lead (or escalate it)"
                )


def check_closing(session: Session, actor: Agent, numbers: Sequence[str]) -> None:
    """Closing these tickets (a merge, a closing template) is refused on a P0 for agents."""
    check_ticket_changes(session, actor, numbers, status=Status.CLOSED.value)


def admin_count(session: Session) -> int:
    """Active admins, locked (on PostgreSQL) so two admins cannot demote each other at once."""
    ids = session.execute(
        select(col(Agent.id)).where(col(Agent.role) == Role.ADMIN.value, col(Agent.active) == True).with_for_update()  # noqa: E712
    ).all()
    return len(ids)
