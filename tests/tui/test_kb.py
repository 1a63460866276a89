"""The knowledge base on the ticket screen: suggested articles, K inserts one into the reply
composer (appending to a draft), B writes an article from a resolved ticket."""

from __future__ import annotations

import pytest
from textual.widgets import TextArea

from ticketdesk.screens.dialogs import PickDialog
from ticketdesk.store import NewTicket, Store, TicketChanges
from ticketdesk.store.quality.kb_articles import ArticleSpec

from .helpers import SIZE, make_app, notifications, run_async, screen_text, settle, until
from .test_keys import pick, screen_of
from .test_ticket import open_ticket

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def articles(store: Store) -> dict[str, int]:
    return {
        "vpn": store.kb.add(
            ArticleSpec(
                title="VPN drops every hour",
                symptoms="The VPN client disconnects after an hour",
                steps="1. Open the client\n2. Check for updates",
                solution="Update the VPN client to 5.2.",
                tags=["vpn"],
            )
        ).id,
        "printer": store.kb.add(
            ArticleSpec(title="办公室打印机无法打印", symptoms="打印机脱机", solution="重启打印服务")
        ).id,
        "mail": store.kb.add(
            ArticleSpec(title="[bold]Outlook[/] asks for the password", solution="Clear cached credentials")
        ).id,
    }


@run_async
async def test_suggestions_show_and_k_inserts_into_a_new_reply(store: Store) -> None:
    """Runs on SQLite and PostgreSQL."""
    ids = articles(store)
    number = store.tickets.create(NewTicket(subject="My VPN keeps dropping", description="vpn client disconnects"))
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, number)
        await until(lambda: screen.suggestions is not None, pilot=pilot)
        block = screen.query_one("#suggestions")
        assert block.display and screen.suggestions[0].id == ids["vpn"]
        shown = screen_text(pilot.app)
        assert "Suggested articles" in shown and "VPN drops every hour" in shown
        area = screen.query_one("#composer", TextArea)
        assert not area.display
        await pilot.press("K")
        dialog = await screen_of(pilot, PickDialog)
        await until(lambda: dialog.query_one("#choices").option_count == 3, pilot=pilot)
        await pilot.press("enter")  # the first option: the best suggestion
        await until(lambda: area.display and area.text, pilot=pilot)
        assert screen.compose_kind == "public"
        assert area.text == "Update the VPN client to 5.2.\n\nSteps:\n1. Open the client\n2. Check for updates"
        assert pilot.app.drafts[(number, "public")] == area.text
        await pilot.press("ctrl+s")
        await until(lambda: store.tickets.get(number).comments, pilot=pilot)
        await settle(pilot)
    assert store.tickets.get(number).comments[0].body.startswith("Update the VPN client to 5.2.")


@sqlite_only
@run_async
async def test_k_appends_to_an_open_draft_and_searches_by_typing(store: Store) -> None:
    articles(store)
    number = store.tickets.create(NewTicket(subject="Printer on floor 2", description="it does not print"))
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, number)
        area = screen.query_one("#composer", TextArea)
        await pilot.press("n")  # an internal note is open: the article goes there
        await until(lambda: area.display and area.has_focus, pilot=pilot)
        await pilot.press(*"Try", "space", *"this:")
        await pilot.press("escape")  # close the composer; the draft is kept
        await pilot.press("K")
        await pick(pilot, "outlook")  # not suggested: found by typing
        await until(lambda: "Clear cached credentials" in area.text, pilot=pilot)
        assert screen.compose_kind == "public"  # none was open: a public reply
        assert area.text == "Clear cached credentials"
        assert pilot.app.drafts[(number, "internal")] == "Try this:"  # the note draft is untouched
        await pilot.press("escape", "n")  # back to the note; K would type a K there, ctrl+g inserts
        await until(lambda: screen.compose_kind == "internal" and area.text == "Try this:", pilot=pilot)
        await pilot.press("ctrl+g")
        await pick(pilot, "打印机")
        await until(lambda: "重启打印服务" in area.text, pilot=pilot)
        assert screen.compose_kind == "internal"
        assert area.text == "Try this:\n\n重启打印服务"
        assert pilot.app.drafts[(number, "internal")] == area.text
        await pilot.press("escape")  # closed: K opens the public reply, whose draft is kept and appended to
        await pilot.press("K")
        await pick(pilot, "vpn")
        await until(lambda: "5.2" in area.text, pilot=pilot)
        assert screen.compose_kind == "public"
        assert area.text.startswith("Clear cached credentials\n\nUpdate the VPN client to 5.2.")
        await pilot.press("escape", "K")
        await screen_of(pilot, PickDialog)
        await pilot.press("escape")  # cancelled: nothing inserted
        await until(lambda: not isinstance(pilot.app.screen, PickDialog), pilot=pilot)
        await settle(pilot)
        assert pilot.app.drafts[(number, "internal")] == "Try this:\n\n重启打印服务"
        assert pilot.app.drafts[(number, "public")].count("5.2") == 1
    assert store.tickets.get(number).comments == []


@sqlite_only
@run_async
async def test_no_articles_no_block_and_k_says_so(store: Store) -> None:
    number = store.tickets.create(NewTicket(subject="VPN drops"))
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, number)
        await until(lambda: screen.suggestions is not None, pilot=pilot)
        assert not screen.query_one("#suggestions").display
        await pilot.press("K")
        await until(lambda: any("no articles" in m for m, _ in notifications(pilot.app)), pilot=pilot)
        assert not isinstance(pilot.app.screen, PickDialog)


@run_async
async def test_b_writes_an_article_from_a_resolved_ticket(store: Store) -> None:
    """Runs on SQLite and PostgreSQL."""
    number = store.tickets.create(
        NewTicket(subject="Outlook keeps asking for the password", description="since the update", tags=["mail"])
    )
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, number)
        await pilot.press("B")  # still new: refused, nothing written
        await until(lambda: any("only a resolved" in m for m, _ in notifications(pilot.app)), pilot=pilot)
        assert store.kb.recent() == []
        store.tickets.update([number], TicketChanges(status="resolved", note="Cleared the cached credentials"))
        await pilot.press("R")
        await until(lambda: screen.detail.row.status == "resolved", pilot=pilot)
        await pilot.press("B")
        await until(lambda: store.kb.recent(), pilot=pilot)
        await settle(pilot)
        assert any("written from" in m for m, _ in notifications(pilot.app))
    [row] = store.kb.recent()
    article = store.kb.get(row.id)
    assert (article.title, article.symptoms, article.solution, article.tags, article.source_ticket) == (
        "Outlook keeps asking for the password",
        "since the update",
        "Cleared the cached credentials",
        ("mail",),
        number,
    )
