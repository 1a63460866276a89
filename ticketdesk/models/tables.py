"""SQLModel table classes. The schema itself is owned by the Alembic migrations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel, col

from ticketdesk.models.clock import utcnow
from ticketdesk.models.types import UTCDateTime


class Organisation(SQLModel, table=True):
    __tablename__ = "organisation"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    industry: str | None = Field(default=None, max_length=100)


class Customer(SQLModel, table=True):
    __tablename__ = "customer"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320, unique=True)
    phone: str | None = Field(default=None, max_length=50)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    department: str | None = Field(default=None, max_length=200)
    industry: str | None = Field(default=None, max_length=100)
    vip: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Team(SQLModel, table=True):
    __tablename__ = "team"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=50, unique=True)
    name: str = Field(max_length=200)
    #: where round-robin assignment in this team continues from
    last_assigned_id: int | None = Field(default=None)


class TicketType(SQLModel, table=True):
    __tablename__ = "ticket_type"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=50, unique=True)
    name: str = Field(max_length=200)


class Agent(SQLModel, table=True):
    __tablename__ = "agent"
    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=100, unique=True)
    display_name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    role: str = Field(default="agent", max_length=20)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    skills: str = Field(default="", max_length=1000)  # comma-separated
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


_version_column = Column("version", Integer, nullable=False, default=1)


class Ticket(SQLModel, table=True):
    __tablename__ = "ticket"
    __mapper_args__ = {"version_id_col": _version_column}

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    )
    number: str = Field(sa_column=Column(String(20), nullable=False, unique=True))
    subject: str = Field(sa_column=Column(String(500), nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    type: str = Field(max_length=50)
    category: str | None = Field(default=None, max_length=100)
    priority: str = Field(max_length=2)
    status: str = Field(max_length=20)
    channel: str = Field(max_length=20)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    team_id: int | None = Field(default=None, foreign_key="team.id")
    assignee_id: int | None = Field(default=None, foreign_key="agent.id")
    support_level: str = Field(default="L1", max_length=2)
    resolution: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    merged_into_id: int | None = Field(default=None, sa_column=Column(ForeignKey("ticket.id"), nullable=True))
    reopen_count: int = Field(default=0)
    first_response_due: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolution_due: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expected_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    status_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_responded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: set while the SLA clocks stand still (pending, on hold)
    sla_paused_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: business time spent paused so far (and resolved, before a reopen): pushes the due times back
    sla_paused_seconds: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    last_customer_reply_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column=_version_column)


# Queue indexes: equality filters first, then the default sort (priority ASC, updated DESC,
# id DESC) in the same directions, so a keyset page is one index range with no sort step.
_queue_tail = (col(Ticket.priority), col(Ticket.updated_at).desc(), col(Ticket.id).desc())
Index("ix_ticket_team_queue", col(Ticket.team_id), col(Ticket.status), *_queue_tail)
Index("ix_ticket_status_queue", col(Ticket.status), *_queue_tail)
Index("ix_ticket_assignee_queue", col(Ticket.assignee_id), col(Ticket.status), *_queue_tail)
Index("ix_ticket_priority_updated", *_queue_tail)
Index("ix_ticket_updated", col(Ticket.updated_at), col(Ticket.id))
Index("ix_ticket_created", col(Ticket.created_at), col(Ticket.id))
# Dashboard (store/reports/dashboard.py, migration 0003): the open tickets with every column their
# panels read (partial, so it stays small and the GROUP BY reads no table rows; the query
# repeats the predicate word for word), and finished tickets by resolution time.
_open_predicate = text("status IN ('new', 'open', 'in_progress', 'pending', 'on_hold')")
Index(
    "ix_ticket_open_board",
    col(Ticket.status),
    col(Ticket.priority),
    col(Ticket.team_id),
    col(Ticket.assignee_id),
    col(Ticket.created_at),
    col(Ticket.first_response_due),
    col(Ticket.first_responded_at),
    col(Ticket.resolution_due),
    col(Ticket.resolved_at),
    col(Ticket.sla_paused_at),  # migration 0004
    sqlite_where=_open_predicate,
    postgresql_where=_open_predicate,
)
Index("ix_ticket_status_resolved", col(Ticket.status), col(Ticket.resolved_at))
# The tickets merged into one (its thread shows their comments; migration 0008), partial:
# only merged tickets have the column set.
_merged = text("merged_into_id IS NOT NULL")
Index("ix_ticket_merged_into", col(Ticket.merged_into_id), sqlite_where=_merged, postgresql_where=_merged)


class Tag(SQLModel, table=True):
    __tablename__ = "tag"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)


class TicketTag(SQLModel, table=True):
    __tablename__ = "ticket_tag"
    ticket_id: int = Field(sa_column=Column(ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True))
    tag_id: int = Field(sa_column=Column(ForeignKey("tag.id"), primary_key=True, index=True))


class Comment(SQLModel, table=True):
    __tablename__ = "comment"
    id: int | None = Field(
        default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    )
    ticket_id: int = Field(sa_column=Column(ForeignKey("ticket.id"), nullable=False, index=True))
    kind: str = Field(max_length=10)
    author_id: int | None = Field(default=None, foreign_key="agent.id")
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Event(SQLModel, table=True):
    """Append-only history: one row per change (who, when, what field, old -> new)."""

    __tablename__ = "event"
    id: int | None = Field(
        default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    )
    ticket_id: int = Field(sa_column=Column(ForeignKey("ticket.id"), nullable=False, index=True))
    actor_id: int | None = Field(default=None, foreign_key="agent.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    kind: str = Field(max_length=20)
    field: str | None = Field(default=None, max_length=50)
    old: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    new: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    ticket_version: int | None = Field(default=None)


class TicketLink(SQLModel, table=True):
    __tablename__ = "ticket_link"
    __table_args__ = (UniqueConstraint("ticket_id", "other_id", "kind", name="uq_ticket_link"),)
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(sa_column=Column(ForeignKey("ticket.id"), nullable=False, index=True))
    other_id: int = Field(sa_column=Column(ForeignKey("ticket.id"), nullable=False, index=True))
    kind: str = Field(max_length=20)
    created_by_id: int | None = Field(default=None, foreign_key="agent.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class TicketCounter(SQLModel, table=True):
    """Per-month serial for ticket numbers, bumped inside the creating transaction."""

    __tablename__ = "ticket_counter"
    period: str = Field(primary_key=True, max_length=6)
    last_serial: int = Field(default=0)


class ReplyTemplate(SQLModel, table=True):
    """A canned reply (macro): a Jinja2 body plus the fields it sets when applied.

    `key` is the normalised name (case-folded, one kind of dash and space) and is what makes
    names unique; `name` is kept as typed, for display.
    """

    __tablename__ = "reply_template"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(100), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(100), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    sets_status: str | None = Field(default=None, max_length=20)
    sets_priority: str | None = Field(default=None, max_length=2)
    add_tags: str = Field(default="", sa_column=Column(String(1000), nullable=False, default=""))  # comma-separated
    internal: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    created_by_id: int | None = Field(default=None, foreign_key="agent.id")


class SavedView(SQLModel, table=True):
    """An agent's own named queue filter, written in the query language of rules/query.py."""

    __tablename__ = "saved_view"
    __table_args__ = (UniqueConstraint("agent_id", "name", name="uq_saved_view_agent_name"),)
    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(sa_column=Column(ForeignKey("agent.id", ondelete="CASCADE"), nullable=False))
    name: str = Field(sa_column=Column(String(100), nullable=False))
    query: str = Field(sa_column=Column(Text, nullable=False))
    sort: str | None = Field(default=None, max_length=50)
    position: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Setting(SQLModel, table=True):
    """A settings document (JSON): "sla" (the SLA policy), "rules" (routing, automations, sweep)."""

    __tablename__ = "setting"
    key: str = Field(primary_key=True, max_length=50)
    value: str = Field(sa_column=Column(Text, nullable=False))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_by_id: int | None = Field(default=None, foreign_key="agent.id")


