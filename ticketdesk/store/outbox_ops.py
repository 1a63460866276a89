"""Store operations of the outbound mail channel (issue 7): the SMTP outbox."""

from __future__ import annotations


class OutboxOps:
    """Claim, deliver and retry queued replies."""
