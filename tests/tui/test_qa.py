"""The QA screen through the pilot: move, review the highlighted sample (score, checklist,
comment) and find the review in the database; agents are refused with the store's message."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from textual.pilot import Pilot

from ticketdesk.screens.qa import QaReviewForm, QaScreen
from ticketdesk.store import NewTicket, Store, TicketChanges

from ..conftest import as_agent
from .helpers import SIZE, make_app, queue_ready, run_async, screen_text, settle, until

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
OCT = datetime(2026, 10, 10, 12, 0, tzinfo=UTC)


def sampled(store: Store, n: int = 30) -> list[str]:
    for i in range(n):
        number = store.tickets.create(NewTicket(subject=f"Sample {i}", priority=f"P{i % 4}"), now=OCT)
        store.tickets.update([number], TicketChanges(status="closed", note="done"), now=OCT + timedelta(hours=i))
    return list(store.qa.sample(date(2026, 10, 1), date(2026, 10, 31), rate=0.10, seed=3).numbers)


async def qa_screen(pilot: Pilot[Any]) -> QaScreen:
    await queue_ready(pilot)
    pilot.app.push_screen(QaScreen())
    screen = await until(lambda: isinstance(pilot.app.screen, QaScreen) and pilot.app.screen, pilot=pilot)
    await until(lambda: screen.items, pilot=pilot)
    await settle(pilot)
    return screen


@sqlite_only
@run_async
async def test_j_and_r_review_the_highlighted_sample(store: Store) -> None:
    numbers = sampled(store)
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await qa_screen(pilot)
        assert screen.current.number == numbers[0]
        await pilot.press("j")
        assert screen.current.number == numbers[1]
        await pilot.press("k", "j")
        await pilot.press("r")
        form = await until(lambda: isinstance(pilot.app.screen, QaReviewForm) and pilot.app.screen, pilot=pilot)
        assert form.sample.number == numbers[1]
        # score 4; tick greeting, understood, solution (the first three); comment
        await pilot.press("4", "tab", "space", "tab", "space", "tab", "space", "tab", "tab", "tab", *"well done")
        await pilot.press("ctrl+s")
        await until(lambda: isinstance(pilot.app.screen, QaScreen), pilot=pilot)
        await until(lambda: not screen.items[next(k for k in screen.items if numbers[1] in k)].pending, pilot=pilot)
        await settle(pilot)
        assert "4/5" in screen_text(pilot.app)
    [done] = [v for v in store.qa.reviews() if not v.pending]
    assert (done.number, done.score, done.comment, done.reviewer) == (numbers[1], 4, "well done", "admin")
    assert done.checklist == {
        "greeting": True,
        "understood_problem": True,
        "correct_solution": True,
        "clear_language": False,
        "followed_process": False,
    }


@sqlite_only
@run_async
async def test_enter_reviews_and_escape_cancels_and_goes_back(store: Store) -> None:
    numbers = sampled(store)
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await qa_screen(pilot)
        await pilot.press("enter")
        await until(lambda: isinstance(pilot.app.screen, QaReviewForm), pilot=pilot)
        await pilot.press("escape")
        await until(lambda: pilot.app.screen is screen, pilot=pilot)
        await pilot.press("enter")
        form = await until(lambda: isinstance(pilot.app.screen, QaReviewForm) and pilot.app.screen, pilot=pilot)
        await pilot.press("ctrl+s")  # no score: refused in the form, nothing written
        await until(lambda: "score must be" in str(form.query_one("#error").render()), pilot=pilot)
        await pilot.press("5", "ctrl+s")  # every item "no" is an answer too
        await until(lambda: pilot.app.screen is screen, pilot=pilot)
        await settle(pilot)
        await pilot.press("p")  # pending only
        await until(lambda: numbers[0] not in {v.number for v in screen.items.values()}, pilot=pilot)
        await pilot.press("escape")
        await until(lambda: not isinstance(pilot.app.screen, QaScreen), pilot=pilot)
    reviewed = [v for v in store.qa.reviews() if not v.pending]
    assert [(v.number, v.score) for v in reviewed] == [(numbers[0], 5)]
    assert not any(reviewed[0].checklist.values())  # type: ignore[union-attr]


@sqlite_only
@run_async
async def test_agents_are_refused_in_the_form(store: Store) -> None:
    sampled(store)
    alice = as_agent(store, "alice")
    async with make_app(alice).run_test(size=SIZE) as pilot:
        await qa_screen(pilot)
        await pilot.press("r")
        form = await until(lambda: isinstance(pilot.app.screen, QaReviewForm) and pilot.app.screen, pilot=pilot)
        await pilot.press("3", "ctrl+s")
        await until(lambda: "only a team lead or an admin" in str(form.query_one("#error").render()), pilot=pilot)
        assert pilot.app.screen is form
    assert all(v.pending for v in store.qa.reviews())
