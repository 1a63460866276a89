"""The knowledge base: articles, full-text search (English and Chinese), suggestions for a
ticket, and articles written from solved tickets.

Search is done like ticket search (store/tickets/filters.py): on SQLite each word of three
or more characters is a phrase on the FTS5 trigram table `kb_fts`, shorter words a LIKE; on
PostgreSQL an ILIKE on exactly the expression of the pg_trgm GIN index `ix_kb_search`.
Matches are fetched unranked (newest first, capped) and only that small set is ranked, in
Python: never bm25 over a large result set.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, literal_column, or_, select, text, update
from sqlmodel import Session

from ticketdesk.models import Agent, Comment, KbArticle, Tag, Ticket, TicketTag
from ticketdesk.models.clock import utcnow
from ticketdesk.models.enums import Role
from ticketdesk.rules import text as textrules
from ticketdesk.store.db.errors import Conflict, Forbidden, InvalidInput, NotFound

A = KbArticle.__table__  # type: ignore[attr-defined]
#: The searchable columns, in the order of the FTS table and of the Postgres index expression.
TEXT_FIELDS = ("title", "symptoms", "scope", "steps", "solution", "prevention", "tags")
BODY_FIELDS = ("symptoms", "scope", "steps", "solution", "prevention")
TITLE_MAX = 300
TAGS_MAX = 1000
TRIGRAM = 3
#: How many matching articles are fetched (unranked) before ranking in Python.
CANDIDATES = 200
SNIPPET = 80


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

    def as_dict(self) -> dict[str, Any]:
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

    def as_dict(self) -> dict[str, Any]:
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
        **{name: _body(getattr(spec, name), name) for name in BODY_FIELDS},
        tags=_tags(spec.tags),
        source_ticket_id=source_ticket_id,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
        version=1,
    )
    session.add(article)
    session.flush()
    return get_article(session, article.id)  # type: ignore[arg-type]


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
    values: dict[str, Any] = {}
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
    if done.rowcount != 1:  # type: ignore[attr-defined]
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
    ticket = session.execute(select(Ticket).where(Ticket.number == number.strip())).scalar_one_or_none()
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
            select(Comment.body)
            .where(Comment.ticket_id == ticket.id, Comment.kind == "public")  # type: ignore[arg-type]
            .order_by(Comment.id.desc())  # type: ignore[union-attr]
            .limit(1)
        ).scalar_one_or_none()
        solution = last_reply or ""
    tags = session.execute(
        select(Tag.name)
        .join(TicketTag, TicketTag.tag_id == Tag.id)  # type: ignore[arg-type]
        .where(TicketTag.ticket_id == ticket.id)  # type: ignore[arg-type]
        .order_by(Tag.name)
    ).scalars()
    spec = ArticleSpec(
        title=ticket.subject[:TITLE_MAX],
        symptoms=ticket.description or "",
        solution=solution,
        tags=list(tags),
    )
    return add_article(session, actor=actor, spec=spec, source_ticket_id=ticket.id)


# --- reads -------------------------------------------------------------------------------


def _view(row: Any) -> ArticleView:
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
        select(A, Ticket.number, Agent.login)  # type: ignore[call-overload]
        .outerjoin(Ticket, Ticket.id == A.c.source_ticket_id)
        .outerjoin(Agent, Agent.id == A.c.created_by_id)
        .where(A.c.id == article_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no knowledge-base article #{article_id}")
    return _view(row)


def _row(r: Any, snippet: str = "", score: float = 0.0) -> ArticleRow:
    return ArticleRow(
        id=r.id,
        title=r.title,
        tags=_split_tags(r.tags),
        updated_at=r.updated_at,
        version=r.version,
        snippet=snippet,
        score=score,
    )


def _tag_condition(tag: str) -> ColumnElement[bool]:
    try:
        tag = textrules.validate_tag(tag)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    # tags are stored as "a,b,c": match a whole entry
    padded = literal_column("','") + A.c.tags + literal_column("','")
    return padded.like(f"%,{_escape_like(tag)},%", escape="\\")


def list_articles(session: Session, *, tag: str | None = None, limit: int = 200) -> list[ArticleRow]:
    """Newest change first."""
    query = select(A.c.id, A.c.title, A.c.tags, A.c.updated_at, A.c.version)
    if tag:
        query = query.where(_tag_condition(tag))
    rows = session.execute(query.order_by(A.c.updated_at.desc(), A.c.id.desc()).limit(max(1, limit))).all()
    return [_row(r) for r in rows]


# --- search ---------------------------------------------------------------------------------


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_terms(value: str) -> list[str]:
    words = [w for w in value.split() if w]
    for w in words:
        if "\x00" in w:
            raise InvalidInput("search text contains a NUL character")
    return words


def _pg_expression() -> Any:
    """Exactly the expression of the pg_trgm index `ix_kb_search` (migration 0005)."""
    expr: Any = A.c[TEXT_FIELDS[0]]
    for name in TEXT_FIELDS[1:]:
        expr = expr.op("||")(literal_column("' '")).op("||")(A.c[name])
    return expr


def _word_condition(session: Session, word: str) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        return _pg_expression().ilike(f"%{_escape_like(word)}%", escape="\\")  # type: ignore[no-any-return]
    if len(word) >= TRIGRAM:
        phrase = '"' + word.replace('"', '""') + '"'
        return A.c.id.in_(  # type: ignore[no-any-return]
            text("SELECT rowid FROM kb_fts WHERE kb_fts MATCH :q").bindparams(bindparam("q", phrase, unique=True))
        )
    pattern = f"%{_escape_like(word.lower())}%"
    return or_(*(func.lower(A.c[name]).like(pattern, escape="\\") for name in TEXT_FIELDS))


def _candidates(session: Session, condition: ColumnElement[bool], limit: int) -> list[Any]:
    return list(
        session.execute(select(A).where(condition).order_by(A.c.updated_at.desc(), A.c.id.desc()).limit(limit)).all()
    )


def search_articles(session: Session, *, query: str, tag: str | None = None, limit: int = 20) -> list[ArticleRow]:
    """Articles holding every word (any case; Chinese too), best first, with a snippet."""
    words = search_terms(query)
    if not words:
        raise InvalidInput("give at least one word to search for")
    conds = [_word_condition(session, w) for w in words]
    if tag:
        conds.append(_tag_condition(tag))
    rows = _candidates(session, and_(*conds), CANDIDATES)
    lowered = [w.lower() for w in words]
    scored = [(_text_score(r, lowered), r) for r in rows]
    scored.sort(key=lambda pair: (-pair[0], -pair[1].updated_at.timestamp(), -pair[1].id))
    return [_row(r, snippet=snippet(r, lowered), score=s) for s, r in scored[: max(1, limit)]]


def _text_score(row: Any, words: Sequence[str]) -> float:
    """Occurrences of the words, a title hit worth three of a body hit."""
    title = row.title.lower()
    body = " ".join(getattr(row, n) for n in (*BODY_FIELDS, "tags")).lower()
    return float(sum(3 * title.count(w) + min(body.count(w), 5) for w in words))


def snippet(row: Any, words: Sequence[str], width: int = SNIPPET) -> str:
    """One line around the first place a word occurs in the article's body, else the start
    of its body (the title is shown beside it anyway)."""
    for name in ("symptoms", "solution", "steps", "scope", "prevention", "tags"):
        value: str = getattr(row, name)
        low = value.lower()
        hits = [i for i in (low.find(w) for w in words) if i >= 0]
        if hits:
            start = max(0, min(hits) - width // 3)
            piece = textrules.one_line(value[start:])
            cut = textrules.one_line(piece, width)
            return ("…" if start else "") + cut
    for name in BODY_FIELDS:
        value = getattr(row, name)
        if value.strip():
            return textrules.one_line(value, width)
    return ""


# --- suggestions ------------------------------------------------------------------------------

_STOP_WORDS = """the and for with not but are was were has have had this that these those from into onto when what
    which who whom why how can cannot could would should will shall may might must our ours your yours
    their theirs there here they them its it's i'm we're you're don't doesn't didn't isn't aren't wasn't
    won't can't all any some each every more most much many very just also only too than then out off
    over under again after before about above below between does did doing been being get got getting
    please thanks thank hello dear regards best team help need needs want wants still since while
    one two see seen now today yesterday ticket issue problem"""
_STOP = frozenset(_STOP_WORDS.split())
_LATIN = re.compile(r"[0-9a-z][0-9a-z'._\-]*[0-9a-z]|[0-9a-z]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]+")
_TEXT_MAX = 4000
MAX_TERMS = 10
PER_TERM = 100


def distinctive_terms(subject: str, description: str, max_terms: int = MAX_TERMS) -> list[str]:
    """The words of a ticket worth searching for: subject words first, then the description's
    by how often they occur; stop words and short Latin words dropped; Chinese (CJK) runs
    cut into overlapping three-character pieces (the trigram index's unit)."""
    counts: dict[str, float] = {}
    for weight, value in ((3.0, subject), (1.0, description[:_TEXT_MAX])):
        low = value.lower()
        for word in _LATIN.findall(low):
            if (len(word) >= 4 or (len(word) == 3 and not word.isdigit())) and word not in _STOP:
                counts[word] = counts.get(word, 0.0) + weight
        for run in _CJK.findall(value):
            grams = [run] if len(run) <= TRIGRAM else [run[i : i + TRIGRAM] for i in range(len(run) - TRIGRAM + 1)]
            for gram in grams:
                if len(gram) >= 2:
                    counts[gram] = counts.get(gram, 0.0) + weight
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], -len(kv[0])))  # ties: first seen first
    return [w for w, _ in ranked[:max_terms]]


