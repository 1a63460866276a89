"""`ticketdesk tui`, `init` and `demo`: the desk as a whole (open the TUI, create or upgrade the
schema, fill it with demo data)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ticketdesk.cli.common import draft_box, echo, handled, open_store, run_settings


def tui_cmd(ctx: typer.Context) -> None:
    """Open the terminal UI (the default when no command is given)."""
    with handled():
        tui = run_settings(ctx)
        store = open_store(ctx, settings=tui)
        store.people.agents()  # fail here, in plain text, for an unknown agent
    from ticketdesk.app import TicketdeskApp

    app = TicketdeskApp(store, keymap=tui.keymap, drafts=draft_box(ctx, store), time_zone=tui.ui.timezone or None)
    app.run()
    if app.return_code:  # a crash (Textual has printed its traceback) never exits 0
        raise typer.Exit(app.return_code)


def init_cmd(ctx: typer.Context) -> None:
    """Create or upgrade the schema and seed default teams, types and an admin agent."""
    with handled():
        store = open_store(ctx, check=False)
        before, after, added = store.init()
        where = ctx.obj.url
        if before is None:
            echo(f"initialised {where} (schema {after})")
        elif before != after:
            echo(f"upgraded {where} from schema {before} to {after}")
        else:
            echo(f"{where} is up to date (schema {after})")
        for item in added:
            echo(f"  added {item}")
        for warning in store.warnings():
            sys.stderr.write(f"ticketdesk: warning: {warning}\n")


def demo_cmd(
    ctx: typer.Context,
    tickets: Annotated[
        int, typer.Option("--tickets", min=1, max=5_000_000, help="How many tickets to generate")
    ] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same data)")] = 7,
    add: Annotated[bool, typer.Option("--add", help="Add demo data to a desk that already has tickets")] = False,
) -> None:
    """Fill the database with realistic demo data (initialising it first if needed). A desk
    that already has tickets is left as it is unless --add: running the README's first
    command again must not double the demo."""
    import time

    from ticketdesk.rules.query import TicketFilter

    with handled():
        store = open_store(ctx, check=False)
        store.init()
        have = store.tickets.count(TicketFilter())
        if have and not add:
            echo(f"the desk already holds {have:,} tickets: no demo data added (--add adds more)")
            return
        started = time.perf_counter()
        summary = store.generate_demo(tickets=tickets, seed=seed)
        elapsed = time.perf_counter() - started
        echo(
            f"demo data: {summary.tickets:,} tickets, {summary.customers:,} customers in"
            f" {summary.organisations:,} organisations, {summary.agents:,} agents,"
            f" {summary.comments:,} comments, {summary.events:,} events, {summary.surveys:,} surveys,"
            f" {summary.articles:,} knowledge-base articles in {elapsed:.1f} s"
        )
        if (swept := summary.caught_up) is not None:
            echo(
                f"the sweep caught up with its history, each dated when it fell due: {swept.breaches:,} SLA"
                f" breaches, {swept.escalations:,} escalations, {swept.closed:,} tickets closed"
            )
        echo("try: ticketdesk list --status open --priority P0,P1   or   ticketdesk show NUMBER")


def register(app: typer.Typer) -> None:
    """Add these commands to the app (called by app.py)."""
    app.command("tui")(tui_cmd)
    app.command("init")(init_cmd)
    app.command("demo")(demo_cmd)
