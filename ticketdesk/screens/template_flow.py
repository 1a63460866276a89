"""`m`: pick a reply template by fuzzy name, see it rendered for the first ticket, confirm,
apply it to every target in one transaction (in a worker)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.notifications import SeverityLevel
from textual.screen import Screen

from ticketdesk.screens.dialogs import ConfirmDialog, PickDialog
from ticketdesk.widgets.store_call import call_store

if TYPE_CHECKING:
    from ticketdesk.store.readmodels import UpdateResult


class TemplateFlow:
    """Runs the pick → preview → confirm → apply steps for a screen."""

    def __init__(
        self, screen: Screen[Any], targets: dict[str, int | None], done: Callable[[str, SeverityLevel], None]
    ) -> None:
        self.screen = screen
        self.app = screen.app
        self.targets = targets
        self.done = done

    def start(self) -> None:
        call_store(
            self.screen,
            lambda store: [t.name for t in store.templates.all()],
            self._pick,
            group="template",
            exclusive=True,
        )

    def _pick(self, names: list[str]) -> None:
        if not names:
            hint = "no reply templates: add one with M (manage templates) or `ticketdesk template add`"
            self.app.notify(hint, severity="warning")
            return
        self.app.push_screen(PickDialog("Reply template", [(n, n) for n in names]), self._picked)

    def _picked(self, name: str | None) -> None:
        if not name:
            return
        first = next(iter(self.targets))
        # a broken template: the store's clear message, nothing changed
        call_store(
            self.screen,
            lambda store: store.templates.preview(first, name),
            lambda text: self._confirm(name, text),
            group="template",
            exclusive=True,
        )

    def _confirm(self, name: str, preview: str) -> None:
        count = len(self.targets)
        question = f"Apply '{name}' to {count} ticket{'s' if count > 1 else ''}?"

        def answered(ok: bool | None) -> None:
            if ok:
                self._apply(name)

        self.app.push_screen(ConfirmDialog(question, preview), answered)

    def _apply(self, name: str) -> None:
        numbers = list(self.targets)
        expected = {n: v for n, v in self.targets.items() if v is not None}

        def applied(result: UpdateResult) -> None:
            message = f"'{name}' applied to {len(result.changed)} ticket(s)"
            if result.conflicts:
                message += f"; {len(result.conflicts)} changed by others meanwhile: " + "; ".join(
                    c.message for c in result.conflicts[:3]
                )
            self.done(message, "warning" if result.conflicts else "information")

        call_store(
            self.screen,
            lambda store: store.templates.apply(numbers, name, expected_versions=expected, skip_conflicts=True),
            applied,
            group="template-apply",
            failed=lambda error: self.done(str(error), "error"),
            quiet=True,
        )
