"""`ticketdesk mail ...`: the email channel. The commands live in mail_in.py and mail_out.py."""

from __future__ import annotations

import typer

from ticketdesk.cli import mail_in, mail_out

mail_app = typer.Typer(
    help="Email: ingest incoming mail, send queued replies.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def register(app: typer.Typer) -> None:
    """Add the `mail` group, with the commands of mail_in.py and mail_out.py, to the app."""
    app.add_typer(mail_app, name="mail")
    mail_in.register(mail_app)
    mail_out.register(mail_app)
