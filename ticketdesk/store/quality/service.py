"""The typed services of this domain that the Store is made of (store/desk.py); each method
is one transaction (store/db/transactions.py) named for the audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ticketdesk.store.quality import kb_articles, kb_search
from ticketdesk.store.quality.kb_articles import ArticleEdit, ArticleRow, ArticleSpec, ArticleView

if TYPE_CHECKING:
    from ticketdesk.store.db.transactions import Transactions

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ticketdesk.store.db.transactions import Transactions
    from ticketdesk.store.quality.csat import SurveyView
    from ticketdesk.store.quality.qa import QaReviewView, SampleResult

from ticketdesk.store.db.transactions import Transactions


class KbService:
    """The knowledge base: articles, search, suggestions for a ticket."""

    def __init__(self, tx: Transactions) -> None:
        self.tx = tx

    def add(self, spec: ArticleSpec) -> ArticleView:
        return self.tx.write("add_article", lambda s, a: kb_articles.add_article(s, actor=a, spec=spec))

    def get(self, article_id: int) -> ArticleView:
        return self.tx.read("article", lambda s, _: kb_articles.get_article(s, article_id))

    def recent(self, *, tag: str | None = None, limit: int = 200) -> list[ArticleRow]:
        """Newest change first."""
        return self.tx.read("list_articles", lambda s, _: kb_articles.list_articles(s, tag=tag, limit=limit))

    def edit(self, article_id: int, edit: ArticleEdit, *, expected_version: int | None = None) -> ArticleView:
        """Change fields; with `expected_version`, a change made in between is a Conflict."""
        return self.tx.write(
            "edit_article",
            lambda s, a: kb_articles.edit_article(
                s, actor=a, article_id=article_id, edit=edit, expected_version=expected_version
            ),
        )

    def search(self, query: str, *, tag: str | None = None, limit: int = 20) -> list[ArticleRow]:
        """Articles holding every word (English or Chinese), best first, each with a snippet."""
        return self.tx.read(
            "search_articles", lambda s, _: kb_search.search_articles(s, query=query, tag=tag, limit=limit)
        )

    def suggest(self, number: str, limit: int = 3) -> list[ArticleRow]:
        """The `limit` articles that best fit a ticket's subject and description."""
        return self.tx.read("suggest_articles", lambda s, _: kb_search.suggest_articles(s, number=number, limit=limit))

    def from_ticket(self, number: str) -> ArticleView:
        """A new article from a resolved or closed ticket (an unresolved one is refused)."""
        return self.tx.write(
            "article_from_ticket", lambda s, a: kb_articles.article_from_ticket(s, actor=a, number=number)
        )


class CsatService:
    """Satisfaction surveys (CSAT)."""

    def __init__(self, tx: Transactions) -> None:
        self.tx = tx

    def record(
        self,
        number: str,
        *,
        speed: int | str,
        efficiency: int | str,
        attitude: int | str,
        effectiveness: int | str,
        overall: int | str,
        comment: str | None = None,
        replace: bool = False,
        source: str = "cli",
        now: datetime | None = None,
    ) -> SurveyView:
        """Record the survey of a resolved or closed ticket (one per ticket; `replace`
        overwrites an existing one). Each score is a whole number 1-5, or its text as a
        person typed it; either is checked here and a bad one is refused by name."""
        from ticketdesk.store.quality import csat

        scores = {
            "speed": speed,
            "efficiency": efficiency,
            "attitude": attitude,
            "effectiveness": effectiveness,
            "overall": overall,
        }
        return self.tx.write(
            "record_survey",
            lambda s, a: csat.record_survey(
                s, actor=a, number=number, scores=scores, comment=comment, source=source, replace=replace, now=now
            ),
        )

    def import_surveys(
        self, rows: Iterable[tuple[int, Mapping[str, str | None]]], *, replace: bool = False
    ) -> list[str]:
        """Record (line number, CSV row) surveys in one transaction: all or nothing."""
        from ticketdesk.store.quality import csat

        return self.tx.write("import_surveys", lambda s, a: csat.import_surveys(s, actor=a, rows=rows, replace=replace))

    def get(self, number: str) -> SurveyView:
        """The ticket's survey (NotFound if it has none)."""
        from ticketdesk.store.quality import csat

        return self.tx.read("survey", lambda s, _: csat.get_survey(s, number))

    def of_ticket(self, number: str) -> SurveyView | None:
        """The ticket's survey, or None."""
        from ticketdesk.store.quality import csat

        return self.tx.read("ticket_survey", lambda s, _: csat.survey_of(s, number))


class QaService:
    """QA sampling and reviews."""

    def __init__(self, tx: Transactions) -> None:
        self.tx = tx

    def sample(
        self,
        start: date,
        end: date,
        *,
        rate: float = 0.05,
        seed: int | None = None,
        now: datetime | None = None,
    ) -> SampleResult:
        """Sample closed tickets of the period into a QA batch (idempotent per batch)."""
        from ticketdesk.store.quality import qa

        return self.tx.write(
            "qa_sample", lambda s, a: qa.sample(s, actor=a, start=start, end=end, rate=rate, seed=seed, now=now)
        )

    def reviews(self, *, batch: str | None = None, pending: bool = False) -> list[QaReviewView]:
        from ticketdesk.store.quality import qa

        return self.tx.read("qa_reviews", lambda s, _: qa.list_reviews(s, batch=batch, pending=pending))

    def batches(self) -> list[tuple[str, int, int]]:
        """(batch, samples, reviewed), newest first."""
        from ticketdesk.store.quality import qa

        return self.tx.read("qa_batches", lambda s, _: qa.batches(s))

    def review(
        self,
        number: str,
        *,
        score: object,
        checklist: str | Mapping[str, object],
        comment: str | None = None,
        batch: str | None = None,
        now: datetime | None = None,
    ) -> QaReviewView:
        """Score a sampled ticket (leads and admins): 1-5, every checklist item yes/no."""
        from ticketdesk.store.quality import qa

        return self.tx.write(
            "qa_review",
            lambda s, a: qa.review(
                s, actor=a, number=number, score=score, checklist=checklist, comment=comment, batch=batch, now=now
            ),
        )
