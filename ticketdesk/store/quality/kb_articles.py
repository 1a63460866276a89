"""The knowledge base's articles: their read-models, validation, writing (by hand, or from a
solved ticket) and reading one article or the newest ones. Searching them and suggesting
them for a ticket is store/quality/kb_search.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, literal_column, select, update
from sqlmodel import Session, col

from ticketdesk.models import Agent, Comment, KbArticle, Tag, Ticket, TicketTag
from ticketdesk.models.clock import utcnow
from ticketdesk.models.enums import Role
from ticketdesk.rules import text as textrules
from ticketdesk.store.db.errors import Conflict, Forbidden, InvalidInput, NotFound
from ticketdesk.store.db.tables import table_of

A = table_of(KbArticle)
#: a row read from `A` (with, for one article, the ticket's number and the author's login)
KbRow = Row[*tuple[Any, ...]]
#: The searchable columns, in the order of the FTS table and of the Postgres index expression.
TEXT_FIELDS = ("title", "symptoms", "scope", "steps", "solution", "prevention", "tags")
BODY_FIELDS = ("symptoms", "scope", "steps", "solution", "prevention")
TITLE_MAX = 300
TAGS_MAX = 1000


# --- read-models --------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleView:
    id: int
    title: str
    symptoms: str
    scope: str
    steps: str
    solution: str
    prevention: str
    tags: tuple[str, ...]
    source_ticket: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    version: int

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "symptoms": self.symptoms,
            "scope": self.scope,
            "steps": self.steps,
            "solution": self.solution,
            "prevention": self.prevention,
            "tags": list(self.tags),
            "source_ticket": self.source_ticket,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "version": self.version,
        }

    def reply_text(self) -> str:
        """What goes into a reply: the solution, then the steps (or the title if both are empty)."""
        parts = []
        if self.solution.strip():
            parts.append(self.solution.strip())
        if self.steps.strip():
            parts.append(("Steps:\n" if parts else "") + self.steps.strip())
        return "\n\n".join(parts) or self.title


@dataclass(frozen=True)
class ArticleRow:
    """An article in a list or a search result; `snippet` shows where the words were found."""

    id: int
    title: str
    tags: tuple[str, ...]
    updated_at: datetime
    version: int
    snippet: str = ""
    score: float = 0.0

    def as_dict(self) -> dict[str, object]:
        out: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "tags": list(self.tags),
            "updated_at": self.updated_at.isoformat(),
            "version": self.version,
        }
        if self.snippet:
            out["snippet"] = self.snippet
        return out


@dataclass(frozen=True)
class ArticleSpec:
    title: str
    symptoms: str = ""
    scope: str = ""
    steps: str = ""
    solution: str = ""
    prevention: str = ""
    tags: Sequence[str] = ()


@dataclass(frozen=True)
class ArticleEdit:
    """None leaves a field as it is."""

    title: str | None = None
    symptoms: str | None = None
    scope: str | None = None
    steps: str | None = None
    solution: str | None = None
    prevention: str | None = None
    tags: Sequence[str] | None = None

    def values(self) -> dict[str, Any]:
        return {
            name: getattr(self, name) for name in ("title", *BODY_FIELDS, "tags") if getattr(self, name) is not None
        }


# --- validation ---------------------------------------------------------------------------


def _title(value: str | None) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput("title must not be empty")
    if "\x00" in value:
        raise InvalidInput("title contains a NUL character")
    if len(value) > TITLE_MAX:
        raise InvalidInput(f"title is {len(value)} characters long (at most {TITLE_MAX})")
    return value


def _body(value: str | None, name: str) -> str:
    try:
        return textrules.validate_body(value, name)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _tags(values: Sequence[str]) -> str:
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            if not part.strip():
                continue
            try:
                tag = textrules.validate_tag(part)
            except ValueError as exc:
                raise InvalidInput(str(exc)) from None
            if tag not in out:
                out.append(tag)
    joined = ",".join(out)
    if len(joined) > TAGS_MAX:
        raise InvalidInput(f"tags are {len(joined)} characters together (at most {TAGS_MAX})")
    return joined


def _split_tags(value: str) -> tuple[str, ...]:
    return tuple(t for t in value.split(",") if t)


def _may_write(actor: Agent) -> None:
    if actor.role == Role.AUDITOR:
        raise Forbidden(f"an auditor reads the knowledge base but does not change it ({actor.login} is auditor)")


# --- writes -------------------------------------------------------------------------------


def add_article(
    session: Session, *, actor: Agent, spec: ArticleSpec, source_ticket_id: int | None = None
) -> ArticleView:
    _may_write(actor)
    now = utcnow()
    article = KbArticle(
        title=_title(spec.title),
        symptoms=_body(spec.symptoms, "symptoms"),
        scope=_body(spec.scope, "scope"),
        steps=_body(spec.steps, "steps"),
        solution=_body(spec.solution, "solution"),
        prevention=_body(spec.prevention, "prevention"),
        tags=_tags(spec.tags),
        source_ticket_id=source_ticket_id,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
        version=1,
    )
    session.add(article)
    session.flush()
    if article.id is None:
        raise ValueError("the new article has no id after the flush")
    return get_article(session, article.id)


def edit_article(
    session: Session, *, actor: Agent, article_id: int, edit: ArticleEdit, expected_version: int | None = None
) -> ArticleView:
    """Change the given fields; based on `expected_version` if given, so a change made by
    someone else in between is a Conflict, never a lost update."""
    _may_write(actor)
    current = session.execute(select(A.c.version).where(A.c.id == article_id)).scalar_one_or_none()
    if current is None:
        raise NotFound(f"no knowledge-base article #{article_id}")
    if expected_version is not None and expected_version != current:
        raise _conflict(article_id, expected_version, current)
    values: dict[str, str] = {}
    for name, value in edit.values().items():
        if name == "title":
            values[name] = _title(value)
        elif name == "tags":
            values[name] = _tags(value)
        else:
            values[name] = _body(value, name)
    if not values:
        raise InvalidInput("nothing to change: give at least one field")
    base = expected_version if expected_version is not None else current
    done = session.execute(
        update(A)
        .where(A.c.id == article_id, A.c.version == base)
        .values(**values, updated_at=utcnow(), version=base + 1)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult; typed Result
        raise _conflict(article_id, base, None)
    return get_article(session, article_id)


def _conflict(article_id: int, based_on: int, now: int | None) -> Conflict:
    where = f" (now version {now})" if now is not None else ""
    return Conflict(
        f"article #{article_id} was changed by someone else since version {based_on}{where}; nothing was"
        " written: show it again and redo the change"
    )


def article_from_ticket(session: Session, *, actor: Agent, number: str) -> ArticleView:
    """A new article from a resolved or closed ticket: title from the subject, symptoms from
    the description, solution from the resolution note (else the last public reply), tags
    from the ticket."""
    _may_write(actor)
    ticket = session.scalars(select(Ticket).where(col(Ticket.number) == number.strip())).one_or_none()
    if ticket is None:
        raise NotFound(f"no ticket {number.strip()!r}")
    if ticket.status not in ("resolved", "closed"):
        raise InvalidInput(
            f"ticket {ticket.number} is {ticket.status}: only a resolved or closed ticket becomes an article"
        )
    existing = session.execute(
        select(A.c.id).where(A.c.source_ticket_id == ticket.id).order_by(A.c.id).limit(1)
    ).scalar_one_or_none()
    if existing is not None:
        raise InvalidInput(f"ticket {ticket.number} already has article #{existing}: edit that one")
    solution = (ticket.resolution or "").strip()
    if not solution:
        last_reply = session.execute(
            select(col(Comment.body))
            .where(col(Comment.ticket_id) == ticket.id, col(Comment.kind) == "public")
            .order_by(col(Comment.id).desc())
            .limit(1)
        ).scalar_one_or_none()
        solution = last_reply or ""
    tags = session.execute(
        select(col(Tag.name))
        .join(TicketTag, col(TicketTag.tag_id) == Tag.id)
        .where(col(TicketTag.ticket_id) == ticket.id)
        .order_by(col(Tag.name))
    ).scalars()
    spec = ArticleSpec(
        title=ticket.subject[:TITLE_MAX],
        symptoms=ticket.description or "",
        solution=solution,
        tags=list(tags),
    )
    return add_article(session, actor=actor, spec=spec, source_ticket_id=ticket.id)


# --- reads -------------------------------------------------------------------------------


def _view(row: KbRow) -> ArticleView:
    return ArticleView(
        id=row.id,
        title=row.title,
        symptoms=row.symptoms,
        scope=row.scope,
        steps=row.steps,
        solution=row.solution,
        prevention=row.prevention,
        tags=_split_tags(row.tags),
        source_ticket=row.number,
        created_by=row.login,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def get_article(session: Session, article_id: int) -> ArticleView:
    row = session.execute(
        select(A, col(Ticket.number), col(Agent.login))
        .outerjoin(Ticket, col(Ticket.id) == A.c.source_ticket_id)
        .outerjoin(Agent, col(Agent.id) == A.c.created_by_id)
        .where(A.c.id == article_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no knowledge-base article #{article_id}")
    return _view(row)


def article_row(r: KbRow, snippet: str = "", score: float = 0.0) -> ArticleRow:
    return ArticleRow(
        id=r.id,
        title=r.title,
        tags=_split_tags(r.tags),
        updated_at=r.updated_at,
        version=r.version,
        snippet=snippet,
        score=score,
    )


def tag_condition(tag: str) -> ColumnElement[bool]:
    try:
        tag = textrules.validate_tag(tag)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    # tags are stored as "a,b,c": match a whole entry
    padded: ColumnElement[str] = literal_column("','") + A.c.tags + literal_column("','")
    return padded.like(f"%,{escape_like(tag)},%", escape="\\")


def list_articles(session: Session, *, tag: str | None = None, limit: int = 200) -> list[ArticleRow]:
    """Newest change first."""
    query = select(A.c.id, A.c.title, A.c.tags, A.c.updated_at, A.c.version)
    if tag:
        query = query.where(tag_condition(tag))
    rows = session.execute(query.order_by(A.c.updated_at.desc(), A.c.id.desc()).limit(max(1, limit))).all()
    return [article_row(r) for r in rows]


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
