"""The only code that talks to the database."""

from ticketdesk.store.db.errors import (
    Conflict,
    DatabaseUnavailable,
    Forbidden,
    InvalidInput,
    NotFound,
    SchemaNotReady,
    StoreError,
)
from ticketdesk.store.desk import Store
from ticketdesk.store.tickets.operations import NewTicket, TicketChanges
from ticketdesk.store.tickets.templates import TemplateEdit, TemplateSpec

__all__ = [
    "Conflict",
    "DatabaseUnavailable",
    "Forbidden",
    "InvalidInput",
    "NewTicket",
    "NotFound",
    "SchemaNotReady",
    "Store",
    "StoreError",
    "TemplateEdit",
    "TemplateSpec",
    "TicketChanges",
]
