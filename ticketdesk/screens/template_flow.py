"""`m`: pick a reply template by fuzzy name, see it rendered for the first ticket, confirm,
apply it to every target in one transaction (in a worker)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.screen import Screen

from ticketdesk.screens.dialogs import ConfirmDialog, PickDialog


class TemplateFlow:
    """Runs the pick → preview → confirm → apply steps for a screen."""

    def __init__(self, screen: Screen[Any], targets: dict[str, int | None], done: Callable[[str, str], None]) -> None:
        self.screen = screen
        self.app = screen.app
        self.store = screen.app.store  # type: ignore[attr-defined]
        self.targets = targets
        self.done = done

    def start(self) -> None:
        _load_templates(self)

    def _pick(self, names: list[str]) -> None:
        if not names:
            hint = "no reply templates: add one with M (manage templates) or `ticketdesk template add`"
            self.app.notify(hint, severity="warning")
            return
        self.app.push_screen(PickDialog("Reply template", [(n, n) for n in names]), self._picked)

    def _picked(self, name: str | None) -> None:
        if name:
            _preview(self, name)

    def _confirm(self, name: str, preview: str) -> None:
        count = len(self.targets)
        question = f"Apply '{name}' to {count} ticket{'s' if count > 1 else ''}?"
        self.app.push_screen(ConfirmDialog(question, preview), lambda ok: ok and _apply(self, name))


def _load_templates(flow: TemplateFlow) -> None:
    def run() -> None:
        try:
            names = [t.name for t in flow.store.list_templates()]
        except Exception as exc:
            flow.app.call_from_thread(flow.app.notify, str(exc), severity="error")
            return
        flow.app.call_from_thread(flow._pick, names)

    flow.screen.run_worker(run, thread=True, group="template", exit_on_error=False)


def _preview(flow: TemplateFlow, name: str) -> None:
    first = next(iter(flow.targets))

    def run() -> None:
        try:
            text = flow.store.preview_template(first, name)
        except Exception as exc:  # a broken template: a clear message, nothing changed
            flow.app.call_from_thread(flow.app.notify, str(exc), severity="error", timeout=8)
            return
        flow.app.call_from_thread(flow._confirm, name, text)

    flow.screen.run_worker(run, thread=True, group="template", exit_on_error=False)


def _apply(flow: TemplateFlow, name: str) -> None:
    expected = {n: v for n, v in flow.targets.items() if v is not None}

    def run() -> None:
        try:
            result = flow.store.apply_template(
                list(flow.targets), name, expected_versions=expected, skip_conflicts=True
            )
        except Exception as exc:
            flow.app.call_from_thread(flow.done, str(exc), "error")
            return
        message = f"'{name}' applied to {len(result.changed)} ticket(s)"
        if result.conflicts:
            message += f"; {len(result.conflicts)} changed by others meanwhile: " + "; ".join(
                c.message for c in result.conflicts[:3]
            )
        flow.app.call_from_thread(flow.done, message, "warning" if result.conflicts else "information")

    flow.screen.run_worker(run, thread=True, group="template", exit_on_error=False)
