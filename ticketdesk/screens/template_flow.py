"""`m`: pick a reply template by fuzzy name, answer what it asks for (`{{ ask("Order
number") }}`), see it rendered for the first ticket with every field change it makes on
each ticket, confirm, apply it to every target in one transaction (in a worker). A template
that cannot be rendered (an unknown placeholder) is said, and nothing is sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.notifications import SeverityLevel
from textual.screen import Screen

from ticketdesk.screens.dialogs import ConfirmDialog, InputDialog, PickDialog
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
        #: what the template asked for, by label
        self.answers: dict[str, str] = {}

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
        call_store(
            self.screen,
            lambda store: store.templates.prompts(name),
            lambda asked: self._ask(name, list(asked)),
            group="template",
            exclusive=True,
        )

    def _ask(self, name: str, asked: list[str]) -> None:
        """One question per label the template asks for, then the preview; esc stops."""
        if not asked:
            self._preview(name)
            return
        label, rest = asked[0], asked[1:]

        def answered(value: str | None) -> None:
            if value is None or not value.strip():
                self.app.notify(f"'{name}' not applied: it needs {label}", severity="warning")
                return
            self.answers[label] = value.strip()
            self._ask(name, rest)

        self.app.push_screen(InputDialog(f"{name}: {label}"), answered)

    def _preview(self, name: str) -> None:
        numbers = list(self.targets)
        answers = dict(self.answers)
        # a broken template (an unknown placeholder): the store's clear message, nothing changed
        call_store(
            self.screen,
            lambda store: (store.templates.preview(numbers[0], name, answers), store.templates.changes(numbers, name)),
            lambda shown: self._confirm(name, *shown),
            group="template",
            exclusive=True,
        )

    def _confirm(self, name: str, preview: str, changes: list[tuple[str, list[str]]]) -> None:
        count = len(self.targets)
        question = f"Apply '{name}' to {count} ticket{'s' if count > 1 else ''}?"
        # what else it changes, ticket by ticket (the same changes read once when all agree)
        said = {"; ".join(c) for _, c in changes}
        if said == {""}:
            lines = ["and no field changes"]
        elif len(said) == 1:
            lines = [f"and on {'each' if count > 1 else 'it'}: {said.pop()}"]
        else:
            lines = ["and:"] + [f"  {number}: {'; '.join(c) or 'no field changes'}" for number, c in changes[:20]]
            if len(changes) > 20:
                lines.append(f"  … and {len(changes) - 20} more")
        preview = preview.rstrip("\n") + "\n\n" + "\n".join(lines)

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

        answers = dict(self.answers)
        call_store(
            self.screen,
            lambda store: store.templates.apply(
                numbers, name, expected_versions=expected, skip_conflicts=True, answers=answers
            ),
            applied,
            group="template-apply",
            failed=lambda error: self.done(str(error), "error"),
            quiet=True,
        )
