"""CLI sub-commands beyond the core ones in cli.py, one module per area; each defines a
typer sub-app that cli.py registers (the helpers `handled`, `open_store`, `echo` and `fail`
come from cli.py)."""
