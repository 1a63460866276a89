"""`ticketdesk customer ...`: a customer's tier (`vip`) and their personal data erased on
request (`erase`, store/people/erase.py)."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ticketdesk.cli.common import echo, fail, handled, open_store, run_settings
from ticketdesk.rules.text import one_line

#: how each count is said in the text listing
LABELS = {
    "customer": "customer record",
    "tickets": "ticket texts",
    "comments_erased": "comments they wrote",
    "comments_redacted": "other comments naming them",
    "events": "events",
    "mail_messages": "mail messages",
    "attachments": "attachments",
    "attachment_files": "attachment files",
    "outbox": "outgoing mails",
    "outbox_cancelled": "replies not sent",
    "surveys": "surveys",
    "qa_reviews": "QA reviews",
    "kb_articles": "articles",
    "import_refs": "import references",
    "saved_views": "saved views",
    "organisation": "organisation",
}
KEPT = {
    "audit_log": "audit log entries (append-only)",
    "settings": "settings documents (edit the rules yourself)",
}


class EraseFormat(StrEnum):
    text = "text"
    json = "json"


customer_app = typer.Typer(name="customer", help="Customers: their tier (VIP); erasing their personal data.")


def register(app: typer.Typer) -> None:
    """Add the `customer` group to the app (called by app.py)."""
    app.add_typer(customer_app)


@customer_app.command("vip")
def customer_vip_cmd(
    ctx: typer.Context,
    customer: Annotated[str, typer.Argument(help="Email (or exact name)")],
    off: Annotated[bool, typer.Option("--off", help="Back to the normal tier")] = False,
) -> None:
    """Make a customer VIP (or not): the SLA clocks of their open tickets are recomputed."""
    with handled():
        moved = open_store(ctx).customers.set_vip(customer, not off)
        echo(f"{customer}: {'normal tier' if off else 'VIP'}; clocks recomputed on {len(moved)} open ticket(s)")
        for number in moved:
            echo(f"  {number}")


@customer_app.command("erase")
def customer_erase_cmd(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The customer's email address")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would change; change nothing")] = False,
    fmt: Annotated[EraseFormat, typer.Option("--format", "-f", help="text or json")] = EraseFormat.text,
) -> None:
    """Erase a customer's personal data (admins; GDPR art. 17, PIPL art. 47): name, email and
    phone become [erased] in their record, tickets, comments, mail, attachments and history.
    Ticket numbers, times and metrics stay; the erasure is in the audit log."""
    with handled():
        settings = run_settings(ctx).mail
        folder = Path(settings.attachments_dir).expanduser() if settings.attachments_dir else None
        result = open_store(ctx).customers.erase(email, dry_run=dry_run, folder=folder)
    if fmt == EraseFormat.json:
        json.dump(result.as_dict(), sys.stdout, ensure_ascii=False, indent=2)
        echo()
    else:
        for line in _lines(result):
            echo(line)
    if result.file_errors:
        fail(
            f"the database is erased, but {len(result.file_errors)} attachment file(s) could not be deleted: "
            + "; ".join(result.file_errors)
        )


def _lines(result: Any) -> list[str]:
    n = len(result.tickets)
    if result.dry_run:
        head = f"dry run, nothing changed: erasing customer {result.customer_id} would change {n} ticket(s)"
    else:
        head = f"erased customer {result.customer_id}: {n} ticket(s) changed, each with an event; audited"
    lines = [head]
    lines += [f"  {LABELS.get(k, k):<28}{v}" for k, v in result.counts.items() if v]
    if any(result.kept.values()):
        lines.append("kept, and still naming them:")
        lines += [f"  {KEPT.get(k, k):<28}{v}" for k, v in result.kept.items() if v]
    if result.tickets:
        lines.append("tickets: " + " ".join(one_line(t) for t in result.tickets))
    return lines
