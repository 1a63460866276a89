"""Business calendars and business-time arithmetic (SPEC §3: SLA clocks run in business hours).

A `BusinessCalendar` says when a team works: the weekdays, the working hours of a day
(possibly split, e.g. 09:00–12:00 and 13:30–18:00), the time zone, the public holidays of a
country (and subdivision) from the `holidays` package, extra closed days and extra working
days. `CALENDAR_24X7` is always open.

Which local days are working days, in order of precedence:

1. `extra_working_days` are working days;
2. `closed_days` are closed;
3. public holidays of `country`/`subdivision` are closed;
4. the country's official make-up working days (the `holidays` package knows them for
   e.g. CN: a Saturday worked to bridge a long holiday) are working days;
5. otherwise a day works when its weekday is in `weekdays` (Monday = 0 … Sunday = 6).

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

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "CALENDAR_24X7",
    "BusinessCalendar",
    "add_business_time",
    "business_day_length",
    "business_time_between",
    "is_business_time",
    "is_working_day",
    "next_business_start",
]

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ALL_WEEKDAYS: frozenset[int] = frozenset(range(7))
DEFAULT_WEEKDAYS: frozenset[int] = frozenset(range(5))
MIDNIGHT = time(0)
# An interval end of 00:00 means 24:00 (the end of the day): (00:00, 00:00) is the whole day.
WHOLE_DAY: tuple[tuple[time, time], ...] = ((MIDNIGHT, MIDNIGHT),)
DEFAULT_HOURS: tuple[tuple[time, time], ...] = ((time(9), time(17)),)
# A calendar that finds no working time in this many consecutive days is treated as broken
# (rather than looping for ever): 10 years of closures.
MAX_CLOSED_RUN_DAYS = 3660

_FIELDS = (
    "name",
    "timezone",
    "weekdays",
    "hours",
    "country",
    "subdivision",
    "closed_days",
    "extra_working_days",
    "always_open",
)
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_ONE_DAY = timedelta(days=1)
_DAY_DURATION = timedelta(hours=24)


@dataclass(frozen=True)
class BusinessCalendar:
    """When a team works. Validated on construction (a bad field raises ValueError naming it).

    `hours` are local wall-clock intervals [start, end) of every working day, sorted and not
    overlapping; an end of 00:00 means 24:00. An `always_open` calendar is open every instant:
    its `weekdays` and `hours` are normalised to every day, all day, and it takes no holidays
    or day lists.
    """

    name: str
    timezone: str = "UTC"
    weekdays: frozenset[int] = DEFAULT_WEEKDAYS
    hours: tuple[tuple[time, time], ...] = DEFAULT_HOURS
    country: str | None = None
    subdivision: str | None = None
    closed_days: frozenset[date] = field(default_factory=frozenset)
    extra_working_days: frozenset[date] = field(default_factory=frozenset)
    always_open: bool = False

    def __post_init__(self) -> None:
        # Accept any iterable for the collection fields, store hashable immutable ones.
        try:
            object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        except TypeError:
            raise ValueError(f"weekdays: expected a collection of weekday numbers, got {self.weekdays!r}") from None
        try:
            if isinstance(self.hours, str) or any(isinstance(pair, str) for pair in self.hours):
                raise TypeError
            object.__setattr__(self, "hours", tuple(tuple(pair) for pair in self.hours))
        except TypeError:
            raise ValueError(
                f"hours: expected (start, end) pairs of datetime.time, got {self.hours!r}"
                " (BusinessCalendar.from_dict reads text such as 09:00-17:00)"
            ) from None
        for name in ("closed_days", "extra_working_days"):
            try:
                object.__setattr__(self, name, frozenset(getattr(self, name)))
            except TypeError:
                raise ValueError(f"{name}: expected a collection of dates, got {getattr(self, name)!r}") from None
        if self.always_open is True:
            if self.weekdays not in (DEFAULT_WEEKDAYS, ALL_WEEKDAYS):
                raise ValueError("weekdays: an always_open calendar works every day; leave weekdays out")
            if self.hours not in (DEFAULT_HOURS, WHOLE_DAY):
                raise ValueError("hours: an always_open calendar works all day; leave hours out")
            object.__setattr__(self, "weekdays", ALL_WEEKDAYS)
            object.__setattr__(self, "hours", WHOLE_DAY)
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first bad field (called on construction)."""
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"name: must be a non-empty string, got {self.name!r}")
        _check_timezone(self.timezone)
        if not isinstance(self.always_open, bool):
            raise ValueError(f"always_open: must be true or false, got {self.always_open!r}")
        for day in sorted(self.weekdays, key=repr):
            if not isinstance(day, int) or isinstance(day, bool) or not 0 <= day <= 6:
                raise ValueError(f"weekdays: {day!r} is not a weekday number (0 = Monday … 6 = Sunday)")
        if not self.weekdays:
            raise ValueError("weekdays: at least one working weekday is needed")
        _check_hours(self.hours)
        for name in ("closed_days", "extra_working_days"):
            for day in getattr(self, name):
                if not isinstance(day, date) or isinstance(day, datetime):
                    raise ValueError(f"{name}: {day!r} is not a date")
        both = self.closed_days & self.extra_working_days
        if both:
            raise ValueError(f"extra_working_days: {min(both).isoformat()} is also in closed_days")
        if self.always_open:
            for name in ("country", "subdivision"):
                if getattr(self, name) is not None:
                    raise ValueError(f"{name}: an always_open calendar has no holidays; leave {name} out")
            for name in ("closed_days", "extra_working_days"):
                if getattr(self, name):
                    raise ValueError(f"{name}: an always_open calendar has no closed or extra days")
        _check_country(self.country, self.subdivision)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BusinessCalendar:
        """Build from plain data (TOML table, JSON column), as written by `to_dict`.

        weekdays: names ("mon".."sun" or "monday"..), hours: "09:00-12:00" strings or
        [start, end] pairs ("24:00" allowed as an end), days: "YYYY-MM-DD" strings.
        Missing (or null) fields take their defaults; unknown fields are an error.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"calendar: expected a table of fields, got {type(data).__name__}")
        unknown = sorted(str(key) for key in data if key not in _FIELDS)
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown calendar field (known: {', '.join(_FIELDS)})")
        values = {key: value for key, value in data.items() if value is not None}
        kwargs: dict[str, Any] = {}
        if "name" not in values:
            raise ValueError("name: missing")
        kwargs["name"] = values["name"]
        for key in ("timezone", "country", "subdivision", "always_open"):
            if key in values:
                kwargs[key] = values[key]
        for key in ("timezone", "country", "subdivision"):
            if key in kwargs and not isinstance(kwargs[key], str):
                raise ValueError(f"{key}: must be a string, got {kwargs[key]!r}")
        if "weekdays" in values:
            kwargs["weekdays"] = frozenset(_parse_weekdays(values["weekdays"]))
        if "hours" in values:
            kwargs["hours"] = tuple(_parse_hours(values["hours"]))
        for key in ("closed_days", "extra_working_days"):
            if key in values:
                kwargs[key] = frozenset(_parse_days(key, values[key]))
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (str, bool, lists of str) that `from_dict` reads back; TOML-safe (no nulls)."""
        data: dict[str, Any] = {
            "name": self.name,
            "timezone": self.timezone,
            "weekdays": [WEEKDAY_NAMES[day] for day in sorted(self.weekdays)],
            "hours": [f"{_format_time(start)}-{_format_time(end, end=True)}" for start, end in self.hours],
        }
        if self.country is not None:
            data["country"] = self.country
        if self.subdivision is not None:
            data["subdivision"] = self.subdivision
        data["closed_days"] = [day.isoformat() for day in sorted(self.closed_days)]
        data["extra_working_days"] = [day.isoformat() for day in sorted(self.extra_working_days)]
        data["always_open"] = self.always_open
        return data


