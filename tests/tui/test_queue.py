"""The queue screen driven by keys through Textual's pilot; every effect is checked in the database."""

from __future__ import annotations

import pytest

from ticketdesk.rules.query import parse_query
from ticketdesk.screens.dialogs import InputDialog, PickDialog
from ticketdesk.screens.queue import BUILTIN_VIEWS
from ticketdesk.store import NewTicket, Store, TicketChanges

from ..conftest import as_agent
from .helpers import SIZE, make_app, new, notifications, queue_ready, run_async, screen_text, settle, text_of, until

ALL_OPEN = dict(BUILTIN_VIEWS)["All open"]
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def db_numbers(store: Store, query: str) -> set[str]:
    return {r.number for r in store.tickets.page(parse_query(query), limit=1000).rows}


def seed(store: Store) -> dict[str, str]:
    """Five open tickets (two P0), one resolved; named by what the tests need."""
    t = {
        "p0a": new(store, "Mail server down", priority="P0"),
        "p0b": new(store, "Payroll export fails", priority="P0"),
        "p1": new(store, "VPN drops every hour", priority="P1"),
        "p2": new(store, "Printer jams", priority="P2"),
        "mine": new(store, "Laptop battery", priority="P3", assignee="admin"),
        "done": new(store, "Old request", priority="P2"),
    }
    store.tickets.update([t["done"]], TicketChanges(status="resolved", note="fixed long ago"))
    return t


# --- opening, moving, filtering -------------------------------------------------------


@sqlite_only
@pytest.mark.parametrize("size", [(80, 24), (100, 30), (160, 48)])
@run_async
async def test_the_headings_stand_over_their_columns(store: Store, size: tuple[int, int]) -> None:
    """More tickets than rows on screen, so the table has a scrollbar: the headings are laid
    out at the width the rows are drawn at (they were two or twenty columns off)."""
    for i in range(size[1] + 10):
        new(store, f"Subject {i:02d}", assignee="admin")
    async with make_app(store).run_test(size=size) as pilot:
        queue = await queue_ready(pilot)
        await settle(pilot)
        lines = screen_text(pilot.app).splitlines()
        header = next(line for line in lines if "SUBJECT" in line)
        row = next(line for line in lines if queue.table.row_at(0).number in line)
        assert row.index("Subject ") == header.index("SUBJECT")
        assert row.index(" admin ") + 1 == header.index("ASSIGNEE")


@run_async
async def test_queue_opens_with_open_count_and_cursor_keys_move(store: Store) -> None:
    """Runs on SQLite and PostgreSQL: the first screen, the count, j/k/g/G."""
    seed(store)
    open_count = store.tickets.count(parse_query(ALL_OPEN))
    assert open_count == 5
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        table = queue.table
        assert text_of(queue.query_one("#view-name")).strip() == f"All open ({open_count})"
        assert table.total == open_count
        assert table.cursor == 0
        assert text_of(queue.query_one("#status-line")).strip().startswith(f"1/{open_count}")
        # the table's order is the database's order (priority first)
        shown = [table.row_at(i).number for i in range(table.total)]
        page = store.tickets.page(parse_query(ALL_OPEN), sort=None, limit=100).rows
        assert shown == [r.number for r in page]

        await pilot.press("j", "j")
        await until(lambda: table.cursor == 2, pilot=pilot)
        await until(lambda: text_of(queue.query_one("#status-line")).strip().startswith("3/5"), pilot=pilot)
        await pilot.press("k")
        await until(lambda: table.cursor == 1, pilot=pilot)
        await pilot.press("G")
        await until(lambda: table.cursor == open_count - 1, pilot=pilot)
        await until(lambda: text_of(queue.query_one("#status-line")).strip().startswith("5/5"), pilot=pilot)
        await pilot.press("j")  # stays on the last row
        await settle(pilot)
        assert table.cursor == open_count - 1
        await pilot.press("g")
        await until(lambda: table.cursor == 0, pilot=pilot)
        await until(lambda: text_of(queue.query_one("#status-line")).strip().startswith("1/5"), pilot=pilot)
        assert table.current.number == shown[0]


