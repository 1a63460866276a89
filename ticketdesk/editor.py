"""Replies in the agent's own editor, for the CLI (`reply N --edit`) and the TUI (`e`): the
file is rules/editor_reply.py's; this runs `$VISUAL` or `$EDITOR` (else `vi`) on it and
sends what comes back through the store."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from ticketdesk.rules.editor_reply import EditedReply, Quoted, reply_file
from ticketdesk.rules.local_time import stamp
from ticketdesk.rules.text import printable

if TYPE_CHECKING:
    from ticketdesk.store import Store
    from ticketdesk.store.readmodels import TicketDetail


class EditorFailed(Exception):
    """The editor could not be started, or it exited with an error: nothing is sent."""


def editor_command() -> list[str]:
    return shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")


def run_editor(text: str) -> str:
    """`text` edited by the agent, in a private temporary file."""
    with tempfile.TemporaryDirectory(prefix="ticketdesk-") as folder:
        path = Path(folder) / "reply.txt"
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)
        command = [*editor_command(), str(path)]
        try:
            finished = subprocess.run(command, check=False)
        except OSError as exc:
            raise EditorFailed(f"cannot start the editor {command[0]!r}: {exc.strerror or exc}") from None
        if finished.returncode != 0:
            raise EditorFailed(f"the editor {command[0]!r} exited with status {finished.returncode}")
        return path.read_text(encoding="utf-8", errors="replace")


def reply_file_for(detail: TicketDetail, draft: str, tz: tzinfo) -> str:
    """The file for a reply on `detail`, the draft so far in it, the thread quoted below
    (times in `tz`)."""
    customer = detail.customer
    to = f"{customer.name} <{customer.email}>" if customer is not None and customer.email else ""
    thread = [
        Quoted(stamp(c.created_at, tz), c.author or (customer.name if customer else "?"), printable(c.body))
        for c in reversed(detail.comments)
        if c.kind != "internal"
    ]
    return reply_file(to=to, status=detail.row.status, tags=detail.row.tags, draft=draft, thread=thread)


@dataclass(frozen=True)
class Sent:
    number: str
    #: the reply's mail waits this long before it leaves (None: the customer has no address)
    delay: float | None


def send_edited(store: Store, detail: TicketDetail, edited: EditedReply) -> Sent:
    """The reply, with the status and tag changes of the header, in one transaction."""
    from ticketdesk.store import TicketChanges

    row = detail.row
    changes = TicketChanges(
        status=edited.status if edited.status and edited.status != row.status else None,
        add_tags=tuple(t for t in edited.tags if t not in row.tags),
        remove_tags=tuple(t for t in row.tags if t not in edited.tags),
    )
    store.tickets.reply_with_changes(row.number, edited.body, changes, expected_version=row.version)
    has_address = detail.customer is not None and bool(detail.customer.email)
    return Sent(row.number, store.send_delay if has_address else None)
