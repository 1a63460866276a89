"""The undo log: one row per change an agent may take back (store/tickets/undo.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from ticketdesk.models.clock import utcnow
from ticketdesk.models.types import UTCDateTime


class UndoEntry(SQLModel, table=True):
    """What one of an agent's changes did to each ticket, enough to take it back: per ticket,
    each field's value before and after, the tags added and removed (rules/undo.py encodes
    it as JSON). Marked undone when taken back; deleted once past the undo window (the
    events keep the history), or when a customer's data is erased."""

    __tablename__ = "undo_entry"
    id: int | None = Field(default=None, primary_key=True)
    actor_id: int = Field(foreign_key="agent.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    #: what was done, as the agent would say it ("status pending on 3 tickets")
    summary: str = Field(sa_column=Column(Text, nullable=False))
    #: rules.undo.encode of the tickets' before and after
    tickets: str = Field(sa_column=Column(Text, nullable=False))
    undone_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
