"""The `ticketdesk` command line assembled: the global options and every command group.

Each group lives in its own module and adds itself with `register(app)`; they share the
helpers of common.py and never import this module. Thin wrappers over the store (see
DESIGN.md, CLI contract). Exit codes: 0 ok, 1 a one-line error on stderr (never a
traceback), 2 usage.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ticketdesk.cli import (
    backup,
    customers,
    desk,
    imports,
    kb,
    mail,
    mail_in,
    people,
    quality,
    reports,
    rules,
    sla,
    sweep,
    templates,
    tickets,
)
from ticketdesk.cli.common import Context

app = typer.Typer(
    name="ticketdesk",
    help="A keyboard-first helpdesk for the terminal.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback(invoke_without_command=True)
def main_callback(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database URL or SQLite path [env TICKETDESK_DB; default: the user data dir]"),
    ] = None,
    as_agent: Annotated[
        str | None, typer.Option("--as", help="Act as this agent login [env TICKETDESK_AGENT; default: the OS user]")
    ] = None,
) -> None:
    ctx.obj = Context(db=db, login=as_agent)
    if ctx.invoked_subcommand is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            ctx.invoke(desk.tui_cmd, ctx=ctx)
        else:
            # Piped or scripted: no TUI, the open queue as plain text.
            ctx.invoke(tickets.list_cmd, ctx=ctx, status=["new,open,in_progress,pending,on_hold"])


# The order here is the order of `ticketdesk --help`: commands first, then groups.
for group in (desk, tickets, sweep, customers, templates, sla, rules, people, quality, kb, reports, imports, mail):
    group.register(app)
mail_in.register_attachments(app)
backup.register(app)  # backup, restore, copy


def main() -> None:
    app()
