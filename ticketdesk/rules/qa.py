"""QA sampling and the review checklist: which closed tickets a reviewer looks at.

A sample is a weighted random draw without replacement (Efraimidis-Spirakis: each
candidate gets the key `u ** (1 / weight)` with `u` uniform in (0, 1), the largest keys
win), so a P0/P1 ticket or one handled by an agent in their first 90 days is more likely
to be picked than a routine one, and every closed ticket still has a chance.

Reproducible: the candidates are put in ticket-id order before drawing and the draw uses
`random.Random(seed)`, so the same candidates and seed give the same sample, returned in
ticket-id order. Pure: the store reads the candidates and writes the sample.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ticketdesk.models.enums import Priority

MIN_RATE = 0.05
MAX_RATE = 0.10
DEFAULT_RATE = 0.05
#: Weight of a P0 or P1 ticket, and of a ticket whose agent was in their first days.
HIGH_PRIORITY_WEIGHT = 3.0
NEW_AGENT_WEIGHT = 2.0
NEW_AGENT_DAYS = 90
HIGH_PRIORITIES = frozenset({Priority.P0.value, Priority.P1.value})

#: The review checklist, in display order, with a short question each.
CHECKLIST: dict[str, str] = {
    "greeting": "Greeted the customer properly",
    "understood_problem": "Understood the problem",
    "correct_solution": "Gave a correct solution",
    "clear_language": "Used clear language",
    "followed_process": "Followed the process",
}
#: Short names accepted on the command line.
CHECK_ALIASES = {
    "understood": "understood_problem",
    "problem": "understood_problem",
    "solution": "correct_solution",
    "language": "clear_language",
    "process": "followed_process",
}
_YES = {"yes", "y", "true", "1", "pass", "ok"}
_NO = {"no", "n", "false", "0", "fail"}


@dataclass(frozen=True)
class Candidate:
    """A closed ticket that may be sampled."""

    ticket_id: int
    priority: str
    closed_at: datetime
    #: when the ticket's assignee joined (their agent record's creation); None: unassigned
    agent_since: datetime | None = None


def check_rate(rate: float) -> float:
    if not (isinstance(rate, int | float) and math.isfinite(rate)) or not MIN_RATE <= rate <= MAX_RATE:
        raise ValueError(f"rate must be between {MIN_RATE:.2f} and {MAX_RATE:.2f} (got {rate})")
    return float(rate)


def is_new_agent(c: Candidate) -> bool:
    """The assignee was in their first NEW_AGENT_DAYS days when the ticket was closed."""
    return c.agent_since is not None and c.closed_at - c.agent_since < timedelta(days=NEW_AGENT_DAYS)


def weight(c: Candidate) -> float:
    w = 1.0
    if c.priority in HIGH_PRIORITIES:
        w *= HIGH_PRIORITY_WEIGHT
    if is_new_agent(c):
        w *= NEW_AGENT_WEIGHT
    return w


def sample_size(population: int, rate: float) -> int:
    """How many of `population` a sample at `rate` takes: rounded up, so any non-empty
    period gets at least one ticket reviewed."""
    check_rate(rate)
    return min(population, math.ceil(population * rate - 1e-9)) if population > 0 else 0


def sample(candidates: Iterable[Candidate], *, rate: float = DEFAULT_RATE, seed: int) -> list[Candidate]:
    """The weighted sample, in ticket-id order (the same for the same candidates and seed,
    whatever order they came in)."""
    pool = sorted(candidates, key=lambda c: c.ticket_id)
    k = sample_size(len(pool), rate)
    rng = random.Random(seed)
    # 1 - random() is in (0, 1]: never a zero key; log form avoids underflow
    keyed = [(math.log(1.0 - rng.random()) / weight(c), c.ticket_id, c) for c in pool]
    keyed.sort(key=lambda t: (t[0], t[1]), reverse=True)
    return sorted((c for _, _, c in keyed[:k]), key=lambda c: c.ticket_id)


def batch_name(start: date, end: date, rate: float, seed: int) -> str:
    """The name a sample is recorded under: the same parameters, the same batch."""
    return f"{start.isoformat()}..{end.isoformat()} rate {rate:.2f} seed {seed}"


def default_seed(start: date, end: date) -> int:
    """A stable seed for a period, so sampling a period twice without --seed is one batch."""
    return start.toordinal() * 100_000 + (end.toordinal() % 100_000)


def parse_checklist(text: str | Mapping[str, object]) -> dict[str, bool]:
    """`greeting=yes,solution=no,...` (or a mapping) -> every checklist item answered.

    Names may be the short aliases; answers yes/no (y, true, 1, pass / n, false, 0, fail).
    Every item must be answered exactly once.
    """
    if isinstance(text, Mapping):
        pairs: Sequence[tuple[str, object]] = list(text.items())
    else:
        pairs = []
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            name, sep, value = part.partition("=")
            if not sep:
                raise ValueError(f"checklist item {part!r} needs an answer: {name.strip()}=yes or {name.strip()}=no")
            pairs.append((name, value))
    answers: dict[str, bool] = {}
    for raw_name, raw_value in pairs:
        name = str(raw_name).strip().lower().replace("-", "_")
        name = CHECK_ALIASES.get(name, name)
        if name not in CHECKLIST:
            raise ValueError(f"unknown checklist item {str(raw_name).strip()!r} (expected: {', '.join(CHECKLIST)})")
        if name in answers:
            raise ValueError(f"checklist item {name!r} is answered twice")
        answers[name] = _answer(name, raw_value)
    missing = [name for name in CHECKLIST if name not in answers]
    if missing:
        raise ValueError(f"checklist is missing {', '.join(missing)} (answer every item with yes or no)")
    return {name: answers[name] for name in CHECKLIST}


def _answer(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise ValueError(f"checklist item {name!r}: answer yes or no (got {str(value).strip()!r})")


def check_score(score: object, field: str = "score") -> int:
    """A whole number from 1 to 5 (as int or text)."""
    text = str(score).strip()
    if isinstance(score, bool) or not text.isdigit() or not 1 <= int(text) <= 5:
        raise ValueError(f"{field} must be a whole number from 1 to 5 (got {text!r})")
    return int(text)
