"""QA sampling (rules/qa.py): weighting, reproducibility, sizes and rate bounds; the checklist."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from ticketdesk.rules import qa
from ticketdesk.rules.qa import Candidate

CLOSED = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
VETERAN = CLOSED - timedelta(days=400)
NEWCOMER = CLOSED - timedelta(days=30)


def population(n: int = 1000) -> list[Candidate]:
    """A quarter P0/P1; a fifth handled by new agents; some unassigned."""
    out = []
    for i in range(n):
        priority = ("P0", "P1", "P2", "P3", "P2", "P3", "P2", "P3")[i % 8]
        since = NEWCOMER if i % 5 == 0 else (None if i % 7 == 0 else VETERAN)
        out.append(Candidate(ticket_id=i + 1, priority=priority, closed_at=CLOSED, agent_since=since))
    return out


def test_weights() -> None:
    base = Candidate(1, "P2", CLOSED, VETERAN)
    assert qa.weight(base) == 1.0
    assert qa.weight(Candidate(1, "P0", CLOSED, VETERAN)) == qa.HIGH_PRIORITY_WEIGHT
    assert qa.weight(Candidate(1, "P1", CLOSED, None)) == qa.HIGH_PRIORITY_WEIGHT
    assert qa.weight(Candidate(1, "P3", CLOSED, NEWCOMER)) == qa.NEW_AGENT_WEIGHT
    assert qa.weight(Candidate(1, "P0", CLOSED, NEWCOMER)) == qa.HIGH_PRIORITY_WEIGHT * qa.NEW_AGENT_WEIGHT


def test_new_agent_is_judged_at_closing_time() -> None:
    day89 = CLOSED - timedelta(days=89, hours=23)
    day90 = CLOSED - timedelta(days=90)
    assert qa.is_new_agent(Candidate(1, "P2", CLOSED, day89))
    assert not qa.is_new_agent(Candidate(1, "P2", CLOSED, day90))
    assert not qa.is_new_agent(Candidate(1, "P2", CLOSED, None))


def test_high_priority_and_new_agent_tickets_are_over_represented() -> None:
    pool = population(1000)
    share_high = sum(1 for c in pool if c.priority in ("P0", "P1")) / len(pool)
    share_new = sum(1 for c in pool if qa.is_new_agent(c)) / len(pool)
    picked: Counter[str] = Counter()
    total = 0
    for seed in range(300):
        for c in qa.sample(pool, rate=0.05, seed=seed):
            total += 1
            picked["high"] += c.priority in ("P0", "P1")
            picked["new"] += qa.is_new_agent(c)
            picked["plain"] += c.priority not in ("P0", "P1") and not qa.is_new_agent(c)
    assert total == 300 * 50
    # P0/P1 are 25 % of the tickets but well over a third of the samples; new agents' 20 %
    # become about a third; routine tickets are still picked.
    assert picked["high"] / total > 1.4 * share_high
    assert picked["new"] / total > 1.4 * share_new
    assert picked["plain"] > 0.2 * total
    # every ticket can be picked: over many draws, most of them are
    seen = {c.ticket_id for seed in range(300) for c in qa.sample(pool, rate=0.05, seed=seed)}
    assert len(seen) > 0.9 * len(pool)


def test_same_seed_same_sample_whatever_the_input_order() -> None:
    pool = population(400)
    first = qa.sample(pool, rate=0.08, seed=42)
    shuffled = pool[:]
    random.Random(1).shuffle(shuffled)
    assert qa.sample(shuffled, rate=0.08, seed=42) == first
    assert [c.ticket_id for c in first] == sorted(c.ticket_id for c in first)  # deterministic order
    assert qa.sample(pool, rate=0.08, seed=43) != first
    assert len({c.ticket_id for c in first}) == len(first)  # without replacement


@pytest.mark.parametrize(("n", "rate", "expected"), [(0, 0.05, 0), (1, 0.05, 1), (20, 0.05, 1), (21, 0.05, 2),
                                                     (100, 0.05, 5), (100, 0.10, 10), (1000, 0.07, 70)])  # fmt: skip
def test_sample_size(n: int, rate: float, expected: int) -> None:
    assert qa.sample_size(n, rate) == expected
    assert len(qa.sample(population(n), rate=rate, seed=1)) == expected


@pytest.mark.parametrize("rate", [0.0, 0.049, 0.11, 1.0, -0.05, float("nan"), float("inf")])
def test_rate_bounds(rate: float) -> None:
    with pytest.raises(ValueError, match=r"rate must be between 0\.05 and 0\.10"):
        qa.sample(population(10), rate=rate, seed=1)


def test_rate_limits_are_included() -> None:
    assert qa.check_rate(0.05) == 0.05 and qa.check_rate(0.10) == 0.10 and qa.DEFAULT_RATE == 0.05


def test_batch_name_and_default_seed_are_stable() -> None:
    start, end = date(2026, 11, 1), date(2026, 11, 30)
    assert qa.batch_name(start, end, 0.05, 7) == "2026-11-01..2026-11-30 rate 0.05 seed 7"
    assert qa.default_seed(start, end) == qa.default_seed(start, end)
    assert qa.default_seed(start, end) != qa.default_seed(start, date(2026, 11, 29))


def test_checklist_parsing() -> None:
    full = "greeting=yes,understood=y,solution=no,language=true,process=0"
    assert qa.parse_checklist(full) == {
        "greeting": True,
        "understood_problem": True,
        "correct_solution": False,
        "clear_language": True,
        "followed_process": False,
    }
    assert list(qa.parse_checklist({name: True for name in qa.CHECKLIST})) == list(qa.CHECKLIST)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("greeting=yes", "missing understood_problem, correct_solution, clear_language, followed_process"),
        ("greeting=maybe,understood=y,solution=y,language=y,process=y", "answer yes or no"),
        ("smile=yes", "unknown checklist item 'smile'"),
        ("greeting", "needs an answer"),
        ("greeting=y,greeting=n", "answered twice"),
        ("", "missing greeting"),
    ],
)
def test_bad_checklists(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        qa.parse_checklist(text)


@pytest.mark.parametrize("value", ["0", "6", "x", "", "4.5", True, -1])
def test_bad_scores(value: object) -> None:
    with pytest.raises(ValueError, match="from 1 to 5"):
        qa.check_score(value)


def test_scores() -> None:
    assert [qa.check_score(v) for v in (1, "5", " 3 ")] == [1, 5, 3]
