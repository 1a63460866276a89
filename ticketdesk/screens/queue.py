"""The queue: filter bar, saved views, the virtual ticket table, marks and batch actions."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from ticketdesk.rules.query import QueryError, TicketFilter, parse_query, parse_sort
from ticketdesk.rules.views import BUILTIN_VIEWS
from ticketdesk.screens.dialogs import InputDialog, PickDialog
from ticketdesk.screens.field_actions import FieldActions
from ticketdesk.widgets.styles import style
from ticketdesk.widgets.ticket_table import TicketTable, rows_between

SORTS = ["priority", "updated", "created", "number"]


class QueueScreen(FieldActions, Screen[None]):
    CSS_PATH = "queue.tcss"
    BINDINGS = [
        Binding("slash", "search", "Search", show=True, id="queue.search"),
        Binding("f", "filter", "Filter", show=True, id="queue.filter"),
        Binding("v", "views", "Views", show=True, id="queue.views"),
        Binding("space", "toggle_mark", "Mark", show=True, id="queue.toggle_mark"),
        Binding("V", "mark_range", "Mark range", show=False, id="queue.mark_range"),
        Binding("asterisk", "mark_all", "Mark all matching", show=False, id="queue.mark_all"),
        Binding("escape", "clear", "Clear marks", show=False, id="queue.clear"),
        Binding("a", "assign_me", "Assign to me", show=True, id="queue.assign_me"),
        Binding("A", "assign_to", "Assign to…", show=False, id="queue.assign_to"),
        Binding("s", "set_status", "Status", show=True, id="queue.set_status"),
        Binding("p", "set_priority", "Priority", show=False, id="queue.set_priority"),
        Binding("t", "tags", "Tags", show=False, id="queue.tags"),
        Binding("T", "set_team", "Team", show=False, id="queue.set_team"),
        Binding("o", "sort", "Sort", show=False, id="queue.sort"),
        Binding("c", "new_ticket", "New ticket", show=True, id="queue.new_ticket"),
        Binding("d", "dashboard", "Dashboard", show=True, id="queue.dashboard"),
        Binding("m", "template", "Template", show=False, id="queue.template"),
        Binding("E", "escalate", "Escalate", show=False, id="queue.escalate"),
        Binding("Q", "qa", "QA reviews", show=False, id="queue.qa"),
        Binding("P", "reports", "Reports", show=False, id="queue.reports"),
        Binding("M", "manage_templates", "Manage templates", show=False, id="queue.manage_templates"),
        Binding("S", "save_view", "Save view", show=False, id="queue.save_view"),
        Binding("R", "reload", "Refresh", show=False, id="queue.reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.query_text = "status:new,open,in_progress,pending,on_hold"
        self.view_name = "All open"
        self.sort_name = "priority"
        self.flt: TicketFilter = parse_query(self.query_text)
        self._range_anchor: int | None = None
        self._marker = 0

    def compose(self) -> ComposeResult:
        with Horizontal(id="bar"):
            yield Static("", id="view-name")
            yield Input(
                value=self.query_text,
                placeholder="status:open prio:P0,P1 assignee:me words…",
                id="filter",
                select_on_focus=False,  # `/` appends search words; `f` selects all itself
            )
        yield Static("", id="filter-error")
        yield Static("", id="table-header")
        yield TicketTable(id="tickets")
        yield Static("", id="status-line")
        yield Footer()

    @property
    def table(self) -> TicketTable:
        return self.query_one(TicketTable)

    @property
    def store(self) -> Any:
        return self.app.store  # type: ignore[attr-defined]

    def on_mount(self) -> None:
        self.table.focus()
        self.reload()
        self.set_timer(self.app.poll_interval, self.poll)  # type: ignore[attr-defined]

    # --- loading ---------------------------------------------------------------------

    def reload(self, *, keep_cursor: bool = False) -> None:
        self._count(self.flt, keep_cursor)

    @work(thread=True, exclusive=True, group="queue-count", exit_on_error=False)
    def _count(self, flt: TicketFilter, keep_cursor: bool) -> None:
        try:
            total = self.store.count_tickets(flt)
            marker = self.store.latest_event_id()
        except Exception as exc:  # an expected store error, shown, never a crash
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self._apply_count, flt, total, marker, keep_cursor)

    def _apply_count(self, flt: TicketFilter, total: int, marker: int, keep_cursor: bool) -> None:
        self._marker = marker
        sort = parse_sort(self.sort_name)
        store = self.store

        def loader(reverse: bool, after: Any, limit: int) -> tuple[list[Any], Any]:
            page = store.list_tickets(flt, sort=sort.reversed() if reverse else sort, after=after, limit=limit)
            return page.rows, page.next_after

        self.table.reset(loader, total, keep_cursor=keep_cursor)
        self.query_one("#view-name", Static).update(Text(f" {self.view_name} ({total:,}) ", style="bold"))
        self.query_one("#table-header", Static).update(
            self.table.header_text(self.table.scrollable_content_region.width or 80)
        )
        self._update_status()

    def poll(self) -> None:
        """Self-rescheduling: a cheap change marker, then a reload in place only on change."""
        self._poll_marker()

    @work(thread=True, exclusive=True, group="queue-poll", exit_on_error=False)
    def _poll_marker(self) -> None:
        try:
            marker = self.store.latest_event_id()
        except Exception:
            marker = self._marker
        self.app.call_from_thread(self._after_poll, marker)

    def _after_poll(self, marker: int) -> None:
        if marker != self._marker and self.is_current:
            self.reload(keep_cursor=True)
        self.set_timer(self.app.poll_interval, self.poll)  # type: ignore[attr-defined]

    def on_screen_resume(self) -> None:
        self.reload(keep_cursor=True)

    def on_resize(self) -> None:
        self.query_one("#table-header", Static).update(
            self.table.header_text(self.table.scrollable_content_region.width or 80)
        )

    @on(TicketTable.CursorMoved)
    def _cursor_moved(self) -> None:
        self._update_status()

    def _update_status(self) -> None:
        table = self.table
        marks = f"   {len(table.selected)} marked" if table.selected else ""
        where = f"{table.cursor + 1:,}/{table.total:,}" if table.total else "no tickets match"
        hint = ""
        if table.total == 0 and self.flt.is_empty:
            hint = "   create one with `ticketdesk new` or load `ticketdesk demo`"
        self.query_one("#status-line", Static).update(Text(f" {where}   sort {self.sort_name}{marks}{hint}"))

    # --- filter, search, views, sort --------------------------------------------------

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.focus()
        field.select_all()

    def action_search(self) -> None:
        field = self.query_one("#filter", Input)
        field.focus()
        if field.value and not field.value.endswith(" "):
            field.value += " "
        field.cursor_position = len(field.value)

    @on(Input.Submitted, "#filter")
    def _apply_filter(self, event: Input.Submitted) -> None:
        error = self.query_one("#filter-error", Static)
        try:
            flt = parse_query(event.value)
        except QueryError as exc:
            error.update(Text(f" {exc}", style=style("danger", self.app.no_color)))
            error.display = True
            return
        error.display = False
        self.query_text, self.flt, self.view_name = event.value, flt, "Filter"
        self.table.selected.clear()
        self.table.focus()
        self.reload()

    def action_views(self) -> None:
        self._load_views()

    @work(thread=True, exclusive=True, group="queue-views", exit_on_error=False)
    def _load_views(self) -> None:
        views = list(BUILTIN_VIEWS)
        try:
            views += [(v.name, v.query) for v in self.store.list_views()]
        except Exception as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
        options = []
        for name, query in views:
            try:
                count = f"{self.store.count_tickets(parse_query(query)):,}"
            except Exception:
                count = "?"
            options.append((f"{name}  ({count})", name))
        self.app.call_from_thread(self._pick_view, options, dict(views))

    def _pick_view(self, options: list[tuple[str, str]], queries: dict[str, str]) -> None:
        def chosen(name: str | None) -> None:
            if name is None:
                return
            query = queries[name]
            try:
                flt = parse_query(query)
            except QueryError as exc:
                self.notify(f"view {name}: {exc}", severity="error")
                return
            self.view_name, self.query_text, self.flt = name, query, flt
            self.query_one("#filter", Input).value = query
            self.table.selected.clear()
            self.reload()

        self.app.push_screen(PickDialog("Saved views", options), chosen)

    def action_sort(self) -> None:
        def chosen(name: str | None) -> None:
            if name:
                self.sort_name = name
                self.reload()

        options = [(s, s) for s in SORTS] + [(f"{s} (reversed)", f"-{s}") for s in SORTS]
        self.app.push_screen(PickDialog("Sort by", options), chosen)

    def action_reload(self) -> None:
        self.reload(keep_cursor=True)

    # --- marks ---------------------------------------------------------------------

    def action_toggle_mark(self) -> None:
        row = self.table.current
        if row is None:
            return
        self.table.selected.symmetric_difference_update({row.number})
        self._range_anchor = self.table.cursor
        self.table.move(1)
        self.table.refresh()
        self._update_status()

    def action_mark_range(self) -> None:
        anchor = self._range_anchor if self._range_anchor is not None else self.table.cursor
        self.table.selected.update(r.number for r in rows_between(self.table, anchor, self.table.cursor))
        self._range_anchor = self.table.cursor
        self.table.refresh()
        self._update_status()

    def action_mark_all(self) -> None:
        self._mark_all(self.flt)

    @work(thread=True, exclusive=True, group="queue-mark", exit_on_error=False)
    def _mark_all(self, flt: TicketFilter) -> None:
        numbers = self.store.matching_numbers(flt)
        self.app.call_from_thread(self._marked_all, numbers)

    def _marked_all(self, numbers: list[str]) -> None:
        self.table.selected = set(numbers)
        self.table.refresh()
        self._update_status()
        self.notify(f"{len(numbers):,} tickets marked")

    def action_clear(self) -> None:
        if self.table.selected:
            self.table.selected.clear()
            self.table.refresh()
            self._update_status()
        elif self.query_one("#filter", Input).has_focus:
            self.table.focus()

    # --- batch actions: on the marked set, else the cursor row -----------------------

    def _targets(self) -> dict[str, int | None]:
        """Numbers to act on with the version each was seen at (None: not loaded, not checked)."""
        if self.table.selected:
            loaded = {r.number: r.version for r in [*self.table.top.rows, *self.table.bottom.rows]}
            return {n: loaded.get(n) for n in sorted(self.table.selected)}
        row = self.table.current
        return {row.number: row.version} if row is not None else {}

    def _batch(self, label: str, **changes: Any) -> None:
        targets = self._targets()
        if not targets:
            self.notify("no ticket under the cursor", severity="warning")
            return
        if len(targets) > 1 and changes.get("status") in ("closed", "resolved"):

            def confirmed(ok: bool | None) -> None:
                if ok:
                    self._run_batch(targets, label, changes)

            from ticketdesk.screens.dialogs import ConfirmDialog

            self.app.push_screen(ConfirmDialog(f"{label} {len(targets):,} tickets?"), confirmed)
            return
        self._run_batch(targets, label, changes)

    @work(thread=True, exclusive=False, group="queue-batch", exit_on_error=False)
    def _run_batch(self, targets: dict[str, int | None], label: str, changes: dict[str, Any]) -> None:
        from ticketdesk.store import TicketChanges

        expected = {n: v for n, v in targets.items() if v is not None}
        try:
            result = self.store.update_tickets(
                list(targets), TicketChanges(**changes), expected_versions=expected, skip_conflicts=True
            )
        except Exception as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=8)
            return
        message = f"{label}: {len(result.changed)} changed"
        if result.unchanged:
            message += f", {len(result.unchanged)} already so"
        if result.conflicts:
            message += f", {len(result.conflicts)} changed by others meanwhile: " + "; ".join(
                c.message for c in result.conflicts[:3]
            )
        severity = "warning" if result.conflicts else "information"
        self.app.call_from_thread(self._batch_done, message, severity)

    def _batch_done(self, message: str, severity: str) -> None:
        self.notify(message, severity=severity, timeout=6)  # type: ignore[arg-type]
        self.table.selected.clear()
        self.reload(keep_cursor=True)

    def apply_change(self, label: str, **changes: Any) -> None:
        self._batch(label, **changes)

    def escalation_targets(self) -> list[str]:
        return list(self._targets())

    def escalated(self, done: list[str], failed: list[str]) -> None:
        super().escalated(done, failed)
        self.table.selected.clear()
        self.reload(keep_cursor=True)

    def action_template(self) -> None:
        from ticketdesk.screens.template_flow import TemplateFlow

        targets = self._targets()
        if not targets:
            self.notify("no ticket under the cursor", severity="warning")
            return
        TemplateFlow(self, targets, self._batch_done).start()

    def action_save_view(self) -> None:
        query = self.query_one("#filter", Input).value

        def named(name: str | None) -> None:
            if name:
                self._save_view(name, query)

        self.app.push_screen(InputDialog(f"Save '{query}' as view named"), named)

    @work(thread=True, group="queue-views", exit_on_error=False)
    def _save_view(self, name: str, query: str) -> None:
        try:
            self.store.save_view(name, query, self.sort_name)
        except Exception as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self.notify, f"view '{name}' saved")

    def action_dashboard(self) -> None:
        from ticketdesk.screens.dashboard import DashboardScreen

        self.app.push_screen(DashboardScreen())

    def action_qa(self) -> None:
        from ticketdesk.screens.qa import QaScreen

        self.app.push_screen(QaScreen())

    def action_reports(self) -> None:
        from ticketdesk.screens.reports import ReportsScreen

        self.app.push_screen(ReportsScreen())

    def action_manage_templates(self) -> None:
        from ticketdesk.screens.templates import TemplatesScreen

        self.app.push_screen(TemplatesScreen())

    def action_new_ticket(self) -> None:
        self._open_new_ticket()

    @work(thread=True, exclusive=True, group="queue-new", exit_on_error=False)
    def _open_new_ticket(self) -> None:
        me = self.store.me()
        teams = self.store.team_keys()
        self.app.call_from_thread(self._show_new_ticket, me.team, teams)

    def _show_new_ticket(self, team: str | None, teams: list[str]) -> None:
        from ticketdesk.screens.new_ticket import NewTicketScreen

        def created(number: str | None) -> None:
            if number:
                self.notify(f"created {number}")
                self.reload(keep_cursor=True)

        self.app.push_screen(NewTicketScreen(team=team, teams=teams), created)

    @on(TicketTable.Opened)
    def _open(self, event: TicketTable.Opened) -> None:
        from ticketdesk.screens.ticket import TicketScreen

        self.app.push_screen(TicketScreen(event.row.number))
