"""The mail gateway: read messages from a source, parse each, hand it to the store, and
keep what cannot be ingested in the failed folder. One bad message never stops the run."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ticketdesk.channels.mail.parse import UnparseableMail, parse_message
from ticketdesk.channels.sources.failed_folder import save_failed
from ticketdesk.channels.sources.protocol import MailSource, RawMail
from ticketdesk.store import Store
from ticketdesk.store.db.errors import DatabaseUnavailable, Forbidden, NotFound, StoreError
from ticketdesk.store.mail.inbound import AttachmentPolicy, IngestResult


@dataclass
class IngestReport:
    counts: Counter[str] = field(default_factory=Counter)
    #: one line per message that failed: origin, reason, where it was kept
    failures: list[str] = field(default_factory=list)
    #: one line per message handled: origin, outcome, ticket
    handled: list[str] = field(default_factory=list)

    def summary(self) -> str:
        order = ("created", "threaded", "duplicate", "ignored", "failed")
        return ", ".join(f"{self.counts.get(key, 0)} {key}" for key in order)


def ingest_all(
    store: Store,
    source: MailSource,
    *,
    policy: AttachmentPolicy,
    failed_folder: Path,
    now: Callable[[], datetime] | None = None,
) -> IngestReport:
    """Ingest every message of `source`. A message is acknowledged to the source (seen,
    moved) only once its transaction committed; one that fails is copied to
    `failed_folder` with the reason first. A database outage stops the run (the messages
    left stay in the source for the next one)."""
    report = IngestReport()
    for mail in source.messages():
        try:
            parsed = parse_message(mail.raw)
        except UnparseableMail as exc:  # the parser turns its own errors into this one too
            _failed(source, mail, f"cannot be parsed: {exc}", failed_folder, report)
            continue
        try:
            result = store.mail.ingest(parsed, policy=policy, now=now() if now else None)
        except (DatabaseUnavailable, Forbidden, NotFound):
            raise  # not this message's fault (the database, the gateway's agent): stop, keep the rest
        except StoreError as exc:
            _failed(source, mail, f"refused by the store: {exc}", failed_folder, report)
            continue
        source.done(mail)
        report.counts[result.outcome.value] += 1
        report.handled.append(_line(mail, result))
    return report


def _failed(source: MailSource, mail: RawMail, reason: str, folder: Path, report: IngestReport) -> None:
    kept = save_failed(folder, mail, reason)
    source.failed(mail, reason)
    report.counts["failed"] += 1
    report.failures.append(f"{mail.origin}: {reason} (kept in {kept})")


def _line(mail: RawMail, result: IngestResult) -> str:
    where = f" {result.number}" if result.number else ""
    detail = f" ({result.detail})" if result.detail else ""
    return f"{mail.origin}: {result.outcome.value}{where}{detail}"
