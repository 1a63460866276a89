"""The live desk in the TUI: presence in the queue, on the ticket and on the dashboard; live
push of others' commits; the send guard; drafts kept on disk."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import TextArea

from ticketdesk.app import TicketdeskApp
from ticketdesk.drafts import DraftBox
from ticketdesk.models.clock import utcnow
from ticketdesk.rules.presence import Activity, TuiSession, Whereabouts
from ticketdesk.rules.text import one_line
from ticketdesk.screens.dashboard import DashboardScreen
from ticketdesk.screens.dialogs import ConfirmDialog
from ticketdesk.store import Store, TicketChanges

from ..conftest import as_agent
from .helpers import SIZE, make_app, new, notifications, queue_ready, run_async, screen_text, settle, until
from .test_ticket import open_ticket

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def elsewhere(store: Store, login: str, where: Whereabouts, *, via: str = "ssh") -> TuiSession:
    """Another agent's TUI, as its presence row says (another process would write the same)."""
    me = TuiSession(session_id=str(uuid.uuid4()), host="desk-2", pid=1, via=via, started_at=utcnow())
    as_agent(store, login).live.report(me, where, since=utcnow(), moved=True)
    return me


def shown(pilot: Any) -> str:
    return " ".join(screen_text(pilot.app).split())


@run_async
async def test_the_queue_shows_who_is_on_which_ticket_live(store: Store) -> None:
    """Runs on SQLite and PostgreSQL."""
    first, second = new(store, "VPN drops"), new(store, "Printer jam")
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        queue = await queue_ready(pilot)
        alice = elsewhere(store, "alice", Whereabouts("ticket", first, Activity.VIEWING))
        await until(lambda: "👁alice VPN drops" in shown(pilot), timeout=3, pilot=pilot)
        as_agent(store, "alice").live.report(
            alice, Whereabouts("ticket", first, Activity.REPLYING), since=utcnow(), moved=True
        )
        elsewhere(store, "bob", Whereabouts("ticket", first, Activity.VIEWING))
        await until(lambda: "✎alice 👁bob VPN drops" in shown(pilot), timeout=3, pilot=pilot)
        assert "Printer jam" in shown(pilot) and "👁" not in shown(pilot).split("Printer jam")[0][-12:]
        # the queue's own session is not listed: its agent knows where they are
        assert queue.table.presence.keys() == {first}
        as_agent(store, "alice").live.leave(alice.session_id)
        await until(lambda: "✎alice" not in shown(pilot), timeout=3, pilot=pilot)
        assert second in shown(pilot)


@sqlite_only
@run_async
async def test_presence_is_readable_without_colour(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    number = new(store, "VPN drops")
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await queue_ready(pilot)
        elsewhere(store, "bob", Whereabouts("ticket", number, Activity.NOTING))
        await until(lambda: "✎bob VPN drops" in shown(pilot), timeout=3, pilot=pilot)


@run_async
async def test_a_commit_elsewhere_reaches_the_queue_and_the_ticket(store: Store) -> None:
    """Runs on SQLite and PostgreSQL: another agent's change shows without a key pressed."""
    number = new(store, "VPN drops", priority="P2")
    async with make_app(store).run_test(size=SIZE) as pilot:
        await queue_ready(pilot)
        as_agent(store, "alice").tickets.update([number], TicketChanges(priority="P0"))
        await until(lambda: f"{number} P0" in shown(pilot), timeout=2, pilot=pilot)
        screen = await open_ticket(pilot, number)
        as_agent(store, "bob").tickets.update([number], TicketChanges(status="in_progress"))
        await until(lambda: screen.detail.row.status == "in_progress", timeout=2, pilot=pilot)


@sqlite_only
@run_async
async def test_the_ticket_header_names_everyone_else_on_it(store: Store) -> None:
    number = new(store, "VPN drops")
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, number)
        elsewhere(store, "alice", Whereabouts("ticket", number, Activity.REPLYING))
        elsewhere(store, "bob", Whereabouts("ticket", number, Activity.VIEWING), via="local")
        await until(lambda: "also here" in shown(pilot) and "👁bob" in shown(pilot), timeout=3, pilot=pilot)
        line = one_line(str(screen.query_one("#presence").render()))
        assert "✎alice writing a reply since" in line and "(ssh)" in line
        assert "👁bob viewing since" in line
        assert line.index("alice") < line.index("bob")  # writers first


@sqlite_only
@run_async
async def test_this_tui_says_where_it_is_and_what_it_writes(store: Store) -> None:
    number = new(store, "VPN drops")
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, number)
        await until(
            lambda: [(p.ticket, p.activity) for p in store.live.present()] == [(number, Activity.VIEWING)], pilot=pilot
        )
        await pilot.press("n")
        await until(lambda: store.live.present()[0].activity == Activity.NOTING, pilot=pilot)
        await pilot.press("escape", "escape")
        await until(lambda: [(p.place, p.ticket) for p in store.live.present()] == [("queue", None)], pilot=pilot)
        assert screen is not pilot.app.screen
    # the app is gone, and so is its row
    assert store.live.present() == ()