# --- public functions ----------------------------------------------------------------------


def is_working_day(cal: BusinessCalendar, day: date) -> bool:
    """Whether the local date `day` is a working day of `cal` (see the module docstring)."""
    if cal.always_open or day in cal.extra_working_days:
        return True
    if day in cal.closed_days:
        return False
    if cal.country is not None:
        closed, make_up = _country_days(cal.country, cal.subdivision, day.year)
        if day in closed:
            return False
        if day in make_up:
            return True
    return day.weekday() in cal.weekdays


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


# --- intervals -------------------------------------------------------------------------------


def _intervals(cal: BusinessCalendar, at: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The UTC working intervals [open, close) of `cal` with close > `at`, in order, endless.

    The first one may open before `at` (when `at` is inside it). Raises ValueError when
    no working time shows up for MAX_CLOSED_RUN_DAYS days.
    """
    tz = _zone(cal.timezone)
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
    tz = _zone(cal.timezone)
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


# --- holidays (lazy import: the package takes ~50 ms to import) -------------------------------


@lru_cache(maxsize=512)
def _country_days(country: str, subdivision: str | None, year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(public holidays, official make-up working days) of one country/subdivision and year."""
    import holidays

    table = holidays.country_holidays(country, subdiv=subdivision, years=year)
    closed = frozenset(day for day in table if day.year == year)
    # weekend_workdays can hold stray dates of other years; keep this year's only.
    make_up = frozenset(day for day in getattr(table, "weekend_workdays", ()) if day.year == year)
    return closed, make_up


def _check_country(country: object, subdivision: object) -> None:
    if country is None:
        if subdivision is not None:
            raise ValueError(f"subdivision: {subdivision} needs a country")
        return
    if not isinstance(country, str) or not country:
        raise ValueError(f"country: must be a country code such as CN or US, got {country!r}")
    if subdivision is not None and (not isinstance(subdivision, str) or not subdivision):
        raise ValueError(f"subdivision: must be a subdivision code such as CA, got {subdivision!r}")
    _check_holidays_support(country, subdivision)


@lru_cache(maxsize=256)
def _check_holidays_support(country: str, subdivision: str | None) -> None:
    import holidays

    try:
        table = holidays.country_holidays(country, years=())
    except NotImplementedError:
        hint = f" (did you mean {country.upper()}?)" if country != country.upper() else ""
        raise ValueError(f"country: {country} is not supported by holidays{hint}") from None
    if subdivision is None:
        return
    try:
        holidays.country_holidays(country, subdiv=subdivision, years=())
    except NotImplementedError:
        known = ", ".join(table.subdivisions) or "none"
        raise ValueError(f"subdivision: {subdivision} is not a subdivision of {country} (known: {known})") from None


# --- validation and parsing helpers ----------------------------------------------------------


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _check_timezone(name: object) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"timezone: must be a time zone name such as Asia/Shanghai, got {name!r}")
    try:
        _zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"timezone: {name} is not a known time zone") from None


