"""CSAT: the customer's satisfaction survey of a resolved (or closed) ticket.

One survey per ticket, five scores from 1 to 5 (response speed, resolution efficiency,
attitude, effectiveness, overall) and a comment. Recorded by an agent from the CLI (as the
customer answered by phone or mail) or imported from a CSV export of a survey tool, all or
nothing. Auditors read and change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from ticketdesk.models import Agent, Role, Status, Ticket
from ticketdesk.models.clock import utcnow
from ticketdesk.models.quality import Survey
from ticketdesk.rules.qa import check_score
from ticketdesk.store.db.errors import Forbidden, InvalidInput, NotFound

#: The five scores, in the order they are asked and shown.
SCORES: tuple[str, ...] = ("speed", "efficiency", "attitude", "effectiveness", "overall")
SCORE_LABELS = {
    "speed": "response speed",
    "efficiency": "resolution efficiency",
    "attitude": "attitude",
    "effectiveness": "effectiveness",
    "overall": "overall",
}
SURVEYABLE = frozenset({Status.RESOLVED.value, Status.CLOSED.value})
SOURCES = frozenset({"cli", "csv", "email", "tui"})
MAX_COMMENT = 4000


@dataclass(frozen=True)
class SurveyView:
    number: str
    speed: int
    efficiency: int
    attitude: int
    effectiveness: int
    overall: int
    comment: str | None
    source: str
    submitted_at: datetime
    recorded_by: str | None

    @property
    def scores(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in SCORES}

    @property
    def average(self) -> float:
        return sum(self.scores.values()) / len(SCORES)

    def as_dict(self) -> dict[str, object]:
        return {
            "number": self.number,
            **self.scores,
            "comment": self.comment,
            "source": self.source,
            "submitted_at": self.submitted_at.isoformat(),
            "recorded_by": self.recorded_by,
        }


def parse_scores(values: Mapping[str, object]) -> dict[str, int]:
    """Every one of the five scores, each a whole number 1-5; ValueError names the field."""
    scores = {}
    for name in SCORES:
        value = values.get(name)
        if value is None or str(value).strip() == "":
            raise ValueError(f"{name} is missing (a score from 1 to 5)")
        scores[name] = check_score(value, name)
    return scores


def _writer(actor: Agent) -> None:
    if actor.role == Role.AUDITOR.value:
        raise Forbidden(f"auditors read and change nothing: {actor.login} may not record surveys")


def _comment(comment: str | None) -> str | None:
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise ValueError(f"comment is longer than {MAX_COMMENT} characters")
    return comment or None


def _ticket(session: Session, number: str) -> tuple[int, str, str]:
    row = session.execute(
        select(col(Ticket.id), col(Ticket.number), col(Ticket.status)).where(col(Ticket.number) == number.strip())
    ).first()
    if row is None:
        raise NotFound(f"ticket {number.strip()} not found")
    return row[0], row[1], row[2]


def _check_surveyable(number: str, status: str) -> None:
    if status not in SURVEYABLE:
        raise InvalidInput(f"ticket {number} is {status}: only a resolved or closed ticket can have a survey")


def record_survey(
    session: Session,
    *,
    actor: Agent,
    number: str,
    scores: Mapping[str, object],
    comment: str | None = None,
    source: str = "cli",
    replace: bool = False,
    now: datetime | None = None,
) -> SurveyView:
    _writer(actor)
    try:
        parsed = parse_scores(scores)
        text = _comment(comment)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    ticket_id, number, status = _ticket(session, number)
    _check_surveyable(number, status)
    _put(session, actor, ticket_id, number, parsed, text, source, replace, now or utcnow())
    return get_survey(session, number)


def _put(
    session: Session,
    actor: Agent,
    ticket_id: int,
    number: str,
    scores: dict[str, int],
    comment: str | None,
    source: str,
    replace: bool,
    now: datetime,
) -> None:
    if source not in SOURCES:
        raise InvalidInput(f"unknown survey source {source!r}")
    existing = session.scalars(select(Survey).where(col(Survey.ticket_id) == ticket_id)).one_or_none()
    if existing is not None and not replace:
        raise InvalidInput(
            f"ticket {number} already has a survey (submitted {existing.submitted_at:%Y-%m-%d}); use --replace to"
            " overwrite it"
        )
    row = existing or Survey(
        ticket_id=ticket_id,
        speed=scores["speed"],
        efficiency=scores["efficiency"],
        attitude=scores["attitude"],
        effectiveness=scores["effectiveness"],
        overall=scores["overall"],
    )
    for name, value in scores.items():
        setattr(row, name, value)
    row.comment, row.source, row.submitted_at, row.recorded_by_id = comment, source, now, actor.id
    session.add(row)
    session.flush()


def import_surveys(
    session: Session,
    *,
    actor: Agent,
    rows: Iterable[tuple[int, Mapping[str, str | None]]],
    replace: bool = False,
    now: datetime | None = None,
) -> list[str]:
    """Record one survey per (CSV line number, row); the first bad row stops everything,
    with an error naming its line and field. Returns the ticket numbers, in file order."""
    _writer(actor)
    now = now or utcnow()
    seen: dict[str, int] = {}
    done: list[str] = []
    for line, row in rows:
        raw_number = (row.get("number") or "").strip()
        if not raw_number:
            raise InvalidInput(f"line {line}: field number is empty")
        try:
            scores = parse_scores(row)
            text = _comment(row.get("comment"))
        except ValueError as exc:
            raise InvalidInput(f"line {line}: field {exc}") from None
        try:
            ticket_id, number, status = _ticket(session, raw_number)
            _check_surveyable(number, status)
        except (NotFound, InvalidInput) as exc:
            raise InvalidInput(f"line {line}: field number: {exc}") from None
        if number in seen:
            raise InvalidInput(f"line {line}: field number: ticket {number} is already on line {seen[number]}")
        seen[number] = line
        try:
            _put(session, actor, ticket_id, number, scores, text, "csv", replace, now)
        except InvalidInput as exc:
            raise InvalidInput(f"line {line}: field number: {exc}") from None
        done.append(number)
    if not done:
        raise InvalidInput("the file has no survey rows")
    return done


def survey_of(session: Session, number: str) -> SurveyView | None:
    """The ticket's survey, or None if it has none (NotFound if the ticket does not exist)."""
    ticket_id, number, _ = _ticket(session, number)
    row = session.execute(
        select(Survey, col(Agent.login))
        .outerjoin(Agent, col(Agent.id) == Survey.recorded_by_id)
        .where(col(Survey.ticket_id) == ticket_id)
    ).first()
    if row is None:
        return None
    s, login = row
    return SurveyView(
        number=number,
        speed=s.speed,
        efficiency=s.efficiency,
        attitude=s.attitude,
        effectiveness=s.effectiveness,
        overall=s.overall,
        comment=s.comment,
        source=s.source,
        submitted_at=s.submitted_at,
        recorded_by=login,
    )


def get_survey(session: Session, number: str) -> SurveyView:
    view = survey_of(session, number)
    if view is None:
        raise NotFound(f"ticket {number.strip()} has no survey")
    return view
