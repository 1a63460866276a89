"""`ticketdesk sweep`: the time-driven work (SLA warnings and breaches, escalations, time
automations, auto-close) and then the due replies."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ticketdesk import config
from ticketdesk.cli.common import echo, fail, handled, open_store, run_settings
from ticketdesk.rules.text import one_line

if TYPE_CHECKING:
    from ticketdesk.channels.smtp_send import DeliveryReport
    from ticketdesk.store import Store


def sweep_cmd(
    ctx: typer.Context,
    every: Annotated[
        int | None, typer.Option("--every", min=10, help="Keep running, one sweep every N seconds (cron: leave out)")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Run the time-driven work: SLA warnings and breaches, escalations, time automations,
    auto-close; then send the due replies when [mail] from_address is configured. Safe to
    run from several hosts at once against one PostgreSQL."""
    import time

    if fmt not in ("text", "json"):
        fail(f"unknown format {fmt!r} (text or json)")
    with handled():
        try:
            run, problem = run_settings(ctx), None
        except config.ConfigError as exc:  # the sweep's own work needs no settings: it goes on, the mail waits
            run, problem = config.Settings(), str(exc)
        store = open_store(ctx, settings=run)
        while True:
            started = time.perf_counter()
            report = store.sweep()
            elapsed = time.perf_counter() - started
            mail = _sweep_mail(store, run.mail, problem)  # the replies due, when [mail] from_address is set
            if fmt == "json":
                extra = {"mail": mail.as_dict()} if mail is not None else {}
                echo(json.dumps(report.as_dict() | {"seconds": round(elapsed, 3)} | extra))
            else:
                echo(
                    f"sweep: {report.examined:,} open tickets in {elapsed:.2f} s: {report.warnings} SLA warnings,"
                    f" {report.breaches} breaches, {report.escalations} escalations, {report.automations} automations,"
                    f" {report.closed} closed" + (f", {report.skipped} skipped" if report.skipped else "")
                )
                for note in report.notes[:20]:
                    echo(f"  {note}")
                if mail is not None and (mail.sent or mail.retried or mail.failed or mail.lost):
                    echo(f"mail: {mail.summary()}")
            if every is None:
                return
            time.sleep(max(0.0, every - elapsed))


def _sweep_mail(store: Store, settings: config.MailSettings, problem: str | None) -> DeliveryReport | None:
    """Deliver the due replies (channels/smtp_send.py) when `[mail] from_address` is
    configured; returns the DeliveryReport, or None. A mail problem (`problem`: the config
    file cannot be used) is said on stderr and never stops the sweep."""
    if problem is not None:
        sys.stderr.write(f"ticketdesk: sweep: mail not sent: {one_line(problem)}\n")
        return None
    if not settings.from_address:
        return None
    from ticketdesk.channels.smtp_send import deliver_due
    from ticketdesk.store import StoreError

    try:
        mail = deliver_due(store, settings)
    except (StoreError, ValueError) as exc:
        sys.stderr.write(f"ticketdesk: sweep: mail not sent: {one_line(str(exc))}\n")
        return None
    if mail.error:
        sys.stderr.write(f"ticketdesk: sweep: {one_line(mail.error)}\n")
    return mail


def register(app: typer.Typer) -> None:
    """Add these commands to the app (called by app.py)."""
    app.command("sweep")(sweep_cmd)
