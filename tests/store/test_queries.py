"""The queue on both databases: keyset pages, filters, full-text search, counts."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ticketdesk.rules.query import TicketFilter, parse_query, parse_sort
from ticketdesk.store import InvalidInput, NewTicket, Store, TicketChanges
from ticketdesk.store.tickets.filters import filter_conditions

BASE = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def queue(store: Store) -> Store:
    """60 tickets with repeated priorities and timestamps, so ties exercise the id tiebreak."""
    rng = random.Random(3)
    teams = ["support", "ops", None]
    for i in range(60):
        store.tickets.create(
            NewTicket(
                subject=f"Case {i}",
                priority=f"P{rng.randint(0, 3)}",
                team=teams[i % 3],
                tags=("vip",) if i % 5 == 0 else (),
                customer=f"Customer {i % 7} <c{i % 7}@example.com>",
            ),
            now=BASE + timedelta(minutes=(i // 4)),  # four tickets share each timestamp
        )
    return store


def all_pages(store: Store, flt: TicketFilter, sort: str, limit: int) -> list[str]:
    numbers: list[str] = []
    after = None
    for _ in range(1000):
        page = store.tickets.page(flt, sort=parse_sort(sort), after=after, limit=limit)
        numbers += [r.number for r in page.rows]
        if page.next_after is None:
            return numbers
        after = page.next_after
    raise AssertionError("pagination did not end")


def expected_order(store: Store, flt: TicketFilter, sort: str) -> list[str]:
    rows = store.tickets.page(flt, sort=parse_sort(sort), limit=1000).rows
    keyfuncs = {
        "priority": lambda r: (r.priority, -r.updated_at.timestamp(), -r.id),
        "-priority": lambda r: (-int(r.priority[1]), r.updated_at.timestamp(), r.id),
        "updated": lambda r: (-r.updated_at.timestamp(), -r.id),
        "-updated": lambda r: (r.updated_at.timestamp(), r.id),
        "created": lambda r: (-r.created_at.timestamp(), -r.id),
        "number": lambda r: (r.created_at.timestamp(), r.id),
    }
    return [r.number for r in sorted(rows, key=keyfuncs[sort])]


@pytest.mark.parametrize("sort", ["priority", "-priority", "updated", "-updated", "created", "number"])
@pytest.mark.parametrize("limit", [1, 7, 50])
def test_keyset_pages_cover_everything_once_in_order(queue: Store, sort: str, limit: int) -> None:
    flt = TicketFilter()
    numbers = all_pages(queue, flt, sort, limit)
    assert len(numbers) == 60 == len(set(numbers))
    assert numbers == expected_order(queue, flt, sort)


def test_keyset_pages_with_a_filter(queue: Store) -> None:
    flt = parse_query("team:support prio:P0,P1,P2")
    numbers = all_pages(queue, flt, "priority", 4)
    assert numbers == expected_order(queue, flt, "priority")
    rows = queue.tickets.page(flt, limit=1000).rows
    assert rows and all(r.team == "support" and r.priority != "P3" for r in rows)


PAGE_QUERIES = ["", "status:open", "status:open,pending,new", "status:open team:support", "assignee:alice status:open"]


def page_statements(store: Store, query: str) -> list[tuple[str, Any]]:
    """The statements a second page of `query` sends, but for the transaction's own (BEGIN,
    the look-up of its agent)."""
    from sqlalchemy import event

    first = store.tickets.page(parse_query(query), limit=2)
    statements: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if "ticket" in statement:
            statements.append((statement, params))

    event.listen(store.db.engine, "before_cursor_execute", capture)
    try:
        store.tickets.page(parse_query(query), after=first.next_after, limit=2)
    finally:
        event.remove(store.db.engine, "before_cursor_execute", capture)
    return statements


@pytest.mark.parametrize("query", PAGE_QUERIES)
def test_a_page_is_one_statement(queue: Store, query: str) -> None:
    """Keys, rows, tags and the SLA policy of a page come back in one round trip."""
    assert len(page_statements(queue, query)) == 1


@pytest.mark.parametrize("query", PAGE_QUERIES)
def test_sqlite_page_query_is_index_ranges_without_a_big_sort(queue: Store, query: str) -> None:
    """Every branch of a keyset page reads one index range in order: no full scan, no
    sort of the matching rows (only the few rows of each branch are merged, then joined to
    their tickets by primary key)."""
    if not queue.db.is_sqlite:
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    [(statement, params)] = page_statements(queue, query)
    assert "OFFSET" not in statement.upper() or all(p == 0 for p in params[-1:])
    with queue.db.read() as session:
        plan = [row[-1] for row in session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)]
    reads = [line for line in plan if " ticket" in line]
    assert reads and all(
        "USING COVERING INDEX" in line or "USING INDEX" in line or "USING INTEGER PRIMARY KEY" in line for line in reads
    ), plan
    assert not any("RIGHT PART OF ORDER BY" in line for line in plan), plan


@pytest.mark.parametrize(
    ("query", "check"),
    [
        ("status:new", lambda r: r.status == "new"),
        ("prio:P0", lambda r: r.priority == "P0"),
        ("team:ops", lambda r: r.team == "ops"),
        ("tag:vip", lambda r: "vip" in r.tags),
        ("customer:c3@example.com", lambda r: r.customer_email == "c3@example.com"),
        ("customer:customer\\ 4", lambda r: r.customer == "Customer 4"),
        ("assignee:none", lambda r: r.assignee is None),
        ("created:2026-10-01", lambda r: r.created_at.date().isoformat() == "2026-10-01"),
    ],
)
def test_filters_select_exactly_the_matching_rows(queue: Store, query: str, check) -> None:  # type: ignore[no-untyped-def]
    everything = queue.tickets.page(TicketFilter(), limit=1000).rows
    matching = queue.tickets.page(parse_query(query), limit=1000).rows
    assert matching, query
    assert {r.number for r in matching} == {r.number for r in everything if check(r)}
    assert queue.tickets.count(parse_query(query)) == len(matching)


def test_assignee_me_and_names(queue: Store) -> None:
    numbers = [r.number for r in queue.tickets.page(TicketFilter(), limit=3).rows]
    queue.tickets.update(numbers[:2], TicketChanges(assignee="me"))
    queue.tickets.update(numbers[2:], TicketChanges(assignee="alice"))
    mine = {r.number for r in queue.tickets.page(parse_query("assignee:me"), limit=100).rows}
    assert mine == set(numbers[:2])
    both = {r.number for r in queue.tickets.page(parse_query("assignee:me,alice"), limit=100).rows}
    assert both == set(numbers)
    with pytest.raises(InvalidInput, match="unknown assignee 'zed'"):
        queue.tickets.page(parse_query("assignee:zed"))
    with pytest.raises(InvalidInput, match="unknown team 'nope'"):
        queue.tickets.page(parse_query("team:nope"))


@pytest.fixture
def searchable(store: Store) -> dict[str, str]:
    numbers = {
        "printer": store.tickets.create(
            NewTicket(
                subject="打印机无法连接网络",
                description="三楼的打印机从早上开始离线",
                customer="王伟 <wang@example.cn>",
            )
        ),
        "vpn": store.tickets.create(
            NewTicket(subject="VPN drops every hour", description="Error 809 on Windows", customer="Ann <ann@corp.com>")
        ),
        "mail": store.tickets.create(NewTicket(subject="Mailbox full", customer="Bob Stone <bob@stone.io>")),
    }
    store.tickets.reply(numbers["mail"], "Quota raised to 50GB, please check the archive folder")
    return numbers


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        ("无法连", {"printer"}),  # a 3-character Chinese fragment (trigram index)
        ("离线", {"printer"}),  # 2 characters: below trigram size, LIKE fallback
        ("打印机 网络", {"printer"}),
        ("vpn", {"vpn"}),  # case-insensitive
        ("error 809", {"vpn"}),
        ("archive", {"mail"}),  # in a comment
        ("stone.io", {"mail"}),  # customer email
        ("王伟", {"printer"}),  # customer name, 2 characters
        ("vpn archive", set()),  # every word must match
        ('"; DROP TABLE ticket; --', set()),
        ("%", set()),
        ("_", set()),
    ],
)
def test_full_text_search(store: Store, searchable: dict[str, str], terms: str, expected: set[str]) -> None:
    found = {r.number for r in store.tickets.page(TicketFilter(search=terms), limit=100).rows}
    assert found == {searchable[k] for k in expected}


def test_search_by_number(store: Store, searchable: dict[str, str]) -> None:
    number = searchable["vpn"]
    assert [r.number for r in store.tickets.page(TicketFilter(search=number)).rows] == [number]


def test_search_follows_edits(store: Store, searchable: dict[str, str]) -> None:
    store.tickets.reply(searchable["vpn"], "Replaced the ethernet dongle")
    assert {r.number for r in store.tickets.page(TicketFilter(search="dongle")).rows} == {searchable["vpn"]}


def test_counts_by_status_priority_team(queue: Store) -> None:
    counts = queue.tickets.counts_by_status_priority_team()
    assert sum(c.count for c in counts) == 60
    rows = queue.tickets.page(TicketFilter(), limit=1000).rows
    for c in counts:
        assert c.count == sum(1 for r in rows if (r.status, r.priority, r.team) == (c.status, c.priority, c.team))


def test_latest_event_id_moves_with_every_change(queue: Store) -> None:
    before = queue.tickets.latest_event_id()
    number = queue.tickets.page(TicketFilter(), limit=1).rows[0].number
    queue.tickets.reply(number, "ping")
    assert queue.tickets.latest_event_id() > before


def test_filter_conditions_reject_nul_in_search(store: Store) -> None:
    with store.db.read() as session, pytest.raises(InvalidInput, match="NUL"):
        filter_conditions(session, TicketFilter(search="a\x00b"), actor_id=None)


@pytest.mark.parametrize("state", ["ok", "warning", "breached"])
def test_sla_filter_agrees_with_the_row_state(store: Store, state: str) -> None:
    now = datetime.now(UTC)
    # P0: first response due 1 h after creation, resolution 4 h after.
    for minutes_ago in (5, 30, 50, 70, 200, 300):
        store.tickets.create(NewTicket(subject=f"{minutes_ago} min old", priority="P0"),
                            now=now - timedelta(minutes=minutes_ago))  # fmt: skip
    store.tickets.create(NewTicket(subject="fresh P3", priority="P3"), now=now)
    answered = store.tickets.create(NewTicket(subject="answered late", priority="P0"), now=now - timedelta(minutes=90))
    store.tickets.reply(answered, "sorry for the wait")
    rows = store.tickets.page(TicketFilter(), limit=100).rows
    expected = {r.number for r in rows if r.sla_state == state}
    assert expected, f"the data set should contain {state} tickets"
    found = {r.number for r in store.tickets.page(parse_query(f"sla:{state}"), limit=100).rows}
    assert found == expected
    assert answered in {r.number for r in rows if r.sla_state == "breached"}


@pytest.mark.parametrize("common", [False, True], ids=["rare-plan", "common-plan"])
def test_search_pages_and_counts_are_the_same_whichever_plan(
    store: Store, common: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A word the indexes find often is read in the queue's index order (filters.py,
    `_indexed_words`; on PostgreSQL its count is a union of branches, `count_statement`);
    a rare one from its set. Both give the same rows, in the same order, and counts."""
    from ticketdesk.store.tickets import filters

    monkeypatch.setattr(filters, "COMMON_MATCHES", 1 if common else 1_000_000)
    rng = random.Random(3)
    wanted: set[str] = set()
    for i in range(40):
        where = rng.choice(["subject", "comment", "customer", "none"])
        number = store.tickets.create(
            NewTicket(
                subject=f"Printer tray {i}" if where == "subject" else f"Laptop fan {i}",
                priority=rng.choice(["P1", "P2", "P3"]),
                customer="Printer Works <ops@printworks.example>" if where == "customer" else "Ann <ann@corp.com>",
            )
        )
        if where == "comment":
            store.tickets.reply(number, "The printer jammed again")
        if i % 3 == 0:
            store.tickets.update([number], TicketChanges(status="pending"))
        if where != "none":
            wanted.add(number)
    everything = store.tickets.page(TicketFilter(), limit=1000).rows
    for query in ("printer", "status:open,pending printer", "prio:P1 printer", "printer tray", "printer pr"):
        flt = parse_query(query)
        plain = parse_query(" ".join(w for w in query.split() if ":" in w))
        expected = [r.number for r in store.tickets.page(plain, limit=1000).rows if r.number in wanted]
        if "tray" in query:
            expected = [n for n in expected if any(r.number == n and "tray" in r.subject.lower() for r in everything)]
        pages, after = [], None
        while True:  # pages of 4: the keyset steps through the same order
            page = store.tickets.page(flt, limit=4, after=after)
            pages += [r.number for r in page.rows]
            if page.next_after is None:
                break
            after = page.next_after
        assert pages == expected, query
        assert store.tickets.count(flt) == len(expected), query


