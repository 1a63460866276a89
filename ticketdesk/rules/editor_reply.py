"""A reply written in the agent's own editor (`e` on a ticket, `ticketdesk reply N --edit`),
as `rt edit` and mutt do it: the file the editor opens, and what comes back from it.

The file: a short header block (who it goes to, the status the ticket takes when it is sent,
its tags), a line that marks where the reply starts, the reply (the draft so far), then a
line after which the thread is quoted for reference; nothing below that line is sent.

    To: Ann Lee <ann@example.com>
    Status: open
    Tags: vpn, waiting
    ----- write the reply below; an empty reply sends nothing -----
    Hello Ann, …
    ----- the thread, newest first: not sent -----
    > 2026-12-07 10:03, Ann Lee:
    > My VPN drops every hour.

`Status` and `Tags` may be edited (the change goes with the reply, in one transaction);
`To` is shown, not read. Lines starting with `#` in the header are comments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

REPLY_STARTS = "----- write the reply below; an empty reply sends nothing -----"
THREAD_STARTS = "----- the thread, newest first: not sent -----"


@dataclass(frozen=True)
class Quoted:
    """One message of the thread, as it is quoted below the reply."""

    when: str
    who: str
    body: str


@dataclass(frozen=True)
class EditedReply:
    body: str
    status: str
    tags: tuple[str, ...]


class EditorReplyError(ValueError):
    """The file came back in a shape that cannot be sent; the message names the line."""


def reply_file(*, to: str, status: str, tags: Sequence[str], draft: str, thread: Sequence[Quoted]) -> str:
    lines = [f"To: {to or '(no email address: nothing is mailed)'}", f"Status: {status}", f"Tags: {', '.join(tags)}"]
    lines += [REPLY_STARTS, draft.rstrip("\n"), "", THREAD_STARTS]
    for message in thread:
        lines.append(f"> {message.when}, {message.who}:")
        lines += [f"> {line}" if line else ">" for line in message.body.splitlines()]
        lines.append(">")
    return "\n".join(lines) + "\n"


def read_reply(text: str) -> EditedReply:
    """The reply, status and tags of an edited file. Raises EditorReplyError naming what is
    wrong (the marker line gone, a header line it cannot read)."""
    lines = text.splitlines()
    if REPLY_STARTS not in lines:
        raise EditorReplyError(f"the line {REPLY_STARTS!r} is gone: the reply cannot be told from the header")
    start = lines.index(REPLY_STARTS)
    end = lines.index(THREAD_STARTS, start) if THREAD_STARTS in lines[start:] else len(lines)
    status, tags = "", ""
    for number, line in enumerate(lines[:start], 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, colon, value = line.partition(":")
        key = name.strip().lower()
        if not colon or key not in ("to", "status", "tags"):
            raise EditorReplyError(f"header line {number}: expected To:, Status: or Tags:, got {line.strip()!r}")
        if key == "status":
            status = value.strip()
        elif key == "tags":
            tags = value
    body = "\n".join(lines[start + 1 : end]).strip("\n")
    return EditedReply(
        body=body if body.strip() else "",
        status=status,
        tags=tuple(sorted({t.strip() for t in tags.replace(" ", ",").split(",") if t.strip()})),
    )