@sqlite_only
@run_async
async def test_filter_bar_narrows_the_table(store: Store) -> None:
    t = seed(store)
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        field = queue.query_one("#filter")
        await pilot.press("f")
        await until(lambda: field.has_focus, pilot=pilot)
        await pilot.press(*"prio:P0", "enter")  # f selects the whole filter: typing replaces it
        await until(lambda: queue.table.total == 2, pilot=pilot)
        await settle(pilot)
        assert field.value == "prio:P0"
        assert queue.table.has_focus
        assert text_of(queue.query_one("#view-name")).strip() == "Filter (2)"
        shown = {queue.table.row_at(i).number for i in range(queue.table.total)}
        assert shown == db_numbers(store, "prio:P0") == {t["p0a"], t["p0b"]}


@sqlite_only
@run_async
async def test_bad_filter_shows_inline_error_and_keeps_the_list(store: Store) -> None:
    seed(store)
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        before = [queue.table.row_at(i).number for i in range(queue.table.total)]
        error = queue.query_one("#filter-error")
        await pilot.press("f", *"status:bogus", "enter")
        await until(lambda: error.display and "bogus" in text_of(error), pilot=pilot)
        await settle(pilot)
        assert "unknown status 'bogus'" in text_of(error)
        assert queue.query_one("#filter").has_focus  # stays in the bar to be fixed
        assert queue.flt == parse_query(ALL_OPEN)
        assert [queue.table.row_at(i).number for i in range(queue.table.total)] == before
        assert set(before) == db_numbers(store, ALL_OPEN)
        assert text_of(queue.query_one("#view-name")).strip() == f"All open ({len(before)})"
        # fixing it in place (the bar kept the focus) hides the error
        await pilot.press("end", "ctrl+u", *"p:P0", "enter")
        await until(lambda: queue.table.total == 2 and not error.display, pilot=pilot)
        assert {queue.table.row_at(i).number for i in range(2)} == db_numbers(store, "prio:P0")


@run_async
async def test_slash_search_finds_a_chinese_fragment(store: Store) -> None:
    """Runs on both databases: FTS5 trigram on SQLite, pg_trgm on PostgreSQL."""
    printer = new(store, "打印机坏了，无法打印", priority="P1")
    new(store, "打印纸用完了", priority="P1")
    new(store, "Printer on floor 3", priority="P0")
    assert db_numbers(store, "机坏了") == {printer}
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        assert queue.table.total == 3
        await pilot.press("slash")
        await until(lambda: queue.query_one("#filter").has_focus, pilot=pilot)
        await pilot.press(*"机坏了", "enter")
        await until(lambda: queue.table.total == 1 and queue.table.current is not None, pilot=pilot)
        await settle(pilot)
        assert queue.table.current.number == printer
        assert queue.flt.search == "机坏了"
        assert text_of(queue.query_one("#view-name")).strip() == "Filter (1)"
        assert queue.table.has_focus


@sqlite_only
@run_async
async def test_slash_search_adds_a_chinese_fragment_to_the_current_filter(store: Store) -> None:
    """`/` appends search words to the filter shown (it puts the cursor after a space at the end)."""
    open_one = new(store, "打印机坏了，无法打印", priority="P1")
    closed_one = new(store, "打印机坏了又一次", priority="P1")
    new(store, "Printer on floor 3", priority="P1")
    store.tickets.update([closed_one], TicketChanges(status="resolved", note="toner"))
    # the database finds both by the 3-character fragment; the open view only one of them
    assert db_numbers(store, "机坏了") == {open_one, closed_one}
    assert db_numbers(store, f"{ALL_OPEN} 机坏了") == {open_one}
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        assert queue.table.total == 2
        field = queue.query_one("#filter")
        await pilot.press("slash")
        await until(lambda: field.has_focus, pilot=pilot)
        await pilot.press(*"机坏了", "enter")
        await until(lambda: queue.view_name == "Filter", pilot=pilot)
        await settle(pilot)
        shown = {queue.table.row_at(i).number for i in range(queue.table.total)}
        assert shown == {open_one}, "the resolved ticket must stay out of the open view"
        assert field.value == f"{ALL_OPEN} 机坏了"


