"""Every remaining key of the queue, ticket, dashboard and templates screens through the pilot,
each checked in the database (not only on the screen)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from ticketdesk.rules.query import parse_query
from ticketdesk.screens.dashboard import DashboardScreen
from ticketdesk.screens.dialogs import ConfirmDialog, InputDialog, PickDialog
from ticketdesk.screens.new_ticket import NewTicketScreen
from ticketdesk.screens.queue import QueueScreen
from ticketdesk.screens.templates import TemplateForm, TemplatesScreen
from ticketdesk.screens.ticket import TicketScreen
from ticketdesk.store import NewTicket, Store, TicketChanges

from ..conftest import as_agent
from .helpers import SIZE, make_app, new, notifications, queue_ready, run_async, screen_text, settle, text_of, until
from .test_ticket import open_ticket

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


async def screen_of(pilot: Pilot[Any], kind: type) -> Any:
    return await until(lambda: isinstance(pilot.app.screen, kind) and pilot.app.screen, pilot=pilot)


async def pick(pilot: Pilot[Any], typed: str) -> None:
    """In the PickDialog that is opening: narrow to one option by typing, then take it."""
    dialog = await screen_of(pilot, PickDialog)
    await pilot.press(*typed)
    await until(lambda: dialog.query_one("#choices").option_count == 1, pilot=pilot)
    await pilot.press("enter")


async def answer(pilot: Pilot[Any], text: str) -> None:
    """Type a line into the InputDialog that is opening and submit it."""
    await screen_of(pilot, InputDialog)
    await pilot.press(*text, "enter")


def numbers_of(store: Store, query: str) -> set[str]:
    return {r.number for r in store.tickets.page(parse_query(query), limit=1000).rows}


# --- queue ---------------------------------------------------------------------------


@sqlite_only
@run_async
async def test_capital_a_assigns_the_cursor_row_to_a_picked_agent(store: Store) -> None:
    number = new(store, "Mail server down", priority="P0")
    other = new(store, "Printer jams", priority="P2")
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        assert queue.table.current.number == number
        await pilot.press("A")
        await pick(pilot, "alice")
        await until(lambda: store.tickets.get(number).row.assignee == "alice", pilot=pilot)
        await settle(pilot)
    assert store.tickets.get(other).row.assignee is None
    changes = {(e.field, e.new) for e in store.tickets.get(number).events if e.actor == "admin"}
    assert ("assignee", "alice") in changes


@sqlite_only
@run_async
async def test_capital_v_marks_a_range_and_t_tags_it(store: Store) -> None:
    numbers = [new(store, f"Ticket {i}", priority="P2") for i in range(5)]
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        table = queue.table
        shown = [table.row_at(i).number for i in range(5)]
        await pilot.press("space")  # marks row 0, anchors the range, cursor to row 1
        await pilot.press("j", "j")
        await pilot.press("V")  # rows 0..3 marked
        await until(lambda: table.selected == set(shown[:4]), pilot=pilot)
        await pilot.press("t")
        await answer(pilot, "vip +printer")
        await until(lambda: "printer" in store.tickets.get(shown[3]).row.tags, pilot=pilot)
        await settle(pilot)
        assert table.selected == set(shown[:4])  # the marks stay for the next action
    for i, number in enumerate(shown):
        tags = set(store.tickets.get(number).row.tags)
        assert tags == ({"vip", "printer"} if i < 4 else set()), number
    assert set(shown) == set(numbers)


@sqlite_only
@run_async
async def test_t_removes_a_tag_with_a_minus(store: Store) -> None:
    number = new(store, "Printer jams", priority="P2", tags=("vip", "printer"))
    async with make_app(store).run_test(size=SIZE) as pilot:
        await queue_ready(pilot)
        await pilot.press("t")
        await answer(pilot, "-vip")
        await until(lambda: set(store.tickets.get(number).row.tags) == {"printer"}, pilot=pilot)


@sqlite_only
@run_async
async def test_o_sorts_by_number_reversed(store: Store) -> None:
    numbers = [new(store, f"Ticket {i}", priority=p) for i, p in enumerate(["P3", "P0", "P2"])]
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        assert queue.table.row_at(0).number == numbers[1]  # priority first by default
        await pilot.press("o")
        await pick(pilot, "number (rev")
        await until(lambda: queue.sort_name == "-number", pilot=pilot)
        await until(lambda: queue.table.row_at(0) and queue.table.row_at(0).number == numbers[2], pilot=pilot)
        assert [queue.table.row_at(i).number for i in range(3)] == sorted(numbers, reverse=True)
        assert "number" in text_of(queue.query_one("#status-line"))


@sqlite_only
@run_async
async def test_capital_s_saves_the_filter_as_a_view_of_this_agent(store: Store) -> None:
    new(store, "Mail server down", priority="P0")
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        await pilot.press("f")
        field = queue.query_one("#filter", Input)
        await until(lambda: field.has_focus, pilot=pilot)
        field.value = ""
        await pilot.press(*"prio:P0", "enter")
        await until(lambda: queue.query_one("#filter", Input).value == "prio:P0", pilot=pilot)
        await settle(pilot)
        await pilot.press("S")
        await answer(pilot, "Fires")
        await until(lambda: any(v.name == "Fires" for v in store.views.all()), pilot=pilot)
        await settle(pilot)
        await pilot.press("v")
        dialog = await screen_of(pilot, PickDialog)
        await until(lambda: dialog.query_one("#choices").option_count >= 6, pilot=pilot)
        labels = [str(dialog.query_one("#choices").get_option_at_index(i).prompt) for i in range(6)]
        assert "Fires  (1)" in labels
    saved = {v.name: v.query for v in store.views.all()}
    assert saved == {"Fires": "prio:P0"}
    assert as_agent(store, "alice").views.all() == []  # views are per agent


@sqlite_only
@run_async
async def test_m_applies_a_template_to_marked_tickets_after_the_preview(store: Store) -> None:
    first = new(store, "VPN drops", priority="P1", customer="Ann Lee <ann@example.com>")
    second = new(store, "Mail slow", priority="P1", customer="Bo Chen <bo@example.com>")
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        await pilot.press("asterisk")
        await until(lambda: len(queue.table.selected) == 2, pilot=pilot)
        await pilot.press("m")
        await pick(pilot, "Need more")
        confirm = await screen_of(pilot, ConfirmDialog)
        preview = screen_text(pilot.app)
        assert "Apply 'Need more info' to 2 tickets?" in preview
        assert store.tickets.get(first).comments == []  # nothing written before the answer
        assert confirm.body
        await pilot.press("y")
        await until(lambda: store.tickets.get(second).row.status == "pending", pilot=pilot)
        await settle(pilot)
    for number, name in ((first, "Ann Lee"), (second, "Bo Chen")):
        detail = store.tickets.get(number)
        assert detail.row.status == "pending"
        assert [c.kind for c in detail.comments] == ["public"]
        assert name in detail.comments[0].body


@sqlite_only
@run_async
async def test_m_asks_what_the_template_needs_and_shows_each_field_change(store: Store) -> None:
    from ticketdesk.store import TemplateSpec

    body = 'Hello,\nwe refunded {{ ask("Refund amount") }} for order {{ ask("Order number") }}.\n'
    store.templates.add(TemplateSpec(name="Refund", body=body, sets_status="pending", add_tags=("refund",)))
    number = new(store, "Charged twice", priority="P1", customer="Ann Lee <ann@example.com>")
    async with make_app(store).run_test(size=SIZE) as pilot:
        await queue_ready(pilot)
        await pilot.press("m")
        await pick(pilot, "Refund")
        for label, value in (("Refund amount", "12 EUR"), ("Order number", "A-17")):  # one question each
            await until(
                lambda lb=label: isinstance(pilot.app.screen, InputDialog) and lb in pilot.app.screen.prompt,
                pilot=pilot,
            )
            await pilot.press(*value, "enter")
        confirm = await screen_of(pilot, ConfirmDialog)
        shown = str(confirm.body)  # the dialog wraps it at its width
        assert "we refunded 12 EUR for order A-17." in shown
        assert "and on it: status new → pending; tags +refund" in shown  # not the body only
        assert store.tickets.get(number).comments == []
        await pilot.press("y")
        await until(lambda: store.tickets.get(number).row.status == "pending", pilot=pilot)
    detail = store.tickets.get(number)
    assert detail.comments[-1].body == "Hello,\nwe refunded 12 EUR for order A-17.\n"
    assert detail.row.tags == ("refund",)


@sqlite_only
@run_async
async def test_m_answered_no_changes_nothing(store: Store) -> None:
    number = new(store, "VPN drops", priority="P1")
    version = store.tickets.get(number).row.version
    async with make_app(store).run_test(size=SIZE) as pilot:
        await queue_ready(pilot)
        await pilot.press("m")
        await pick(pilot, "Acknow")
        await screen_of(pilot, ConfirmDialog)
        await pilot.press("n")
        await screen_of(pilot, QueueScreen)
        await settle(pilot)
    assert store.tickets.get(number).row.version == version
    assert store.tickets.get(number).comments == []


@sqlite_only
@run_async
async def test_c_creates_a_ticket_with_the_agents_team_by_default(store: Store) -> None:
    lena = as_agent(store, "lena")  # a lead of the support team
    async with make_app(lena).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        await pilot.press("c")
        form = await screen_of(pilot, NewTicketScreen)
        await settle(pilot)
        await pilot.press("ctrl+s")  # an empty subject: an inline message, nothing written
        await until(lambda: "subject" in text_of(form.query_one("#error")), pilot=pilot)
        assert store.tickets.count(parse_query("")) == 0
        await pilot.press(*"Screen flickers")
        form.query_one("#description", TextArea).text = "since the update"
        form.query_one("#customer", Input).value = "Ann Lee <ann@example.com>"
        await pilot.press("ctrl+s")
        await screen_of(pilot, QueueScreen)
        await until(lambda: queue.table.total == 1, pilot=pilot)
        await settle(pilot)
    (row,) = store.tickets.page(parse_query(""), limit=10).rows
    detail = store.tickets.get(row.number)
    assert (row.subject, row.team, row.customer, row.status) == ("Screen flickers", "support", "Ann Lee", "new")
    assert detail.description == "since the update"


@sqlite_only
@run_async
async def test_c_shows_a_store_error_inline_and_writes_nothing(store: Store) -> None:
    async with make_app(store).run_test(size=SIZE) as pilot:
        await queue_ready(pilot)
        await pilot.press("c")
        form = await screen_of(pilot, NewTicketScreen)
        await settle(pilot)
        await pilot.press(*"Printer")
        form.query_one("#assignee", Input).value = "nobody.here"
        await pilot.press("ctrl+s")
        await until(lambda: "nobody.here" in text_of(form.query_one("#error")), pilot=pilot)
        assert isinstance(pilot.app.screen, NewTicketScreen)  # the form and its text stay
    assert store.tickets.count(parse_query("")) == 0


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
@run_async
async def test_d_dashboard_follows_changes_made_elsewhere(store: Store) -> None:
    new(store, "Mail server down", priority="P0")
    async with make_app(store).run_test(size=(160, 48)) as pilot:
        await queue_ready(pilot)
        await pilot.press("d")
        board = await screen_of(pilot, DashboardScreen)
        await until(lambda: board._marker is not None, pilot=pilot)
        assert "P0 1" in " ".join(screen_text(pilot.app).split())
        marker = board._marker
        # another agent, another connection: the dashboard must notice within 2 s
        for i in range(2):
            as_agent(store, "alice").tickets.create(NewTicket(subject=f"x{i}", priority="P1"))
        await until(lambda: board._marker != marker, timeout=2, pilot=pilot)
        await settle(pilot)
        assert "P1 2" in " ".join(screen_text(pilot.app).split())
        await pilot.press("escape")
        await screen_of(pilot, QueueScreen)


# --- ticket screen --------------------------------------------------------------------


@sqlite_only
@run_async
async def test_ticket_keys_change_each_field(store: Store) -> None:
    number = new(store, "Laptop battery", priority="P2")
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, number)

        async def changed(check: Any) -> None:
            await until(lambda: check(store.tickets.get(number)), pilot=pilot)
            await until(lambda: check(screen.detail), pilot=pilot)
            await settle(pilot)

        await pilot.press("p")
        await pick(pilot, "P0")
        await changed(lambda d: d.row.priority == "P0")
        await pilot.press("A")
        await pick(pilot, "bob")
        await changed(lambda d: d.row.assignee == "bob")
        await pilot.press("T")
        await pick(pilot, "ops")
        await changed(lambda d: d.row.team == "ops")
        await pilot.press("L")
        await pick(pilot, "L2")
        await changed(lambda d: d.support_level == "L2")
        await pilot.press("t")
        await answer(pilot, "vip")
        await changed(lambda d: set(d.row.tags) == {"vip"})
        await pilot.press("s")
        await pick(pilot, "on_h")
        await changed(lambda d: d.row.status == "on_hold")
        await pilot.press("m")
        await pick(pilot, "Acknow")
        await screen_of(pilot, ConfirmDialog)
        await pilot.press("y")
        await until(lambda: len(store.tickets.get(number).comments) == 1, pilot=pilot)
        await settle(pilot)
    detail = store.tickets.get(number)
    assert detail.comments[0].kind == "public" and "Laptop battery" in detail.comments[0].body
    assert detail.row.version == 8  # created + seven changes, one version each


@sqlite_only
@run_async
async def test_l_jumps_to_a_linked_ticket_and_back(store: Store) -> None:
    number = new(store, "VPN drops", priority="P1")
    other = new(store, "VPN slow in branch office", priority="P2")
    store.tickets.link(number, other, "related")
    async with make_app(store).run_test(size=SIZE) as pilot:
        first = await open_ticket(pilot, number)
        assert other in screen_text(pilot.app)  # links listed on the ticket
        await pilot.press("l")
        await pick(pilot, other[-3:])
        linked = await until(
            lambda: isinstance(pilot.app.screen, TicketScreen) and pilot.app.screen is not first and pilot.app.screen,
            pilot=pilot,
        )
        await until(lambda: linked.detail is not None, pilot=pilot)
        assert linked.detail.row.number == other
        assert "VPN slow in branch office" in screen_text(pilot.app)
        await pilot.press("escape")
        await until(lambda: pilot.app.screen is first, pilot=pilot)


@sqlite_only
@run_async
async def test_ticket_r_key_reloads_a_change_made_elsewhere(store: Store) -> None:
    number = new(store, "VPN drops", priority="P1")
    async with make_app(store, live=False).run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, number)
        as_agent(store, "bob").tickets.update([number], TicketChanges(priority="P0"))
        await pilot.press("R")
        await until(lambda: screen.detail.row.priority == "P0", pilot=pilot)


# --- templates screen -----------------------------------------------------------------


async def open_templates(pilot: Pilot[Any]) -> TemplatesScreen:
    await queue_ready(pilot)
    await pilot.press("M")
    screen = await screen_of(pilot, TemplatesScreen)
    await until(lambda: screen.items, pilot=pilot)
    await settle(pilot)
    return screen


@sqlite_only
@run_async
async def test_capital_m_adds_edits_and_removes_a_template(store: Store) -> None:
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_templates(pilot)
        before = set(screen.items)
        assert "Need more info" in before
        assert "ticketdesk (built in), updated" in screen_text(pilot.app)  # a seeded one, not "by ?"
        await pilot.press("c")
        form = await screen_of(pilot, TemplateForm)
        await settle(pilot)
        await pilot.press(*"Printer driver")
        form.query_one("#body", TextArea).text = "Hello {{ customer_name }}, install the driver."
        await pilot.press("ctrl+s")
        await screen_of(pilot, TemplatesScreen)
        await until(lambda: "Printer driver" in screen.items, pilot=pilot)
        await settle(pilot)
        assert screen.current_key == "Printer driver"
        assert store.templates.get("Printer driver").body == "Hello {{ customer_name }}, install the driver."

        await pilot.press("e")
        form = await screen_of(pilot, TemplateForm)
        await settle(pilot)
        form.query_one("#body", TextArea).text = "Hi {{ customer_name }}."
        form.query_one("#sets_status").value = "pending"
        await pilot.press("ctrl+s")
        await screen_of(pilot, TemplatesScreen)
        await until(lambda: store.templates.get("Printer driver").body == "Hi {{ customer_name }}.", pilot=pilot)
        assert store.templates.get("Printer driver").sets_status == "pending"
        await settle(pilot)

        await pilot.press("x")
        await screen_of(pilot, ConfirmDialog)
        await pilot.press("y")
        await until(lambda: "Printer driver" not in screen.items, pilot=pilot)
    assert {t.name for t in store.templates.all()} == before


@sqlite_only
@run_async
async def test_a_broken_template_is_refused_in_the_form_and_nothing_is_saved(store: Store) -> None:
    async with make_app(store).run_test(size=SIZE) as pilot:
        await open_templates(pilot)
        await pilot.press("c")
        form = await screen_of(pilot, TemplateForm)
        await settle(pilot)
        await pilot.press(*"Broken")
        form.query_one("#body", TextArea).text = "Hello {{ customer_name "
        await pilot.press("ctrl+s")
        await until(lambda: "Broken" in text_of(form.query_one("#error")), pilot=pilot)
        assert isinstance(pilot.app.screen, TemplateForm)
    assert "Broken" not in {t.name for t in store.templates.all()}


@sqlite_only
@run_async
async def test_an_agent_may_not_remove_templates(store: Store) -> None:
    alice = as_agent(store, "alice")
    async with make_app(alice).run_test(size=SIZE) as pilot:
        screen = await open_templates(pilot)
        name = screen.current_key
        await pilot.press("x")
        await screen_of(pilot, ConfirmDialog)
        await pilot.press("y")
        status = screen.query_one(".ld-status")
        await until(lambda: "lead" in text_of(status) or "admin" in text_of(status), pilot=pilot)
    assert name in {t.name for t in store.templates.all()}


# --- palette --------------------------------------------------------------------------


@sqlite_only
@run_async
async def test_command_palette_lists_every_queue_action_and_runs_one(store: Store) -> None:
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        commands = [c.title for c in pilot.app.get_system_commands(queue)]
        wanted = ["Manage templates  (M)", "Mark range  (V)", "Sort  (o)", "Save view  (S)", "Dashboard  (d)"]
        for words in [*wanted, "Search  (/)"]:
            assert words in commands, words
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Dashboard", "enter")
        await screen_of(pilot, DashboardScreen)
    assert notifications(pilot.app) == [] or all(sev != "error" for _, sev in notifications(pilot.app))


@sqlite_only
@run_async
async def test_help_lists_the_screens_keys_first_each_action_once(store: Store) -> None:
    from ticketdesk.screens.help import HelpScreen, help_sections

    async with make_app(store).run_test(size=(100, 60)) as pilot:
        queue = await queue_ready(pilot)
        sections = help_sections(queue)
        assert [title for title, _ in sections] == ["Queue", "Table", "Everywhere"]
        ids = [binding_id for _, rows in sections for _, _, binding_id in rows]
        assert len(ids) == len(set(ids))
        assert {b.id for b in QueueScreen.BINDINGS} <= set(ids)  # type: ignore[attr-defined]
        assert ("j ↓", "Down", "table.cursor_down") in sections[1][1]  # as the binding lists them
        await pilot.press("question_mark")
        await screen_of(pilot, HelpScreen)
        shown = screen_text(pilot.app)
        assert shown.index("Manage templates") < shown.index("Page down") < shown.index("Quit")


@sqlite_only
@run_async
async def test_capital_e_escalates_from_the_ticket_screen(store: Store) -> None:
    number = new(store, "ERP down", priority="P1", team="support", assignee="alice")
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, number)
        await pilot.press("E")
        await pick(pilot, "techn")
        await answer(pilot, "needs a DBA")
        await until(lambda: store.tickets.get(number).support_level == "L2", pilot=pilot)
        await until(lambda: screen.detail.support_level == "L2", pilot=pilot)
        await pilot.press("E")
        await pick(pilot, "manage")
        await answer(pilot, "customer angry")
        await until(
            lambda: any(e.kind == "escalated" and "lena" in (e.new or "") for e in store.tickets.get(number).events),
            pilot=pilot,
        )
        await settle(pilot)
        assert "escalation" in screen_text(pilot.app)
    notes = [c.body for c in store.tickets.get(number).comments]
    assert notes == ["Escalated (technical L1 → L2): needs a DBA", "Escalated to Lena Lead (lena): customer angry"]


@sqlite_only
@run_async
async def test_capital_e_in_the_queue_escalates_the_marked_tickets(store: Store) -> None:
    first = new(store, "one", team="support")
    second = new(store, "two", team="support")
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        await pilot.press("asterisk")
        await until(lambda: len(queue.table.selected) == 2, pilot=pilot)
        await pilot.press("E")
        await pick(pilot, "techn")
        await answer(pilot, "batch")
        await until(lambda: store.tickets.get(second).support_level == "L2", pilot=pilot)
        await settle(pilot)
        assert len(queue.table.selected) == 2  # kept until esc, as after any batch
    assert store.tickets.get(first).support_level == "L2"


@sqlite_only
@run_async
async def test_capital_q_and_p_open_qa_reviews_and_reports_from_the_queue(store: Store) -> None:
    from ticketdesk.screens.qa import QaScreen
    from ticketdesk.screens.reports import ReportsScreen

    new(store, "Mail down", priority="P0")
    async with make_app(store).run_test(size=SIZE) as pilot:
        queue = await queue_ready(pilot)
        await pilot.press("Q")
        await screen_of(pilot, QaScreen)
        await settle(pilot)
        await pilot.press("escape")
        await until(lambda: pilot.app.screen is queue, pilot=pilot)
        await pilot.press("P")
        await screen_of(pilot, ReportsScreen)
        await settle(pilot)
        await pilot.press("escape")
        await until(lambda: pilot.app.screen is queue, pilot=pilot)


@sqlite_only
@run_async
async def test_ticket_screen_shows_the_csat_survey(store: Store) -> None:
    number = new(store, "Printer jams", priority="P2")
    store.tickets.update([number], TicketChanges(status="resolved", note="new toner"))
    store.csat.record(number, speed=5, efficiency=4, attitude=5, effectiveness=3, overall=4, comment="ok [b]fast[/b]")
    async with make_app(store).run_test(size=SIZE) as pilot:
        await queue_ready(pilot)
        await pilot.app.push_screen(TicketScreen(number))  # resolved: not in the open queue
        await until(lambda: "CSAT" in screen_text(pilot.app), pilot=pilot)
        shown = screen_text(pilot.app)
        assert "overall 4" in shown and "effectiveness 3" in shown
        assert "[b]fast[/b]" in shown  # customer text shown literally
