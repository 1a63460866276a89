"""Start-up pays only for what it uses (STYLE.md 25): the CLI's entry point, with every
command declared (what `ticketdesk --help` builds), loads no UI, no spreadsheet writer, no
template engine, no HTML parser, no database driver. A command imports those when it runs."""

from __future__ import annotations

import json
import subprocess
import sys

#: what the entry point must not import: the TUI, XLSX export, reply templates, mail HTML
#: parsing, the PostgreSQL driver; and the database layer itself (SQLAlchemy, SQLModel),
#: which only a command that opens the store needs
HEAVY = ("textual", "openpyxl", "jinja2", "bs4", "psycopg", "sqlalchemy", "sqlmodel")

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
import json, sys
import ticketdesk.app
from ticketdesk.screens import dashboard, queue, ticket  # the screens an agent opens first
print(json.dumps(sorted({name.partition(".")[0] for name in sys.modules})))
"""


def test_the_tui_imports_no_spreadsheet_writer_nor_html_parser() -> None:
    """Opening the TUI pays for Textual and the store, not for XLSX export or mail parsing."""
    result = subprocess.run([sys.executable, "-c", TUI_PROBE], capture_output=True, text=True, timeout=120, check=True)
    loaded = set(json.loads(result.stdout))
    assert {"textual", "sqlalchemy"} <= loaded
    assert sorted(loaded & {"openpyxl", "bs4"}) == []
