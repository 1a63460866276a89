"""What follows a ticket change in its transaction: automations firing, the mail of a public
reply. The operations that change tickets take a `Followups` and call it; the real one is
made in store/automation/followups.py, so this package imports neither the automations nor the
outbox, which both use it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from ticketdesk.models import Comment, Ticket


class Followups(Protocol):
    """What happens after a ticket change, in its transaction."""

    def changed(self, session: Session, ticket_ids: Sequence[int], trigger: str, now: datetime, *, depth: int) -> None:
        """The tickets were created, updated or replied to (`trigger`): run what that fires;
        `depth` counts changes made by automations, so chains stop."""

    def public_reply(self, session: Session, ticket: Ticket, comment: Comment, now: datetime) -> None:
        """A public reply was added: its mail to the customer goes out with it."""
