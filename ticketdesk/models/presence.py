"""The presence table: one row per open TUI (store/live/presence.py keeps it)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from ticketdesk.models.clock import utcnow
from ticketdesk.models.types import UTCDateTime


class Presence(SQLModel, table=True):
    """Where an open TUI is (rules/presence.py). Ephemeral: a row is deleted when its session
    ends, and ignored (then swept away) once its heartbeat is older than rules.presence.EXPIRY.
    A heartbeat updates `seen_at` only, so on PostgreSQL it wakes nobody (the NOTIFY trigger
    of migration 0010 watches the other columns)."""

    __tablename__ = "presence"
    #: a random id per TUI process
    session_id: str = Field(primary_key=True, max_length=36)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    host: str = Field(max_length=255)
    pid: int
    #: "ssh" or "local"
    via: str = Field(max_length=10)
    place: str = Field(max_length=20)
    ticket_number: str | None = Field(default=None, max_length=40)
    activity: str = Field(max_length=10)
    since: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
