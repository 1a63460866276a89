"""`ticketdesk ...` commands of issue 7 (imports)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app (called by cli.py)."""
