"""QA sampling and reviews: a batch of closed tickets picked by rules/qa.py, then scored.

Sampling reads only (id, priority, closed_at, the assignee's start date) of the tickets
closed in the period (not merged duplicates) and writes one `QaReview` row per picked
ticket. A batch is named from its parameters (period, rate, seed), so sampling the same
batch again writes nothing and returns what was picked the first time. Team leads and
admins sample and review; everyone else may read the results.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from ticketdesk.models import Agent, Role, Status, Ticket
from ticketdesk.models.clock import utcnow
from ticketdesk.models.quality import QaReview
from ticketdesk.rules import qa as rules
from ticketdesk.store.db.errors import Forbidden, InvalidInput, NotFound

REVIEWERS = frozenset({Role.LEAD.value, Role.ADMIN.value})
MAX_COMMENT = 4000
MAX_PERIOD_DAYS = 366


@dataclass(frozen=True)
class SampleResult:
    batch: str
    seed: int
    rate: float
    #: closed tickets in the period (the population sampled from)
    candidates: int
    #: the picked ticket numbers, in ticket order
    numbers: tuple[str, ...]
    #: False when the batch already existed (nothing was written)
    created: bool


@dataclass(frozen=True)
class QaReviewView:
    batch: str
    number: str
    subject: str
    priority: str
    assignee: str | None
    closed_at: datetime | None
    sampled_at: datetime
    reviewer: str | None
    score: int | None
    checklist: dict[str, bool] | None
    comment: str | None
    reviewed_at: datetime | None

    @property
    def pending(self) -> bool:
        return self.reviewed_at is None

    def as_dict(self) -> dict[str, object]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "batch": self.batch,
            "number": self.number,
            "subject": self.subject,
            "priority": self.priority,
            "assignee": self.assignee,
            "closed_at": iso(self.closed_at),
            "sampled_at": iso(self.sampled_at),
            "reviewer": self.reviewer,
            "score": self.score,
            "checklist": self.checklist,
            "comment": self.comment,
            "reviewed_at": iso(self.reviewed_at),
        }


def _require_reviewer(actor: Agent, verb: str) -> None:
    if actor.role not in REVIEWERS:
        raise Forbidden(f"only a team lead or an admin may {verb} ({actor.login} is {actor.role})")


def sample(
    session: Session,
    *,
    actor: Agent,
    start: date,
    end: date,
    rate: float = rules.DEFAULT_RATE,
    seed: int | None = None,
    now: datetime | None = None,
) -> SampleResult:
    """Sample the tickets closed from `start` to `end` (whole UTC days, both included)."""
    _require_reviewer(actor, "sample tickets for QA")
    try:
        rate = rules.check_rate(rate)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if end < start:
        raise InvalidInput(f"the period ends ({end}) before it starts ({start})")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise InvalidInput(f"the period is longer than {MAX_PERIOD_DAYS} days")
    seed = rules.default_seed(start, end) if seed is None else seed
    batch = rules.batch_name(start, end, rate, seed)

    existing = _batch_numbers(session, batch)
    candidates = _candidates(session, start, end)
    if existing:
        return SampleResult(batch, seed, rate, len(candidates), tuple(existing), created=False)
    picked = rules.sample(candidates, rate=rate, seed=seed)
    now = now or utcnow()
    for c in picked:
        session.add(QaReview(batch=batch, ticket_id=c.ticket_id, sampled_at=now, sampled_by_id=actor.id))
    session.flush()
    return SampleResult(batch, seed, rate, len(candidates), tuple(_batch_numbers(session, batch)), created=True)


def _candidates(session: Session, start: date, end: date) -> list[rules.Candidate]:
    lo = datetime.combine(start, time(0), UTC)
    hi = datetime.combine(end + timedelta(days=1), time(0), UTC)
    stmt = (
        select(col(Ticket.id), col(Ticket.priority), col(Ticket.closed_at), col(Agent.created_at))
        .outerjoin(Agent, col(Agent.id) == Ticket.assignee_id)
        .where(
            col(Ticket.status) == Status.CLOSED.value,
            col(Ticket.closed_at) >= lo,
            col(Ticket.closed_at) < hi,
            col(Ticket.merged_into_id).is_(None),
        )
    )
    return [
        rules.Candidate(ticket_id=tid, priority=priority, closed_at=closed, agent_since=since)
        for tid, priority, closed, since in session.execute(stmt)
    ]


def _batch_numbers(session: Session, batch: str) -> list[str]:
    stmt = (
        select(col(Ticket.number))
        .join(QaReview, col(QaReview.ticket_id) == Ticket.id)
        .where(col(QaReview.batch) == batch)
        .order_by(col(Ticket.id))
    )
    return list(session.scalars(stmt))


def list_reviews(
    session: Session, *, batch: str | None = None, pending: bool = False, ticket_id: int | None = None
) -> list[QaReviewView]:
    """Samples, newest batch first, then in ticket order."""
    assignee = aliased(Agent)
    reviewer = aliased(Agent)
    stmt = (
        select(
            QaReview,
            col(Ticket.number),
            col(Ticket.subject),
            col(Ticket.priority),
            col(Ticket.closed_at),
            col(assignee.login),
            col(reviewer.login),
        )
        .join(Ticket, col(Ticket.id) == QaReview.ticket_id)
        .outerjoin(assignee, col(assignee.id) == Ticket.assignee_id)
        .outerjoin(reviewer, col(reviewer.id) == QaReview.reviewer_id)
        .order_by(col(QaReview.sampled_at).desc(), col(QaReview.batch), col(Ticket.id))
    )
    if batch is not None:
        if not session.execute(select(col(QaReview.id)).where(col(QaReview.batch) == batch).limit(1)).first():
            raise NotFound(f"no QA batch {batch!r}")
        stmt = stmt.where(col(QaReview.batch) == batch)
    if pending:
        stmt = stmt.where(col(QaReview.reviewed_at).is_(None))
    if ticket_id is not None:
        stmt = stmt.where(col(QaReview.ticket_id) == ticket_id)
    return [_view(*row) for row in session.execute(stmt)]


def _view(
    r: QaReview,
    number: str,
    subject: str,
    priority: str,
    closed_at: datetime | None,
    assignee: str | None,
    reviewer: str | None,
) -> QaReviewView:
    return QaReviewView(
        batch=r.batch,
        number=number,
        subject=subject,
        priority=priority,
        assignee=assignee,
        closed_at=closed_at,
        sampled_at=r.sampled_at,
        reviewer=reviewer,
        score=r.score,
        checklist=json.loads(r.checklist) if r.checklist else None,
        comment=r.comment,
        reviewed_at=r.reviewed_at,
    )


def review(
    session: Session,
    *,
    actor: Agent,
    number: str,
    score: object,
    checklist: str | Mapping[str, object],
    comment: str | None = None,
    batch: str | None = None,
    now: datetime | None = None,
) -> QaReviewView:
    """Score a sampled ticket. Without `batch`: its newest sample (a ticket is usually in
    one). Reviewing again replaces the earlier review."""
    _require_reviewer(actor, "review QA samples")
    try:
        parsed_score = rules.check_score(score)
        answers = rules.parse_checklist(checklist)
        text = (comment or "").strip()
        if len(text) > MAX_COMMENT:
            raise ValueError(f"comment is longer than {MAX_COMMENT} characters")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    ticket_id = session.scalars(select(col(Ticket.id)).where(col(Ticket.number) == number.strip())).one_or_none()
    if ticket_id is None:
        raise NotFound(f"ticket {number.strip()} not found")
    stmt = select(QaReview).where(col(QaReview.ticket_id) == ticket_id)
    if batch is not None:
        stmt = stmt.where(col(QaReview.batch) == batch)
    row = session.scalars(
        stmt.order_by(col(QaReview.sampled_at).desc(), col(QaReview.id).desc()).limit(1)
    ).one_or_none()
    if row is None:
        where = f" in batch {batch!r}" if batch is not None else ""
        raise NotFound(f"ticket {number.strip()} is not sampled for QA{where}: run `ticketdesk qa sample` first")
    row.score = parsed_score
    row.checklist = json.dumps(answers)
    row.comment = text or None
    row.reviewer_id = actor.id
    row.reviewed_at = now or utcnow()
    session.add(row)
    session.flush()
    return list_reviews(session, batch=row.batch, ticket_id=ticket_id)[0]


def batches(session: Session) -> list[tuple[str, int, int]]:
    """(batch, samples, reviewed) per batch, newest first."""
    stmt = (
        select(
            col(QaReview.batch), func.count(), func.count(col(QaReview.reviewed_at)), func.max(col(QaReview.sampled_at))
        )
        .group_by(col(QaReview.batch))
        .order_by(func.max(col(QaReview.sampled_at)).desc(), col(QaReview.batch))
    )
    return [(b, n, done) for b, n, done, _ in session.execute(stmt)]
