"""CSAT surveys and QA sampling/reviews in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select, update

from ticketdesk.models import Agent
from ticketdesk.models.quality import QaReview, Survey
from ticketdesk.rules import qa as rules
from ticketdesk.store import Forbidden, InvalidInput, NewTicket, NotFound, Store, TicketChanges
from ticketdesk.store.reports.dashboard import CSAT_DAYS, dashboard

from ..conftest import as_agent

NOW = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)
D = timedelta(days=1)
GOOD = {"speed": 5, "efficiency": 4, "attitude": 5, "effectiveness": 4, "overall": 5}


def ticket(store: Store, subject: str, *, status: str | None = None, at: datetime = NOW, **kw: object) -> str:
    number = store.tickets.create(NewTicket(subject=subject, **kw), now=at - timedelta(hours=2))  # type: ignore[arg-type]
    if status:
        store.tickets.update([number], TicketChanges(status=status, note="done"), now=at)
    return number


def count(store: Store, table: type) -> int:
    with store.db.read() as session:
        return session.execute(select(func.count()).select_from(table)).scalar_one()


# --- CSAT -------------------------------------------------------------------------------


def test_record_and_read_a_survey(store: Store) -> None:
    number = ticket(store, "Printer jams", status="resolved")
    assert store.csat.of_ticket(number) is None
    with pytest.raises(NotFound, match=f"ticket {number} has no survey"):
        store.csat.get(number)
    view = store.csat.record(number, **GOOD, comment="  quick and friendly  ")
    assert view.scores == GOOD and view.comment == "quick and friendly" and view.source == "cli"
    assert view.recorded_by == "admin" and view.average == pytest.approx(4.6)
    assert store.csat.get(number) == view == store.csat.of_ticket(number)
    assert view.as_dict()["overall"] == 5 and json.dumps(view.as_dict())


def test_closed_tickets_take_surveys_open_ones_do_not(store: Store) -> None:
    closed = ticket(store, "Closed one", status="closed")
    assert store.csat.record(closed, **GOOD).number == closed
    for status in (None, "in_progress", "pending"):
        number = ticket(store, f"Still {status}", status=status)
        with pytest.raises(InvalidInput, match=f"ticket {number} is .*only a resolved or closed ticket"):
            store.csat.record(number, **GOOD)
    with pytest.raises(NotFound, match="ticket 999999999 not found"):
        store.csat.record("999999999", **GOOD)
    assert count(store, Survey) == 1


def test_one_survey_per_ticket_unless_replaced(store: Store) -> None:
    number = ticket(store, "Twice", status="resolved")
    store.csat.record(number, **GOOD, comment="first")
    with pytest.raises(InvalidInput, match=f"ticket {number} already has a survey.*--replace"):
        store.csat.record(number, **{**GOOD, "overall": 1})
    assert store.csat.get(number).overall == 5
    replaced = store.csat.record(number, **{**GOOD, "overall": 2}, replace=True)
    assert replaced.overall == 2 and replaced.comment is None
    assert count(store, Survey) == 1


@pytest.mark.parametrize(("field", "value"), [("speed", 0), ("efficiency", 6), ("attitude", "x"), ("overall", "")])
def test_scores_must_be_1_to_5(store: Store, field: str, value: object) -> None:
    number = ticket(store, "Bad score", status="resolved")
    with pytest.raises(InvalidInput, match=f"{field} (must be a whole number from 1 to 5|is missing)"):
        store.csat.record(number, **{**GOOD, field: value})  # type: ignore[arg-type]
    assert store.csat.of_ticket(number) is None


def test_auditors_record_nothing(store: Store) -> None:
    store.people.add("audrey", role="auditor")
    number = ticket(store, "Audited", status="resolved")
    with pytest.raises(Forbidden, match="auditor"):
        as_agent(store, "audrey").csat.record(number, **GOOD)
    with pytest.raises(Forbidden):
        as_agent(store, "audrey").csat.import_surveys([(2, {"number": number, **GOOD})])  # type: ignore[dict-item]
    assert as_agent(store, "alice").csat.record(number, **GOOD).recorded_by == "alice"


def _row(number: str, **over: object) -> dict[str, str | None]:
    return {"number": number, **{k: str(v) for k, v in {**GOOD, **over}.items()}, "comment": None}


def test_import_is_all_or_nothing_naming_line_and_field(store: Store) -> None:
    a, b, c = (ticket(store, f"Import {i}", status="resolved") for i in range(3))
    open_one = ticket(store, "Open")
    cases = [
        ([(2, _row(a)), (3, _row(b, overall=9))], "line 3: field overall must be a whole number from 1 to 5"),
        ([(2, _row(a)), (3, _row(b, speed=""))], "line 3: field speed is missing"),
        ([(2, _row(a)), (3, _row(open_one))], f"line 3: field number: ticket {open_one} is new"),
        ([(2, _row(a)), (3, _row("999999999"))], "line 3: field number: ticket 999999999 not found"),
        ([(2, _row(a)), (5, _row(a))], f"line 5: field number: ticket {a} is already on line 2"),
        ([(2, _row(a)), (3, {**_row(b), "number": " "})], "line 3: field number is empty"),
        ([], "no survey rows"),
    ]
    for rows, message in cases:
        with pytest.raises(InvalidInput, match=message):
            store.csat.import_surveys(rows)
        assert count(store, Survey) == 0
    assert store.csat.import_surveys([(2, _row(a)), (3, {**_row(b), "comment": "ok"}), (4, _row(c, overall=1))]) == [
        a,
        b,
        c,
    ]
    assert store.csat.get(b).comment == "ok" and store.csat.get(c).overall == 1 and store.csat.get(a).source == "csv"
    with pytest.raises(InvalidInput, match=f"line 2: field number: ticket {a} already has a survey"):
        store.csat.import_surveys([(2, _row(a, overall=3))])
    assert store.csat.import_surveys([(2, _row(a, overall=3))], replace=True) == [a]
    assert store.csat.get(a).overall == 3 and count(store, Survey) == 3


def test_survey_request_template_asks_a_resolved_ticket(store: Store) -> None:
    number = ticket(store, "Needs feedback", status="resolved", customer="Ann <ann@example.com>")
    template = store.templates.get("Survey request")
    assert template.sets_status is None and "survey-sent" in template.add_tags
    store.templates.apply([number], "Survey request")
    detail = store.tickets.get(number)
    assert detail.row.status == "resolved" and "survey-sent" in detail.row.tags
    reply = detail.comments[-1].body
    assert number in reply and "overall" in reply and "Ann" in reply


def test_dashboard_csat_counts_the_last_30_days(store: Store) -> None:
    numbers = [ticket(store, f"Rated {i}", status="closed", at=NOW - 40 * D) for i in range(6)]
    for number, overall, age in zip(numbers, [5, 5, 4, 2, 1, 3], [1, 2, 5, 29.9, 31, 40], strict=True):
        store.csat.record(number, **{**GOOD, "overall": overall}, now=NOW - age * D)
    with store.db.read() as session:
        board = dashboard(session, now=NOW)
    assert board.csat.days == CSAT_DAYS == 30
    assert board.csat.distribution == (0, 1, 0, 1, 2) and board.csat.count == 4
    assert board.csat.average == pytest.approx(4.0)
    data = board.as_dict()["csat"]
    assert data == {"days": 30, "count": 4, "average": 4.0, "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 2}}
    with store.db.read() as session:
        empty = dashboard(session, now=NOW - 100 * D).csat
    assert empty.count == 0 and empty.average is None and empty.distribution == (0, 0, 0, 0, 0)


def test_dashboard_csat_reads_only_the_survey_table(store: Store) -> None:
    if not store.db.is_sqlite:
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if "FROM survey" in statement:
            statements.append((statement, params))

    event.listen(store.db.engine, "before_cursor_execute", capture)
    try:
        with store.db.read() as session:
            dashboard(session, now=NOW)
    finally:
        event.remove(store.db.engine, "before_cursor_execute", capture)
    [(statement, params)] = statements
    with store.db.read() as session:
        plan = [r[-1] for r in session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)]  # type: ignore[arg-type]
    assert all(" ticket" not in line for line in plan), plan
    assert any("survey" in line for line in plan), plan


# --- QA ---------------------------------------------------------------------------------

START, END = date(2026, 10, 1), date(2026, 10, 31)


def _agent_joined(store: Store, login: str, when: datetime) -> None:
    with store.db.write() as session:
        session.execute(update(Agent).where(Agent.login == login).values(created_at=when))  # type: ignore[arg-type]


@pytest.fixture
def closed(store: Store) -> dict[str, list[str]]:
    """40 tickets closed in October (half by alice, new), and some that are not candidates."""
    _agent_joined(store, "alice", NOW - 20 * D)
    _agent_joined(store, "bob", NOW - 400 * D)
    inside = []
    for i in range(40):
        at = datetime(2026, 10, 1, tzinfo=UTC) + i * 18 * timedelta(hours=1)
        who = "alice" if i % 2 else "bob"
        inside.append(ticket(store, f"October {i}", status="closed", at=at, priority=f"P{i % 4}", assignee=who))
    outside = [
        ticket(store, "September", status="closed", at=datetime(2026, 9, 30, 23, 59, tzinfo=UTC)),
        ticket(store, "November", status="closed", at=datetime(2026, 11, 1, 0, 0, tzinfo=UTC)),
        ticket(store, "Resolved only", status="resolved", at=datetime(2026, 10, 10, tzinfo=UTC)),
        ticket(store, "Still open", at=datetime(2026, 10, 10, tzinfo=UTC)),
    ]
    return {"inside": inside, "outside": outside}


def test_sample_picks_closed_tickets_of_the_period_and_is_idempotent(
    store: Store, closed: dict[str, list[str]]
) -> None:
    result = store.qa.sample(START, END, rate=0.10, seed=7, now=NOW)
    assert result.created and result.candidates == 40 and len(result.numbers) == 4
    assert result.batch == "2026-10-01..2026-10-31 rate 0.10 seed 7"
    assert set(result.numbers) <= set(closed["inside"])
    assert list(result.numbers) == sorted(result.numbers)
    again = store.qa.sample(START, END, rate=0.10, seed=7)
    assert not again.created and again.numbers == result.numbers and count(store, QaReview) == 4
    other = store.qa.sample(START, END, rate=0.10, seed=8)
    assert other.created and other.batch != result.batch and count(store, QaReview) == 8
    default = store.qa.sample(START, END)
    assert default.seed == rules.default_seed(START, END) and len(default.numbers) == 2
    assert store.qa.sample(START, END).numbers == default.numbers


def test_sample_matches_the_pure_draw(store: Store, closed: dict[str, list[str]]) -> None:
    from ticketdesk.store.quality.qa import _candidates

    with store.db.read() as session:
        candidates = _candidates(session, START, END)
        by_id = dict(session.execute(select(QaReview.ticket_id, QaReview.batch)).all())
    assert not by_id and len(candidates) == 40
    assert sum(rules.is_new_agent(c) for c in candidates) == 20
    expected = {c.ticket_id for c in rules.sample(candidates, rate=0.05, seed=3)}
    store.qa.sample(START, END, rate=0.05, seed=3)
    with store.db.read() as session:
        assert set(session.execute(select(QaReview.ticket_id)).scalars()) == expected


def test_candidate_query_reads_only_what_it_needs(store: Store, closed: dict[str, list[str]]) -> None:
    statements: list[str] = []

    def capture(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if "closed_at >=" in statement:
            statements.append(statement)

    event.listen(store.db.engine, "before_cursor_execute", capture)
    try:
        store.qa.sample(START, END, seed=1)
    finally:
        event.remove(store.db.engine, "before_cursor_execute", capture)
    [statement] = statements
    selected = statement.split("FROM")[0]
    assert "ticket.id" in selected and "ticket.priority" in selected and "agent.created_at" in selected
    assert "description" not in selected and "subject" not in selected


def test_merged_duplicates_are_not_sampled(store: Store) -> None:
    keep = ticket(store, "Keeper")
    dup = ticket(store, "Duplicate")
    store.tickets.merge(dup, keep)
    today = datetime.now(UTC).date()
    result = store.qa.sample(today, today, rate=0.10, seed=1)
    assert result.candidates == 0 and result.numbers == ()


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"rate": 0.2}, r"rate must be between 0\.05 and 0\.10"),
        ({"rate": 0.01}, "rate must be between"),
        ({"start": END, "end": START}, "ends .* before it starts"),
        ({"start": date(2025, 1, 1), "end": date(2026, 6, 1)}, "longer than 366 days"),
    ],
)
def test_bad_sample_parameters(store: Store, kw: dict[str, object], message: str) -> None:
    args = {"start": START, "end": END, **kw}
    with pytest.raises(InvalidInput, match=message):
        store.qa.sample(args.pop("start"), args.pop("end"), **args)  # type: ignore[arg-type]
    assert count(store, QaReview) == 0


def test_only_leads_and_admins_sample_and_review(store: Store, closed: dict[str, list[str]]) -> None:
    alice = as_agent(store, "alice")
    with pytest.raises(Forbidden, match="only a team lead or an admin may sample"):
        alice.qa.sample(START, END, seed=1)
    number = as_agent(store, "lena").qa.sample(START, END, rate=0.10, seed=1).numbers[0]
    checks = "greeting=yes,understood=yes,solution=yes,language=yes,process=yes"
    with pytest.raises(Forbidden, match=r"only a team lead or an admin may review QA samples \(alice is agent\)"):
        alice.qa.review(number, score=5, checklist=checks)
    assert alice.qa.reviews()[0].pending  # but everyone may read them
    view = as_agent(store, "lena").qa.review(number, score="4", checklist=checks, comment=" tidy ")
    assert (view.score, view.reviewer, view.comment, view.pending) == (4, "lena", "tidy", False)


def test_review_list_and_pending(store: Store, closed: dict[str, list[str]]) -> None:
    sample = store.qa.sample(START, END, rate=0.10, seed=2, now=NOW)
    first = sample.numbers[0]
    checks = "greeting=yes,understood=no,solution=yes,language=yes,process=no"
    view = store.qa.review(first, score=3, checklist=checks, now=NOW + D)
    assert view.checklist == {
        "greeting": True,
        "understood_problem": False,
        "correct_solution": True,
        "clear_language": True,
        "followed_process": False,
    }
    assert view.reviewed_at == NOW + D and view.batch == sample.batch
    listed = store.qa.reviews(batch=sample.batch)
    assert [v.number for v in listed] == list(sample.numbers)
    assert [v.number for v in store.qa.reviews(pending=True)] == list(sample.numbers[1:])
    assert store.qa.batches() == [(sample.batch, 4, 1)]
    again = store.qa.review(first, score=5, checklist={k: True for k in rules.CHECKLIST}, batch=sample.batch)
    assert again.score == 5 and all(again.checklist.values())  # type: ignore[union-attr]
    assert json.dumps(again.as_dict())


def test_review_errors_write_nothing(store: Store, closed: dict[str, list[str]]) -> None:
    sample = store.qa.sample(START, END, rate=0.10, seed=2)
    number = sample.numbers[0]
    not_sampled = next(n for n in closed["inside"] if n not in sample.numbers)
    good = "greeting=yes,understood=yes,solution=yes,language=yes,process=yes"
    cases = [
        ({"number": number, "score": 6, "checklist": good}, InvalidInput, "score must be a whole number from 1 to 5"),
        ({"number": number, "score": 4, "checklist": "greeting=yes"}, InvalidInput, "checklist is missing"),
        ({"number": not_sampled, "score": 4, "checklist": good}, NotFound, "is not sampled for QA"),
        ({"number": "999999999", "score": 4, "checklist": good}, NotFound, "ticket 999999999 not found"),
        ({"number": number, "score": 4, "checklist": good, "batch": "nope"}, NotFound, "not sampled .* batch 'nope'"),
        ({"number": number, "score": 4, "checklist": good, "comment": "x" * 4001}, InvalidInput, "comment is longer"),
    ]
    for kw, error, message in cases:
        with pytest.raises(error, match=message):
            store.qa.review(kw.pop("number"), **kw)  # type: ignore[arg-type]
    assert all(v.pending for v in store.qa.reviews())
    with pytest.raises(NotFound, match="no QA batch 'nope'"):
        store.qa.reviews(batch="nope")
