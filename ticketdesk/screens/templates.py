"""`M`: manage the reply templates — list, add, edit, remove — with the body shown literally.

Only leads and admins may change templates; the store says so in one line when an agent
tries, and the screen shows that message. Every read and write runs in a worker.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Any, cast

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.widgets import Checkbox, Input, Label, Select, Static, TextArea
from textual.widgets.option_list import Option

from ticketdesk.models.enums import Priority, Status
from ticketdesk.rules.local_time import stamp, zone_label
from ticketdesk.rules.templates import PLACEHOLDERS
from ticketdesk.rules.text import one_line
from ticketdesk.screens.dialogs import ConfirmDialog
from ticketdesk.screens.list_detail import FormScreen, ListDetailScreen, list_keys
from ticketdesk.store.tickets.templates import CLEAR as UNSET  # a status / priority the template leaves alone
from ticketdesk.widgets.store_call import DeskApp, call_store

if TYPE_CHECKING:
    from ticketdesk.store import Store


class TemplatesScreen(ListDetailScreen[Any]):
    CSS_PATH = ["list_detail.tcss", "templates.tcss"]
    HEADING = "Reply templates"
    BINDINGS = [
        *list_keys("templates"),
        Binding("c", "add", "New template", show=True, id="templates.add"),
        Binding("e,enter", "edit", "Edit", show=True, id="templates.edit"),
        Binding("x,delete", "remove", "Remove", show=True, id="templates.remove"),
    ]

    def fetch(self, store: Store) -> list[Any]:
        return store.templates.all()

    def key(self, item: Any) -> str:
        return str(item.name)

    def options(self, found: list[Any]) -> list[Option]:
        return [Option(Text(one_line(t.name)), id=t.name) for t in found]

    def describe(self, item: Any) -> Table:
        return describe(item, cast("DeskApp", self.app).tz)

    def summary(self, found: list[Any]) -> str:
        return f"{len(found)} template(s)   c new · e edit · x remove" if found else "no templates yet: c adds one"

    def open_current(self) -> None:
        self.action_edit()

    def action_add(self) -> None:
        self.app.push_screen(TemplateForm(None), self._saved)

    def action_edit(self) -> None:
        template = self.current
        if template is not None:
            self.app.push_screen(TemplateForm(template), self._saved)

    def action_remove(self) -> None:
        name = self.current_key
        if name is None:
            return
        question = f"Remove the template '{one_line(name)}'?"

        def answered(ok: bool | None) -> None:
            if ok:
                self._remove(name)

        self.app.push_screen(ConfirmDialog(question), answered)

    def _remove(self, name: str) -> None:
        def removed(_: None) -> None:
            self.app.notify(f"template '{one_line(name)}' removed")
            self.load()

        call_store(
            self,
            lambda store: store.templates.remove(name),
            removed,
            group="templates-write",
            failed=lambda error: self.say(str(error), error=True),
            quiet=True,
        )

    def _saved(self, name: str | None) -> None:
        if name:
            self.app.notify(f"template '{one_line(name)}' saved")
            self.load(name)


def describe(template: Any, tz: tzinfo) -> Table:
    """A template's settings and its raw body, shown literally (no markup, no rendering)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("name", Text(one_line(template.name)))
    grid.add_row("kind", "internal note" if template.internal else "public reply")
    grid.add_row("sets status", template.sets_status or "—")
    grid.add_row("sets priority", template.sets_priority or "—")
    grid.add_row("adds tags", Text(" ".join(template.add_tags) or "—"))
    author = template.created_by or "ticketdesk (built in)"
    grid.add_row("by", Text(f"{author}, updated {stamp(template.updated_at, tz)} ({zone_label(tz)})"))
    grid.add_row("", "")
    grid.add_row("body", Text(template.body))
    return grid


class TemplateForm(FormScreen):
    """Add (template None) or edit a template; returns the saved name, None when cancelled."""

    CSS_PATH = "templates.tcss"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", show=True, priority=True, id="template_form.save"),
        Binding("escape", "cancel", "Cancel", show=True, id="template_form.cancel"),
    ]

    def __init__(self, template: Any | None) -> None:
        super().__init__()
        self.template = template

    def compose(self) -> ComposeResult:
        t = self.template
        title = "New template" if t is None else f"Edit template '{one_line(t.name)}'"
        with VerticalScroll(id="template-form"):
            yield Label(Text(f"{title}   (ctrl+s save, esc cancel)", style="bold"))
            yield Input(value=t.name if t else "", placeholder="Name (required)", id="name")
            placeholders = ", ".join(f"{{{{ {name} }}}}" for name in PLACEHOLDERS)
            yield Label(Text(f"Body (Jinja2), placeholders: {placeholders}"))
            yield TextArea(t.body if t else "", id="body", soft_wrap=True)
            with Grid(id="template-fields"):
                yield Select(
                    [(f"status → {s.value}", s.value) for s in Status] + [("status unchanged", UNSET)],
                    value=(t.sets_status if t and t.sets_status else UNSET),
                    allow_blank=False,
                    id="sets_status",
                )
                yield Select(
                    [(f"priority → {p.value}", p.value) for p in Priority] + [("priority unchanged", UNSET)],
                    value=(t.sets_priority if t and t.sets_priority else UNSET),
                    allow_blank=False,
                    id="sets_priority",
                )
                yield Input(value=" ".join(t.add_tags) if t else "", placeholder="tags to add", id="add_tags")
                yield Checkbox("internal note", value=bool(t and t.internal), id="internal")
            yield Static("", id="error")

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()

    def action_save(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        body = self.query_one("#body", TextArea).text
        status = str(self.query_one("#sets_status", Select).value)
        priority = str(self.query_one("#sets_priority", Select).value)
        tags = tuple(self.query_one("#add_tags", Input).value.split())
        internal = self.query_one("#internal", Checkbox).value
        if not name:
            self.show_error("name must not be empty")
            self.query_one("#name", Input).focus()
            return
        self._save(name, body, status, priority, tags, internal)

    def _save(self, name: str, body: str, status: str, priority: str, tags: tuple[str, ...], internal: bool) -> None:
        from ticketdesk.store.tickets.templates import TemplateEdit, TemplateSpec

        template = self.template

        def write(store: Store) -> str:
            if template is None:
                store.templates.add(
                    TemplateSpec(
                        name=name,
                        body=body,
                        sets_status=None if status == UNSET else status,
                        sets_priority=None if priority == UNSET else priority,
                        add_tags=tags,
                        internal=internal,
                    )
                )
            else:
                store.templates.edit(
                    template.name,
                    TemplateEdit(
                        name=name if name != template.name else None,
                        body=body,
                        sets_status=status,
                        sets_priority=priority,
                        add_tags=tags,
                        internal=internal,
                    ),
                )
            return name

        self.save(write)
