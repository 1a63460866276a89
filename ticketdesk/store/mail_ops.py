"""Store operations of the inbound mail channel (issue 7), mixed into the Store facade
(store/service.py); the work is done in store/mail/inbound.py."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ticketdesk.models.inbound_mail import InboundMail
from ticketdesk.store.db.errors import InvalidInput
from ticketdesk.store.mail import inbound as mail_in
from ticketdesk.store.mail.inbound import AttachmentInfo, AttachmentPolicy, IngestResult, Outcome

if TYPE_CHECKING:
    from ticketdesk.store.automation.followups import AutomationsAndMail
    from ticketdesk.store.db.transactions import Transactions


class MailOps:
    """Ingest of parsed mail and the attachments of a ticket."""

    #: the facade's transactions (store/db/transactions.py), one per operation
    tx: Transactions
    followups: AutomationsAndMail

    def ingest_mail(
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


__all__ = ["AttachmentInfo", "AttachmentPolicy", "IngestResult", "MailOps", "Outcome"]
