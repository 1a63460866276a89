"""The first pass of an import (store/imports/importer.py): every record read once, in one
read transaction, for its problems, the database's objections (team and type known,
external id not twice in the file), its repairs and whether it was imported before."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlmodel import Session

from ticketdesk.models.import_records import ImportedTicket, ImportProblem, ImportRepair, Record
from ticketdesk.rules.import_vocabulary import nearest_type
from ticketdesk.store.imports.importer import MAX_PROBLEMS
from ticketdesk.store.imports.lookups import CHUNK, Lookups, imported_ids


@dataclass
class Validation:
    new: int = 0
    comments: int = 0
    already: int = 0
    without_id: int = 0
    problems: list[str] = field(default_factory=list)
    total_problems: int = 0
    #: repairs of the new records (the first MAX_PROBLEMS), all counted
    repairs: list[ImportRepair] = field(default_factory=list)
    total_repairs: int = 0
    #: "user 377922500012" -> how many new tickets refer to it
    missing: Counter[str] = field(default_factory=Counter)
    #: the repairs that are such references
    total_missing: int = 0

    def problem(self, message: str) -> None:
        self.total_problems += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)

    def repaired(self, repairs: Sequence[ImportRepair]) -> None:
        self.total_repairs += len(repairs)
        room = MAX_PROBLEMS - len(self.repairs)
        if room > 0:
            self.repairs.extend(repairs[:room])
        refs = [r.missing for r in repairs if r.missing]
        self.total_missing += len(refs)
        self.missing.update(set(refs))

    def most_missing(self) -> tuple[tuple[str, int], ...]:
        return tuple(sorted(self.missing.items(), key=lambda kv: (-kv[1], kv[0])))


def resolve_type(record: ImportedTicket, types: set[str]) -> tuple[str | None, ImportRepair | None]:
    """The record's ticket type if the database has it; else the nearest one it has (and
    the repair that says so); else (None, None)."""
    if record.type in types:
        return record.type, None
    near = nearest_type(record.type, types)
    if near is None:
        return None, None
    ticket = None if record.hashed_id or record.external_id in record.where else record.external_id
    fix = ImportRepair(
        record.where, record.line, "type", f"unknown type {record.type!r}", f"imported as {near}",
        old=record.type, new=near, ticket=ticket,
    )  # fmt: skip
    return near, fix


def repairs_of(record: ImportedTicket, types: set[str]) -> tuple[ImportRepair, ...]:
    """Every repair of a record: the reader's and the database's (a type mapped)."""
    _, fix = resolve_type(record, types)
    return (*record.repairs, fix) if fix is not None else record.repairs


def validate(session: Session, records: Iterable[Record], *, source: str, strict: bool = False) -> Validation:
    """Read every record once: its problems, the database's objections, its repairs (each a
    problem when `strict`), and how many are new."""
    look = Lookups.load(session)
    result = Validation()
    seen: dict[str, str] = {}  # external id -> where
    pending: list[tuple[ImportedTicket, tuple[ImportRepair, ...]]] = []

    def flush() -> None:
        done = imported_ids(session, source, [t.external_id for t, _ in pending])
        for t, repairs in pending:
            if t.external_id in done:
                result.already += 1
            else:
                result.new += 1
                result.comments += len(t.comments)
                if repairs:
                    result.repaired(repairs)
        pending.clear()

    for record in records:
        if isinstance(record, ImportProblem):
            result.problem(str(record))
            continue
        ok = True
        first = seen.get(record.external_id)
        if first is not None:
            shown = "the same content" if record.hashed_id else f"external id {record.external_id!r}"
            result.problem(f"{record.where}: external_id: {shown} again (first at {first})")
            ok = False
        else:
            seen[record.external_id] = record.where
        if record.team and look.team(record.team) is None:
            known = ", ".join(sorted({key for _, key in look.teams.values()}))
            result.problem(f"{record.where}: team: unknown team {record.team!r} (known: {known})")
            ok = False
        ticket_type, _ = resolve_type(record, look.types)
        if ticket_type is None:
            result.problem(
                f"{record.where}: type: unknown type {record.type!r} (known: {', '.join(sorted(look.types))})"
            )
            ok = False
        repairs = repairs_of(record, look.types) if ticket_type is not None else record.repairs
        if strict and repairs:
            for fix in repairs:
                result.problem(fix.refusal())
            ok = False
        if not ok:
            continue
        result.without_id += record.hashed_id
        pending.append((record, repairs))
        if len(pending) >= CHUNK:
            flush()
    flush()
    return result
