"""Table classes and enums; no behaviour beyond validation.

The names below are exported lazily (PEP 562 `__getattr__`), so importing
`ticketdesk.models.enums` or `ticketdesk.models.clock` loads neither SQLAlchemy nor
SQLModel (the rules import only those). The first table asked of this package loads every
table module, so SQLModel's metadata always holds the whole schema.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ticketdesk.models.channels import Attachment, ImportRef, MailMessage, OutboxMail
    from ticketdesk.models.enums import (
        ACTIVE_STATUSES,
        Channel,
        CommentKind,
        EventKind,
        LinkKind,
        Priority,
        Role,
        Status,
        SupportLevel,
    )
    from ticketdesk.models.presence import Presence
    from ticketdesk.models.quality import AuditEntry, KbArticle, QaReview, Survey
    from ticketdesk.models.tables import (
        Agent,
        AgentKey,
        Comment,
        Customer,
        Event,
        Organisation,
        ReplyTemplate,
        RuleFiring,
        SavedView,
        Setting,
        Tag,
        Team,
        Ticket,
        TicketCounter,
        TicketLink,
        TicketTag,
        TicketType,
    )
    from ticketdesk.models.time_log import TimeEntry
    from ticketdesk.models.undo import UndoEntry

__all__ = [
    "ACTIVE_STATUSES",
    "Agent",
    "AgentKey",
    "Attachment",
    "AuditEntry",
    "Channel",
    "Comment",
    "CommentKind",
    "Customer",
    "Event",
    "EventKind",
    "ImportRef",
    "KbArticle",
    "LinkKind",
    "MailMessage",
    "Organisation",
    "OutboxMail",
    "Presence",
    "Priority",
    "QaReview",
    "ReplyTemplate",
    "Role",
    "RuleFiring",
    "SavedView",
    "Setting",
    "Status",
    "SupportLevel",
    "Survey",
    "Tag",
    "Team",
    "Ticket",
    "TicketCounter",
    "TicketLink",
    "TicketTag",
    "TicketType",
    "TimeEntry",
    "UndoEntry",
]


def __getattr__(name: str) -> object:
    """An exported name, imported on first use: an enum from enums.py alone, a table with
    every table module."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from ticketdesk.models import enums

    modules: tuple[ModuleType, ...] = (enums,)
    if not hasattr(enums, name):
        from ticketdesk.models import channels, presence, quality, tables, time_log, undo

        modules = (channels, presence, quality, tables, time_log, undo)
    for module in modules:
        globals().update({exported: getattr(module, exported) for exported in __all__ if hasattr(module, exported)})
    return globals()[name]


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
