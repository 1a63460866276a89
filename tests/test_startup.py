"""Start-up pays only for what it uses (STYLE.md 25): the CLI's entry point, with every
command declared (what `ticketdesk --help` builds), loads no UI, no spreadsheet writer, no
template engine, no HTML parser, no database driver. A command imports those when it runs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: what the entry point must not import: the TUI, XLSX export, reply templates, mail HTML
#: parsing, the PostgreSQL driver, SSH keys (asyncssh and its crypto); and the database layer
#: itself (SQLAlchemy, SQLModel), which only a command that opens the store needs
HEAVY = ("textual", "openpyxl", "jinja2", "bs4", "psycopg", "sqlalchemy", "sqlmodel", "asyncssh", "cryptography")

PROBE = """
import json, sys
import ticketdesk.cli
from typer.main import get_command
get_command(ticketdesk.cli.app.app)  # every command and option declared, as for --help
print(json.dumps(sorted({name.partition(".")[0] for name in sys.modules})))
"""


def test_the_cli_entry_point_imports_nothing_heavy() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True)
    loaded = set(json.loads(result.stdout))
    assert "ticketdesk" in loaded and "typer" in loaded
    assert sorted(loaded & set(HEAVY)) == []


TUI_PROBE = """
import asyncio, json, sys
from ticketdesk.store import Store
from ticketdesk.app import TicketdeskApp
from ticketdesk.widgets.ticket_table import TicketTable


async def first_page() -> None:
    app = TicketdeskApp(Store.open(sys.argv[1], login="carol"))
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(TicketTable)
        while table.row_at(0) is None:  # the queue's first page, loaded
            await pilot.pause(0.05)

asyncio.run(first_page())
print(json.dumps(sorted({name.partition(".")[0] for name in sys.modules})))
"""

#: a desk's whole store, loaded by a command, must not pull in what the CLI entry point avoids
CLI_STORE_PROBE = """
import json, sys
from ticketdesk.store import Store
from ticketdesk.rules.query import TicketFilter
store = Store.open(sys.argv[1], login="carol")
assert store.tickets.page(TicketFilter(), limit=50).rows
print(json.dumps(sorted({name.partition(".")[0] for name in sys.modules})))
"""


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> str:
    from ticketdesk.rules.query import TicketFilter
    from ticketdesk.store import NewTicket, Store

    url = f"sqlite:///{tmp_path_factory.mktemp('startup') / 'td.db'}"
    store = Store.open(url, login="carol", check=False)
    store.init()
    store.tickets.create(NewTicket(subject="Printer on fire", description="Smoke.", customer="x@example.com"))
    assert store.tickets.count(TicketFilter()) == 1
    store.close()
    return url


def test_the_tui_imports_no_spreadsheet_writer_nor_html_parser(desk: str) -> None:
    """Opening the TUI, up to its first page painted, pays for Textual and the store, not for
    XLSX export, mail parsing, templates or schema migrations."""
    result = subprocess.run(
        [sys.executable, "-c", TUI_PROBE, desk], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = set(json.loads(result.stdout))
    assert {"textual", "sqlalchemy"} <= loaded
    assert sorted(loaded & {"openpyxl", "bs4", "jinja2", "alembic"}) == []


def test_a_command_reading_tickets_loads_no_migrations_nor_mail_nor_spreadsheets(desk: str) -> None:
    """`ticketdesk list` pays for the store's read path only: no Alembic (the schema check
    reads the revision row), no UI, no XLSX, no templates, no HTML parser."""
    result = subprocess.run(
        [sys.executable, "-c", CLI_STORE_PROBE, desk], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = set(json.loads(result.stdout))
    assert "sqlmodel" in loaded
    assert sorted(loaded & {"alembic", "textual", "openpyxl", "jinja2", "bs4"}) == []


def test_a_run_builds_only_the_command_it_invokes() -> None:
    """`main()` hands Typer the one command or group the arguments name (building all ~65
    Click commands costs every run ~80 ms); help, the TUI and a mistyped name get them all."""
    from typer.core import TyperGroup
    from typer.main import get_command

    from ticketdesk.cli.app import app, app_for
    from ticketdesk.launch import HELP, invoked_name

    assert invoked_name(["--db", "x.db", "--as", "ana", "list", "-n", "5"]) == "list"
    assert invoked_name(["agent", "list"]) == "agent"
    assert invoked_name(["--db", "list"]) is None  # "list" is the database here, not a command
    assert invoked_name(["-h", "list"]) == HELP
    assert invoked_name([]) is None
    assert app_for(HELP) is app and app_for("lst") is app
    commands = {}
    for name in ("list", "agent", None, HELP):
        group = get_command(app_for(name))
        assert isinstance(group, TyperGroup)
        commands[name] = set(group.commands)
    assert commands["list"] == {"list"}
    assert commands["agent"] == {"agent"}
    assert commands[None] == set()  # the TUI: no command is built at all
    assert len(commands[HELP]) > 20
