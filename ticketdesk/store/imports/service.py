"""The typed services of this domain that the Store is made of (store/desk.py); each method
is one transaction (store/db/transactions.py) named for the audit log."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from ticketdesk.models.clock import utcnow
from ticketdesk.models.import_records import Record
from ticketdesk.store.imports import importer, validation, writer
from ticketdesk.store.imports.importer import BATCH, ImportRejected, ImportReport
from ticketdesk.store.imports.spool import RecordSpool
from ticketdesk.store.people import audit

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlmodel import Session

    from ticketdesk.models import Agent
    from ticketdesk.store.db.transactions import Transactions

from ticketdesk.store.db.transactions import Transactions


class ImportService:
    """Import tickets from CSV, JSON Lines or a Zendesk export."""

    def __init__(self, tx: Transactions) -> None:
        self.tx = tx

    def run(
        self,
        records: Iterable[Record],
        *,
        source: str,
        dry_run: bool = False,
        strict: bool = False,
        batch_size: int = BATCH,
        now: datetime | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> ImportReport:
        """Validate every record, then (unless `dry_run`) write the new ones in batches of
        `batch_size` tickets per transaction. Leads and admins only.

        `records` is read once: the validation pass keeps the good records (spool.py) for
        the write pass. Any problem raises ImportRejected listing them all, before anything
        is written. What the readers repaired (ticketdesk/imports/repairs.py) is in the
        report's `repairs` and in each written ticket's events; with `strict` every repair
        is a problem instead. A record whose (source, external id) was imported before is
        skipped (its repairs are not reported again), so importing the same file again adds
        nothing. `progress(done, total)` is called after each committed batch with the
        records handled so far and in all.
        """
        source = importer.check_source(source)
        now = now or utcnow()
        with RecordSpool() as spool:

            def check(session: Session, actor: Agent) -> validation.Validation:
                importer.require_importer(actor)
                read = records if dry_run else spool.keep(records)
                return validation.validate(session, read, source=source, strict=strict)

            found = self.tx.read("import_tickets", check)
            if found.total_problems:
                raise ImportRejected(found.problems, found.total_problems)
            # what would be imported; the real run's report replaces the counts with what was
            preview = ImportReport(
                source=source, dry_run=True, imported=found.new, comments=found.comments, already=found.already,
                without_id=found.without_id, repairs=tuple(found.repairs), total_repairs=found.total_repairs,
                missing=found.most_missing(), total_missing=found.total_missing,
            )  # fmt: skip
            if dry_run:
                return preview

            batch_writer = writer.Writer(source=source, now=now)
            done = 0
            try:
                for batch in writer.batches(spool, max(1, batch_size)):
                    self.tx.write("import_tickets", partial(batch_writer.write, batch=batch), bulk=True)
                    done += len(batch)
                    if progress is not None:
                        progress(done, found.new + found.already)
            finally:  # the batches' WAL, also when one failed (Database.write(bulk=True))
                self.tx.db.checkpoint_wal()
        totals = batch_writer.totals
        report = dataclasses.replace(
            preview, dry_run=False, imported=totals.imported, comments=totals.comments, already=totals.already,
            customers_created=totals.customers, organisations_created=totals.organisations,
            unmatched_agents=totals.unmatched_agents, unmatched_groups=tuple(sorted(totals.unmatched_groups)),
        )  # fmt: skip

        def finish(session: Session, actor: Agent) -> None:
            writer.after_load(session, totals.imported)
            audit.record(
                session, actor=actor, login=actor.login, action="import", target=source, detail=report.summary()
            )

        self.tx.write("import_tickets", finish)
        return report
