"""What the import readers (ticketdesk/imports/) hand to the store (store/imports/importer.py): one
`ImportedTicket` per good record, one `ImportProblem` per bad field, and the `ImportRepair`s
made on the way. Plain data: no database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class ImportProblem(ValueError):
    """A bad record or field: where it is (line 17, or Zendesk ticket #35436), which field,
    what is wrong."""

    def __init__(self, where: str, field: str, message: str, *, line: int | None = None) -> None:
        super().__init__(f"{where}: {field}: {message}")
        self.where = where
        self.field = field
        self.message = message
        self.line = line


@dataclass(frozen=True)
class ImportRepair:
    """Something a record had that we repaired instead of refusing: where it is, the
    field, what was wrong (`problem`) and what was done (`action`); `old`/`new` are the
    values for the ticket's event. `missing` names a record the file refers to but does not
    hold ("user 377922500012"), so the import can list them once at the end."""

    where: str
    line: int | None
    field: str
    problem: str
    action: str
    old: str | None = None
    new: str | None = None
    missing: str | None = None
    #: the ticket's id in the source, when the record has one and `where` does not say it
    ticket: str | None = None

    @property
    def label(self) -> str:
        return f"{self.where} (ticket {self.ticket})" if self.ticket else self.where

    def __str__(self) -> str:
        """The warning: `line 4 (ticket 1595): status: unknown status 'deleted': imported as closed`."""
        return f"{self.label}: {self.field}: {self.problem}: {self.action}"

    def refusal(self) -> str:
        """The error `--strict` makes of it."""
        return f"{self.label}: {self.field}: {self.problem} (refused by --strict)"


@dataclass(frozen=True)
class ImportedComment:
    #: "customer" (an end user) or "agent"
    author_kind: str
    author_name: str | None
    author_email: str | None
    public: bool
    body: str
    created_at: datetime


@dataclass(frozen=True)
class ImportedTicket:
    """One ticket as read from the file, values already in our vocabulary, times aware UTC."""

    where: str
    line: int | None
    #: the id in the source system, or `hash:<hex>` of the content when the file has none
    external_id: str
    subject: str
    description: str
    status: str
    priority: str
    #: a type key, checked against the database's ticket types by the store
    type: str
    category: str | None
    channel: str
    support_level: str
    customer_name: str | None
    customer_email: str | None
    customer_phone: str | None
    organisation: str | None
    #: a team key or name, checked by the store
    team: str | None
    #: an agent login or email; unknown agents leave the ticket unassigned
    assignee: str | None
    tags: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    first_responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution: str | None
    comments: tuple[ImportedComment, ...] = ()
    #: the source's group (Zendesk): sets the team when it names one of ours, else ignored
    team_hint: str | None = None
    #: what was repaired in this record (empty for a clean one)
    repairs: tuple[ImportRepair, ...] = ()

    @property
    def hashed_id(self) -> bool:
        return self.external_id.startswith("hash:")


Record = ImportedTicket | ImportProblem