def suggest_articles(session: Session, *, number: str, limit: int = 3) -> list[ArticleRow]:
    """The articles that best fit a ticket's subject and description.

    Each distinctive term of the ticket finds up to PER_TERM articles through the index; a
    term found in (almost) every article says little, so terms weigh by their rarity. The
    best candidates are then ranked with rapidfuzz against the ticket's text.
    """
    ticket = session.execute(
        select(Ticket.subject, Ticket.description).where(Ticket.number == number.strip())
    ).one_or_none()
    if ticket is None:
        raise NotFound(f"no ticket {number.strip()!r}")
    terms = distinctive_terms(ticket.subject, ticket.description or "")
    if not terms:
        return []
    weights: dict[int, float] = {}
    for term in terms:
        ids = (
            session.execute(
                select(A.c.id).where(_word_condition(session, term)).order_by(A.c.id.desc()).limit(PER_TERM)
            )
            .scalars()
            .all()
        )
        if not ids:
            continue
        rarity = 1.0 / len(ids)
        for article_id in ids:
            weights[article_id] = weights.get(article_id, 0.0) + 1.0 + rarity
    if not weights:
        return []
    best = sorted(weights, key=lambda i: (-weights[i], -i))[: max(limit * 10, 30)]
    rows = session.execute(select(A).where(A.c.id.in_(best))).all()
    from rapidfuzz import fuzz

    ticket_text = f"{ticket.subject}\n{(ticket.description or '')[:_TEXT_MAX]}".lower()
    top = max(weights.values())
    scored = []
    for r in rows:
        article_text = f"{r.title}\n{r.symptoms}\n{r.tags}".lower()[:_TEXT_MAX]
        similarity = fuzz.token_set_ratio(ticket_text, article_text) / 100.0
        partial = fuzz.partial_ratio(ticket.subject.lower(), r.title.lower()) / 100.0
        score = weights[r.id] / top + 0.5 * similarity + 0.5 * partial
        scored.append((score, r))
    scored.sort(key=lambda pair: (-pair[0], -pair[1].id))
    return [_row(r, snippet=snippet(r, terms), score=round(s, 3)) for s, r in scored[: max(1, limit)]]
