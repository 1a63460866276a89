"""The typed services of this domain that the Store is made of (store/desk.py); each method
is one transaction (store/db/transactions.py) named for the audit log."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ticketdesk.models.inbound_mail import InboundMail
from ticketdesk.store.db.errors import InvalidInput
from ticketdesk.store.mail import inbound as mail_in
from ticketdesk.store.mail.inbound import AttachmentInfo, AttachmentPolicy, IngestResult, Outcome

if TYPE_CHECKING:
    from ticketdesk.store.db.transactions import Transactions

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlmodel import Session

    from ticketdesk.models import Agent
    from ticketdesk.store.db.transactions import Transactions
    from ticketdesk.store.mail.outbox import OutgoingMail
    from ticketdesk.store.readmodels import OutboxInfo

from ticketdesk.store.db.transactions import Transactions
from ticketdesk.store.tickets.followups import Followups


class MailService:
    """Incoming mail and the attachments it brought."""

    def __init__(self, tx: Transactions, followups: Followups) -> None:
        self.tx = tx
        self.followups = followups

    def ingest(
        self, mail: InboundMail, *, policy: AttachmentPolicy | None = None, now: datetime | None = None
    ) -> IngestResult:
        """One message in one transaction: a new ticket, a customer comment, or nothing
        (already ingested, or an automatic mail). Any writing agent may run the gateway; the
        changes are made by the `system` agent."""
        policy = policy or AttachmentPolicy()
        try:
            return self.tx.write(
                "ingest_mail",
                lambda s, _: mail_in.ingest(s, mail=mail, policy=policy, now=now, followups=self.followups),
            )
        except InvalidInput:
            # Two gateways took the same message at once: the unique Message-ID refused
            # the second. Recognise that; anything else is a real error.
            if self.tx.read("ingest_mail", lambda s, _: mail_in.message_ticket(s, mail.message_id)) is None:
                raise
            return IngestResult(
                Outcome.DUPLICATE, self.tx.read("ingest_mail", lambda s, _: mail_in.message_ticket(s, mail.message_id))
            )

    def attachments(self, number: str) -> list[AttachmentInfo]:
        return self.tx.read("attachments", lambda s, _: mail_in.attachments_of(s, number))

    def attachment_content(self, attachment_id: int, *, folder: Path | None = None) -> tuple[AttachmentInfo, bytes]:
        return self.tx.read("attachment_content", lambda s, _: mail_in.attachment_content(s, attachment_id, folder))


class OutboxService:
    """The outbox of reply mail: senders claim, mark sent or failed; leads retry."""

    def __init__(self, tx: Transactions, *, mail_domain: str = "") -> None:
        self.tx = tx
        #: the desk's mail domain, once the config names one: replies queued before it was set
        #: get it in their Message-IDs before they leave (outbox.claim)
        self.mail_domain = mail_domain

    def claim(
        self, *, limit: int = 100, lease_seconds: float | None = None, now: datetime | None = None
    ) -> list[OutgoingMail]:
        """Claim up to `limit` due replies for this sender (status "sending", a token and a
        lease): two senders never get the same row."""
        from ticketdesk.store.mail import outbox

        lease = outbox.DEFAULT_LEASE_SECONDS if lease_seconds is None else lease_seconds
        return self.tx.write(
            "claim_outbox",
            lambda s, _: outbox.claim(s, limit=limit, lease_seconds=lease, now=_now(now), domain=self.mail_domain),
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

    def entries(self, *, status: str | None = None, limit: int = 100) -> list[OutboxInfo]:
        """Outgoing mail, newest first (the address masked for roles that do not see it)."""
        from ticketdesk.store.mail import outbox

        return self.tx.read(
            "outbox_list",
            lambda s, a: outbox.list_outbox(s, status=status, limit=limit, masking=self.tx.masking_for(a)),
        )

    def retry(self, outbox_id: int, *, now: datetime | None = None) -> OutboxInfo:
        """Send a failed reply again (leads and admins): queued now, attempts reset."""
        from ticketdesk.store.mail import outbox
        from ticketdesk.store.people import roles

        def run(session: Session, actor: Agent) -> OutboxInfo:
            roles.require(actor, outbox.RETRIERS, "retry outgoing mail")
            return outbox.retry(session, actor=actor, outbox_id=outbox_id, now=_now(now))

        return self.tx.write("retry_outbox", run, target=str(outbox_id))


def _now(now: datetime | None) -> datetime:
    from ticketdesk.models.clock import utcnow

    return now or utcnow()