def test_count_and_page_read_together_agree_with_each_alone(queue: Store) -> None:
    for query in ("", "prio:P1", "status:open,pending", "assignee:none"):
        flt = parse_query(query)
        total, first = queue.tickets.count_and_page(flt, limit=7)
        assert total == queue.tickets.count(flt)
        assert [r.number for r in first.rows] == [r.number for r in queue.tickets.page(flt, limit=7).rows]
    with pytest.raises(InvalidInput, match="unknown team 'nope'"):  # from either thread, as itself
        queue.tickets.count_and_page(parse_query("team:nope"))


@pytest.mark.parametrize("common", [False, True], ids=["rare-plan", "common-plan"])
def test_search_words_with_like_wildcards_match_literally(
    store: Store, common: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`%`, `_` and `\\` in a searched word are the characters themselves, in the set and in
    the row-by-row plan (on PostgreSQL they reach ILIKE patterns)."""
    from ticketdesk.store.tickets import filters

    monkeypatch.setattr(filters, "COMMON_MATCHES", 1 if common else 1_000_000)
    made = {
        subject: store.tickets.create(NewTicket(subject=subject))
        for subject in ("code 909 seen", "code 9_9 seen", "500 off", "50% off", "path a\\b", "path ab")
    }
    # the filter language reads a doubled backslash as one (and a backslash-space as a space)
    for word, subject in (("9_9", "code 9_9 seen"), ("50%", "50% off"), ("a\\\\b", "path a\\b")):
        found = [r.number for r in store.tickets.page(parse_query(word), limit=50).rows]
        assert found == [made[subject]], word
        assert store.tickets.count(parse_query(word)) == 1, word
