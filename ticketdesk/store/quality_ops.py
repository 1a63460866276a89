"""Store operations for quality (issue 6), mixed into the Store facade (store/service.py):
CSAT surveys (store/quality/csat.py) and QA sampling and reviews (store/quality/qa.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ticketdesk.store.db.transactions import Transactions
    from ticketdesk.store.quality.csat import SurveyView
    from ticketdesk.store.quality.qa import QaReviewView, SampleResult

R = TypeVar("R")


class QualityOps:
    """Methods run in the facade's transactions (`self.tx`), one per operation."""

    #: the facade's transactions (store/db/transactions.py), one per operation
    tx: Transactions

    # --- CSAT ---------------------------------------------------------------------------

    def record_survey(
        self,
        number: str,
        *,
        speed: int,
        efficiency: int,
        attitude: int,
        effectiveness: int,
        overall: int,
        comment: str | None = None,
        replace: bool = False,
        source: str = "cli",
        now: datetime | None = None,
    ) -> SurveyView:
        """Record the survey of a resolved or closed ticket (one per ticket; `replace`
        overwrites an existing one)."""
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

    def survey(self, number: str) -> SurveyView:
        """The ticket's survey (NotFound if it has none)."""
        from ticketdesk.store.quality import csat

        return self.tx.read("survey", lambda s, _: csat.get_survey(s, number))

    def ticket_survey(self, number: str) -> SurveyView | None:
        """The ticket's survey, or None."""
        from ticketdesk.store.quality import csat

        return self.tx.read("ticket_survey", lambda s, _: csat.survey_of(s, number))

    # --- QA ---------------------------------------------------------------------------

    def qa_sample(
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

    def qa_reviews(self, *, batch: str | None = None, pending: bool = False) -> list[QaReviewView]:
        from ticketdesk.store.quality import qa

        return self.tx.read("qa_reviews", lambda s, _: qa.list_reviews(s, batch=batch, pending=pending))

    def qa_batches(self) -> list[tuple[str, int, int]]:
        """(batch, samples, reviewed), newest first."""
        from ticketdesk.store.quality import qa

        return self.tx.read("qa_batches", lambda s, _: qa.batches(s))

    def qa_review(
        self,
        number: str,
        *,
        score: Any,
        checklist: str | dict[str, Any],
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