@sqlite_only
@run_async
async def test_views_pick_unassigned(store: Store) -> None:
    t = seed(store)
    unassigned_query = dict(BUILTIN_VIEWS)["Unassigned"]
    expected = db_numbers(store, unassigned_query)
    assert t["mine"] not in expected and len(expected) == 4
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        await pilot.press("v")
        dialog = await until(lambda: isinstance(pilot.app.screen, PickDialog) and pilot.app.screen, pilot=pilot)
        labels = [str(dialog.query_one("#choices").get_option_at_index(i).prompt) for i in range(5)]
        assert "Unassigned  (4)" in labels  # counts come from the database
        await pilot.press(*"Unas", "enter")  # narrows the list to one
        await until(lambda: queue.view_name == "Unassigned" and queue.table.total == 4, pilot=pilot)
        await settle(pilot)
        assert text_of(queue.query_one("#view-name")).strip() == "Unassigned (4)"
        assert queue.query_one("#filter").value == unassigned_query
        assert {queue.table.row_at(i).number for i in range(4)} == expected


# --- marks and batch actions ----------------------------------------------------------


@run_async
async def test_space_marks_and_a_assigns_all_marked_to_me(store: Store) -> None:
    seed(store)
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        table = queue.table
        first, second, third = (table.row_at(i).number for i in range(3))
        await pilot.press("space", "space")  # marks rows 0 and 1, the cursor moves down
        await until(lambda: table.selected == {first, second} and table.cursor == 2, pilot=pilot)
        assert "2 marked" in text_of(queue.query_one("#status-line"))
        await pilot.press("a")
        await until(lambda: store.tickets.get(first).row.assignee == "admin", pilot=pilot)
        await settle(pilot)
        for number in (first, second):
            row = store.tickets.get(number).row
            assert (row.assignee, row.status) == ("admin", "open")
        assert store.tickets.get(third).row.assignee != "admin"  # the cursor row is not part of a marked batch
        assert any("Assign to me: 2 changed; 2 still marked (esc clears)" in m for m, _ in notifications(pilot.app))
        # the marks stay: the next action is on the same two tickets, not the cursor row
        assert table.selected == {first, second}
        await pilot.press("p")
        await until(lambda: isinstance(pilot.app.screen, PickDialog), pilot=pilot)
        await pilot.press("P", "0", "enter")
        await until(lambda: store.tickets.get(second).row.priority == "P0", pilot=pilot)
        await settle(pilot)
        assert store.tickets.get(first).row.priority == "P0" and store.tickets.get(third).row.priority != "P0"
        await pilot.press("escape")
        await until(lambda: not table.selected, pilot=pilot)


@sqlite_only
@run_async
async def test_mark_all_matching_then_priority_p1(store: Store) -> None:
    t = seed(store)
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        await pilot.press("asterisk")
        await until(lambda: len(queue.table.selected) == 5, pilot=pilot)
        assert queue.table.selected == db_numbers(store, ALL_OPEN)
        await pilot.press("p")
        dialog = await until(lambda: isinstance(pilot.app.screen, PickDialog) and pilot.app.screen, pilot=pilot)
        await pilot.press("P", "1")
        await until(lambda: dialog.query_one("#choices").option_count == 1, pilot=pilot)
        await pilot.press("enter")
        await until(lambda: store.tickets.get(t["p2"]).row.priority == "P1", pilot=pilot)
        await settle(pilot)
        assert len(queue.table.selected) == 5  # kept until esc
        for key, number in t.items():
            row = store.tickets.get(number).row
            assert row.priority == ("P2" if key == "done" else "P1"), key  # the resolved one was not matched


@sqlite_only
@run_async
async def test_status_resolved_asks_for_a_note(store: Store) -> None:
    seed(store)
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        number = queue.table.current.number
        await pilot.press("s")
        await until(lambda: isinstance(pilot.app.screen, PickDialog), pilot=pilot)
        await pilot.press(*"reso", "enter")  # narrows to "resolved" alone
        await until(lambda: isinstance(pilot.app.screen, InputDialog), pilot=pilot)
        assert store.tickets.get(number).row.status != "resolved"  # nothing written before the note
        await pilot.press(*"Rebooted", "enter")
        await until(lambda: store.tickets.get(number).row.status == "resolved", pilot=pilot)
        await until(lambda: queue.table.total == 4, pilot=pilot)  # gone from the open view
        await settle(pilot)
        detail = store.tickets.get(number)
        assert detail.resolution == "Rebooted"
        assert detail.row.resolved_at is not None
        assert number not in db_numbers(store, ALL_OPEN)


