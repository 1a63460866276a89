"""`ticketdesk mail ...`: the email channel. The commands live in mail_in.py and mail_out.py."""

from __future__ import annotations

import typer

mail_app = typer.Typer(
    help="Email: ingest incoming mail, send queued replies.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
