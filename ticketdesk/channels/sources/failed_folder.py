"""The failed folder: a copy of each message that could not be ingested, with the reason
next to it (the ingest calls `save_failed`)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from ticketdesk.channels.sources.protocol import MailSourceError, RawMail


def save_failed(folder: Path, mail: RawMail, reason: str, now: datetime | None = None) -> Path:
    """Keep a message that could not be ingested: `<folder>/<UTC time>-<hash>.eml` (the exact
    bytes) and `<same>.reason.txt` (origin, reason, time). Creates the folder (private to
    the user: mail holds personal data); never overwrites a file, and keeps the same bytes
    only once. Returns the .eml path."""
    when = (now or datetime.now(UTC)).astimezone(UTC)
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    digest = hashlib.sha256(mail.raw).hexdigest()[:12]
    # The same bytes failing again (an mbox is read whole on every run) are kept once.
    for kept in (*folder.glob(f"*-{digest}.eml"), *folder.glob(f"*-{digest}-*.eml")):
        if kept.read_bytes() == mail.raw:
            return kept
    stem = f"{when:%Y%m%dT%H%M%SZ}-{digest}"
    reason_text = f"origin: {mail.origin}\nreason: {reason}\ntime: {when.isoformat()}\n"
    # Written to a temporary file, then hard-linked to a free name: the link fails rather
    # than replace an existing file, and a reader never sees half a message.
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".failed-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(mail.raw)
            out.flush()
            os.fsync(out.fileno())
        for n in range(10_000):
            eml = folder / (f"{stem}.eml" if n == 0 else f"{stem}-{n}.eml")
            try:
                os.link(tmp, eml)
            except FileExistsError:
                continue
            break
        else:  # pragma: no cover - ten thousand failures of one message in one second
            raise MailSourceError(f"no free file name for {stem}.eml in {folder}")
    finally:
        os.unlink(tmp)
    reason_path = eml.with_name(eml.name.removesuffix(".eml") + ".reason.txt")
    with open(reason_path, "x", encoding="utf-8") as out:
        out.write(reason_text)
    return eml
