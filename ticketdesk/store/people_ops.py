"""Store operations for people (issue 6), mixed into the Store facade (store/service.py)."""

from __future__ import annotations


class PeopleOps:
    """Methods use the facade's `_read` / `_write` (one transaction each)."""