@sqlite_only
@run_async
async def test_assign_reports_a_conflict_and_keeps_the_other_agents_change(store: Store) -> None:
    seed(store)
    # no polling here: the queue must still hold the version it loaded when `a` is pressed
    async with make_app(store, live=False).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        row = queue.table.current
        number, seen_version = row.number, row.version
        as_agent(store, "bob").tickets.update([number], TicketChanges(assignee="bob"))
        assert store.tickets.get(number).row.version > seen_version
        await pilot.press("a")
        await until(lambda: any("changed by others" in m for m, _ in notifications(pilot.app)), pilot=pilot)
        await settle(pilot)
        message, severity = next((m, s) for m, s in notifications(pilot.app) if "changed by others" in m)
        assert severity == "warning"
        assert "0 changed" in message and number in message
        detail = store.tickets.get(number)
        assert detail.row.assignee == "bob"
        assert not [e for e in detail.events if e.actor == "admin" and e.field == "assignee" and e.new == "admin"]
        # the queue reloaded after the batch and now shows bob's change
        await until(lambda: queue.table.current is not None and queue.table.current.assignee == "bob", pilot=pilot)


@run_async
async def test_live_refresh_shows_a_ticket_created_elsewhere(store: Store) -> None:
    seed(store)
    other = Store.open(store.db.url, login="bob")  # another process, in effect: its own engine
    try:
        async with make_app(store).run_test(size=SIZE) as pilot:
            queue = await queue_ready(pilot)
            assert queue.table.total == 5
            number = other.tickets.create(NewTicket(subject="Created by bob elsewhere", priority="P0"))
            await until(lambda: queue.table.total == 6, timeout=2, pilot=pilot)
            await until(lambda: text_of(queue.query_one("#view-name")).strip() == "All open (6)", pilot=pilot)
            assert number in db_numbers(store, ALL_OPEN)
            await until(
                lambda: number in {queue.table.row_at(i).number for i in range(6) if queue.table.row_at(i)},
                pilot=pilot,
            )
    finally:
        other.close()


@sqlite_only
@run_async
async def test_enter_opens_the_ticket_under_the_cursor(store: Store) -> None:
    from ticketdesk.screens.ticket import TicketScreen

    seed(store)
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        await pilot.press("j")
        await until(lambda: queue.table.cursor == 1, pilot=pilot)
        number = queue.table.current.number
        await pilot.press("enter")
        screen = await until(lambda: isinstance(pilot.app.screen, TicketScreen) and pilot.app.screen, pilot=pilot)
        await until(lambda: screen.detail is not None, pilot=pilot)
        assert screen.number == number
        assert screen.detail.row.subject == store.tickets.get(number).row.subject
        assert f"{number}  {store.tickets.get(number).row.subject}" in screen_text(pilot.app)
        assert "Timeline" in screen_text(pilot.app)


@sqlite_only
@run_async
async def test_capital_t_moves_marked_tickets_to_a_team(store: Store) -> None:
    seed(store)
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        table = queue.table
        first, second = (table.row_at(i).number for i in range(2))
        await pilot.press("space", "space")
        await until(lambda: table.selected == {first, second}, pilot=pilot)
        await pilot.press("T")
        await settle(pilot)
        await pilot.press("p", "r", "o", "d", "enter")  # narrow the team picker to "product"
        await until(lambda: store.tickets.get(first).row.team == "product", pilot=pilot)
        await settle(pilot)
        assert store.tickets.get(second).row.team == "product"


