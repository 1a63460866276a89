"""Searching the knowledge base, and suggesting articles for a ticket (the articles
themselves: store/quality/kb_articles.py).

Search is done like ticket search (store/tickets/filters.py): on SQLite each word of three
or more characters is a phrase on the FTS5 trigram table `kb_fts`, shorter words a LIKE; on
PostgreSQL an ILIKE on exactly the expression of the pg_trgm GIN index `ix_kb_search`.
Matches are fetched unranked (newest first, capped) and only that small set is ranked, in
Python: never bm25 over a large result set.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, literal_column, or_, select, text
from sqlmodel import Session, col

from ticketdesk.models import Ticket
from ticketdesk.rules import text as textrules
from ticketdesk.store.db.errors import InvalidInput, NotFound
from ticketdesk.store.quality.kb_articles import (
    BODY_FIELDS,
    TEXT_FIELDS,
    A,
    ArticleRow,
    KbRow,
    article_row,
    escape_like,
    tag_condition,
)

TRIGRAM = 3
#: How many matching articles are fetched (unranked) before ranking in Python.
CANDIDATES = 200
SNIPPET = 80


def search_terms(value: str) -> list[str]:
    words = [w for w in value.split() if w]
    for w in words:
        if "\x00" in w:
            raise InvalidInput("search text contains a NUL character")
    return words


def _pg_expression() -> ColumnElement[Any]:
    """Exactly the expression of the pg_trgm index `ix_kb_search` (migration 0005)."""
    expr: ColumnElement[Any] = A.c[TEXT_FIELDS[0]]
    for name in TEXT_FIELDS[1:]:
        expr = expr.op("||")(literal_column("' '")).op("||")(A.c[name])
    return expr


def _word_condition(session: Session, word: str) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        return _pg_expression().ilike(f"%{escape_like(word)}%", escape="\\")
    if len(word) >= TRIGRAM:
        phrase = '"' + word.replace('"', '""') + '"'
        return A.c.id.in_(
            text("SELECT rowid FROM kb_fts WHERE kb_fts MATCH :q").bindparams(bindparam("q", phrase, unique=True))
        )
    pattern = f"%{escape_like(word.lower())}%"
    return or_(*(func.lower(A.c[name]).like(pattern, escape="\\") for name in TEXT_FIELDS))


def _candidates(session: Session, condition: ColumnElement[bool], limit: int) -> list[KbRow]:
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
        conds.append(tag_condition(tag))
    rows = _candidates(session, and_(*conds), CANDIDATES)
    lowered = [w.lower() for w in words]
    scored = [(_text_score(r, lowered), r) for r in rows]
    scored.sort(key=lambda pair: (-pair[0], -pair[1].updated_at.timestamp(), -pair[1].id))
    return [article_row(r, snippet=snippet(r, lowered), score=s) for s, r in scored[: max(1, limit)]]


def _text_score(row: KbRow, words: Sequence[str]) -> float:
    """Occurrences of the words, a title hit worth three of a body hit."""
    title = row.title.lower()
    body = " ".join(getattr(row, n) for n in (*BODY_FIELDS, "tags")).lower()
    return float(sum(3 * title.count(w) + min(body.count(w), 5) for w in words))


def snippet(row: KbRow, words: Sequence[str], width: int = SNIPPET) -> str:
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
        select(col(Ticket.subject), col(Ticket.description)).where(col(Ticket.number) == number.strip())
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
    return [article_row(r, snippet=snippet(r, terms), score=round(s, 3)) for s, r in scored[: max(1, limit)]]