@sqlite_only
@run_async
async def test_the_dashboard_lists_who_is_online_and_on_what(store: Store) -> None:
    number = new(store, "VPN drops")
    async with make_app(store).run_test(size=(160, 48)) as pilot:
        await queue_ready(pilot)
        elsewhere(store, "alice", Whereabouts("ticket", number, Activity.REPLYING))
        await pilot.press("d")
        await until(lambda: isinstance(pilot.app.screen, DashboardScreen), pilot=pilot)
        await until(lambda: "2 agents, 2 sessions" in shown(pilot), timeout=3, pilot=pilot)
        assert f"alice {number} writing a reply" in shown(pilot)
        # this session's own move to the dashboard comes round with its next report
        await until(lambda: "admin (you) dashboard browsing" in shown(pilot), timeout=3, pilot=pilot)


@sqlite_only
@run_async
async def test_the_send_guard_shows_what_arrived_since_the_draft_began(store: Store) -> None:
    number = new(store, "VPN drops", customer="Ann <ann@example.com>")
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, number)
        area = screen.query_one("#composer", TextArea)
        await pilot.press("r", *"Please restart")
        await until(lambda: area.text == "Please restart", pilot=pilot)
        as_agent(store, "alice").tickets.reply(number, "[b]Already fixed[/b], closing")
        await pilot.press("ctrl+s")
        dialog = await until(lambda: isinstance(pilot.app.screen, ConfirmDialog) and pilot.app.screen, pilot=pilot)
        assert "1 new on" in dialog.question
        assert "alice" in dialog.body and "[b]Already fixed[/b], closing" in dialog.body  # literally
        await pilot.press("n")
        await until(lambda: pilot.app.screen is screen, pilot=pilot)
        await settle(pilot)
        assert area.display and area.text == "Please restart"  # not sent, still there
        assert [c.body for c in store.tickets.get(number).comments] == ["[b]Already fixed[/b], closing"]
        await pilot.press("ctrl+s")
        await until(lambda: isinstance(pilot.app.screen, ConfirmDialog), pilot=pilot)
        await pilot.press("y")
        await until(lambda: len(store.tickets.get(number).comments) == 2, pilot=pilot)
        await until(lambda: not area.display, pilot=pilot)
        assert (number, "public") not in pilot.app.drafts


@sqlite_only
@run_async
async def test_a_note_of_ones_own_or_a_reply_before_the_draft_does_not_ask(store: Store) -> None:
    number = new(store, "VPN drops")
    as_agent(store, "alice").tickets.reply(number, "earlier reply")
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, number)
        area = screen.query_one("#composer", TextArea)
        await pilot.press("r", *"hello")
        as_agent(store, "alice").tickets.reply(number, "only a note", internal=True)
        store.tickets.reply(number, "my own other reply")
        await pilot.press("ctrl+s")
        await until(lambda: not area.display, pilot=pilot)
        assert not isinstance(pilot.app.screen, ConfirmDialog)
        assert store.tickets.get(number).comments[-1].body == "hello"


@sqlite_only
@run_async
async def test_a_draft_outlives_the_process(store: Store, tmp_path: Path) -> None:
    number = new(store, "VPN drops")
    path = tmp_path / "drafts" / "admin.json"
    async with TicketdeskApp(store, drafts=DraftBox(path)).run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, number)
        await pilot.press("r", *"half a reply")
        await until(lambda: screen.query_one("#composer", TextArea).text == "half a reply", pilot=pilot)
    assert path.stat().st_mode & 0o777 == 0o600
    box = DraftBox(path)
    assert box[(number, "public")] == "half a reply"
    started = box.started((number, "public"))
    async with TicketdeskApp(store, drafts=box).run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, number)
        await pilot.press("r")
        area = screen.query_one("#composer", TextArea)
        await until(lambda: area.display and area.text == "half a reply", pilot=pilot)
        await pilot.press("end", *" more")
        await until(lambda: area.text == "half a reply more", pilot=pilot)
    assert DraftBox(path).started((number, "public")) == started  # the guard asks about news since the start


@sqlite_only
@run_async
async def test_drafts_that_cannot_be_saved_are_said_once_and_kept_in_memory(store: Store, tmp_path: Path) -> None:
    number = new(store, "VPN drops")
    (tmp_path / "not-a-directory").write_text("")
    path = tmp_path / "not-a-directory" / "drafts" / "admin.json"  # its parent cannot be made
    async with TicketdeskApp(store, drafts=DraftBox(path)).run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, number)
        await pilot.press("r", *"half a reply")
        await until(lambda: screen.query_one("#composer", TextArea).text == "half a reply", pilot=pilot)
        await settle(pilot)
        said = [message for message, _ in notifications(pilot.app) if "cannot be saved" in message]
        assert len(said) == 1, said
        assert "not-a-directory" in said[0]
        assert pilot.app.drafts[(number, "public")] == "half a reply"
    assert not path.exists()
