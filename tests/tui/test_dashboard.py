"""The dashboard's outgoing-mail line: from the store through the pilot, and its styles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ticketdesk.screens.dashboard import DashboardScreen, _mail
from ticketdesk.store import NewTicket, Store
from ticketdesk.store.reports.dashboard import NO_MAIL, MailSummary
from ticketdesk.widgets.styles import style

from ..conftest import as_agent
from .helpers import make_app, queue_ready, run_async, screen_text, settle, until

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
NOW = datetime(2026, 3, 18, 10, 30, tzinfo=UTC)


def one_line(app: object) -> str:
    return " ".join(screen_text(app).split())


@sqlite_only
@run_async
async def test_mail_line_shows_a_failed_reply_live(store: Store) -> None:
    async with make_app(store).run_test(size=(160, 48)) as pilot:
        await queue_ready(pilot)
        await pilot.press("d")
        board = await until(lambda: isinstance(pilot.app.screen, DashboardScreen) and pilot.app.screen, pilot=pilot)
        await until(lambda: board._marker is not None, pilot=pilot)
        assert "Mail no outgoing mail yet" in one_line(pilot.app)
        # another agent replies to two customers; the first reply bounces for good
        alice = as_agent(store, "alice")
        for subject in ("Invoice", "Refund"):
            number = alice.tickets.create(NewTicket(subject=subject, customer="Ann <ann@example.com>", team="support"))
            alice.tickets.reply(number, "Done, see attached.")
        (m,) = store.outbox.claim(limit=1)
        assert store.outbox.mark_failed_attempt(m.id, m.claim_token, "550 x", permanent=True) == "failed"
        # the Mail line and the Queue panel are painted by separate refreshes: wait for both
        await until(
            lambda: "sent 24h 0" in one_line(pilot.app) and "mail failed 1" in one_line(pilot.app),
            timeout=3,
            pilot=pilot,
        )
        text = one_line(pilot.app)
        assert "Mail queued 1 (oldest <1 min) failed 1 sent 24h 0" in text, text
        assert "Ann" not in text and "example.com" not in text
        assert "mail failed 1" in text  # also in the Queue panel, above the fold of a small terminal
        assert "mail waiting" not in text  # the queued one is minutes old, not stuck


@sqlite_only
@run_async
async def test_a_failed_mail_is_visible_without_scrolling_at_80x24(store: Store) -> None:
    number = store.tickets.create(NewTicket(subject="Invoice", customer="Ann <ann@example.com>", team="support"))
    store.tickets.reply(number, "Done.")
    (m,) = store.outbox.claim(limit=1)
    store.outbox.mark_failed_attempt(m.id, m.claim_token, "550 x", permanent=True)
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await queue_ready(pilot)
        await pilot.press("d")
        board = await until(lambda: isinstance(pilot.app.screen, DashboardScreen) and pilot.app.screen, pilot=pilot)
        await until(lambda: board._marker is not None, pilot=pilot)
        assert "mail failed 1" in one_line(pilot.app)


@sqlite_only
@run_async
async def test_the_panels_below_the_fold_are_a_key_away_at_80x24(store: Store) -> None:
    """At 80×24 the CSAT and created-vs-resolved panels sit below the screen: G (or end, or
    j/pagedown) brings them up, g goes back to the top."""
    store.generate_demo(tickets=300, seed=3)  # a desk with every panel filled
    async with make_app(store).run_test(size=(80, 24)) as pilot:
        await queue_ready(pilot)
        await pilot.press("d")
        board = await until(lambda: isinstance(pilot.app.screen, DashboardScreen) and pilot.app.screen, pilot=pilot)
        await until(lambda: board._marker is not None, pilot=pilot)
        csat = board.query_one("#csat")
        assert csat.region.bottom > board.region.bottom  # below the fold
        await pilot.press("G")
        await until(lambda: board.scroll_y > 0, pilot=pilot)
        await pilot.pause(0.2)
        assert board.scroll_y == board.max_scroll_y
        await pilot.press("g")
        await until(lambda: board.scroll_y == 0, pilot=pilot)
        await pilot.press("j")
        await until(lambda: board.scroll_y == 1, pilot=pilot)


@pytest.mark.parametrize("no_color", [False, True])
def test_mail_line_styles_failed_and_old_queue(no_color: bool) -> None:
    def styled(meaning: str) -> str:
        return style(meaning, no_color)

    def spans(line: object) -> dict[str, str]:
        return {str(line)[s.start : s.end]: str(s.style) for s in line.spans}  # type: ignore[attr-defined]

    fresh = MailSummary(queued=3, failed=0, oldest_queued_at=NOW - timedelta(minutes=14), sent_24h=57, ever_queued=True)
    line = _mail(fresh, NOW, styled)
    assert str(line) == "Mail  queued 3 (oldest 14 min)  failed 0  sent 24h 57"
    assert spans(line) == {"Mail": "bold"}  # nothing to worry about

    stuck = fresh._replace(failed=2, oldest_queued_at=NOW - timedelta(minutes=16))
    line = _mail(stuck, NOW, styled)
    assert str(line) == "Mail  queued 3 (oldest 16 min)  failed 2  sent 24h 57"
    assert spans(line) == {"Mail": "bold", "queued 3 (oldest 16 min)": styled("warning"), "failed 2": styled("danger")}

    drained = fresh._replace(queued=0, oldest_queued_at=None)
    assert str(_mail(drained, NOW, styled)) == "Mail  queued 0  failed 0  sent 24h 57"
    line = _mail(NO_MAIL, NOW, styled)
    assert str(line) == "Mail  no outgoing mail yet" and spans(line)["  no outgoing mail yet"] == "dim"


@pytest.mark.parametrize(
    ("age", "shown"),
    [
        (timedelta(seconds=30), "<1 min"),
        (timedelta(minutes=119), "119 min"),
        (timedelta(hours=2), "2 h"),
        (timedelta(hours=47, minutes=59), "47 h"),
        (timedelta(days=3, hours=5), "3 d"),
        (timedelta(minutes=-5), "<1 min"),  # a clock behind the database's
    ],
)
def test_mail_line_age_of_the_oldest(age: timedelta, shown: str) -> None:
    waiting = MailSummary(queued=1, failed=0, oldest_queued_at=NOW - age, sent_24h=0, ever_queued=True)
    assert f"(oldest {shown})" in str(_mail(waiting, NOW, lambda meaning: style(meaning, False)))


def test_the_status_bars_compare_the_open_statuses_not_the_closed_count() -> None:
    """1,818 closed beside a few dozen open: scaled by the closed count every open status
    was one block; the open ones are compared among themselves, closed is a count."""
    from ticketdesk.models.enums import ACTIVE_STATUSES
    from ticketdesk.screens.dashboard import BAR, _counts

    counts = {"new": 9, "open": 12, "in_progress": 32, "pending": 16, "on_hold": 26, "resolved": 71, "closed": 1818}
    group = _counts("By status", counts, 50, scale=[s.value for s in ACTIVE_STATUSES])
    from rich.console import Console

    console = Console(width=50, record=True, color_system=None)
    console.print(group)
    bars = {line.split()[0]: line.count(BAR) for line in console.export_text().splitlines()[1:] if line.strip()}
    assert bars["in_progress"] == 12 and bars["new"] < bars["pending"] < bars["on_hold"] < bars["in_progress"]
    assert bars["closed"] == 0 and bars["resolved"] == 0


@sqlite_only
@run_async
async def test_the_dashboard_shown_again_is_kept_and_brought_up_to_date(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`d` after `escape` shows the same dashboard (kept, not built again) and recomputes it:
    a ticket opened while it was closed is counted; while closed it computes nothing."""
    store.tickets.create(NewTicket(subject="Printer jams", team="support"))
    computed = []
    dashboard = store.reports.dashboard
    monkeypatch.setattr(store.reports, "dashboard", lambda: computed.append(1) or dashboard())
    async with make_app(store, live=False).run_test(size=(160, 48)) as pilot:
        await queue_ready(pilot)
        await pilot.press("d")
        board = await until(lambda: isinstance(pilot.app.screen, DashboardScreen) and pilot.app.screen, pilot=pilot)
        await until(lambda: board._marker is not None, pilot=pilot)
        first_marker = board._marker
        await pilot.press("escape")
        await until(lambda: not isinstance(pilot.app.screen, DashboardScreen), pilot=pilot)
        store.tickets.create(NewTicket(subject="VPN drops", team="support"))
        board._computed_at = 1.0  # long stale: the minute's refresh would recompute, were it shown
        before = len(computed)
        board._refresh_if_stale()
        await settle(pilot)
        assert len(computed) == before  # hidden: nothing computed
        await pilot.press("d")
        again = await until(lambda: isinstance(pilot.app.screen, DashboardScreen) and pilot.app.screen, pilot=pilot)
        assert again is board
        await until(lambda: board._marker != first_marker, pilot=pilot)
        assert "open 2" in one_line(pilot.app)


@sqlite_only
@run_async
async def test_the_dashboard_left_before_its_figures_came_computes_them_when_shown_again(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time as clock

    dashboard = store.reports.dashboard

    def slow() -> object:
        clock.sleep(0.4)
        return dashboard()

    monkeypatch.setattr(store.reports, "dashboard", slow)
    async with make_app(store, live=False).run_test(size=(160, 48)) as pilot:
        await queue_ready(pilot)
        await pilot.press("d", "escape")  # gone before the first figures
        await settle(pilot)
        await pilot.press("d")
        board = await until(lambda: isinstance(pilot.app.screen, DashboardScreen) and pilot.app.screen, pilot=pilot)
        await until(lambda: board._marker is not None, pilot=pilot)
