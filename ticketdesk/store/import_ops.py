"""Store operations of imports from other helpdesks (issue 7)."""

from __future__ import annotations


class ImportOps:
    """Import tickets from CSV, JSON Lines or a Zendesk export."""
