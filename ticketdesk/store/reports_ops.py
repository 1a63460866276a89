"""Store operations for reports (issue 6), mixed into the Store facade (store/service.py)."""

from __future__ import annotations


class ReportsOps:
    """Methods use the facade's `_read` / `_write` (one transaction each)."""
