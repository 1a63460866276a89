"""A business calendar's fields as text and as values: reading them from plain data
(`parse_hours`, `parse_weekdays`, `parse_days`), writing times back (`format_time`) and
checking them (`check_timezone`, `check_hours`, `check_country`), each failure a ValueError
naming the field. Used by `BusinessCalendar` (rules/calendar.py).

Pure: no I/O. The `holidays` package is imported lazily (it takes ~50 ms to import).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MIDNIGHT = time(0)
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


# --- time zone and hours ---------------------------------------------------------------------


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def check_timezone(name: object) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"timezone: must be a time zone name such as Asia/Shanghai, got {name!r}")
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"timezone: {name} is not a known time zone") from None


def check_hours(hours: tuple[tuple[Any, ...], ...]) -> None:
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
        text = f"{format_time(start)}-{format_time(end, end=True)}"
        if end != MIDNIGHT and end < start:
            raise ValueError(f"{where}: {text} ends before it starts")
        if end == start and end != MIDNIGHT:
            raise ValueError(f"{where}: {text} is empty")
        if previous_end is not None and (previous_end == MIDNIGHT or start < previous_end):
            previous = hours[index - 1]
            raise ValueError(
                f"{where}: {text} overlaps or comes before hours[{index - 1}] "
                f"({format_time(previous[0])}-{format_time(previous[1], end=True)}); list them in order"
            )
        previous_end = end


def format_time(value: time, *, end: bool = False) -> str:
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


# --- reading plain data ----------------------------------------------------------------------


def _parse_time(where: str, value: object, *, end: bool) -> time:
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


def parse_hours(value: object) -> Iterator[tuple[time, time]]:
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


def parse_weekdays(value: object) -> Iterator[int]:
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


def parse_days(key: str, value: object) -> Iterator[date]:
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


# --- country holidays --------------------------------------------------------------------------


def check_country(country: object, subdivision: object) -> None:
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