@sqlite_only
@run_async
async def test_the_cursor_stays_on_the_ticket_a_change_re_sorts(store: Store) -> None:
    """Raising the third ticket to P0 sorts it to the top: the cursor goes with it, so the next
    key acts on the same ticket, not on whichever now sits in its old row."""
    new(store, "Mail server down", priority="P1")
    new(store, "Printer jams", priority="P2")
    late = new(store, "Payroll export fails", priority="P3")
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        table = queue.table
        await pilot.press("j", "j")
        await until(lambda: table.current is not None and table.current.number == late, pilot=pilot)
        await pilot.press("p")
        await settle(pilot)
        await pilot.press("P", "0", "enter")
        await until(lambda: table.row_at(0) is not None and table.row_at(0).number == late, pilot=pilot)
        await until(lambda: table.cursor == 0, pilot=pilot)
        assert table.current.number == late
        await pilot.press("a")  # assign to me: the same ticket
        await until(lambda: store.tickets.get(late).row.assignee == "admin", pilot=pilot)


@sqlite_only
@run_async
async def test_fast_paging_loads_every_row_once_in_order(store: Store) -> None:
    """Keys faster than the pages arrive must not load a page twice (no duplicate or
    out-of-order rows), and the rows shown are the database's, in its order."""
    store.generate_demo(tickets=1000, seed=3)
    query = "status:closed"
    expected = [r.number for r in store.tickets.page(parse_query(query), limit=1000).rows]
    assert 600 < len(expected) < 1000
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        await pilot.press("f")
        field = queue.query_one("#filter")
        await until(lambda: field.has_focus, pilot=pilot)
        field.value = query
        await pilot.press("enter")
        table = queue.table
        await until(lambda: table.total == len(expected), pilot=pilot)
        table.focus()
        for _ in range(15):
            table.action_page_down()  # no waiting between keys
        await settle(pilot)
        await until(lambda: table.row_at(table.cursor) is not None, pilot=pilot)
        await settle(pilot)
        top = [r.number for r in table.top.rows]
        assert len(top) == len(set(top)), "a page was loaded twice"
        assert top == expected[: len(top)]
        assert table.current.number == expected[table.cursor]
        table.action_last()
        await until(lambda: table.current is not None, pilot=pilot)
        bottom = [r.number for r in table.bottom.rows]
        assert bottom == expected[::-1][: len(bottom)]


@sqlite_only
@run_async
async def test_the_table_scrolls_itself_by_keys_wheel_and_click(store: Store) -> None:
    """The table draws its own view of the queue (no ScrollView): `j` at the bottom scrolls
    by one row, the wheel by three with the cursor kept in view, a click puts the cursor on
    the row clicked and a double click opens it."""
    from textual import events

    from ticketdesk.screens.ticket import TicketScreen

    for i in range(60):
        new(store, f"Subject {i:02d}", assignee="admin")
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        table = queue.table
        height = table.size.height
        assert 0 < height < 60

        def first_shown() -> str:
            number = table.row_at(table.view_top).number
            lines = [line for line in screen_text(pilot.app).splitlines() if "Subject " in line]
            assert number in lines[0]  # what is painted, not only the attribute
            return number

        top_number = first_shown()
        await pilot.press(*["j"] * (height - 1))
        await until(lambda: table.cursor == height - 1, pilot=pilot)
        assert table.view_top == 0 and first_shown() == top_number
        await pilot.press("j")
        await until(lambda: table.view_top == 1, pilot=pilot)
        await settle(pilot)
        assert first_shown() == table.row_at(1).number
        assert text_of(queue.query_one("#status-line")).strip().startswith(f"{height + 1}/60")

        # the wheel: three rows a turn; up from here leaves the cursor (bottom row) out of
        # view, so it follows onto the last row shown
        table.post_message(events.MouseScrollUp(table, 5, 5, 0, -1, 0, False, False, False))
        await until(lambda: table.view_top == 0, pilot=pilot)
        assert table.cursor == height - 1
        for _ in range(2):
            table.post_message(events.MouseScrollDown(table, 5, 5, 0, 1, 0, False, False, False))
        await until(lambda: table.view_top == 6, pilot=pilot)
        assert table.cursor == height - 1  # still in view: it stays on its row

        await pilot.click(table, offset=(20, 4))
        await until(lambda: table.cursor == table.view_top + 4, pilot=pilot)
        clicked = table.current.number
        await pilot.double_click(table, offset=(20, 4))
        await until(lambda: isinstance(pilot.app.screen, TicketScreen), pilot=pilot)
        assert pilot.app.screen.number == clicked


