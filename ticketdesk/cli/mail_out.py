"""`ticketdesk mail send | outbox | retry`: the outgoing side of the email channel (issue 7).

Replies are queued by the reply itself; `mail send` delivers what is due over SMTP (the
`[mail]` section of the config file), `mail outbox` lists the queue, `mail retry` sends a
failed reply again.
"""

from __future__ import annotations

import sys
from datetime import tzinfo
from enum import StrEnum
from typing import Annotated, Any

import typer

from ticketdesk.cli.common import (
    dump_json,
    echo,
    fail,
    handled,
    is_terminal,
    local,
    open_store,
    run_settings,
    shown_zone,
)
from ticketdesk.rules.text import one_line


class OutboxStatus(StrEnum):
    queued = "queued"
    sending = "sending"
    sent = "sent"
    failed = "failed"


class OutboxFormat(StrEnum):
    text = "text"
    json = "json"


def register(app: typer.Typer) -> None:
    """Add `send`, `outbox` and `retry` to the `mail` group (called by cli.py)."""
    app.command("send")(send_cmd)
    app.command("outbox")(outbox_cmd)
    app.command("retry")(retry_cmd)
    app.command("check")(check_cmd)


def send_cmd(
    ctx: typer.Context,
    every: Annotated[
        int | None, typer.Option("--every", min=5, help="Keep running: send what is due every N seconds")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many messages per run")] = 100,
) -> None:
    """Send the due replies over SMTP.

    Uses the [mail] section of the config file. Prints "sent N, retrying N, failed N".
    A reply the server refuses for good (5xx) is marked failed and shown on its ticket;
    a temporary failure is tried again later, with a growing wait. Several senders may
    run at once: no message is sent twice. Without --every, an unusable server or
    config is an error (exit 1); with it, the run goes on.
    """
    import time

    from ticketdesk.channels.smtp_send import deliver_due
    from ticketdesk.store import DatabaseUnavailable

    with handled():
        settings = run_settings(ctx).mail
        store = open_store(ctx)
        while True:
            started = time.monotonic()
            try:
                report = deliver_due(store, settings, limit=limit)
            except ValueError as exc:  # MailConfigError: no run can succeed
                fail(str(exc))
            except DatabaseUnavailable as exc:  # --every waits for the database to come back
                if every is None:
                    raise
                sys.stderr.write(f"ticketdesk: mail send: {one_line(str(exc))}\n")
                report = None
            if report is not None:
                echo(report.summary())
                if report.error:
                    if every is None:
                        fail(report.error)
                    sys.stderr.write(f"ticketdesk: mail send: {one_line(report.error)}\n")
            if every is None:
                return
            sys.stdout.flush()
            _pause(max(0.0, every - (time.monotonic() - started)))


def _pause(seconds: float) -> None:
    """The wait between rounds of `mail send --every` (tests replace it)."""
    import time

    time.sleep(seconds)


def outbox_cmd(
    ctx: typer.Context,
    status: Annotated[OutboxStatus | None, typer.Option("--status", help="Only mail in this state")] = None,
    fmt: Annotated[OutboxFormat, typer.Option("--format", "-f", help="text or json")] = OutboxFormat.text,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest first")] = 100,
) -> None:
    """List outgoing mail, newest first.

    Id, ticket, status, attempts, recipient, subject, when and the last error;
    tab-separated when piped."""
    with handled():
        store = open_store(ctx)
        rows = store.outbox.entries(status=status.value if status else None, limit=limit)
        if fmt == OutboxFormat.json:
            dump_json([r.as_dict() for r in rows])
            return
        _print_outbox(rows, shown_zone(ctx, store))


def _print_outbox(rows: list[Any], tz: tzinfo) -> None:
    def when(r: Any) -> str:
        if r.status == "sent":
            return f"sent {local(r.sent_at, tz)}"
        if r.status == "queued" and r.attempts:
            return f"next try {local(r.next_attempt_at, tz)}"
        return local(r.created_at, tz)

    if not is_terminal():
        for r in rows:
            cells = [str(r.id), r.number, r.status, str(r.attempts), r.to_addr or "", r.subject, when(r),
                     r.last_error or ""]  # fmt: skip
            echo("\t".join(one_line(c) for c in cells))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    if not rows:
        console.print(Text("no outgoing mail"))
        return
    table = Table(box=None, header_style="bold", pad_edge=False, expand=True)
    for name in ("ID", "TICKET", "STATUS", "TRIES", "TO", "SUBJECT", "WHEN", "LAST ERROR"):
        table.add_column(name, no_wrap=True, overflow="ellipsis")
    for r in rows:
        table.add_row(
            *(Text(one_line(c)) for c in (str(r.id), r.number, r.status, str(r.attempts), r.to_addr or "",
                                          r.subject, when(r), r.last_error or ""))
        )  # fmt: skip
    console.print(table)


def retry_cmd(
    ctx: typer.Context,
    outbox_id: Annotated[str, typer.Argument(metavar="ID", help="The id shown by `ticketdesk mail outbox`")],
) -> None:
    """Queue a failed reply again (leads and admins).

    It goes out at the next `mail send` (or sweep), its attempts counted afresh."""
    key = outbox_id.strip().lstrip("#")
    if not (key.isascii() and key.isdigit()) or len(key) > 18:
        fail(f"outgoing mail id must be a number, not {outbox_id!r}")
    with handled():
        info = open_store(ctx).outbox.retry(int(key))
        echo(f"mail {info.id} of ticket {info.number} queued again")


def check_cmd(
    ctx: typer.Context,
    send_to: Annotated[
        str | None, typer.Option("--send-to", help="Also send a short test message to this address")
    ] = None,
    imap: Annotated[
        str | None, typer.Option("--imap", help="Also log in to this IMAP folder: imaps://user@host/INBOX")
    ] = None,
) -> None:
    """Check the [mail] settings: connect to the SMTP server, encrypt and log in as
    configured (optionally send a test message), and log in to an IMAP folder. Nothing in
    the database is read or changed."""
    from ticketdesk.channels.smtp_send import check_connection

    with handled():
        settings = run_settings(ctx).mail
        echo(f"smtp: ok ({check_connection(settings, send_to=send_to)})")
        if imap:
            from ticketdesk.channels.sources import open_source

            try:
                with open_source(imap_url=imap, imap_password=settings.imap_password):
                    pass
            except (OSError, ConnectionError) as exc:
                fail(f"imap: {exc}")
            echo("imap: ok (logged in, folder selected)")
