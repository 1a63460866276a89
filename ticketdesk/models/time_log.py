"""Time spent on tickets: one row per entry an agent logs (store/tickets/time_log.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Text
from sqlmodel import Field, SQLModel

from ticketdesk.models.clock import utcnow
from ticketdesk.models.types import UTCDateTime


class TimeEntry(SQLModel, table=True):
    __tablename__ = "time_entry"
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(sa_column=Column(ForeignKey("ticket.id"), nullable=False, index=True))
    agent_id: int = Field(foreign_key="agent.id", index=True)
    minutes: int
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    logged_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
