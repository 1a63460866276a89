"""The layer rules of DESIGN.md, as import-linter contracts in pyproject.toml, and what
the pure modules really load when imported alone."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import ticketdesk.rules

ROOT = Path(__file__).resolve().parent.parent

#: Every rules module, the enums, the clock and the plain records the channels and the
#: import readers hand to the store: none may load the database or HTML libraries.
PURE_MODULES = [
    "ticketdesk.rules",
    *(f"ticketdesk.rules.{info.name}" for info in pkgutil.iter_modules(ticketdesk.rules.__path__)),
    "ticketdesk.models.enums",
    "ticketdesk.models.clock",
    "ticketdesk.models.inbound_mail",
    "ticketdesk.models.import_records",
]
HEAVY = ("sqlalchemy", "sqlmodel", "bs4", "openpyxl", "textual")


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_module_alone_loads_no_database_or_html_library(module: str) -> None:
    """Imported in a fresh interpreter: import-linter sees the import statements, this sees
    what actually ends up in sys.modules (a package __init__ that imports too much, say)."""
    code = f"import sys, {module}; print(' '.join(name for name in {HEAVY!r} if name in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"importing {module} loads {result.stdout.strip()}"