def _wall_span(start: time, end: time) -> timedelta:
    """Nominal length of the wall-clock interval [start, end) (end 00:00 = 24:00)."""
    day = date(2000, 1, 1)
    end_day = day + _ONE_DAY if end == MIDNIGHT else day
    return datetime.combine(end_day, end) - datetime.combine(day, start)


def _check_hours(hours: tuple[tuple[Any, ...], ...]) -> None:
    if not hours:
        raise ValueError("hours: at least one working interval is needed, e.g. 09:00-17:00")
    previous_end: time | None = None
    for index, pair in enumerate(hours):
        where = f"hours[{index}]"
        if len(pair) != 2:
            raise ValueError(f"{where}: expected a (start, end) pair, got {pair!r}")
        start, end = pair
        for value in (start, end):
            if not isinstance(value, time):
                raise ValueError(f"{where}: {value!r} is not a time of day")
            if value.tzinfo is not None:
                raise ValueError(f"{where}: {value} has a time zone; hours are local to the calendar's timezone")
        text = f"{_format_time(start)}-{_format_time(end, end=True)}"
        if end != MIDNIGHT and end < start:
            raise ValueError(f"{where}: {text} ends before it starts")
        if end == start and end != MIDNIGHT:
            raise ValueError(f"{where}: {text} is empty")
        if previous_end is not None and (previous_end == MIDNIGHT or start < previous_end):
            previous = hours[index - 1]
            raise ValueError(
                f"{where}: {text} overlaps or comes before hours[{index - 1}] "
                f"({_format_time(previous[0])}-{_format_time(previous[1], end=True)}); list them in order"
            )
        previous_end = end