@run_async
async def test_u_takes_back_a_batch_then_walks_further_back(store: Store) -> None:
    """Runs on SQLite and PostgreSQL: `u` after a batch restores every marked ticket in the
    database; `u` again takes back the change before it; then there is nothing left."""
    seed(store)
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        table = queue.table
        first, second = table.row_at(0).number, table.row_at(1).number
        before = {n: store.tickets.get(n).row for n in (first, second)}
        await pilot.press("a")  # the cursor row: assigned to me
        await until(lambda: store.tickets.get(first).row.assignee == "admin", pilot=pilot)
        await settle(pilot)
        await pilot.press("g", "space", "space", "asterisk")
        await until(lambda: len(table.selected) == 5, pilot=pilot)
        await pilot.press("p")
        await until(lambda: isinstance(pilot.app.screen, PickDialog), pilot=pilot)
        await pilot.press("P", "3", "enter")
        await until(lambda: store.tickets.get(second).row.priority == "P3", pilot=pilot)
        await settle(pilot)

        await pilot.press("u")
        await until(lambda: store.tickets.get(second).row.priority == before[second].priority, pilot=pilot)
        assert store.tickets.get(first).row.priority == before[first].priority
        assert store.tickets.get(first).row.assignee == "admin"  # the older change stands, for now
        await until(
            lambda: any(m.startswith("undone: priority → P3 on 4 tickets") for m, _ in notifications(pilot.app)),
            pilot=pilot,
        )
        await settle(pilot)
        await pilot.press("u")
        await until(lambda: store.tickets.get(first).row.assignee is None, pilot=pilot)
        assert store.tickets.get(first).row.status == before[first].status
        await settle(pilot)
        [older] = store.tickets.undoable()  # seed()'s resolving of a ticket, minutes ago
        assert older.summary.startswith("status new → resolved on ")
        await pilot.press("u", "u")
        await until(lambda: any("nothing to undo" in m for m, _ in notifications(pilot.app)), pilot=pilot)
        assert store.tickets.undoable() == []
        assert table.row_at(0) is not None  # the queue is still there, reloaded


@sqlite_only
@run_async
async def test_counts_move_by_many_rows_and_dot_repeats_the_last_change(store: Store) -> None:
    """vim's grammar where it helps: `3j`, `2k`, `4G`, `12j` (two digits), a lone `0` that is
    nothing; `.` repeats the last field change on the cursor row."""
    for i in range(30):
        new(store, f"Subject {i:02d}", priority="P3")
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        table = queue.table
        await pilot.press("3", "j")
        await until(lambda: table.cursor == 3, pilot=pilot)
        await pilot.press("2", "k")
        await until(lambda: table.cursor == 1, pilot=pilot)
        await pilot.press("1", "2", "j")
        await until(lambda: table.cursor == 13, pilot=pilot)
        await pilot.press("4", "G")
        await until(lambda: table.cursor == 3, pilot=pilot)
        await pilot.press("0", "j")  # a lone 0 is no count
        await until(lambda: table.cursor == 4, pilot=pilot)
        await pilot.press("5", "x", "j")  # another key drops the count
        await until(lambda: table.cursor == 5, pilot=pilot)
        await pilot.press("G")
        await until(lambda: table.cursor == 29, pilot=pilot)

        await pilot.press(".")
        await until(lambda: any("none yet" in m for m, _ in notifications(pilot.app)), pilot=pilot)
        await pilot.press("g")
        await until(lambda: table.cursor == 0, pilot=pilot)
        first = table.current.number
        await pilot.press("p")
        await until(lambda: isinstance(pilot.app.screen, PickDialog), pilot=pilot)
        await pilot.press("P", "1", "enter")
        await until(lambda: store.tickets.get(first).row.priority == "P1", pilot=pilot)
        await settle(pilot)
        await until(lambda: table.current is not None and table.current.number == first, pilot=pilot)
        await pilot.press("j")
        await until(lambda: table.cursor == 1 and table.current is not None, pilot=pilot)
        second = table.current.number
        await pilot.press(".")
        await until(lambda: store.tickets.get(second).row.priority == "P1", pilot=pilot)
