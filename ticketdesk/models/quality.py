"""Tables of people and quality (issue 6): the audit log, CSAT surveys, QA samples and
reviews, and knowledge-base articles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel, col

from ticketdesk.models.clock import utcnow
from ticketdesk.models.types import UTCDateTime

_BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class AuditEntry(SQLModel, table=True):
    """Append-only record of a sensitive action (or a refused one: ok is False)."""

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, sa_column=Column(_BIG_ID, primary_key=True))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    actor_id: int | None = Field(default=None, foreign_key="agent.id")
    #: the login as it was, kept even if the agent is renamed or removed
    actor_login: str = Field(max_length=100)
    #: e.g. role_change, export, merge, unmask, settings_change, rules_change, permission_denied
    action: str = Field(max_length=50)
    #: what it was done to: a ticket number, a login, a settings key, a file name
    target: str | None = Field(default=None, max_length=200)
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    ok: bool = Field(default=True)
    #: the hash chain (rules/audit_chain.py): the previous entry's hash (None for the first
    #: entry) and SHA-256 over this entry's content and prev_hash
    prev_hash: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    hash: str = Field(sa_column=Column(String(64), nullable=False))


Index("ix_audit_log_at", col(AuditEntry.at))
Index("ix_audit_log_action_at", col(AuditEntry.action), col(AuditEntry.at))


class AuditHead(SQLModel, table=True):
    """The end of the audit chain: one row (id 1), locked by every writer that appends, so
    concurrent writers never fork the chain. Created with the first chained entry."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="ck_audit_head_one_row"),)
    id: int = Field(default=1, sa_column=Column(Integer, primary_key=True, autoincrement=False))
    #: the id and hash of the newest entry
    last_id: int = Field(sa_column=Column(_BIG_ID, nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))


class Survey(SQLModel, table=True):
    """The customer's satisfaction with one resolved ticket: five 1-5 scores and a comment."""

    __tablename__ = "survey"
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(sa_column=Column(_BIG_ID, ForeignKey("ticket.id"), nullable=False, unique=True))
    speed: int = Field(sa_column=Column(SmallInteger, nullable=False))
    efficiency: int = Field(sa_column=Column(SmallInteger, nullable=False))
    attitude: int = Field(sa_column=Column(SmallInteger, nullable=False))
    effectiveness: int = Field(sa_column=Column(SmallInteger, nullable=False))
    overall: int = Field(sa_column=Column(SmallInteger, nullable=False))
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: cli, csv, email
    source: str = Field(default="cli", max_length=20)
    submitted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    recorded_by_id: int | None = Field(default=None, foreign_key="agent.id")


class QaReview(SQLModel, table=True):
    """A closed ticket sampled for quality review, and the review once done."""

    __tablename__ = "qa_review"
    __table_args__ = (UniqueConstraint("batch", "ticket_id", name="uq_qa_review_batch_ticket"),)
    id: int | None = Field(default=None, primary_key=True)
    #: the sample it belongs to, e.g. "2026-11-01..2026-11-30 rate 0.05 seed 7"
    batch: str = Field(max_length=100)
    ticket_id: int = Field(sa_column=Column(_BIG_ID, ForeignKey("ticket.id"), nullable=False, index=True))
    sampled_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    sampled_by_id: int | None = Field(default=None, foreign_key="agent.id")
    reviewer_id: int | None = Field(default=None, foreign_key="agent.id")
    score: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    #: the checklist answers, JSON: {"greeting": true, "correct_solution": true, ...}
    checklist: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class KbArticle(SQLModel, table=True):
    """A knowledge-base article (searchable in English and Chinese)."""

    __tablename__ = "kb_article"
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(sa_column=Column(String(300), nullable=False))
    symptoms: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    scope: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    steps: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    solution: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    prevention: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    tags: str = Field(default="", sa_column=Column(String(1000), nullable=False, default=""))  # comma-separated
    source_ticket_id: int | None = Field(
        default=None, sa_column=Column(_BIG_ID, ForeignKey("ticket.id"), nullable=True)
    )
    created_by_id: int | None = Field(default=None, foreign_key="agent.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