def _format_time(value: time, *, end: bool = False) -> str:
    if end and value == MIDNIGHT:
        return "24:00"
    if not isinstance(value, time):
        return repr(value)
    text = f"{value.hour:02d}:{value.minute:02d}"
    if value.second or value.microsecond:
        text += f":{value.second:02d}"
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text


def _parse_time(where: str, value: Any, *, end: bool) -> time:
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{where}: {value!r} is not a time of day (HH:MM)")
    match = _TIME_RE.match(value.strip())
    if match is None:
        raise ValueError(f"{where}: {value!r} is not a time of day (HH:MM)")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if end and (hour, minute, second) == (24, 0, 0):
        return MIDNIGHT
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{where}: {value!r} is not a time of day (HH:MM, 00:00-23:59; 24:00 as an end)")
    return time(hour, minute, second)


def _parse_hours(value: Any) -> Iterator[tuple[time, time]]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f'hours: expected a list such as ["09:00-12:00", "13:30-18:00"], got {value!r}')
    for index, item in enumerate(value):
        where = f"hours[{index}]"
        if isinstance(item, str):
            parts = item.split("-")
            if len(parts) != 2:
                raise ValueError(f"{where}: {item!r} is not an interval such as 09:00-17:00")
        elif isinstance(item, Iterable):
            parts = list(item)
            if len(parts) != 2:
                raise ValueError(f"{where}: {item!r} is not a (start, end) pair")
        else:
            raise ValueError(f"{where}: {item!r} is not an interval such as 09:00-17:00")
        yield _parse_time(where, parts[0], end=False), _parse_time(where, parts[1], end=True)


def _parse_weekdays(value: Any) -> Iterator[int]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f'weekdays: expected a list such as ["mon", "tue", "wed", "thu", "fri"], got {value!r}')
    for index, item in enumerate(value):
        name = item.strip().lower() if isinstance(item, str) else None
        if name in WEEKDAY_NAMES:
            yield WEEKDAY_NAMES.index(name)
        elif name in _FULL_WEEKDAY_NAMES:
            yield _FULL_WEEKDAY_NAMES.index(name)
        else:
            raise ValueError(f"weekdays[{index}]: {item!r} is not a weekday (mon, tue, wed, thu, fri, sat, sun)")


def _parse_days(key: str, value: Any) -> Iterator[date]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f'{key}: expected a list of dates such as ["2026-02-14"], got {value!r}')
    for index, item in enumerate(value):
        if isinstance(item, date) and not isinstance(item, datetime):
            yield item
            continue
        try:
            if not isinstance(item, str) or len(item.strip()) != 10:
                raise ValueError
            yield date.fromisoformat(item.strip())
        except ValueError:
            raise ValueError(f"{key}[{index}]: {item!r} is not a date (YYYY-MM-DD)") from None


def _utc(value: Any, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{what}: expected a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what}: {value.isoformat()} is naive; pass an aware datetime")
    return value.astimezone(UTC)


# Defined last: constructing a calendar runs the validators above.
CALENDAR_24X7 = BusinessCalendar(name="24x7", always_open=True)
