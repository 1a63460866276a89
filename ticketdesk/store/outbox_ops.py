"""Store operations of the outbound mail channel (issue 7): the SMTP outbox, mixed into the
Store facade (store/service.py); the work is done in store/mail/outbox.py.

Replies are queued by the reply's own transaction (see `tickets.stage_comment`); these
methods are for the senders (`ticketdesk mail send`, the sweep) and for people looking
at or retrying the outbox.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sqlmodel import Session

    from ticketdesk.models import Agent
    from ticketdesk.rules.masking import Masking
    from ticketdesk.store.db.transactions import Transactions
    from ticketdesk.store.mail.outbox import OutgoingMail
    from ticketdesk.store.readmodels import OutboxInfo

R = TypeVar("R")


def _now(now: datetime | None) -> datetime:
    from ticketdesk.models.clock import utcnow

    return now or utcnow()


class OutboxOps:
    """Methods run in the facade's transactions (`self.tx`), one per operation. Sending is
    for agents, leads and admins (auditors change nothing); retrying a failed reply for
    leads and admins."""

    #: the facade's transactions (store/db/transactions.py), one per operation
    tx: Transactions

    if TYPE_CHECKING:

        def _masking_for(self, actor: Agent) -> Masking: ...

    def claim_outbox(
        self, *, limit: int = 100, lease_seconds: float | None = None, now: datetime | None = None
    ) -> list[OutgoingMail]:
        """Claim up to `limit` due replies for this sender (status "sending", a token and a
        lease): two senders never get the same row."""
        from ticketdesk.store.mail import outbox

        lease = outbox.DEFAULT_LEASE_SECONDS if lease_seconds is None else lease_seconds
        return self.tx.write(
            "claim_outbox", lambda s, _: outbox.claim(s, limit=limit, lease_seconds=lease, now=_now(now))
        )

    def mark_sent(self, outbox_id: int, token: str, *, now: datetime | None = None) -> bool:
        """Delivered: status "sent" and a MAIL event on the ticket. False (and nothing
        written) if this sender's claim was lost meanwhile."""
        from ticketdesk.store.mail import outbox

        return self.tx.write(
            "mark_sent", lambda s, a: outbox.mark_sent(s, actor=a, outbox_id=outbox_id, token=token, now=_now(now))
        )

    def mark_failed_attempt(
        self,
        outbox_id: int,
        token: str,
        error: str,
        *,
        permanent: bool = False,
        max_attempts: int = 8,
        now: datetime | None = None,
    ) -> str:
        """A failed attempt: "retry" (queued again after a backoff), "failed" (for good,
        shown on the ticket) or "lost" (the claim is no longer this sender's)."""
        from ticketdesk.store.mail import outbox

        return self.tx.write("mark_failed_attempt", lambda s, a: outbox.mark_failed_attempt(
                s, actor=a, outbox_id=outbox_id, token=token, error=error, permanent=permanent,
                now=_now(now), max_attempts=max_attempts,
            ))  # fmt: skip

    def outbox_list(self, *, status: str | None = None, limit: int = 100) -> list[OutboxInfo]:
        """Outgoing mail, newest first (the address masked for roles that do not see it)."""
        from ticketdesk.store.mail import outbox

        return self.tx.read(
            "outbox_list", lambda s, a: outbox.list_outbox(s, status=status, limit=limit, masking=self._masking_for(a))
        )

    def retry_outbox(self, outbox_id: int, *, now: datetime | None = None) -> OutboxInfo:
        """Send a failed reply again (leads and admins): queued now, attempts reset."""
        from ticketdesk.store.mail import outbox
        from ticketdesk.store.people import roles

        def run(session: Session, actor: Agent) -> OutboxInfo:
            roles.require(actor, outbox.RETRIERS, "retry outgoing mail")
            return outbox.retry(session, actor=actor, outbox_id=outbox_id, now=_now(now))

        return self.tx.write("retry_outbox", run, target=str(outbox_id))

    def _outbox_of(self, session: Session, ticket_id: int, masking: Masking | None) -> tuple[Any, ...]:
        from ticketdesk.store.mail import outbox

        return outbox.ticket_outbox(session, ticket_id, masking)
