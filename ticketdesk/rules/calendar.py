"""Business calendars: when a team works (SPEC §3: SLA clocks run in business hours).

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

Business-time arithmetic on a calendar (adding, measuring, the next opening) is in
rules/business_time.py; reading and checking the fields in rules/calendar_fields.py.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any

from ticketdesk.rules.calendar_fields import (
    MIDNIGHT,
    WEEKDAY_NAMES,
    check_country,
    check_hours,
    check_timezone,
    format_time,
    parse_days,
    parse_hours,
    parse_weekdays,
)

__all__ = ["CALENDAR_24X7", "BusinessCalendar", "day_note", "is_working_day"]

ALL_WEEKDAYS: frozenset[int] = frozenset(range(7))
DEFAULT_WEEKDAYS: frozenset[int] = frozenset(range(5))
# An interval end of 00:00 means 24:00 (the end of the day): (00:00, 00:00) is the whole day.
WHOLE_DAY: tuple[tuple[time, time], ...] = ((MIDNIGHT, MIDNIGHT),)
DEFAULT_HOURS: tuple[tuple[time, time], ...] = ((time(9), time(17)),)

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
        check_timezone(self.timezone)
        if not isinstance(self.always_open, bool):
            raise ValueError(f"always_open: must be true or false, got {self.always_open!r}")
        for day in sorted(self.weekdays, key=repr):
            if not isinstance(day, int) or isinstance(day, bool) or not 0 <= day <= 6:
                raise ValueError(f"weekdays: {day!r} is not a weekday number (0 = Monday … 6 = Sunday)")
        if not self.weekdays:
            raise ValueError("weekdays: at least one working weekday is needed")
        check_hours(self.hours)
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
        check_country(self.country, self.subdivision)

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
            kwargs["weekdays"] = frozenset(parse_weekdays(values["weekdays"]))
        if "hours" in values:
            kwargs["hours"] = tuple(parse_hours(values["hours"]))
        for key in ("closed_days", "extra_working_days"):
            if key in values:
                kwargs[key] = frozenset(parse_days(key, values[key]))
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (str, bool, lists of str) that `from_dict` reads back; TOML-safe (no nulls)."""
        data: dict[str, Any] = {
            "name": self.name,
            "timezone": self.timezone,
            "weekdays": [WEEKDAY_NAMES[day] for day in sorted(self.weekdays)],
            "hours": [f"{format_time(start)}-{format_time(end, end=True)}" for start, end in self.hours],
        }
        if self.country is not None:
            data["country"] = self.country
        if self.subdivision is not None:
            data["subdivision"] = self.subdivision
        data["closed_days"] = [day.isoformat() for day in sorted(self.closed_days)]
        data["extra_working_days"] = [day.isoformat() for day in sorted(self.extra_working_days)]
        data["always_open"] = self.always_open
        return data


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


def day_note(cal: BusinessCalendar, day: date) -> str | None:
    """Why the local date `day` is not an ordinary day of `cal`, in words: "weekend",
    "holiday: National Day", "closed day", "make-up workday", "extra working day"; None for
    an ordinary working day (or any day of an always-open calendar)."""
    if cal.always_open:
        return None
    regular = day.weekday() in cal.weekdays
    if day in cal.extra_working_days:
        return None if regular else "extra working day"
    if day in cal.closed_days:
        return "closed day"
    if cal.country is not None:
        closed, make_up = _country_days(cal.country, cal.subdivision, day.year)
        if day in closed:
            return f"holiday: {_holiday_names(cal.country, cal.subdivision, day.year).get(day, 'public holiday')}"
        if day in make_up:
            return None if regular else "make-up workday"
    return None if regular else "weekend"


# the holidays package takes ~50 ms to import: only when a calendar names a country
@lru_cache(maxsize=512)
def _country_days(country: str, subdivision: str | None, year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(public holidays, official make-up working days) of one country/subdivision and year."""
    import holidays

    table = holidays.country_holidays(country, subdiv=subdivision, years=year)
    closed = frozenset(day for day in table if day.year == year)
    # weekend_workdays can hold stray dates of other years; keep this year's only.
    make_up = frozenset(day for day in getattr(table, "weekend_workdays", ()) if day.year == year)
    return closed, make_up


@lru_cache(maxsize=64)
def _holiday_names(country: str, subdivision: str | None, year: int) -> dict[date, str]:
    import holidays

    return dict(holidays.country_holidays(country, subdiv=subdivision, years=year))


# Defined last: constructing a calendar validates it (is_working_day's helpers included).
CALENDAR_24X7 = BusinessCalendar(name="24x7", always_open=True)
