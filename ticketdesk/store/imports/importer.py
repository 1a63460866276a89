"""Writing imported tickets (ticketdesk/imports/ reads the files) in bulk: what an import
is, who may run it, its report and its refusal. ImportService.run (store/imports/service.py)
runs it in two passes: the file is read once, by the first, which keeps the good records for
the second (store/imports/spool.py):

1. **validate** (store/imports/validation.py, one read transaction): every problem of the file, the database checks
   (team and type known, external id not twice in the file) and the count of records
   already imported. Any problem: nothing is written (`ImportRejected` lists them all).
   The repairs the readers made (ticketdesk/imports/repairs.py: clock skew clamped, a
   user missing from the file, a vendor's status mapped to the nearest...) and an unknown
   ticket type with a nearest known one are collected for the report; with `strict` each
   is a problem instead.
2. **write** (store/imports/writer.py), `BATCH` tickets per transaction with Core bulk inserts (COPY on PostgreSQL):
   customers (matched by email, or by name when there is none), organisations (by name),
   tags, tickets (numbered YYYYMM of their original creation + the month's serial, the
   month's counter bumped), comments, events and the `import_ref` row that makes a
   re-import skip the ticket. A failure mid-way keeps the batches already committed; run
   the import again and it carries on where it stopped.

Each repair of a written ticket is an `imported` event of that ticket (field, the original
value, what was kept), so the ticket says what the import changed. Imported tickets keep
their original dates. Nothing is routed, no automation fires and no
duplicate check runs. Open tickets get SLA due dates from the policy (as if created at their
original time); resolved and closed ones get none. Comment authors and assignees are
matched to agents by email or login; agents are never created: an unknown author's comment
is written by the importing agent, with "(from Name <email>)" as its first line.

On SQLite the FTS5 insert triggers are suspended for each batch and the batch is indexed
in one statement (store/db/bulk.py, as for demo data), inside the same transaction; the
batches are bulk transactions (`Database.write(bulk=True)`: a roomy page cache, the WAL
checkpointed every few batches and emptied after the last).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ticketdesk.models import Agent, Role
from ticketdesk.models.import_records import ImportRepair
from ticketdesk.store.db.errors import InvalidInput
from ticketdesk.store.people import roles

#: Roles that import tickets (it creates customers and organisations in bulk).
IMPORTERS = frozenset({Role.LEAD, Role.ADMIN})
#: Tickets per write transaction: each holds the desk's write lock (on SQLite) for about
#: 0.4 s, which an agent's change made meanwhile waits out (its busy timeout is 30 s, a
#: presence heartbeat's 2 s); smaller batches cost more per ticket (100,000 tickets: 16.3 s
#: in batches of 2,000, 13.5 s of 5,000).
BATCH = 5_000
#: Problems kept in an ImportRejected (the count is always exact).
MAX_PROBLEMS = 1_000
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,29}$")


class ImportRejected(InvalidInput):
    """The file has problems: nothing was written. `problems` lists them in file order
    (the first MAX_PROBLEMS), `total` counts them all."""

    def __init__(self, problems: Sequence[str], total: int) -> None:
        first = problems[0] if problems else "no details"
        more = f" (and {total - 1:,} more)" if total > 1 else ""
        super().__init__(f"{total:,} error{'s' if total != 1 else ''} in the input, nothing imported: {first}{more}")
        self.problems = list(problems)
        self.total = total


@dataclass(frozen=True)
class ImportReport:
    source: str
    dry_run: bool
    #: tickets written (or that would be, in a dry run)
    imported: int
    comments: int
    #: records whose (source, external id) was imported before: skipped
    already: int
    #: records without an external id (identified by a hash of their content)
    without_id: int = 0
    customers_created: int = 0
    organisations_created: int = 0
    #: assignees or comment authors that matched no agent (by email or login)
    unmatched_agents: int = 0
    #: the source's groups that name none of our teams (those tickets have no team)
    unmatched_groups: tuple[str, ...] = ()
    #: what was repaired in the tickets written (the first MAX_PROBLEMS, in file order)
    repairs: tuple[ImportRepair, ...] = ()
    #: every repair, counted
    total_repairs: int = 0
    #: records the file refers to but does not hold ("user 377922500012"), with the number
    #: of tickets imported without them, most tickets first
    missing: tuple[tuple[str, int], ...] = ()
    #: the repairs (of total_repairs) that are such references
    total_missing: int = 0

    def summary(self) -> str:
        verb = "would import" if self.dry_run else "imported"
        warnings = self.total_repairs
        repaired = f" {warnings:,} warning{'s' if warnings != 1 else ''}," if warnings else ""
        line = (
            f"{verb} {self.imported:,} ticket{'s' if self.imported != 1 else ''} ({self.comments:,} comments),"
            f" {self.already:,} already imported,{repaired} 0 errors"
        )
        if self.dry_run:
            return line + " (dry run: nothing written)"
        return line


def check_source(source: str) -> str:
    """The `--source` name, normalised; InvalidInput unless it is a short plain name."""
    value = (source or "").strip().lower()
    if not _SOURCE.match(value):
        raise InvalidInput(
            f"--source {source!r}: a short name (letters, digits, . _ -; at most 30 characters), e.g. zendesk"
        )
    return value


def require_importer(actor: Agent) -> None:
    roles.require_writer(actor)
    roles.require(actor, IMPORTERS, "import tickets")
