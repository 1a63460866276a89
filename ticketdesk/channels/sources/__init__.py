"""Where incoming mail comes from: standard input, a Maildir, an mbox or an IMAP mailbox.

Each source yields the raw RFC 5322 bytes of its messages (`RawMail`) and is told what
became of each one: `done` (ingested, ignored or a duplicate: never fetch it again) or
`failed` (could not be ingested: keep it where it is, but do not fetch it again on the
next run). Nothing here deletes a message. Stdlib only (`mailbox`, `imaplib`, `ssl`); no
database: the ingest loop (ingest.py) sits between a source and the store.

What each source lists, and what `done` / `failed` do:

- stdin: the one message piped in; done and failed do nothing.
- Maildir: `new/`, and `cur/` without the S or T flag. done: renamed into `cur/` with
  flag S. failed: renamed into `cur/` with flags F and S.
- mbox: every message (re-runs are safe: the ingest knows each Message-ID); done and
  failed do nothing: the user's mbox is never rewritten.
- IMAP: `UID SEARCH UNSEEN UNDELETED UNKEYWORD $TicketdeskFailed`, fetched with
  `BODY.PEEK[]`. done: `\\Seen`, or moved to `move_to` (MOVE, else COPY + `\\Deleted` +
  UID EXPUNGE). failed: keyword `$TicketdeskFailed` (the message stays unseen where it
  is); in a folder that cannot keep keywords, `\\Flagged \\Seen` instead.

A message that failed is also copied to the failed folder by the ingest (`save_failed`,
failed_folder.py), with the reason next to it.

The modules: protocol.py (RawMail, the MailSource protocol, MailSourceError), local.py
(stdin, Maildir, mbox), imap.py (the IMAP source, its URL and folder names),
failed_folder.py (`save_failed`); `open_source` below picks one.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import BinaryIO

from ticketdesk.channels.sources.imap import IMAP_TIMEOUT, ImapSource, parse_imap_url
from ticketdesk.channels.sources.local import MaildirSource, MboxSource, StdinSource
from ticketdesk.channels.sources.protocol import MailSource


def open_source(
    *,
    stdin: BinaryIO | None = None,
    maildir: Path | None = None,
    mbox: Path | None = None,
    imap_url: str | None = None,
    imap_password: str = "",
    move_to: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = IMAP_TIMEOUT,
) -> MailSource:
    """The one source given. Raises ValueError for a bad argument (naming it); opening the
    source (connecting, locking) happens in `__enter__`.

    `move_to` (IMAP only): move ingested messages to this folder instead of flagging them
    `\\Seen`. `ssl_context`: for IMAP TLS; default `ssl.create_default_context()` (system
    CAs, hostname checked)."""
    given = [name for name, value in (("stdin", stdin), ("maildir", maildir), ("mbox", mbox), ("imap", imap_url))
             if value is not None]  # fmt: skip
    if len(given) != 1:
        raise ValueError(f"give exactly one mail source (stdin, maildir, mbox or imap), not {len(given)}")
    if move_to is not None and imap_url is None:
        raise ValueError("move_to applies to an IMAP source only")
    if stdin is not None:
        return StdinSource(stdin)
    if maildir is not None:
        return MaildirSource(Path(maildir))
    if mbox is not None:
        return MboxSource(Path(mbox))
    assert imap_url is not None
    target = parse_imap_url(imap_url)
    if move_to is not None:
        if not move_to.strip():
            raise ValueError("move_to folder name is empty")
        if move_to == target.folder:
            raise ValueError(f"move_to folder {move_to!r} is the folder being read")
    if not imap_password:
        raise ValueError(f"no IMAP password for {target.user} at {target.host} (set TICKETDESK_IMAP_PASSWORD)")
    return ImapSource(target, imap_password, move_to=move_to, ssl_context=ssl_context, timeout=timeout)
