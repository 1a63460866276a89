"""One ticket: fields, customer, links, the timeline, and a composer whose draft is never lost."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static, TextArea

from ticketdesk.models.types import utcnow
from ticketdesk.rules.text import one_line, printable
from ticketdesk.screens.dialogs import PickDialog
from ticketdesk.screens.field_actions import FieldActions
from ticketdesk.widgets.columns import sla_left
from ticketdesk.widgets.styles import cell_style
from ticketdesk.widgets.timeline import timeline_texts, when


class TicketScreen(FieldActions, Screen[None]):
    CSS_PATH = "ticket.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", show=True, id="ticket.back"),
        Binding("r", "compose('public')", "Reply", show=True, id="ticket.compose_public"),
        Binding("n", "compose('internal')", "Note", show=True, id="ticket.compose_internal"),
        Binding("ctrl+s", "send", "Send", show=True, priority=True, id="ticket.send"),
        Binding("s", "set_status", "Status", show=True, id="ticket.set_status"),
        Binding("p", "set_priority", "Priority", show=False, id="ticket.set_priority"),
        Binding("a", "assign_me", "Assign to me", show=True, id="ticket.assign_me"),
        Binding("A", "assign_to", "Assign to…", show=False, id="ticket.assign_to"),
        Binding("t", "tags", "Tags", show=False, id="ticket.tags"),
        Binding("T", "set_team", "Team", show=False, id="ticket.set_team"),
        Binding("L", "set_level", "Support level", show=False, id="ticket.set_level"),
        Binding("l", "links", "Links", show=False, id="ticket.links"),
        Binding("m", "template", "Template", show=True, id="ticket.template"),
        Binding("E", "escalate", "Escalate", show=False, id="ticket.escalate"),
        Binding("j,down", "scroll_down", "Scroll", show=False, id="ticket.scroll_down"),
        Binding("k,up", "scroll_up", "Scroll", show=False, id="ticket.scroll_up"),
        Binding("R", "reload", "Refresh", show=False, id="ticket.reload"),
    ]

    def __init__(self, number: str) -> None:
        super().__init__()
        self.number = number
        self.detail: Any = None
        self.compose_kind: str | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="body"):
            yield Static("loading…", id="fields")
            yield Static("", id="description")
            yield Static("", id="timeline")
        yield Static("", id="composer-label")
        yield TextArea(id="composer", soft_wrap=True, show_line_numbers=False)
        yield Footer()

    @property
    def store(self) -> Any:
        return self.app.store  # type: ignore[attr-defined]

    @property
    def drafts(self) -> dict[tuple[str, str], str]:
        return self.app.drafts  # type: ignore[attr-defined, no-any-return]

    def on_mount(self) -> None:
        self.query_one("#composer").display = False
        self.query_one("#composer-label").display = False
        self.query_one("#body").focus()
        self.reload()

    def reload(self) -> None:
        self._load(self.number)

    @work(thread=True, exclusive=True, group="ticket-load", exit_on_error=False)
    def _load(self, number: str) -> None:
        try:
            detail = self.store.ticket(number)
        except Exception as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self._show, detail)

    def _show(self, d: Any) -> None:
        self.detail = d
        r = d.row
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        customer = "-"
        if d.customer:
            c = d.customer
            customer = c.name + (f" <{c.email}>" if c.email else "") + ("  VIP" if c.vip else "")
        rows = [
            ("status", r.status + (f" (merged into {d.merged_into})" if d.merged_into else ""), "priority", r.priority),
            ("assignee", r.assignee or "-", "team", d.team_name or "-"),
            ("type", r.type + (f" / {d.category}" if d.category else ""), "level", d.support_level),
            ("channel", r.channel, "tags", ", ".join(r.tags) or "-"),
            ("SLA", sla_summary(r), "version", str(r.version)),
            (
                "first reply due",
                clock(r.first_response_due, "replied", r.first_responded_at),
                "resolution due",
                clock(r.resolution_due, "resolved", r.resolved_at),
            ),
            ("created", when(r.created_at), "updated", when(r.updated_at)),
            ("customer", customer, "org", (d.customer.organisation if d.customer else None) or "-"),
        ]
        no_color = self.app.no_color
        for a, b, c2, d2 in rows:
            look = cell_style(r.sla_state or "", no_color) if a == "SLA" else ""
            grid.add_row(a, Text(one_line(b), style=look), c2, Text(one_line(d2)))
        title = Text(f"{r.number}  ", style="bold")
        title.append(one_line(r.subject))
        parts: list[Any] = [title, grid]
        if d.resolution:
            parts.append(Text("resolution  ", style="bold") + Text(printable(d.resolution)))
        if d.links:
            parts.append(Text("links", style="bold"))
            for link in d.links:
                parts.append(Text(f"  {link.kind:<14}{link.number}  [{link.status}]  {one_line(link.subject)}"))
        self.query_one("#fields", Static).update(Group(*parts))
        self.query_one("#description", Static).update(
            Group(Text("\nDescription", style="bold"), Text(printable(d.description) or "(none)"))
        )
        self.query_one("#timeline", Static).update(Group(Text("\nTimeline", style="bold"), *timeline_texts(d)))

    # --- composer: drafts live on the app, keyed by ticket and kind, until sent -------------

    def action_compose(self, kind: str) -> None:
        self._stash_draft()
        self.compose_kind = kind
        area = self.query_one("#composer", TextArea)
        label = self.query_one("#composer-label", Static)
        label.update(Text(f" {'Public reply' if kind == 'public' else 'Internal note'}  (ctrl+s send, esc keep draft)"))
        area.text = self.drafts.get((self.number, kind), "")
        area.display = True
        label.display = True
        area.focus()

    def _stash_draft(self) -> None:
        if self.compose_kind is not None:
            text = self.query_one("#composer", TextArea).text
            key = (self.number, self.compose_kind)
            if text.strip():
                self.drafts[key] = text
            else:
                self.drafts.pop(key, None)

    @on(TextArea.Changed, "#composer")
    def _draft_changed(self) -> None:
        self._stash_draft()

    def action_send(self) -> None:
        if self.compose_kind is None:
            return
        body = self.query_one("#composer", TextArea).text
        if not body.strip():
            self.notify("nothing to send", severity="warning")
            return
        self._send(self.compose_kind, body, self.detail.row.version if self.detail else None)

    @work(thread=True, exclusive=True, group="ticket-write", exit_on_error=False)
    def _send(self, kind: str, body: str, version: int | None) -> None:
        try:
            self.store.reply(self.number, body, internal=kind == "internal")
        except Exception as exc:
            # the draft stays in the composer and in app.drafts
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=8)
            return
        self.app.call_from_thread(self._sent, kind)

    def _sent(self, kind: str) -> None:
        self.drafts.pop((self.number, kind), None)
        area = self.query_one("#composer", TextArea)
        self.compose_kind = None
        area.text = ""
        area.display = False
        self.query_one("#composer-label").display = False
        self.query_one("#body").focus()
        self.notify("reply sent" if kind == "public" else "note added")
        self.reload()

    def action_back(self) -> None:
        if self.compose_kind is not None:
            self._stash_draft()
            self.compose_kind = None
            self.query_one("#composer").display = False
            self.query_one("#composer-label").display = False
            self.query_one("#body").focus()
            return
        self.app.pop_screen()

    # --- field changes, guarded by the version this screen shows -----------------------

    def _change(self, label: str, **changes: Any) -> None:
        if self.detail is None:
            return
        self._write_change(label, self.detail.row.version, changes)

    @work(thread=True, exclusive=True, group="ticket-write", exit_on_error=False)
    def _write_change(self, label: str, version: int, changes: dict[str, Any]) -> None:
        from ticketdesk.store import Conflict, TicketChanges

        try:
            self.store.update_tickets([self.number], TicketChanges(**changes), expected_versions={self.number: version})
        except Conflict as exc:
            self.app.call_from_thread(self.notify, f"{exc} — reloaded, try again", severity="warning", timeout=10)
            self.app.call_from_thread(self.reload)
            return
        except Exception as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=8)
            return
        self.app.call_from_thread(self.notify, label)
        self.app.call_from_thread(self.reload)

    def apply_change(self, label: str, **changes: Any) -> None:
        self._change(label, **changes)

    def escalation_targets(self) -> list[str]:
        return [self.number]

    def escalated(self, done: list[str], failed: list[str]) -> None:
        super().escalated(done, failed)
        self.reload()

    def current_resolution(self) -> str:
        return (self.detail.resolution or "") if self.detail else ""

    def action_template(self) -> None:
        from ticketdesk.screens.template_flow import TemplateFlow

        if self.detail is None:
            return

        def done(message: str, severity: str) -> None:
            self.notify(message, severity=severity)  # type: ignore[arg-type]
            self.reload()

        TemplateFlow(self, {self.number: self.detail.row.version}, done).start()

    def action_links(self) -> None:
        if not self.detail or not self.detail.links:
            self.notify("no links")
            return
        options = [(f"{lk.kind} {lk.number} {one_line(lk.subject, 50)}", lk.number) for lk in self.detail.links]
        self.app.push_screen(
            PickDialog("Jump to linked ticket", options), lambda n: n and self.app.push_screen(TicketScreen(n))
        )

    def action_scroll_down(self) -> None:
        self.query_one("#body").scroll_down()

    def action_scroll_up(self) -> None:
        self.query_one("#body").scroll_up()

    def action_reload(self) -> None:
        self.reload()


def sla_summary(row: Any) -> str:
    """The SLA state and the time left on the nearest running clock: "warning, 42m left"."""
    if not row.sla_state:
        return "-"
    if row.sla_paused_at is not None:
        return f"{row.sla_state}, paused since {when(row.sla_paused_at)}"
    left = sla_left(row, utcnow())
    if row.status in ("resolved", "closed") or not left:
        return row.sla_state
    return f"{row.sla_state}, {left.removeprefix('-')} {'overdue' if left.startswith('-') else 'left'}"


def clock(due: Any, stopped_by: str, stopped_at: Any) -> str:
    """A due time, and when the clock stopped if it did."""
    return when(due) + (f"  ({stopped_by} {when(stopped_at)})" if stopped_at else "")
