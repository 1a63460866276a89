"""The `ticketdesk` command line (DESIGN.md, "CLI contract"): one module per command group,
the helpers they share in `common.py`, the typer app assembled in `app.py`; `main` is the
console script."""

from ticketdesk.cli.app import exit_code_of_main, main

__all__ = ["exit_code_of_main", "main"]
