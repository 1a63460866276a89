"""Tables of the channels (issue 7): mail messages seen in and out, attachments, the
outbox of replies waiting for SMTP, and the original ids of imported tickets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlmodel import Field, SQLModel, col

from ticketdesk.models.clock import utcnow
from ticketdesk.models.types import UTCDateTime

_BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class MailMessage(SQLModel, table=True):
    """One email message of a ticket, received or sent. Its Message-ID makes ingest
    idempotent and threads a customer's reply (In-Reply-To / References) to the ticket."""

    __tablename__ = "mail_message"
    id: int | None = Field(default=None, sa_column=Column(_BIG_ID, primary_key=True))
    #: without the angle brackets
    message_id: str = Field(sa_column=Column(String(998), nullable=False, unique=True))
    ticket_id: int = Field(sa_column=Column(_BIG_ID, ForeignKey("ticket.id"), nullable=False, index=True))
    comment_id: int | None = Field(default=None, sa_column=Column(_BIG_ID, ForeignKey("comment.id"), nullable=True))
    #: "in" (from the customer) or "out" (a public reply)
    direction: str = Field(max_length=3)
    from_addr: str | None = Field(default=None, max_length=320)
    subject: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Attachment(SQLModel, table=True):
    """A file that came with a mail (or an import). The bytes are in `content`, or in the
    configured attachments folder at `path` (relative to it)."""

    __tablename__ = "attachment"
    id: int | None = Field(default=None, sa_column=Column(_BIG_ID, primary_key=True))
    ticket_id: int = Field(sa_column=Column(_BIG_ID, ForeignKey("ticket.id"), nullable=False, index=True))
    comment_id: int | None = Field(default=None, sa_column=Column(_BIG_ID, ForeignKey("comment.id"), nullable=True))
    filename: str = Field(sa_column=Column(String(255), nullable=False))
    content_type: str = Field(max_length=255)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64)
    content: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    path: str | None = Field(default=None, sa_column=Column(String(1000), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class OutboxMail(SQLModel, table=True):
    """A public reply waiting to go out by SMTP. Queued in the reply's transaction; a
    sender claims it (status "sending", a token and a lease), delivers it and marks it
    "sent", or puts it back with a later `next_attempt_at`, or marks it "failed"."""

    __tablename__ = "outbox"
    id: int | None = Field(default=None, sa_column=Column(_BIG_ID, primary_key=True))
    ticket_id: int = Field(sa_column=Column(_BIG_ID, ForeignKey("ticket.id"), nullable=False, index=True))
    comment_id: int | None = Field(default=None, sa_column=Column(_BIG_ID, ForeignKey("comment.id"), nullable=True))
    to_addr: str = Field(max_length=320)
    subject: str = Field(sa_column=Column(String(600), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    #: without the angle brackets
    message_id: str = Field(sa_column=Column(String(998), nullable=False, unique=True))
    in_reply_to: str | None = Field(default=None, sa_column=Column(String(998), nullable=True))
    #: space-separated Message-IDs, without angle brackets ("references" is an SQL keyword)
    thread_refs: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: queued, sending, sent, failed
    status: str = Field(default="queued", max_length=10)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    claim_token: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


Index("ix_outbox_due", col(OutboxMail.status), col(OutboxMail.next_attempt_at))


class ImportRef(SQLModel, table=True):
    """The id a ticket had in the system it was imported from: re-importing skips it."""

    __tablename__ = "import_ref"
    source: str = Field(sa_column=Column(String(30), primary_key=True))
    external_id: str = Field(sa_column=Column(String(100), primary_key=True))
    ticket_id: int = Field(sa_column=Column(_BIG_ID, ForeignKey("ticket.id"), nullable=False, index=True))
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
