"""`c`: a new ticket, with the store's validation shown inline and the agent's team as default."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.widgets import Input, Label, Select, Static, TextArea

from ticketdesk.models.enums import Channel, Priority, SupportLevel
from ticketdesk.screens.list_detail import FormScreen

if TYPE_CHECKING:
    from ticketdesk.store import NewTicket

TYPES = ["incident", "service_request", "question", "complaint"]


class NewTicketScreen(FormScreen):
    """Returns the new ticket's number, or None when cancelled."""

    CSS_PATH = "new_ticket.tcss"
    BINDINGS = [
        Binding("ctrl+s", "create", "Create", show=True, priority=True, id="new_ticket.create"),
        Binding("escape", "cancel", "Cancel", show=True, id="new_ticket.cancel"),
    ]

    def __init__(self, *, team: str | None, teams: list[str]) -> None:
        super().__init__()
        self.default_team = team
        self.teams = teams

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="form"):
            yield Label(Text("New ticket   (ctrl+s create, esc cancel)", style="bold"))
            yield Input(placeholder="Subject (required)", id="subject")
            yield TextArea(id="description", soft_wrap=True)
            with Grid(id="fields"):
                yield Select([(t, t) for t in TYPES], value="incident", allow_blank=False, id="type")
                yield Select([(p.value, p.value) for p in Priority], value="P2", allow_blank=False, id="priority")
                yield Select([(c.value, c.value) for c in Channel], value="phone", allow_blank=False, id="channel")
                yield Select(
                    [(t, t) for t in self.teams], value=self.default_team or Select.NULL, prompt="team", id="team"
                )
                yield Select([(lv.value, lv.value) for lv in SupportLevel], value="L1", allow_blank=False, id="level")
                yield Input(placeholder="assignee login or me", id="assignee")
            yield Input(placeholder='Customer: "Name <email>", an email or a name', id="customer")
            yield Input(placeholder="Tags, space-separated", id="tags")
            yield Static("", id="error")

    def on_mount(self) -> None:
        self.query_one("#subject", Input).focus()

    def _value(self, selector: str) -> Any:
        widget = self.query_one(selector)
        if isinstance(widget, Select):
            return None if widget.value is Select.NULL else widget.value
        if isinstance(widget, TextArea):
            return widget.text
        assert isinstance(widget, Input), selector  # the form's other fields are Inputs
        return widget.value.strip() or None

    def action_create(self) -> None:
        from ticketdesk.store import NewTicket

        subject = self._value("#subject") or ""
        if not subject.strip():
            self.show_error("subject must not be empty")
            self.query_one("#subject", Input).focus()
            return
        new = NewTicket(
            subject=subject,
            description=self._value("#description") or "",
            type=self._value("#type"),
            priority=self._value("#priority"),
            channel=self._value("#channel"),
            team=self._value("#team"),
            support_level=self._value("#level"),
            assignee=self._value("#assignee"),
            customer=self._value("#customer"),
            tags=tuple((self._value("#tags") or "").split()),
        )
        self._create(new)

    def _create(self, new: NewTicket) -> None:
        # the store's one-line message names the field: shown in the form, which stays open
        self.save(lambda store: store.tickets.create(new))
