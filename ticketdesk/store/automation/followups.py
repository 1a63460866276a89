"""The real `Followups` of a ticket change (the protocol is in store/tickets/followups.py): the
automations fire, and a public reply's mail is queued, in the change's own transaction.

The operations that change tickets take it as an argument, so store/tickets/ needs
neither store/automation/rules.py nor store/mail/outbox.py, and those two may use it freely. The Store
makes one with the desk's mail domain (from the settings its caller read).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from ticketdesk.models import Comment, Ticket


class AutomationsAndMail:
    def __init__(self, *, mail_domain: str = "", send_delay: float = 0.0) -> None:
        #: the domain of the desk's address, for the Message-IDs of the replies queued ("": the
        #: outbox's reserved fallback domain)
        self.mail_domain = mail_domain
        #: seconds before a queued reply may be sent (the time to undo it)
        self.send_delay = send_delay

    def changed(self, session: Session, ticket_ids: Sequence[int], trigger: str, now: datetime, *, depth: int) -> None:
        # imported here, not above: a store that only reads (`ticketdesk list`) never loads them
        from ticketdesk.store.automation import rules as automation

        automation.fire(session, ticket_ids, trigger, now, followups=self, depth=depth)

    def public_reply(self, session: Session, ticket: Ticket, comment: Comment, now: datetime) -> None:
        from ticketdesk.store.mail import outbox

        outbox.queue_reply(session, ticket, comment, now, domain=self.mail_domain, delay=self.send_delay)


class AutomationsWithoutMail(AutomationsAndMail):
    """For history written after the fact (the demo's sweep catching up): the automations fire,
    but a reply is history, not mail to send now, as the demo's other replies are."""

    def public_reply(self, session: Session, ticket: Ticket, comment: Comment, now: datetime) -> None:
        return None
