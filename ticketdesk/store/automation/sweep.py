"""The time-driven work (`ticketdesk sweep`): SLA warnings and breaches, escalation on
breach and on "no update for N hours", time automations, and auto-closing resolved and
long-pending tickets.

It reads only open tickets (plus the resolved ones due to close), decides in Python, and
acts on each ticket that needs something in its own short write transaction. Each action
first claims its (rule, ticket, occurrence) row in `rule_firing`: a second sweep — a
retry, or another host on the same PostgreSQL — finds the claim taken and does nothing,
and an action on a ticket changed meanwhile is refused by its version and tried again on
the next run. So warnings, breaches, escalations and closes happen exactly once.

`catch_up=True` dates each action when it fell due (a breach at the due time, a close
`close_resolved_after_days` after resolving), never before the ticket's last change, as a
sweep running all along would have: for a desk loaded with history (the demo), whose first
sweep would otherwise do a year's work at once and stamp it all "now".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from ticketdesk.models import ACTIVE_STATUSES, Event, EventKind, RuleFiring, Status, Ticket
from ticketdesk.models.clock import utcnow
from ticketdesk.rules import automation as rules_automation
from ticketdesk.rules.automation import AutomationRule
from ticketdesk.rules.routing import TicketFacts
from ticketdesk.rules.rules_document import RulesDocument, SweepSettings
from ticketdesk.rules.sla_policy import SlaPolicy, pauses
from ticketdesk.store.automation import routing
from ticketdesk.store.automation import rules as automation
from ticketdesk.store.db.engine import Database
from ticketdesk.store.db.errors import Conflict, Forbidden, InvalidInput, NotFound
from ticketdesk.store.db.tables import table_of
from ticketdesk.store.sla import clocks as sla
from ticketdesk.store.tickets import status_tally
from ticketdesk.store.tickets.followups import Followups

OPEN = tuple(s.value for s in ACTIVE_STATUSES)
#: open tickets read per query
BATCH = 5000
#: jobs per transaction when catching up
CATCH_UP_JOBS = 500
CLOCKS = (
    ("first_response", "first_response_due", "first_responded_at"),
    ("resolution", "resolution_due", "resolved_at"),
)
_TICKET = table_of(Ticket)
_RULE_FIRING = table_of(RuleFiring)
#: a row of the sweep's own reads of the ticket table (columns read by name)
_TicketRow = Row[*tuple[Any, ...]]


@dataclass
class SweepReport:
    examined: int = 0
    warnings: int = 0
    breaches: int = 0
    escalations: int = 0
    automations: int = 0
    closed: int = 0
    skipped: int = 0  # changed by someone meanwhile, or already done by another sweep
    queries: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in vars(self).items() if k != "notes"} | {"notes": list(self.notes)}


@dataclass(frozen=True)
class _Job:
    """One thing to do to one ticket, once per occurrence."""

    kind: str  # sla_warning, sla_breach, escalate_breach, escalate_stale, close_resolved, close_pending, automation
    ticket_id: int
    number: str
    version: int
    occurrence: str
    detail: str = ""
    rule: AutomationRule | None = None
    #: when a sweep running all along would have done it (not before the ticket's last change)
    fell_due: datetime | None = None


def sweep(db: Database, *, followups: Followups, now: datetime | None = None, catch_up: bool = False) -> SweepReport:
    """One run of the time-driven work; `followups` run after each change it makes (the
    automations it triggers, the mail of the replies it queues: a time automation's
    template, the pending-close reply). `catch_up`: each action dated when it fell due (see
    the module docstring)."""
    now = now or utcnow()
    report = SweepReport()
    with db.read() as session:
        doc = routing.document(session)
        policy = sla.policy(session)
        planned = list(_plan(session, now, doc, policy, report))
        claimed = _claimed(session, planned)
        report.queries += 1
    breached = {(r, t, o.split("@", 1)[0]) for r, t, o in claimed if r in ("sla_breach", "escalate_breach")}
    jobs = [
        job
        for job in planned
        if (_rule(job), job.ticket_id, job.occurrence) not in claimed and not _breached_before(job, breached)
    ]
    if catch_up:  # in the order they fell due, so each ticket's history stays in order
        jobs.sort(key=lambda job: job.fell_due or now)
    ours: dict[int, tuple[int, int]] = {}  # ticket id -> (version planned from, version after our own change)
    acted_at: dict[int, datetime] = {}  # ticket id -> when our last action on it was dated
    # Each job is its own transaction, short, so agents' edits go on meanwhile. Catching up
    # is done before anyone works on the desk, so there a transaction holds many jobs, each
    # in a savepoint: one that fails is undone alone.
    per_transaction = CATCH_UP_JOBS if catch_up else 1
    for start in range(0, len(jobs), per_transaction):
        with db.write() as session:
            for job in jobs[start : start + per_transaction]:
                if (
                    job.kind == "escalate_stale"
                    and job.ticket_id in ours
                    and ours[job.ticket_id][0] != ours[job.ticket_id][1]
                ):
                    continue  # our earlier job in this run updated the ticket: it is no longer without update
                if job.ticket_id in ours and ours[job.ticket_id][0] == job.version:
                    job = replace(job, version=ours[job.ticket_id][1])  # our earlier job changed it, not someone else
                at = now
                if catch_up:  # when it fell due, and not before our own earlier action on the ticket
                    at = max(job.fell_due or now, acted_at.get(job.ticket_id, job.fell_due or now))
                version = _run(session, job, at, doc, report, followups)
                if version is not None:
                    planned_from = ours.get(job.ticket_id, (job.version, job.version))[0]
                    ours[job.ticket_id] = (planned_from, version)
                    acted_at[job.ticket_id] = at
    if not db.is_sqlite:  # the running count of tickets per status, back to a row a status
        with db.write() as session:
            status_tally.fold(session)
    return report


def _run(
    session: Session, job: _Job, at: datetime, doc: RulesDocument, report: SweepReport, followups: Followups
) -> int | None:
    """Claim and do one job in a savepoint; the ticket's version after it, None if it was
    not done (another sweep claimed it, or it failed and was undone, noted in `report`)."""
    try:
        with session.begin_nested():
            if not automation.claim(session, _rule(job), job.ticket_id, job.occurrence, at):
                report.skipped += 1  # another sweep got there first
                return None
            _act(session, job, at, doc, report, followups)
            return int(session.scalars(select(col(Ticket.version)).where(col(Ticket.id) == job.ticket_id)).one())
    except (Conflict, InvalidInput, Forbidden, NotFound) as exc:  # changed meanwhile, nothing to escalate to
        report.skipped += 1
        report.notes.append(f"{job.number}: {job.kind}: {exc}")
    except IntegrityError as exc:  # a concurrent writer won a race on some row: this job, next run
        report.skipped += 1
        report.notes.append(f"{job.number}: {job.kind}: {str(exc.orig).splitlines()[0]}")
    return None


def _rule(job: _Job) -> str:
    return job.kind if job.rule is None else f"automation:{job.rule.name}"


def _breached_before(job: _Job, breached: set[tuple[str, int, str]]) -> bool:
    """A clock breaches (and is escalated for it) once. Resuming from a pause, a reopen or a new
    priority moves the due time of a clock that has already breached; that is still the
    target it missed: no new breach, escalation or warning for it under the new due time."""
    clock = job.occurrence.split("@", 1)[0]
    if job.kind in ("sla_breach", "escalate_breach"):
        return (job.kind, job.ticket_id, clock) in breached
    return job.kind == "sla_warning" and ("sla_breach", job.ticket_id, clock) in breached


def _claimed(session: Session, jobs: list[_Job]) -> set[tuple[str, int, str]]:
    """The (rule, ticket, occurrence) of `jobs` already done: one query per 1,000 tickets, so
    a sweep with nothing new to do opens no write transaction at all."""
    cache: set[tuple[str, int, str]] | None = session.info.get("sweep_claimed")
    if cache is None:
        table = _RULE_FIRING  # short, for the query below
        ids = sorted({j.ticket_id for j in jobs})
        cache = set()
        for start in range(0, len(ids), 1000):
            rows = session.execute(
                select(table.c.rule, table.c.ticket_id, table.c.occurrence).where(
                    table.c.ticket_id.in_(ids[start : start + 1000])
                )
            ).all()
            cache.update((r.rule, r.ticket_id, r.occurrence) for r in rows)
        session.info["sweep_claimed"] = cache
    return cache


def _open_rows(session: Session, report: SweepReport) -> Sequence[_TicketRow]:
    """Every open ticket's clock and rule columns in one read (an index range per open
    status; tens of thousands of small rows, no sort)."""
    t = _TICKET
    rows = session.execute(
        select(
            t.c.id, t.c.number, t.c.version, t.c.status, t.c.team_id, t.c.updated_at, t.c.status_changed_at,
            t.c.first_response_due, t.c.first_responded_at, t.c.resolution_due, t.c.resolved_at,
            t.c.sla_paused_at, t.c.last_customer_reply_at, t.c.created_at, t.c.subject, t.c.type, t.c.category,
            t.c.priority, t.c.channel, t.c.assignee_id, t.c.support_level, t.c.customer_id,
        ).where(t.c.status.in_(OPEN))
    ).all()  # fmt: skip
    report.queries += 1
    return rows


def _lean_facts(
    session: Session, rows: Sequence[_TicketRow], used: set[str], now: datetime, warning: timedelta
) -> list[TicketFacts]:
    """What time rules look at, built from the sweep's own read plus small lookups; tags,
    description and customer details are read only if a rule's conditions use them."""
    from ticketdesk.models import Agent, Customer, Organisation, Team
    from ticketdesk.store.tickets.pages import sla_state_of
    from ticketdesk.store.tickets.tags import tags_by_ticket

    teams: dict[int, str] = dict(session.execute(select(col(Team.id), col(Team.key))).all())
    agents: dict[int, str] = dict(session.execute(select(col(Agent.id), col(Agent.login))).all())
    facts: list[TicketFacts] = []
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        ids = [r.id for r in chunk]
        tags = tags_by_ticket(session, ids) if "tags" in used else {}
        extra: dict[int, _TicketRow] = {}
        if used & {"description", "customer_vip", "organisation"}:
            extra = {
                e.id: e
                for e in session.execute(
                    select(
                        col(Ticket.id),
                        col(Ticket.description),
                        col(Customer.vip),
                        col(Organisation.name).label("organisation"),
                    )
                    .select_from(Ticket)
                    .join(Customer, col(Customer.id) == Ticket.customer_id, isouter=True)
                    .join(Organisation, col(Organisation.id) == Customer.organisation_id, isouter=True)
                    .where(col(Ticket.id).in_(ids))
                )
            }
        for r in chunk:
            e = extra.get(r.id)
            facts.append(
                TicketFacts(
                    number=r.number, subject=r.subject, description=(e.description if e else "") or "",
                    type=r.type, category=r.category, priority=r.priority, status=r.status, channel=r.channel,
                    team=teams.get(r.team_id), assignee=agents.get(r.assignee_id), support_level=r.support_level,
                    tags=frozenset(tags.get(r.id, ())), customer_vip=bool(e and e.vip),
                    organisation=e.organisation if e else None, created_at=r.created_at, updated_at=r.updated_at,
                    status_changed_at=r.status_changed_at, last_customer_reply_at=r.last_customer_reply_at,
                    sla_state=sla_state_of(r, now, warning) if "sla_state" in used else None,
                )
            )  # fmt: skip
    return facts


