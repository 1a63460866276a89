"""The field-changing actions shared by the queue (on the marks or the cursor row) and the
ticket screen (on that ticket): each asks what it needs, then calls `apply_change`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from textual.screen import Screen

from ticketdesk.models.enums import Priority, Status, SupportLevel
from ticketdesk.screens.dialogs import InputDialog, PickDialog
from ticketdesk.store.db.errors import DatabaseUnavailable, StoreError
from ticketdesk.widgets.store_call import DeskApp, call_store

if TYPE_CHECKING:
    from ticketdesk.store import Store


class FieldActions:
    """Mixed into a Screen; the screen implements `apply_change(label, **changes)`."""

    def apply_change(self, label: str, **changes: Any) -> None:
        raise NotImplementedError

    def escalation_targets(self) -> list[str]:
        raise NotImplementedError

    def escalated(self, done: list[str], failed: list[str]) -> None:
        """Report an escalation (each screen reloads what it shows)."""
        screen = self._screen
        if done:
            screen.notify("escalated " + "; ".join(done[:3]) + (f" (+{len(done) - 3})" if len(done) > 3 else ""))
        if failed:
            screen.notify("; ".join(failed[:3]), severity="error", timeout=8)

    def current_resolution(self) -> str:
        return ""

    def after_undo(self) -> None:
        """Show the tickets as the undo left them (each screen reloads what it shows)."""
        raise NotImplementedError

    def reply_back(self, number: str, text: str) -> None:
        """A reply taken back before it left is the agent's draft again (after any draft
        started meanwhile: nothing typed is lost)."""
        drafts = cast("DeskApp", self._screen.app).drafts
        key = (number, "public")
        kept = drafts.get(key, "")
        drafts[key] = f"{kept.rstrip()}\n\n{text}" if kept.strip() else text
        self._screen.notify(f"the reply to {number} did not leave: it is your draft again (r)", timeout=10)

    def action_undo(self) -> None:
        """Take back the agent's last change (store/tickets/undo.py); again to go further back."""
        screen = self._screen

        def done(outcome: Any) -> None:
            for number, text in outcome.drafts:
                self.reply_back(number, text)
            for number, why in outcome.replies_left:
                screen.notify(f"the reply to {number} stays: {why}", severity="warning", timeout=10)
            if outcome.refused:
                left = "; ".join(f"{number}: {why}" for number, why in outcome.refused[:3])
                screen.notify(f"undone: {outcome.summary}, except {left}", severity="warning", timeout=10)
            else:
                screen.notify(f"undone: {outcome.summary}")
            self.after_undo()

        def failed(error: StoreError) -> None:
            screen.notify(str(error), severity="error" if isinstance(error, DatabaseUnavailable) else "warning")

        call_store(screen, lambda store: store.tickets.undo(), done, group="undo", failed=failed, quiet=True)

    @property
    def _screen(self) -> Screen[Any]:
        assert isinstance(self, Screen), "FieldActions is mixed into a Screen"
        return self

    def action_assign_me(self) -> None:
        self.apply_change("Assign to me", assignee="me")

    def action_assign_to(self) -> None:
        app = self._screen.app

        def chosen(login: str | None) -> None:
            if login:
                self.apply_change(f"Assign to {login}", assignee=login)

        cast("DeskApp", app).with_agent_options(
            lambda options: app.push_screen(PickDialog("Assign to", options), chosen)
        )

    def action_set_status(self) -> None:
        app = self._screen.app

        def chosen(status: str | None) -> None:
            if not status:
                return
            if status in ("resolved", "closed"):  # the workflow needs a resolution note

                def noted(note: str | None) -> None:
                    if note:
                        self.apply_change(f"Status {status}", status=status, note=note)

                app.push_screen(InputDialog(f"Resolution note for {status}", self.current_resolution()), noted)
            else:
                self.apply_change(f"Status {status}", status=status)

        app.push_screen(PickDialog("Set status", [(s.value, s.value) for s in Status if s != Status.NEW]), chosen)

    def action_set_priority(self) -> None:
        def chosen(priority: str | None) -> None:
            if priority:
                self.apply_change(f"Priority {priority}", priority=priority)

        self._screen.app.push_screen(PickDialog("Set priority", [(p.value, p.value) for p in Priority]), chosen)

    def action_set_level(self) -> None:
        def chosen(level: str | None) -> None:
            if level:
                self.apply_change(f"Level {level}", support_level=level)

        self._screen.app.push_screen(PickDialog("Support level", [(lv.value, lv.value) for lv in SupportLevel]), chosen)

    def action_set_team(self) -> None:
        screen = self._screen

        def chosen(team: str | None) -> None:
            if team:
                self.apply_change(f"Team {team}", team=team)

        def pick(teams: list[str]) -> None:
            screen.app.push_screen(PickDialog("Set team", [(t, t) for t in teams]), chosen)

        call_store(screen, lambda store: store.people.team_keys(), pick, group="pick-team")

    def action_tags(self) -> None:
        def entered(value: str | None) -> None:
            if value:
                words = value.split()
                add = tuple(w.lstrip("+") for w in words if not w.startswith("-"))
                remove = tuple(w[1:] for w in words if w.startswith("-"))
                self.apply_change("Tags", add_tags=add, remove_tags=remove)

        self._screen.app.push_screen(InputDialog("Tags: vip or +vip to add, -vip to remove"), entered)

    def action_escalate(self) -> None:
        app = self._screen.app
        kinds = [("technical: up one support level", "technical"), ("management: to the team lead", "management")]

        def kind_chosen(kind: str | None) -> None:
            if not kind:
                return

            def reason_given(reason: str | None) -> None:
                if reason:
                    self._escalate(kind, reason)

            app.push_screen(InputDialog(f"Reason for the {kind} escalation (required)"), reason_given)

        app.push_screen(PickDialog("Escalate", kinds), kind_chosen)

    def _escalate(self, kind: str, reason: str) -> None:
        numbers = self.escalation_targets()

        def run(store: Store) -> tuple[list[str], list[str]]:
            done: list[str] = []
            failed: list[str] = []
            for number in numbers:
                try:
                    done.append(f"{number}: {store.tickets.escalate(number, kind, reason)}")
                except DatabaseUnavailable:
                    raise  # the outage line says it; nothing more is tried
                except StoreError as exc:  # one ticket's refusal does not stop the others
                    failed.append(str(exc))
            return done, failed

        call_store(self._screen, run, lambda result: self.escalated(*result), group="escalate")