class RuleFiring(SQLModel, table=True):
    """A rule that fired on a ticket for one occurrence: the unique key makes it at most once."""

    __tablename__ = "rule_firing"
    __table_args__ = (UniqueConstraint("rule", "ticket_id", "occurrence", name="uq_rule_firing"),)
    id: int | None = Field(
        default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    )
    rule: str = Field(max_length=120)
    ticket_id: int = Field(
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), ForeignKey("ticket.id"), nullable=False)
    )
    occurrence: str = Field(max_length=200)
    fired_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


Index("ix_rule_firing_ticket", col(RuleFiring.ticket_id))


class AgentKey(SQLModel, table=True):
    """An SSH public key that logs its agent in (`ticketdesk serve ssh`, the OpenSSH route):
    the key alone decides the agent, so a key belongs to one agent only."""

    __tablename__ = "agent_key"
    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    #: OpenSSH's "SHA256:…" fingerprint of the key
    fingerprint: str = Field(max_length=100, unique=True)
    #: the key type, e.g. ssh-ed25519
    algorithm: str = Field(max_length=100)
    #: the key itself, base64 as in an authorized_keys line
    key: str = Field(sa_column=Column(Text, nullable=False))
    comment: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    created_by_id: int | None = Field(default=None, foreign_key="agent.id")
