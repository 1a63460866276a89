"""`M`: manage the reply templates — list, add, edit, remove — with the body shown literally.

Only leads and admins may change templates; the store says so in one line when an agent
tries, and the screen shows that message. Every read and write runs in a worker.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Checkbox, Footer, Input, Label, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option

from ticketdesk.models.enums import Priority, Status
from ticketdesk.rules.templates import PLACEHOLDERS
from ticketdesk.rules.text import one_line
from ticketdesk.screens.dialogs import ConfirmDialog
from ticketdesk.store.templates import CLEAR as UNSET  # a status / priority the template leaves alone
from ticketdesk.widgets.styles import style


class TemplatesScreen(Screen[None]):
    CSS_PATH = "templates.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", show=True, id="templates.back"),
        Binding("c", "add", "New template", show=True, id="templates.add"),
        Binding("e,enter", "edit", "Edit", show=True, id="templates.edit"),
        Binding("x,delete", "remove", "Remove", show=True, id="templates.remove"),
        Binding("j", "cursor_down", "Down", show=False, id="templates.cursor_down"),
        Binding("k", "cursor_up", "Up", show=False, id="templates.cursor_up"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.templates: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        yield Static(Text("Reply templates", style="bold"), id="templates-title")
        with Horizontal(id="templates-main"):
            yield OptionList(id="template-list")
            with VerticalScroll(id="template-detail"):
                yield Static("", id="template-body")
        yield Static("", id="templates-status")
        yield Footer()

    @property
    def store(self) -> Any:
        return self.app.store  # type: ignore[attr-defined]

    @property
    def listing(self) -> OptionList:
        return self.query_one("#template-list", OptionList)

    def on_mount(self) -> None:
        self.listing.focus()
        self._load()

    @work(thread=True, exclusive=True, group="templates", exit_on_error=False)
    def _load(self, select: str | None = None) -> None:
        try:
            found = self.store.list_templates()
        except Exception as exc:
            self.app.call_from_thread(self._say, str(exc), error=True)
            return
        self.app.call_from_thread(self._show, found, select)

    def _show(self, found: list[Any], select: str | None) -> None:
        keep = select or self.current_name
        self.templates = {t.name: t for t in found}
        listing = self.listing
        listing.clear_options()
        listing.add_options([Option(Text(one_line(t.name)), id=t.name) for t in found])
        names = list(self.templates)
        if names:
            listing.highlighted = names.index(keep) if keep in self.templates else 0
        else:
            self.query_one("#template-body", Static).update("")
        self._say(f"{len(names)} template(s)   c new · e edit · x remove" if names else "no templates yet: c adds one")

    @property
    def current_name(self) -> str | None:
        listing = self.listing
        if listing.highlighted is None or not listing.option_count:
            return None
        return listing.get_option_at_index(listing.highlighted).id

    @on(OptionList.OptionHighlighted, "#template-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        template = self.templates.get(event.option.id or "")
        if template is not None:
            self.query_one("#template-body", Static).update(describe(template))

    @on(OptionList.OptionSelected, "#template-list")
    def _selected(self) -> None:
        self.action_edit()

    def action_cursor_down(self) -> None:
        self.listing.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.listing.action_cursor_up()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_add(self) -> None:
        self.app.push_screen(TemplateForm(None), self._saved)

    def action_edit(self) -> None:
        name = self.current_name
        if name is not None:
            self.app.push_screen(TemplateForm(self.templates[name]), self._saved)

    def action_remove(self) -> None:
        name = self.current_name
        if name is None:
            return
        question = f"Remove the template '{one_line(name)}'?"
        self.app.push_screen(ConfirmDialog(question), lambda ok: ok and self._remove(name))

    @work(thread=True, group="templates-write", exit_on_error=False)
    def _remove(self, name: str) -> None:
        try:
            self.store.remove_template(name)
        except Exception as exc:
            self.app.call_from_thread(self._say, str(exc), error=True)
            return
        self.app.call_from_thread(self.app.notify, f"template '{one_line(name)}' removed")
        self._load()

    def _saved(self, name: str | None) -> None:
        if name:
            self.app.notify(f"template '{one_line(name)}' saved")
            self._load(name)

    def _say(self, message: str, *, error: bool = False) -> None:
        self.query_one("#templates-status", Static).update(
            Text(f" {message}", style=style("danger", self.app.no_color) if error else "dim")
        )


def describe(template: Any) -> Table:
    """A template's settings and its raw body, shown literally (no markup, no rendering)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("name", Text(one_line(template.name)))
    grid.add_row("kind", "internal note" if template.internal else "public reply")
    grid.add_row("sets status", template.sets_status or "—")
    grid.add_row("sets priority", template.sets_priority or "—")
    grid.add_row("adds tags", Text(" ".join(template.add_tags) or "—"))
    grid.add_row("by", Text(f"{template.created_by or '?'}, updated {template.updated_at.astimezone():%Y-%m-%d %H:%M}"))
    grid.add_row("", "")
    grid.add_row("body", Text(template.body))
    return grid


class TemplateForm(ModalScreen[str | None]):
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
            self._error("name must not be empty")
            self.query_one("#name", Input).focus()
            return
        self._save(name, body, status, priority, tags, internal)

    @work(thread=True, exclusive=True, group="template-form", exit_on_error=False)
    def _save(self, name: str, body: str, status: str, priority: str, tags: tuple[str, ...], internal: bool) -> None:
        from ticketdesk.store.templates import TemplateEdit, TemplateSpec

        store = self.app.store  # type: ignore[attr-defined]
        try:
            if self.template is None:
                store.add_template(
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
                store.edit_template(
                    self.template.name,
                    TemplateEdit(
                        name=name if name != self.template.name else None,
                        body=body,
                        sets_status=status,
                        sets_priority=priority,
                        add_tags=tags,
                        internal=internal,
                    ),
                )
        except Exception as exc:  # the store's one-line message names the field
            self.app.call_from_thread(self._error, str(exc))
            return
        self.app.call_from_thread(self.dismiss, name)

    def _error(self, message: str) -> None:
        self.query_one("#error", Static).update(Text(message, style=style("danger", self.app.no_color)))

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()

    def action_cancel(self) -> None:
        self.dismiss(None)
