"""The typed services of this domain that the Store is made of (store/desk.py); each method
is one transaction (store/db/transactions.py) named for the audit log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ticketdesk.models.clock import utcnow
from ticketdesk.rules.policy_documents import tidy_rules, tidy_sla
from ticketdesk.rules.sla_explain import SlaExplanation
from ticketdesk.store.db import settings
from ticketdesk.store.db.settings import DocumentChange
from ticketdesk.store.db.transactions import Transactions
from ticketdesk.store.sla import policies as service_rules
from ticketdesk.store.sla.explain import sla_explanation


class PolicyService:
    """The SLA and rules documents: everyone reads them, admins change them (audited), each change one transaction."""

    def __init__(self, tx: Transactions) -> None:
        self.tx = tx

    def sla(self) -> tuple[dict[str, Any], int]:
        """The stored SLA document (in reading order) and its version; ({}, 0) if none."""
        return self.tx.read(
            "sla_document", lambda s, _: _tidied(settings.read_document(s, service_rules.SLA), tidy_sla)
        )

    def set_sla(self, doc: dict[str, Any], *, expected_version: int | None = None) -> int:
        """Replace the SLA document; returns its new version."""
        return self.tx.write(
            "set_sla_document",
            lambda s, a: service_rules.write_sla(s, actor=a, document=doc, expected_version=expected_version),
        )

    def edit_sla(self, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> DocumentChange:
        """Change the SLA document with `edit`, a pure function from the document (in
        reading order) to the new one, in one write transaction; returns the document before
        and after, and its new version."""
        return self.tx.write("edit_sla_document", lambda s, a: service_rules.edit_sla(s, actor=a, edit=edit))

    def explain(self, number: str, *, now: datetime | None = None) -> SlaExplanation:
        """Why ticket `number`'s SLA clocks stand where they do (rules/sla_explain.py)."""
        at = now or utcnow()
        return self.tx.read("sla_explanation", lambda s, _: sla_explanation(s, number, at), target=number.strip())

    def rules(self) -> tuple[dict[str, Any], int]:
        """The stored rules document (in reading order) and its version; ({}, 0) if none."""
        return self.tx.read(
            "rules_document",
            lambda s, _: _tidied(settings.read_document(s, service_rules.RULES), tidy_rules),
        )

    def set_rules(self, doc: dict[str, Any], *, expected_version: int | None = None) -> int:
        """Replace the rules document; returns its new version."""
        return self.tx.write(
            "set_rules_document",
            lambda s, a: service_rules.write_rules(s, actor=a, document=doc, expected_version=expected_version),
        )

    def edit_rules(self, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> DocumentChange:
        """Change the rules document with `edit`, as `edit_sla_document`."""
        return self.tx.write("edit_rules_document", lambda s, a: service_rules.edit_rules(s, actor=a, edit=edit))


def _tidied(
    read: tuple[dict[str, Any], int], tidy: Callable[[dict[str, Any]], dict[str, Any]]
) -> tuple[dict[str, Any], int]:
    return tidy(read[0]), read[1]
