"""The `ticketdesk` command line (DESIGN.md, "CLI contract"): one module per command group,
the helpers they share in `common.py`, the typer app assembled in `app.py`."""

from ticketdesk.cli.app import app, main

__all__ = ["app", "main"]
