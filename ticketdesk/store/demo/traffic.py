"""The shape of the demo desk's traffic: when tickets come (a year of creation times, busier
recently, on weekdays and in working hours) and the distributions of their fields.

These are the generator's tuning numbers; what the tickets say is in data/*.toml.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from itertools import accumulate

STATUSES = ("new", "open", "in_progress", "pending", "on_hold", "resolved", "closed")
# Final status by ticket age in days: old tickets are almost all finished, today's are mostly
# open. A desk in steady state: the backlog is days deep, a few tickets wait weeks (for a
# customer, a vendor); resolved ones are closed after the sweep's 7 days.
STATUS_BY_AGE: tuple[tuple[float, tuple[float, ...]], ...] = (
    (1.0, (30, 25, 25, 10, 2, 8, 0)),
    (7.0, (3, 10, 18, 14, 5, 30, 20)),
    (30.0, (0, 0.5, 2, 3, 2, 0, 92.5)),
    (90.0, (0, 0, 0.2, 0.3, 0.5, 0, 99)),
    (float("inf"), (0, 0, 0, 0.05, 0.1, 0, 99.85)),
)
PRIORITIES = ("P0", "P1", "P2", "P3")
# Priority by ticket type when the topic has no skew of its own; with about half the tickets
# being incidents this gives roughly P0 3%, P1 15%, P2 55%, P3 27% overall.
PRIORITY_BY_TYPE: dict[str, tuple[float, ...]] = {
    "incident": (5, 20, 51, 24),
    "service_request": (0.5, 8, 60, 31.5),
    "question": (0.5, 8, 60, 31.5),
    "complaint": (0.5, 12, 60, 27.5),
}
DEFAULT_PRIORITIES = (3, 15, 55, 27)  # a ticket type of the desk's own
CHANNELS = ("phone", "email", "web", "chat", "walk_in")
CHANNEL_WEIGHTS = (20, 35, 25, 15, 5)
LEVELS = ("L1", "L2", "L3")
LEVELS_BY_TEAM: dict[str, tuple[int, int, int]] = {
    "servicedesk": (85, 15, 0),
    "support": (30, 60, 10),
    "rnd": (0, 30, 70),
    "ops": (0, 60, 40),
    "product": (20, 60, 20),
}
DEFAULT_LEVELS = (60, 30, 10)  # a team of the desk's own
GENERAL_TAGS = ("urgent", "follow-up", "escalated", "known-issue")

LOCAL_OFFSET = 8 * 3600  # working hours follow UTC+8, where the busiest demo customers sit
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 4, 8, 14, 20, 20, 18, 12, 15, 19, 19, 17, 13, 8, 6, 4, 3, 2, 1)
DAYS = 365
DAY = 86400.0
HOUR = 3600.0


def cum(weights: Sequence[float]) -> list[float]:
    """Cumulative weights, for `bisect_right(cum, random() * cum[-1])`."""
    return list(accumulate(weights))


def creation_times(rng: random.Random, now: datetime, count: int) -> Iterator[float]:
    """`count` POSIX times over the last year, ascending, so ids and serials follow creation
    order. Recent months are busier, weekends quieter, working hours (UTC+8) busiest."""
    now_ts = now.timestamp()
    local_now = now_ts + LOCAL_OFFSET
    today_start = local_now - local_now % DAY - LOCAL_OFFSET  # local midnight today, as UTC
    weights = []
    for k in range(DAYS):  # k days ago
        day_start = today_start - k * DAY
        weekday = datetime.fromtimestamp(day_start + LOCAL_OFFSET, UTC).weekday()
        w = (1.0 + 0.8 * (1 - k / DAYS)) * (0.35 if weekday >= 5 else 1.0)
        if k == 0:
            w *= max((now_ts - day_start) / DAY, 0.01)
        weights.append(w)
    per_day = Counter(rng.choices(range(DAYS), weights=weights, k=count))
    hour_cum = cum(HOUR_WEIGHTS)
    latest = now_ts - 90  # leave room for the first actions on the newest tickets
    for k in range(DAYS - 1, -1, -1):
        n = per_day.get(k, 0)
        if not n:
            continue
        day_start = today_start - k * DAY
        times = []
        for _ in range(n):
            t = day_start + bisect_right(hour_cum, rng.random() * hour_cum[-1]) * HOUR + rng.random() * HOUR
            if t > latest:
                t = day_start + rng.random() * max(latest - day_start, 1.0)
            times.append(min(t, latest))
        times.sort()
        yield from times


def batches(items: Iterator[float], size: int) -> Iterator[list[float]]:
    batch: list[float] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
