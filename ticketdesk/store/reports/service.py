"""The typed services of this domain that the Store is made of (store/desk.py); each method
is one transaction (store/db/transactions.py) named for the audit log."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ticketdesk.rules.query import TicketFilter
from ticketdesk.store.db.transactions import Transactions, translated

if TYPE_CHECKING:
    from ticketdesk.store.db.transactions import Transactions
    from ticketdesk.store.reports.dashboard import Dashboard
    from ticketdesk.store.reports.kpis import KpiReport

from ticketdesk.store.db.transactions import Transactions


class ReportService:
    """KPIs of a period, the lead's dashboard, the streaming export."""

    def __init__(self, tx: Transactions) -> None:
        self.tx = tx

    def dashboard(self, *, days: int = 14) -> Dashboard:
        """The lead's dashboard (see store/reports/dashboard.py), computed in one read transaction."""
        from ticketdesk.models.clock import utcnow
        from ticketdesk.store.reports.dashboard import dashboard

        return self.tx.read("dashboard", lambda s, _: dashboard(s, now=utcnow(), days=days))

    def kpis(
        self,
        *,
        period: str | None = None,
        offset: int = -1,
        first_day: date | None = None,
        last_day: date | None = None,
        by: Sequence[str] | None = None,
        now: datetime | None = None,
    ) -> KpiReport:
        """KPIs of a week / month (offset -1: the last complete one, 0: the current one so
        far) or of local days first_day..last_day, in total and per breakdown; a KpiReport."""
        from ticketdesk.models.clock import utcnow
        from ticketdesk.store.reports.kpis import BREAKDOWNS, kpi_report

        when = now or utcnow()
        return self.tx.read(
            "kpi_report",
            lambda s, _: kpi_report(
                s,
                now=when,
                period=period,
                offset=offset,
                first_day=first_day,
                last_day=last_day,
                by=BREAKDOWNS if by is None else tuple(by),
            ),
        )

    def desk_timezone(self) -> str:
        """The time zone of report periods: the SLA policy's default calendar's, else UTC."""
        from ticketdesk.store.reports.kpis import desk_timezone

        return self.tx.read("desk_timezone", lambda s, _: desk_timezone(s))

    def export_tickets(
        self, flt: TicketFilter, *, page_size: int | None = None, now: datetime | None = None
    ) -> Generator[dict[str, Any], None, None]:
        """Stream every matching ticket as a flat dict (store/reports/export.py EXPORT_COLUMNS),
        masked for the acting agent's role. One read transaction, held while the caller
        iterates: consume it (or close it) promptly. Errors surface at the first `next()`."""
        from ticketdesk.models.clock import utcnow
        from ticketdesk.store.reports.export import PAGE, export_rows
        from ticketdesk.store.tickets.lookups import acting_agent

        masking = self.tx.read("export_tickets", lambda _, a: self.tx.masking_for(a))
        when = now or utcnow()
        with translated(), self.tx.db.read() as session:
            me = acting_agent(session, self.tx.login).id
            for row in export_rows(session, flt=flt, actor_id=me, now=when, page_size=page_size or PAGE):
                yield masking.row(row)
