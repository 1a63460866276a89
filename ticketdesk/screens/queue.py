"""The queue: filter bar, saved views, the virtual ticket table, marks and batch actions."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Input, Static

from ticketdesk.rules.local_time import zone_label
from ticketdesk.rules.presence import by_ticket
from ticketdesk.rules.query import QueryError, TicketFilter, parse_query, parse_sort
from ticketdesk.rules.views import BUILTIN_VIEWS
from ticketdesk.screens.dialogs import InputDialog, PickDialog
from ticketdesk.screens.field_actions import FieldActions
from ticketdesk.widgets.desk_watch import DeskChanged
from ticketdesk.widgets.footer import DeskFooter
from ticketdesk.widgets.outage_line import OutageLine
from ticketdesk.widgets.presence_text import row_label
from ticketdesk.widgets.store_call import DatabaseRecovered, DeskApp, backoff, call_store
from ticketdesk.widgets.styles import style
from ticketdesk.widgets.ticket_table import PAGE, Loader, TicketTable, rows_between

if TYPE_CHECKING:
    from ticketdesk.store import Store, StoreError
    from ticketdesk.store.readmodels import UpdateResult

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
        Binding("u", "undo", "Undo", show=False, id="queue.undo"),
        Binding("full_stop", "repeat", "Repeat last change", show=False, id="queue.repeat"),
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
        #: failed loads in a row (the retry waits longer after each)
        self._failures = 0
        #: what the status line shows now
        self._status = ""
        #: the last field change (label, changes), for `.`
        self._last_change: tuple[str, dict[str, Any]] | None = None

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
        yield OutageLine()
        yield DeskFooter()

    @property
    def table(self) -> TicketTable:
        return self.query_one(TicketTable)

    @property
    def desk(self) -> DeskApp:
        return cast("DeskApp", self.app)

    def on_mount(self) -> None:
        self.table.focus()
        self.watch(self.table, "cursor", self._update_status, init=False)
        self.desk.desk_watch.move("queue")
        self.reload()

    # --- loading ---------------------------------------------------------------------

    def reload(self, *, keep_cursor: bool = False) -> None:
        self._count(self.flt, keep_cursor)

    def _count(self, flt: TicketFilter, keep_cursor: bool) -> None:
        def failed(_: StoreError) -> None:  # retried, later each time, until it gets through
            self._failures += 1
            self.set_timer(backoff(self._failures), lambda: self.reload(keep_cursor=keep_cursor))

        sort = parse_sort(self.sort_name)

        def loader(store: Store, reverse: bool, after: Any, limit: int) -> tuple[list[Any], Any]:
            page = store.tickets.page(flt, sort=sort.reversed() if reverse else sort, after=after, limit=limit)
            return page.rows, page.next_after

        def counted_with_first_page(store: Store) -> tuple[int, int, tuple[list[Any], Any]]:
            # the first page rides along with the count: the queue is painted after one trip
            # to the store instead of two (start-up, a new filter)
            marker = store.tickets.latest_event_id()
            total, first = store.tickets.count_and_page(flt, sort=sort, limit=PAGE)
            return total, marker, (first.rows, first.next_after)

        call_store(
            self,
            counted_with_first_page,
            lambda counted: self._apply_count(cast(Loader, loader), *counted, keep_cursor),
            group="queue-count",
            exclusive=True,
            failed=failed,
            quiet=self._failures > 0,  # said once; the retries are background work
        )

    def _apply_count(
        self, loader: Loader, total: int, marker: int, first: tuple[list[Any], Any], keep_cursor: bool
    ) -> None:
        self._failures = 0
        self._marker = marker
        self.desk.first_load_done()
        self.table.reset(loader, total, keep_cursor=keep_cursor, first_page=first)
        self.query_one("#view-name", Static).update(Text(f" {self.view_name} ({total:,}) ", style="bold"))
        self._update_status()

    def on_desk_changed(self, message: DeskChanged) -> None:
        """Live push (widgets/desk_watch.py): who is on which ticket, and a reload in place
        when tickets changed (a queue under another screen reloads when it is back)."""
        mine = self.desk.desk_watch.me.session_id
        labels = {number: row_label(ps) for number, ps in by_ticket(list(message.state.present), besides=mine).items()}
        self.table.set_presence(labels)
        if message.tickets and self.is_current and message.state.latest_event_id != self._marker:
            self._failures = 0  # the feed just read the database: it answers
            self.reload(keep_cursor=True)

    def on_screen_resume(self) -> None:
        self.desk.desk_watch.move("queue")
        self.reload(keep_cursor=True)

    def on_database_recovered(self, _: DatabaseRecovered) -> None:
        self._failures = 0  # the database is back: a failure now starts the backoff afresh
        self.reload(keep_cursor=True)

    @on(TicketTable.ColumnsChanged)
    def _columns_changed(self, message: TicketTable.ColumnsChanged) -> None:
        # laid out at the width the rows are drawn at (a scrollbar that comes or goes
        # changes it without any resize), so the headings stand over their columns
        self.query_one("#table-header", Static).update(self.table.header_text(message.width))

    @cached_property
    def _zone(self) -> str:
        return zone_label(cast("DeskApp", self.app).tz)

    def _update_status(self) -> None:
        table = self.table
        marks = f"   {len(table.selected)} marked" if table.selected else ""
        where = f"{table.cursor + 1:,}/{table.total:,}" if table.total else "no tickets match"
        hint = ""
        if table.total == 0 and self.flt.is_empty:
            hint = "   create one with `ticketdesk new` or load `ticketdesk demo`"
        status = f" {where}   sort {self.sort_name}{marks}   times in {self._zone}{hint}"
        if status != self._status:  # an update repaints even when nothing changed
            self._status = status
            # one line, whatever it says: no layout pass on every cursor move
            self.query_one("#status-line", Static).update(Text(status), layout=False)

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

    def _load_views(self) -> None:
        def run(store: Store) -> tuple[list[tuple[str, str]], dict[str, str]]:
            views = list(BUILTIN_VIEWS) + [(v.name, v.query) for v in store.views.all()]
            options = []
            for name, query in views:
                try:
                    count = f"{store.tickets.count(parse_query(query)):,}"
                except QueryError:  # a saved view the filter language no longer reads
                    count = "?"
                options.append((f"{name}  ({count})", name))
            return options, dict(views)

        call_store(self, run, lambda found: self._pick_view(*found), group="queue-views", exclusive=True)

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

    def _mark_all(self, flt: TicketFilter) -> None:
        call_store(
            self,
            lambda store: store.tickets.matching_numbers(flt),
            self._marked_all,
            group="queue-mark",
            exclusive=True,
        )

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

    def _run_batch(self, targets: dict[str, int | None], label: str, changes: dict[str, Any]) -> None:
        from ticketdesk.store import TicketChanges

        expected = {n: v for n, v in targets.items() if v is not None}

        def done(result: UpdateResult) -> None:
            message = f"{label}: {len(result.changed)} changed"
            if result.unchanged:
                message += f", {len(result.unchanged)} already so"
            if result.conflicts:
                message += f", {len(result.conflicts)} changed by others meanwhile: " + "; ".join(
                    c.message for c in result.conflicts[:3]
                )
            self._batch_done(message, "warning" if result.conflicts else "information")

        call_store(
            self,
            lambda store: store.tickets.update(
                list(targets), TicketChanges(**changes), expected_versions=expected, skip_conflicts=True
            ),
            done,
            group="queue-batch",
        )

    def _batch_done(self, message: str, severity: SeverityLevel) -> None:
        # the marks stay for the next action on the same tickets (`.` repeats the last one)
        marked = len(self.table.selected)
        self.notify(
            message + (f"; {marked:,} still marked (esc clears)" if marked else ""), severity=severity, timeout=6
        )
        self.reload(keep_cursor=True)

    def apply_change(self, label: str, **changes: Any) -> None:
        self._last_change = (label, dict(changes))
        self._batch(label, **changes)

    def action_repeat(self) -> None:
        """`.`: the last field change again, on the marks or the cursor row (vim's dot)."""
        if self._last_change is None:
            self.notify(". repeats your last field change (status, priority, assignee, team, tags); none yet")
            return
        label, changes = self._last_change
        self._batch(label, **changes)

    def after_undo(self) -> None:
        self.reload(keep_cursor=True)

    def escalation_targets(self) -> list[str]:
        return list(self._targets())

    def escalated(self, done: list[str], failed: list[str]) -> None:
        super().escalated(done, failed)
        self.reload(keep_cursor=True)  # the marks stay, as after any batch

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

    def _save_view(self, name: str, query: str) -> None:
        sort = self.sort_name
        call_store(
            self,
            lambda store: store.views.save(name, query, sort),
            lambda _: self.notify(f"view '{name}' saved"),
            group="queue-save-view",
        )

    def action_dashboard(self) -> None:
        from ticketdesk.screens.dashboard import DashboardScreen

        # one dashboard for the session, kept when it is closed: `d` again shows it at once
        # (no compose, no styling, no layout from nothing) and brings its figures up to date
        if not self.app.is_screen_installed(DashboardScreen.NAME):
            self.app.install_screen(DashboardScreen(), DashboardScreen.NAME)
        self.app.push_screen(DashboardScreen.NAME)

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

    def _open_new_ticket(self) -> None:
        call_store(
            self,
            lambda store: (store.people.me().team, store.people.team_keys()),
            lambda found: self._show_new_ticket(*found),
            group="queue-new",
            exclusive=True,
        )

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