def _plan(
    session: Session, now: datetime, doc: RulesDocument, policy: SlaPolicy, report: SweepReport
) -> Iterator[_Job]:
    settings = doc.sweep
    stale_after = timedelta(hours=settings.escalate_after_hours_without_update)
    pending_after = timedelta(days=settings.close_pending_after_days)
    time_rules = rules_automation.applicable(doc.automation, "time")
    rule_candidates: list[_TicketRow] = []
    for r in _open_rows(session, report):
        report.examined += 1

        def job(kind: str, occurrence: str, fell_due: datetime, detail: str = "", r: _TicketRow = r) -> _Job:
            return _Job(kind, r.id, r.number, r.version, occurrence, detail, fell_due=max(fell_due, r.updated_at))

        reference = r.sla_paused_at or now
        for clock, due_name, met_name in CLOCKS:
            due, met = getattr(r, due_name), getattr(r, met_name)
            if due is None or met is not None:
                continue
            stamp = f"{clock}@{due.isoformat()}"
            if due <= reference:
                yield job("sla_breach", stamp, due, f"{clock} due {due:%Y-%m-%d %H:%M} UTC missed")
                if settings.escalate_on_breach:
                    why = f"SLA breached: {clock} was due {due:%Y-%m-%d %H:%M} UTC"
                    yield job("escalate_breach", stamp, due, why)
            elif r.sla_paused_at is None and due - now <= policy.warning:
                left = int((due - now).total_seconds() // 60)
                yield job("sla_warning", stamp, due - policy.warning, f"{clock} due in {left} min")
        if stale_after and not pauses(r.status) and r.updated_at <= now - stale_after:
            hours = settings.escalate_after_hours_without_update
            stale = f"no update for {hours} h"
            yield job("escalate_stale", f"updated@{r.updated_at.isoformat()}", r.updated_at + stale_after, stale)
        if (
            settings.close_pending_after_days
            and r.status == Status.PENDING.value
            and r.status_changed_at is not None
            and r.status_changed_at <= now - pending_after
            and (r.last_customer_reply_at is None or r.last_customer_reply_at < r.status_changed_at)
        ):
            yield job(
                "close_pending", f"pending@{r.status_changed_at.isoformat()}", r.status_changed_at + pending_after
            )
        if time_rules:
            rule_candidates.append(r)
    yield from _resolved_to_close(session, now, settings, report)
    if not rule_candidates:
        return
    used = {c.field for rule in time_rules for c in rule.conditions}
    facts = _lean_facts(session, rule_candidates, used, now, policy.warning)
    report.queries += 2 + 2 * (len(rule_candidates) // BATCH + 1)
    for r, f in zip(rule_candidates, facts, strict=True):
        for rule in time_rules:
            if rules_automation.matches(rule, f, now):
                occurrence = rules_automation.occurrence(rule, f, event_marker=None)
                yield _Job("automation", r.id, r.number, r.version, occurrence, rule=rule)


def _resolved_to_close(session: Session, now: datetime, settings: SweepSettings, report: SweepReport) -> Iterator[_Job]:
    if not settings.close_resolved_after_days:
        return
    t = _TICKET
    cutoff = now - timedelta(days=settings.close_resolved_after_days)
    rows = session.execute(
        select(t.c.id, t.c.number, t.c.version, t.c.resolved_at, t.c.updated_at).where(
            t.c.status == Status.RESOLVED.value, t.c.resolved_at <= cutoff
        )
    ).all()
    report.queries += 1
    after = timedelta(days=settings.close_resolved_after_days)
    for r in rows:
        fell_due = max(r.resolved_at + after, r.updated_at)
        yield _Job(
            "close_resolved", r.id, r.number, r.version, f"resolved@{r.resolved_at.isoformat()}", fell_due=fell_due
        )


def _act(
    session: Session, job: _Job, now: datetime, doc: RulesDocument, report: SweepReport, followups: Followups
) -> None:
    from ticketdesk.store.tickets import templates
    from ticketdesk.store.tickets.update import TicketChanges, update_tickets

    system = routing.system_agent(session)
    expected = {job.number: job.version}
    if job.kind in ("sla_warning", "sla_breach"):
        _event(session, job, system.id, now)
        if job.kind == "sla_warning":
            report.warnings += 1
        else:
            report.breaches += 1
    elif job.kind in ("escalate_breach", "escalate_stale"):
        _check_version(session, job)
        try:
            automation.escalate(session, actor=system, number=job.number, kind="management", reason=job.detail,
                                now=now, cause=f"sweep: {job.detail}", followups=followups)  # fmt: skip
        except InvalidInput:  # no team lead: up a support level instead
            automation.escalate(session, actor=system, number=job.number, kind="technical", reason=job.detail,
                                now=now, cause=f"sweep: {job.detail}", followups=followups)  # fmt: skip
        report.escalations += 1
    elif job.kind == "close_resolved":
        days = doc.sweep.close_resolved_after_days
        update_tickets(session, actor=system, numbers=[job.number], expected_versions=expected, now=now,
                       changes=TicketChanges(status="closed"), cause=f"sweep: resolved for {days} days",
                       followups=followups)  # fmt: skip
        report.closed += 1
    elif job.kind == "close_pending":
        days = doc.sweep.close_pending_after_days
        note = f"No answer from the customer in {days} days"
        template = doc.sweep.pending_close_template
        if template:
            templates.apply_template(session, actor=system, numbers=[job.number], name=template,
                                     expected_versions=expected, now=now, followups=followups)  # fmt: skip
        status = session.scalars(select(col(Ticket.status)).where(col(Ticket.id) == job.ticket_id)).one()
        if status != Status.CLOSED.value:
            closing = TicketChanges(status="closed", note=note)
            update_tickets(session, actor=system, numbers=[job.number], now=now, changes=closing,
                           cause=f"sweep: {note.lower()}", followups=followups)  # fmt: skip
        report.closed += 1
    elif job.kind == "automation":
        if job.rule is None:
            raise ValueError(f"automation job without its rule on ticket {job.number}")
        _check_version(session, job)
        automation.run_actions(session, job.rule, job.number, now, followups=followups, depth=0)
        report.automations += 1


def _check_version(session: Session, job: _Job) -> None:
    current = session.scalars(select(col(Ticket.version)).where(col(Ticket.id) == job.ticket_id)).one()
    if current != job.version:
        raise Conflict(f"ticket {job.number} changed since the sweep read it; next run")


def _event(session: Session, job: _Job, actor_id: int | None, now: datetime) -> None:
    clock = job.occurrence.split("@", 1)[0]
    session.add(
        Event(
            ticket_id=job.ticket_id,
            actor_id=actor_id,
            at=now,
            kind=EventKind.SLA.value,
            field=clock,
            new=("warning: " if job.kind == "sla_warning" else "breached: ") + job.detail,
            ticket_version=job.version,
        )
    )
