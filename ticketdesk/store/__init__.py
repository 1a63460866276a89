"""The only code that talks to the database.

Names are imported on first use: `from ticketdesk.store import StoreError` (what every CLI
command's error handling needs) costs the errors module alone, not the whole store.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    from ticketdesk.store.tickets.create import NewTicket
    from ticketdesk.store.tickets.templates import TemplateEdit, TemplateSpec
    from ticketdesk.store.tickets.update import TicketChanges

#: each exported name and the module it lives in
_HOMES = {
    "Conflict": "ticketdesk.store.db.errors",
    "DatabaseUnavailable": "ticketdesk.store.db.errors",
    "Forbidden": "ticketdesk.store.db.errors",
    "InvalidInput": "ticketdesk.store.db.errors",
    "NotFound": "ticketdesk.store.db.errors",
    "SchemaNotReady": "ticketdesk.store.db.errors",
    "StoreError": "ticketdesk.store.db.errors",
    "Store": "ticketdesk.store.desk",
    "NewTicket": "ticketdesk.store.tickets.create",
    "TicketChanges": "ticketdesk.store.tickets.update",
    "TemplateEdit": "ticketdesk.store.tickets.templates",
    "TemplateSpec": "ticketdesk.store.tickets.templates",
}

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


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
