"""The live desk's service (a `Store` member): presence reports and reads, and the change
feed a TUI watches."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from ticketdesk.models import Agent
from ticketdesk.models.clock import utcnow
from ticketdesk.rules.presence import Present, TuiSession, Whereabouts
from ticketdesk.store.db.transactions import Transactions
from ticketdesk.store.live import presence
from ticketdesk.store.live.change_feed import ChangeFeed, open_feed
from ticketdesk.store.live.presence import DeskState
from ticketdesk.store.tickets.lookups import id_of


class LiveService:
    def __init__(self, tx: Transactions) -> None:
        self.tx = tx

    def report(self, me: TuiSession, where: Whereabouts, *, since: datetime, moved: bool) -> DeskState:
        """Beat (and say the new whereabouts when `moved`); returns the desk's state as of
        this transaction. Any active agent, auditors too: it is their own session."""

        def run(session: Session, actor: Agent) -> DeskState:
            now = utcnow()
            presence.report(session, me=me, agent_id=id_of(actor), where=where, since=since, moved=moved, now=now)
            return presence.desk_state(session, now)

        return self.tx.write("presence", run, own_state=True)

    def leave(self, session_id: str) -> None:
        self.tx.write("presence_leave", lambda s, _: presence.leave(s, session_id), own_state=True)

    def state(self) -> DeskState:
        return self.tx.read("desk_state", lambda s, _: presence.desk_state(s, utcnow()))

    def present(self) -> tuple[Present, ...]:
        """Who is live, and where."""
        return self.tx.read("presence_list", lambda s, _: presence.present(s, utcnow()))

    def feed(self) -> ChangeFeed:
        """A new change feed on this database (one per TUI; it holds its own connection)."""
        return open_feed(self.tx.db)
