"""Business-time arithmetic on a `BusinessCalendar` (SPEC §3: SLA clocks run in business
hours): whether an instant is business time, the next opening, adding business time to an
instant, the business time between two instants, the length of a working day.

Time is counted on the real (UTC) time line: each working local day's hours are turned into
UTC intervals with `zoneinfo`, so a 09:00–17:00 day is 8 h on a DST day too, and a
00:00–24:00 day is 23 h or 25 h. Working hours whose boundary does not exist locally (a
spring-forward gap) start or end at the transition instant, which is exactly the set of
instants whose wall time lies in the hours. A boundary that occurs twice (fall-back fold)
starts at its first occurrence and ends at its second, so an interval covers the whole
repeated hour.

Pure: no I/O, no clock. All functions take and return aware datetimes; results are UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from ticketdesk.rules.calendar import BusinessCalendar, is_working_day
from ticketdesk.rules.calendar_fields import MIDNIGHT, zone

__all__ = [
    "add_business_time",
    "business_day_length",
    "business_time_between",
    "is_business_time",
    "next_business_start",
    "working_intervals",
]

# A calendar that finds no working time in this many consecutive days is treated as broken
# (rather than looping for ever): 10 years of closures.
MAX_CLOSED_RUN_DAYS = 3660
_ONE_DAY = timedelta(days=1)
_DAY_DURATION = timedelta(hours=24)


def business_day_length(cal: BusinessCalendar) -> timedelta:
    """The nominal length of one working day (sum of `hours`; 24 h when always open)."""
    if cal.always_open:
        return _DAY_DURATION
    total = timedelta()
    for start, end in cal.hours:
        total += _wall_span(start, end)
    return total


def is_business_time(cal: BusinessCalendar, at: datetime) -> bool:
    """Whether the instant `at` lies inside the working hours of `cal`."""
    at = _utc(at, "at")
    if cal.always_open:
        return True
    start, _end = next(_intervals(cal, at))
    return start <= at


def next_business_start(cal: BusinessCalendar, at: datetime) -> datetime:
    """The first instant >= `at` that is business time (`at` itself when inside hours), in UTC."""
    at = _utc(at, "at")
    if cal.always_open:
        return at
    start, _end = next(_intervals(cal, at))
    return max(start, at)


def add_business_time(cal: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """The UTC instant at which `duration` of business time has elapsed after `start`.

    Counting starts at `start`, or at the next opening when `start` is outside hours. The
    result is the earliest such instant, so a duration that runs out exactly at a closing
    time gives that closing time; a zero duration gives `start`.
    """
    start = _utc(start, "start")
    if not isinstance(duration, timedelta):
        raise ValueError(f"duration: expected a timedelta, got {duration!r}")
    if duration < timedelta(0):
        raise ValueError(f"duration: must not be negative, got {duration}")
    if cal.always_open or not duration:
        return start + duration
    remaining = duration
    for open_at, close_at in _intervals(cal, start):
        open_at = max(open_at, start)
        length = close_at - open_at
        if remaining <= length:
            return open_at + remaining
        remaining -= length
    raise AssertionError("unreachable: _intervals is endless")  # pragma: no cover


def business_time_between(cal: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Business time of `cal` within [start, end); zero when end <= start."""
    start = _utc(start, "start")
    end = _utc(end, "end")
    if end <= start:
        return timedelta(0)
    if cal.always_open:
        return end - start
    total = timedelta(0)
    for open_at, close_at in _intervals(cal, start):
        if open_at >= end:
            break
        total += min(close_at, end) - max(open_at, start)
    return total


def working_intervals(cal: BusinessCalendar, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The business intervals of `cal` within [start, end), clipped to it, in order (UTC)."""
    start = _utc(start, "start")
    end = _utc(end, "end")
    if end <= start:
        return
    if cal.always_open:
        yield start, end
        return
    for open_at, close_at in _intervals(cal, start):
        if open_at >= end:
            return
        yield max(open_at, start), min(close_at, end)


# --- intervals -------------------------------------------------------------------------------


def _intervals(cal: BusinessCalendar, at: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The UTC working intervals [open, close) of `cal` with close > `at`, in order, endless.

    The first one may open before `at` (when `at` is inside it). Raises ValueError when
    no working time shows up for MAX_CLOSED_RUN_DAYS days.
    """
    tz = zone(cal.timezone)
    # Start a day early: with a fold at midnight, yesterday's last interval can reach past
    # the local midnight of `at`, and it also sets the floor that keeps intervals disjoint.
    day = at.astimezone(tz).date() - _ONE_DAY
    floor: datetime | None = None
    idle_days = 0
    while True:
        raw = _day_intervals(cal, day)
        if raw:
            idle_days = 0
        else:
            idle_days += 1
            if idle_days > MAX_CLOSED_RUN_DAYS:
                raise ValueError(
                    f"calendar {cal.name!r}: no working time in {MAX_CLOSED_RUN_DAYS} days up to {day.isoformat()}"
                )
        for open_at, close_at in raw:
            if floor is not None and open_at < floor:
                # Only in a fall-back fold: the hull of one interval reached into the next.
                open_at = floor
            if close_at <= open_at:
                continue
            floor = close_at
            if close_at > at:
                yield open_at, close_at
        day += _ONE_DAY


@lru_cache(maxsize=8192)
def _day_intervals(cal: BusinessCalendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """The UTC intervals of the local date `day` (empty on a closed day); may touch or overlap
    each other only in a fold, which `_intervals` trims."""
    if not is_working_day(cal, day):
        return ()
    tz = zone(cal.timezone)
    out = []
    for start, end in cal.hours:
        open_at = _wall_to_utc(day, start, tz, end=False)
        close_at = _wall_to_utc(day + _ONE_DAY if end == MIDNIGHT else day, end, tz, end=True)
        if close_at > open_at:
            out.append((open_at, close_at))
    return tuple(out)


def _wall_to_utc(day: date, wall: time, tz: ZoneInfo, *, end: bool) -> datetime:
    """The UTC instant of the local wall time `wall` on `day`.

    Ambiguous (fold): the first occurrence for a start, the second for an end. Nonexistent
    (gap): the transition instant, for both.
    """
    naive = datetime.combine(day, wall)
    instant = naive.replace(tzinfo=tz, fold=1 if end else 0).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == naive:
        return instant
    return _gap_transition(naive, tz)


def _gap_transition(naive: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant at which the clock jumps over the nonexistent wall time `naive`."""
    # PEP 495: in a gap, fold=1 maps with the offset after the jump (an instant before it),
    # fold=0 with the offset before (an instant after it). Bisect between them to the second.
    before = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    after = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if after < before:  # not the PEP 495 order; never seen, but keep the search well-defined
        before, after = after, before
    offset_before = before.astimezone(tz).utcoffset()
    lo, hi = 0, int((after - before).total_seconds())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if (before + timedelta(seconds=mid)).astimezone(tz).utcoffset() == offset_before:
            lo = mid
        else:
            hi = mid
    return before + timedelta(seconds=hi)


def _wall_span(start: time, end: time) -> timedelta:
    """Nominal length of the wall-clock interval [start, end) (end 00:00 = 24:00)."""
    day = date(2000, 1, 1)
    end_day = day + _ONE_DAY if end == MIDNIGHT else day
    return datetime.combine(end_day, end) - datetime.combine(day, start)


def _utc(value: object, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{what}: expected a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what}: {value.isoformat()} is naive; pass an aware datetime")
    return value.astimezone(UTC)
