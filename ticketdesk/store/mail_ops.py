"""Store operations of the inbound mail channel (issue 7)."""

from __future__ import annotations


class MailOps:
    """Ingest of parsed mail and the attachments of a ticket."""
