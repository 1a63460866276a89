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
from ticketdesk.store.automation import rules as automation
from ticketdesk.store.mail import outbox


class AutomationsAndMail:
    def __init__(self, *, mail_domain: str = outbox.FALLBACK_DOMAIN) -> None:
        #: the domain of the desk's address, for the Message-IDs of the replies queued
        self.mail_domain = mail_domain

    def changed(self, session: Session, ticket_ids: Sequence[int], trigger: str, now: datetime, *, depth: int) -> None:
        automation.fire(session, ticket_ids, trigger, now, followups=self, depth=depth)

    def public_reply(self, session: Session, ticket: Ticket, comment: Comment, now: datetime) -> None:
        outbox.queue_reply(session, ticket, comment, now, domain=self.mail_domain)
