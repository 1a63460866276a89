"""The only code that talks to the database."""

from ticketdesk.store.errors import (
    Conflict,
    DatabaseUnavailable,
    Forbidden,
    InvalidInput,
    NotFound,
    SchemaNotReady,
    StoreError,
)
from ticketdesk.store.service import Store
from ticketdesk.store.templates import TemplateEdit, TemplateSpec
from ticketdesk.store.tickets import NewTicket, TicketChanges

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
