"""The ticket screen through the pilot: reply, note drafts, assign, help, back; checked in the database."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import TextArea

from tests.mailserver import MailServer
from ticketdesk.rules.query import parse_query
from ticketdesk.rules.text import one_line
from ticketdesk.screens.help import HelpScreen
from ticketdesk.screens.queue import QueueScreen
from ticketdesk.screens.ticket import TicketScreen
from ticketdesk.store import Store

from .helpers import (
    SIZE,
    make_app,
    new,
    notifications,
    queue_ready,
    run_async,
    screen_text,
    settle,
    tmux,
    until,
    wait_pane,
)

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


async def open_ticket(pilot: Pilot[Any], number: str) -> TicketScreen:
    """From the queue: move the cursor to `number`, press enter, wait for the ticket to load."""
    queue = await queue_ready(pilot)
    for _ in range(queue.table.total):
        if queue.table.current is not None and queue.table.current.number == number:
            break
        await pilot.press("j")
    assert queue.table.current.number == number
    await pilot.press("enter")
    screen = await until(lambda: isinstance(pilot.app.screen, TicketScreen) and pilot.app.screen, pilot=pilot)
    await until(lambda: screen.detail is not None, pilot=pilot)
    await settle(pilot)
    return screen


@run_async
async def test_reply_is_sent_with_ctrl_s(store: Store) -> None:
    """Runs on SQLite and PostgreSQL."""
    number = new(store, "VPN drops every hour", priority="P1", customer="Ann Lee <ann@example.com>")
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, number)
        area = screen.query_one("#composer", TextArea)
        assert not area.display
        await pilot.press("r")
        await until(lambda: area.display and area.has_focus, pilot=pilot)
        await pilot.press(*"Hi", "enter", *"Ann")
        assert area.text == "Hi\nAnn"
        await pilot.press("ctrl+s")
        await until(lambda: not area.display, pilot=pilot)
        await until(lambda: any(c.body == "Hi\nAnn" for c in screen.detail.comments), pilot=pilot)
        await settle(pilot)
        comments = store.tickets.get(number).comments
        assert [(c.kind, c.author, c.body) for c in comments] == [("public", "admin", "Hi\nAnn")]
        assert store.tickets.get(number).row.first_responded_at is not None
        assert (number, "public") not in pilot.app.drafts
        assert "reply by admin" in screen_text(pilot.app)
        assert ("reply queued (u to undo until it is sent)", "information") in notifications(pilot.app)
        assert [m.to_addr for m in store.outbox.entries()] == ["ann@example.com"]


@sqlite_only
@run_async
async def test_note_draft_is_kept_on_escape_and_restored(store: Store) -> None:
    number = new(store, "Printer jams", priority="P2")
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, number)
        area = screen.query_one("#composer", TextArea)
        await pilot.press("n")
        await until(lambda: area.display and area.has_focus, pilot=pilot)
        await pilot.press(*"ask", "space", *"IT")
        await pilot.press("escape")  # closes the composer, keeps the draft
        await until(lambda: not area.display, pilot=pilot)
        assert pilot.app.drafts == {(number, "internal"): "ask IT"}
        assert isinstance(pilot.app.screen, TicketScreen)
        await pilot.press("escape")  # back to the queue: the draft lives on the app
        await until(lambda: isinstance(pilot.app.screen, QueueScreen), pilot=pilot)
        assert pilot.app.drafts == {(number, "internal"): "ask IT"}
        assert store.tickets.get(number).comments == []  # nothing was sent

        screen = await open_ticket(pilot, number)
        area = screen.query_one("#composer", TextArea)
        await pilot.press("n")
        await until(lambda: area.display and area.has_focus, pilot=pilot)
        assert area.text == "ask IT"
        await pilot.press("ctrl+s")
        await until(lambda: not area.display, pilot=pilot)
        await until(lambda: store.tickets.get(number).comments, pilot=pilot)
        await settle(pilot)
        comments = store.tickets.get(number).comments
        assert [(c.kind, c.author, c.body) for c in comments] == [("internal", "admin", "ask IT")]
        assert store.tickets.get(number).row.first_responded_at is None  # a note is not a reply
        assert pilot.app.drafts == {}


@sqlite_only
@run_async
async def test_assign_help_and_back_to_the_queue(store: Store) -> None:
    number = new(store, "Laptop battery", priority="P2")
    other = new(store, "Mail server down", priority="P0")
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, number)
        version = screen.detail.row.version

        await pilot.press("question_mark")
        help_screen = await until(lambda: isinstance(pilot.app.screen, HelpScreen) and pilot.app.screen, pilot=pilot)
        await settle(pilot)
        shown = screen_text(pilot.app)
        assert "Keys: Ticket" in shown
        for words in ("Reply", "Note", "Send", "Assign to me", "Back"):
            assert words in shown, words
        assert help_screen.for_screen is screen
        await pilot.press("escape")
        await until(lambda: pilot.app.screen is screen, pilot=pilot)
        assert store.tickets.get(number).row.version == version  # looking at help changes nothing

        await pilot.press("a")
        await until(lambda: store.tickets.get(number).row.assignee == "admin", pilot=pilot)
        await until(lambda: screen.detail.row.assignee == "admin", pilot=pilot)
        await settle(pilot)
        row = store.tickets.get(number).row
        assert (row.assignee, row.status, row.version) == ("admin", "open", version + 1)
        assert store.tickets.get(other).row.assignee is None

        await pilot.press("escape")
        queue = await until(lambda: isinstance(pilot.app.screen, QueueScreen) and pilot.app.screen, pilot=pilot)
        # the queue reloads on return and shows the change, cursor still on the ticket
        await until(
            lambda: (
                queue.table.current is not None
                and queue.table.current.number == number
                and queue.table.current.assignee == "admin"
            ),
            pilot=pilot,
        )


# --- the real console script in a real terminal (tmux) ------------------------------------


QUEUE_ROW = re.compile(r"^\s+(\d{9,})\s+P\d\s", re.MULTILINE)


@pytest.mark.slow
def test_console_script_in_tmux_opens_a_ticket(tmp_path: Path) -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    script = Path(sys.executable).parent / "ticketdesk"
    if not script.exists():
        pytest.skip(f"console script not installed at {script}")
    db = tmp_path / "demo.db"
    env = {**os.environ, "TICKETDESK_DB": str(db), "TICKETDESK_CONFIG": str(tmp_path / "none.toml")}
    env.pop("TICKETDESK_AGENT", None)
    # `--as admin` on demo too: demo initialises the database with the acting login as its admin
    subprocess.run([str(script), "--as", "admin", "demo", "--tickets", "200"], env=env, check=True,
                   capture_output=True, timeout=60)  # fmt: skip
    store = Store.open(f"sqlite:///{db}", login="admin")
    try:
        assert store.tickets.count(parse_query("")) == 200
        open_count = store.tickets.count(parse_query("status:new,open,in_progress,pending,on_hold"))
    finally:
        store.close()

    name = f"td-{uuid.uuid4().hex[:10]}"  # also a private tmux server: never touches the user's sessions
    command = " ".join(
        [
            f"TICKETDESK_DB={shlex.quote(str(db))}",
            f"TICKETDESK_CONFIG={shlex.quote(env['TICKETDESK_CONFIG'])}",
            shlex.quote(str(script)),
            "--as admin",
        ]
    )
    try:
        started = tmux(name, "new", "-d", "-s", name, "-x", "100", "-y", "30", command)
        assert started.returncode == 0, started.stderr
        queue = wait_pane(name, name, lambda p: f"All open ({open_count})" in p and len(QUEUE_ROW.findall(p)) >= 2)
        rows = QUEUE_ROW.findall(queue)
        assert len(rows) >= 2, queue
        tmux(name, "send-keys", "-t", name, "j")
        wait_pane(name, name, lambda p: f" 2/{open_count}" in p)
        tmux(name, "send-keys", "-t", name, "Enter")
        ticket = wait_pane(name, name, lambda p: "Description" in p)
        assert ticket.lstrip().startswith(f"{rows[1]}  "), ticket  # the second row was opened

        tmux(name, "send-keys", "-t", name, "Escape")
        wait_pane(name, name, lambda p: f"All open ({open_count})" in p and "Description" not in p)
        tmux(name, "send-keys", "-t", name, "q")
        deadline = time.monotonic() + 10
        while tmux(name, "has-session", "-t", name).returncode == 0:  # q ends the app, and so the session
            assert time.monotonic() < deadline, "q did not quit the app"
            time.sleep(0.1)
    finally:
        tmux(name, "kill-session", "-t", name)
        tmux(name, "kill-server")

    store = Store.open(f"sqlite:///{db}", login="admin")
    try:
        detail = store.tickets.get(rows[1])
        assert one_line(detail.row.subject)[:40] in ticket  # what the screen showed is what the database holds
        assert re.search(rf"\bv{detail.row.version}\b", ticket), ticket
        assert store.tickets.count(parse_query("")) == 200
    finally:
        store.close()


@sqlite_only
@run_async
async def test_ticket_shows_its_attachments_and_a_failed_reply_mail(store: Store) -> None:
    from ticketdesk.models.inbound_mail import InboundMail, ParsedAttachment

    mail = InboundMail(
        message_id="att@customer.example", in_reply_to=None, references=(), from_name="Ann Lee",
        from_addr="ann@example.com", to_addrs=(), subject="Scanner output [bold]garbled[/]", body="See the scan.",
        full_body="See the scan.", attachments=(ParsedAttachment("scan-0042.pdf", "application/pdf", b"%PDF" * 400),),
    )  # fmt: skip
    number = store.mail.ingest(mail).number
    assert number is not None
    store.tickets.reply(number, "Which scanner model is it?")
    [queued] = store.outbox.claim(limit=1)
    store.outbox.mark_failed_attempt(queued.id, queued.claim_token, "550 5.1.1 mailbox unavailable", permanent=True)
    async with make_app(store).run_test(size=SIZE) as pilot:
        await open_ticket(pilot, number)
        text = screen_text(pilot.app)
        assert re.search(r"#\d+\s+scan-0042\.pdf\s+application/pdf\s+1\.6 KB", text), text
        assert "Mail: " in text and "550 5.1.1 mailbox unavailable" in text, text
        assert "Scanner output [bold]garbled[/]" in text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@run_async
async def test_u_on_the_ticket_takes_back_the_assignment_and_the_screen_shows_it(store: Store) -> None:
    number = new(store, "Printer on fire", priority="P2")
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, number)
        await pilot.press("a")
        await until(lambda: screen.detail.row.assignee == "admin", pilot=pilot)
        await settle(pilot)
        await pilot.press("u")
        await until(lambda: store.tickets.get(number).row.assignee is None, pilot=pilot)
        await until(lambda: screen.detail.row.assignee is None and screen.detail.row.status == "new", pilot=pilot)
        assert (f"undone: status new → open, assignee - → admin on {number}", "information") in notifications(pilot.app)
        assert [e.kind for e in store.tickets.get(number).events][-1:] == ["changed"]
        assert "undone" in [e.kind for e in store.tickets.get(number).events]
        await until(lambda: "undid their change: status new → open" in screen_text(pilot.app), pilot=pilot)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@run_async
async def test_u_takes_a_reply_back_within_the_send_delay_and_it_is_the_draft_again(store: Store) -> None:
    store.send_delay = store.followups.send_delay = 20  # [mail] send_delay, as the CLI opens the store
    number = new(store, "VPN drops every hour", priority="P1", customer="Ann Lee <ann@example.com>")
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, number)
        area = screen.query_one("#composer", TextArea)
        await pilot.press("r", *"Restart", "enter", *"it")
        await pilot.press("ctrl+s")
        await until(lambda: any(c.body == "Restart\nit" for c in store.tickets.get(number).comments), pilot=pilot)
        await until(lambda: not area.display, pilot=pilot)
        assert ("reply queued — sends in 20 s (u to undo)", "information") in notifications(pilot.app)
        [mail] = store.outbox.entries()
        assert mail.status == "queued" and mail.next_attempt_at is not None
        assert (mail.next_attempt_at - mail.created_at).total_seconds() == 20
        await settle(pilot)
        await pilot.press("u")
        await until(lambda: store.tickets.get(number).comments == [], pilot=pilot)
        assert store.outbox.entries() == [] and store.tickets.get(number).row.first_responded_at is None
        await until(lambda: area.display and area.text == "Restart\nit", pilot=pilot)  # in front of the agent
        assert pilot.app.drafts[(number, "public")] == "Restart\nit"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@run_async
async def test_sent_is_said_once_the_mail_server_took_the_reply(store: Store, smtp_server: MailServer) -> None:
    from ticketdesk.channels.smtp_send import deliver_due

    number = new(store, "VPN drops every hour", priority="P1", customer="Ann Lee <ann@example.com>")
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, number)
        await pilot.press("r", *"On it", "ctrl+s")
        await until(lambda: store.outbox.entries() != [], pilot=pilot)
        await until(lambda: screen._sending, pilot=pilot)
        assert not any("sent to" in m for m, _ in notifications(pilot.app))
        report = await asyncio.to_thread(
            deliver_due, store, smtp_server.settings(), ssl_context=smtp_server.client_context()
        )
        assert report.sent == 1
        smtp_server.wait_for(1)
        # the live feed brings the change; the screen says it
        await until(
            lambda: (f"reply to {number} sent to ann@example.com", "information") in notifications(pilot.app),
            timeout=10,
            pilot=pilot,
        )


def flat(pane: str) -> str:
    """The pane as one line of words: a notification wraps its text inside a bordered box."""
    return " ".join(" ".join(line.strip().strip("▌▐▎▊│").split()) for line in pane.splitlines()).strip()


@pytest.mark.slow
def test_e_writes_the_reply_in_the_editor_and_the_tui_comes_back(tmp_path: Path) -> None:
    """The real console script in tmux, a scripted $VISUAL: `e` hands the terminal over,
    the reply and the header's status go in one change, and the TUI is back as it was. An
    editor that fails sends nothing and keeps the draft."""
    script = Path(sys.executable).parent / "ticketdesk"
    db = tmp_path / "td.db"
    url = f"sqlite:///{db}"
    store = Store.open(url, login="admin", check=False)
    store.init()
    number = new(store, "Printer on fire", customer="Ann Lee <ann@example.com>")
    store.close()
    editor = tmp_path / "editor.sh"
    editor.write_text(
        "#!/bin/sh\n"
        '[ -f "$0.fail" ] && exit 3\n'
        'sed -i -e "s/^Status: new$/Status: pending/" '
        '-e "/^----- write the reply below/a Hello Ann, it is out." "$1"\n'
    )
    editor.chmod(0o755)
    name = f"td-{uuid.uuid4().hex[:10]}"
    command = " ".join(
        [
            f"TICKETDESK_CONFIG={shlex.quote(str(tmp_path / 'none.toml'))}",
            f"XDG_DATA_HOME={shlex.quote(str(tmp_path / 'data'))}",
            f"VISUAL={shlex.quote(str(editor))}",
            shlex.quote(str(script)), "--db", shlex.quote(url), "--as admin",
        ]
    )  # fmt: skip
    try:
        assert tmux(name, "new", "-d", "-s", name, "-x", "120", "-y", "40", command).returncode == 0
        wait_pane(name, name, lambda p: "Printer on fire" in p)
        tmux(name, "send-keys", "-t", name, "Enter")
        wait_pane(name, name, lambda p: "Timeline" in p)
        (tmp_path / "editor.sh.fail").write_text("")
        tmux(name, "send-keys", "-t", name, "r")
        wait_pane(name, name, lambda p: "Public reply" in p)
        tmux(name, "send-keys", "-t", name, "Draft")
        wait_pane(name, name, lambda p: "Draft" in p)
        tmux(name, "send-keys", "-t", name, "Escape")
        wait_pane(name, name, lambda p: "Public reply" not in p)
        tmux(name, "send-keys", "-t", name, "e")
        wait_pane(name, name, lambda p: "exited with status 3: nothing sent; the draft is kept" in flat(p))
        (tmp_path / "editor.sh.fail").unlink()
        tmux(name, "send-keys", "-t", name, "e")
        pane = wait_pane(name, name, lambda p: "reply queued" in p and "Timeline" in p)
        assert "Printer on fire" in pane  # the ticket screen, back as it was
    finally:
        tmux(name, "kill-session", "-t", name)
        tmux(name, "kill-server")
    store = Store.open(url, login="admin")
    try:
        detail = store.tickets.get(number)
        assert [c.body for c in detail.comments] == ["Hello Ann, it is out.\nDraft"]  # the draft went in too
        assert detail.row.status == "pending"
    finally:
        store.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@run_async
async def test_w_logs_time_on_the_ticket_and_the_header_shows_it(store: Store) -> None:
    number = new(store, "Printer on fire")
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, number)
        assert "time spent" not in screen_text(pilot.app)
        await pilot.press("w")
        await until(lambda: pilot.app.screen is not screen, pilot=pilot)
        await pilot.press(*"soon", "enter")  # not a time: said, nothing logged
        await until(lambda: any("expected a time like 25m" in m for m, _ in notifications(pilot.app)), pilot=pilot)
        await pilot.press("w")
        await until(lambda: pilot.app.screen is not screen, pilot=pilot)
        await pilot.press(*"1h10m", "space", *"new toner", "enter")
        await until(lambda: store.tickets.get(number).time_spent_minutes == 70, pilot=pilot)
        await until(lambda: "time spent" in screen_text(pilot.app) and "1h10m" in screen_text(pilot.app), pilot=pilot)
        assert "logged 1h10m: new toner" in screen_text(pilot.app)


@sqlite_only
@run_async
async def test_S_explains_the_sla_in_the_agents_time_zone_and_esc_closes_it(store: Store) -> None:
    from datetime import UTC, datetime

    from ticketdesk.app import TicketdeskApp
    from ticketdesk.screens.dialogs import TextScreen
    from ticketdesk.store import NewTicket

    created = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)
    number = store.tickets.create(NewTicket(subject="VPN", priority="P1", team="support"), now=created)
    async with TicketdeskApp(store, time_zone="Asia/Shanghai").run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, number)
        fields = screen_text(pilot.app)
        assert "2026-09-30 10:00" in fields and "Asia/Shanghai (UTC+08:00)" in fields  # created, in the agent's zone
        await pilot.press("S")
        shown = await until(lambda: isinstance(pilot.app.screen, TextScreen) and pilot.app.screen, pilot=pilot)
        await settle(pilot)
        text = screen_text(pilot.app)
        assert f"SLA of ticket {number}: P1, team support, new" in text
        assert "times in Asia/Shanghai (UTC+08:00)" in text
        # no policy: the built-in calendar, 09:00-17:00 UTC, which is 17:00-01:00 here
        assert "Wed 09-30 10:00 → 17:00" in text and "closed: outside business hours" in text
        assert shown.lines[:8] == explanation_lines_of(store, number)[:8]
        await pilot.press("escape")
        await until(lambda: pilot.app.screen is screen, pilot=pilot)


def explanation_lines_of(store: Store, number: str) -> list[str]:
    from ticketdesk.rules.local_time import zone
    from ticketdesk.rules.sla_explain import explanation_lines

    x = store.policies.explain(number)
    return explanation_lines(x, zone("Asia/Shanghai"))
