"""`ticketdesk mail ingest`: the inbound mail gateway (stdin from an MTA, a Maildir, an
mbox or an IMAP folder), and `ticketdesk attachment` to list and save what came with it."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ticketdesk.cli.common import (
    dump_json,
    echo,
    fail,
    handled,
    local,
    open_store,
    run_settings,
    shown_zone,
    stdout_is_terminal,
)
from ticketdesk.rules.text import one_line

#: sendmail's EX_TEMPFAIL: an MTA piping to us keeps the message and retries later
EX_TEMPFAIL = 75

attachment_app = typer.Typer(
    help="Files that came with tickets (mail attachments): list them, save one.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def register(app: typer.Typer) -> None:
    """Add `ingest` to the `mail` group (called by cli.py)."""
    app.command("ingest")(ingest_cmd)


def register_attachments(app: typer.Typer) -> None:
    app.add_typer(attachment_app, name="attachment")


def ingest_cmd(
    ctx: typer.Context,
    maildir: Annotated[Path | None, typer.Option("--maildir", help="Read the new messages of a Maildir")] = None,
    mbox: Annotated[Path | None, typer.Option("--mbox", help="Read every message of an mbox file")] = None,
    imap: Annotated[
        str | None,
        typer.Option("--imap", help="imaps://user@host/INBOX (password: TICKETDESK_IMAP_PASSWORD or [mail] config)"),
    ] = None,
    move_to: Annotated[
        str | None, typer.Option("--move-to", help="IMAP: move ingested messages to this folder (default: flag seen)")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="One line per message")] = False,
    every: Annotated[
        int | None,
        typer.Option("--every", min=5, help="Keep running: poll the Maildir or IMAP folder every N seconds"),
    ] = None,
) -> None:
    """Turn incoming mail into tickets and threaded replies.

    With no source option, one message is read from standard input, so an MTA can pipe to
    it (e.g. an /etc/aliases line `support: "|ticketdesk mail ingest"`). A message is
    acknowledged (Maildir: moved to cur/, IMAP: flagged seen or moved) only once it is in
    the database; one that cannot be read is kept in the failed folder with the reason and
    the run goes on. Ingesting the same message twice does nothing the second time.
    With --every it keeps polling (a round that finds nothing prints nothing); a database
    or server that is away is reported and tried again at the next round.
    """
    from ticketdesk.store.mail.inbound import AttachmentPolicy

    chosen = [name for name, value in (("--maildir", maildir), ("--mbox", mbox), ("--imap", imap)) if value]
    if len(chosen) > 1:
        fail(f"give one source, not {' and '.join(chosen)}")
    if every is not None and not (maildir or imap):
        fail("--every polls a Maildir or an IMAP folder: give --maildir or --imap")
    if not chosen and sys.stdin.isatty():
        fail("no message on standard input: pipe one in, or give --maildir, --mbox or --imap")
    if move_to and not imap:
        fail("--move-to is for --imap")
    with handled():
        settings = run_settings(ctx).mail
    policy = AttachmentPolicy(
        folder=Path(settings.attachments_dir).expanduser() if settings.attachments_dir else None,
        max_bytes=settings.max_attachment_bytes,
    )
    source_options = {
        "stdin": None if chosen else sys.stdin.buffer,
        "maildir": maildir,
        "mbox": mbox,
        "imap_url": imap,
        "imap_password": settings.imap_password,
        "move_to": move_to,
    }
    while True:
        started = time.monotonic()
        with handled():  # a refusal or a bad option: no later round can do better
            try:
                report = _ingest_once(ctx, source_options, policy, settings.failed_path())
            except _NotNow as trouble:
                sys.stderr.write(f"ticketdesk: error: {one_line(str(trouble))}\n")
                if every is None:  # an MTA piping to us keeps the message and retries: never a bounce
                    raise typer.Exit(EX_TEMPFAIL if not chosen else 1) from None
                report = None
        if report is not None:
            if verbose:
                for line in report.handled:
                    echo(one_line(line))
            for line in report.failures:
                sys.stderr.write(f"ticketdesk: failed: {one_line(line)}\n")
            if every is None or report.counts:
                echo(report.summary())
        if every is None:
            return
        sys.stdout.flush()
        with handled():  # ctrl+c while waiting ends the service quietly (exit 130)
            _pause(max(0.0, every - (time.monotonic() - started)))


class _NotNow(Exception):
    """The database, the mail source, the attachments folder or the gateway's agent cannot
    be used now: the messages stay in the source for the next run (or the MTA's retry)."""


def _ingest_once(ctx: typer.Context, source_options: dict[str, Any], policy: Any, failed: Path) -> Any:
    from ticketdesk.channels.ingest import ingest_all
    from ticketdesk.channels.sources import open_source
    from ticketdesk.store import DatabaseUnavailable, Forbidden, NotFound

    store = None
    try:
        store = open_store(ctx)
        with open_source(**source_options) as source:
            return ingest_all(store, source, policy=policy, failed_folder=failed)
    except (DatabaseUnavailable, Forbidden, NotFound) as exc:  # NotFound: the gateway's agent
        raise _NotNow(str(exc)) from None
    except (OSError, ConnectionError) as exc:
        raise _NotNow(f"cannot read the mail or store its files: {exc}") from None
    finally:
        if store is not None:
            store.close()


def _pause(seconds: float) -> None:
    """The wait between rounds of `mail ingest --every` (tests replace it)."""
    time.sleep(seconds)


@attachment_app.command("list")
def attachment_list_cmd(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="Ticket number")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of lines")] = False,
) -> None:
    """The files of a ticket: id, name, type, size."""
    with handled():
        store = open_store(ctx)
        items = store.mail.attachments(number)
        tz = shown_zone(ctx, store)
    if as_json:
        dump_json([a.as_dict() for a in items])
        return
    for a in items:
        echo(f"{a.id}\t{one_line(a.filename)}\t{one_line(a.content_type)}\t{a.size}\t{local(a.created_at, tz)}")


@attachment_app.command("save")
def attachment_save_cmd(
    ctx: typer.Context,
    attachment_id: Annotated[int, typer.Argument(help="Attachment id (from `attachment list`)", max=2**62)],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write ('-': stdout; default: its own name here)")
    ] = None,
) -> None:
    """Write an attachment's bytes to a file (never over an existing one) or stdout."""
    with handled():
        settings = run_settings(ctx).mail
        folder = Path(settings.attachments_dir).expanduser() if settings.attachments_dir else None
        info, data = open_store(ctx).mail.attachment_content(attachment_id, folder=folder)
        if output is not None and str(output) == "-":
            if stdout_is_terminal():  # a sender's bytes could drive the terminal: pipe them
                fail("will not write a file's bytes to the terminal: pipe the output or give --output FILE")
            sys.stdout.buffer.write(data)
            return
        target = output or Path(_safe_name(info.filename, info.id))
        try:
            with target.open("xb") as handle:
                handle.write(data)
        except FileExistsError:
            fail(f"{target} exists: give another --output")
        except OSError as exc:
            fail(f"cannot write {target}: {exc.strerror}")
    echo(f"saved {target} ({len(data):,} bytes)")


def _safe_name(filename: str, attachment_id: int) -> str:
    """The file's own name, without any directory a sender may have put in it."""
    name = filename.replace("\\", "/").rpartition("/")[2].strip()
    return name if name and not name.startswith(".") else f"attachment-{attachment_id}"
