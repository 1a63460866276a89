"""Business calendars: holidays, make-up days, split hours, DST, and the algebra of business time.

No clock is read: every instant is written out.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketdesk.rules.business_time import (
    add_business_time,
    business_day_length,
    business_time_between,
    is_business_time,
    next_business_start,
    working_intervals,
)
from ticketdesk.rules.calendar import CALENDAR_24X7, BusinessCalendar, day_note, is_working_day

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")

CN = BusinessCalendar.from_dict(
    {
        "name": "cn-support",
        "timezone": "Asia/Shanghai",
        "hours": ["09:00-12:00", "13:30-18:00"],
        "country": "CN",
    }
)
US_CA = BusinessCalendar.from_dict(
    {
        "name": "us-west",
        "timezone": "America/Los_Angeles",
        "hours": ["09:00-17:00"],
        "country": "US",
        "subdivision": "CA",
    }
)
DE_BY = BusinessCalendar.from_dict(
    {"name": "munich", "timezone": "Europe/Berlin", "hours": ["09:00-17:00"], "country": "DE", "subdivision": "BY"}
)
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
BERLIN_EVERY_DAY = BusinessCalendar.from_dict(
    {"name": "berlin-7", "timezone": "Europe/Berlin", "weekdays": EVERY_DAY, "hours": ["09:00-17:00"]}
)
LA_EVERY_DAY = BusinessCalendar.from_dict(
    {"name": "la-7", "timezone": "America/Los_Angeles", "weekdays": EVERY_DAY, "hours": ["09:00-17:00"]}
)
BERLIN_24X5 = BusinessCalendar.from_dict({"name": "berlin-24x5", "timezone": "Europe/Berlin", "hours": ["00:00-24:00"]})
# Boundaries inside the DST gap (March) and fold (October) of Europe/Berlin, every day.
BERLIN_NIGHT = BusinessCalendar.from_dict(
    {
        "name": "berlin-night",
        "timezone": "Europe/Berlin",
        "weekdays": EVERY_DAY,
        "hours": ["01:30-02:30", "02:30-04:00", "22:00-24:00"],
    }
)
LA_NIGHT = BusinessCalendar.from_dict(
    {
        "name": "la-night",
        "timezone": "America/Los_Angeles",
        "weekdays": EVERY_DAY,
        "hours": ["00:00-01:30", "01:30-03:00"],
    }
)

CALENDARS = [CN, US_CA, DE_BY, BERLIN_EVERY_DAY, BERLIN_24X5, BERLIN_NIGHT, LA_NIGHT, CALENDAR_24X7]
H = timedelta(hours=1)


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)


def in_zone(value: datetime, tz: ZoneInfo) -> datetime:
    return value.astimezone(tz)


# --- construction, validation, plain data -----------------------------------------------------


@pytest.mark.parametrize("cal", CALENDARS, ids=lambda cal: cal.name)
def test_to_dict_round_trips_through_json(cal):
    data = cal.to_dict()
    assert None not in data.values()  # TOML has no null
    again = BusinessCalendar.from_dict(json.loads(json.dumps(data)))
    assert again == cal
    assert hash(again) == hash(cal)


def test_from_dict_reads_text_and_defaults():
    cal = BusinessCalendar.from_dict(
        {
            "name": "x",
            "weekdays": ["Monday", "tue", "SAT"],
            "hours": [["08:00", "12:00"], "13:00-24:00"],
            "closed_days": ["2026-12-24"],
            "extra_working_days": ["2026-02-14"],
            "country": None,
        }
    )
    assert cal.timezone == "UTC"
    assert cal.weekdays == frozenset({0, 1, 5})
    assert cal.hours == ((time(8), time(12)), (time(13), time(0)))
    assert cal.closed_days == frozenset({date(2026, 12, 24)})
    assert cal.extra_working_days == frozenset({date(2026, 2, 14)})
    assert cal.to_dict()["hours"] == ["08:00-12:00", "13:00-24:00"]
    assert business_day_length(cal) == 15 * H


def test_constructor_accepts_plain_collections_and_stays_hashable():
    cal = BusinessCalendar("x", weekdays={0, 2}, hours=[[time(9), time(12)]], closed_days=[date(2026, 1, 2)])
    assert cal.weekdays == frozenset({0, 2})
    assert cal.hours == ((time(9), time(12)),)
    assert isinstance(cal.closed_days, frozenset)
    assert {cal: 1}[cal] == 1


def test_always_open_is_every_day_all_day():
    assert CALENDAR_24X7.weekdays == frozenset(range(7))
    assert business_day_length(CALENDAR_24X7) == 24 * H
    assert BusinessCalendar("24x7", always_open=True) == CALENDAR_24X7


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x", "hours": ["09:00-12:00", "13:30-12:00"]}, r"^hours\[1\]: 13:30-12:00 ends before it starts$"),
        ({"name": "x", "hours": ["09:00-12:00", "11:00-13:00"]}, r"^hours\[1\]: 11:00-13:00 overlaps"),
        ({"name": "x", "hours": ["13:30-18:00", "09:00-12:00"]}, r"^hours\[1\]: .*list them in order"),
        ({"name": "x", "hours": ["09:00-09:00"]}, r"^hours\[0\]: 09:00-09:00 is empty"),
        ({"name": "x", "hours": ["9-17"]}, r"^hours\[0\]: '9' is not a time of day"),
        ({"name": "x", "hours": ["09:00-24:30"]}, r"^hours\[0\]: '24:30' is not a time of day"),
        ({"name": "x", "hours": ["24:00-24:00"]}, r"^hours\[0\]: '24:00' is not a time of day"),
        ({"name": "x", "hours": "09:00-17:00"}, r"^hours: expected a list"),
        ({"name": "x", "hours": []}, r"^hours: at least one"),
        ({"name": "x", "timezone": "Mars/Base"}, r"^timezone: Mars/Base is not a known time zone$"),
        ({"name": "x", "timezone": "../etc/passwd"}, r"^timezone: \.\./etc/passwd is not a known time zone$"),
        ({"name": "x", "country": "XX"}, r"^country: XX is not supported by holidays$"),
        ({"name": "x", "country": "cn"}, r"^country: cn is not supported by holidays \(did you mean CN\?\)$"),
        ({"name": "x", "country": "US", "subdivision": "ZZ"}, r"^subdivision: ZZ is not a subdivision of US \(known: "),
        ({"name": "x", "subdivision": "CA"}, r"^subdivision: CA needs a country$"),
        ({"name": "x", "weekdays": ["mon", "fri day"]}, r"^weekdays\[1\]: 'fri day' is not a weekday"),
        ({"name": "x", "weekdays": []}, r"^weekdays: at least one"),
        ({"name": "x", "closed_days": ["2026-13-01"]}, r"^closed_days\[0\]: '2026-13-01' is not a date"),
        ({"name": "x", "extra_working_days": "2026-02-14"}, r"^extra_working_days: expected a list"),
        (
            {"name": "x", "closed_days": ["2026-02-14"], "extra_working_days": ["2026-02-14"]},
            r"^extra_working_days: 2026-02-14 is also in closed_days$",
        ),
        ({"name": "x", "always_open": True, "hours": ["09:00-18:00"]}, r"^hours: an always_open calendar"),
        ({"name": "x", "always_open": True, "country": "CN"}, r"^country: an always_open calendar"),
        ({"name": "x", "always_open": "yes"}, r"^always_open: must be true or false"),
        ({"name": ""}, r"^name: must be a non-empty string"),
        ({"timezone": "UTC"}, r"^name: missing$"),
        ({"name": "x", "holidays": "CN"}, r"^holidays: unknown calendar field"),
    ],
)
def test_from_dict_names_the_bad_field(data, message):
    with pytest.raises(ValueError, match=message):
        BusinessCalendar.from_dict(data)


def test_constructor_validates_too():
    with pytest.raises(ValueError, match=r"^hours\[0\]: 18:00-09:00 ends before it starts$"):
        BusinessCalendar("x", hours=((time(18), time(9)),))
    with pytest.raises(ValueError, match=r"^weekdays: 7 is not a weekday number"):
        BusinessCalendar("x", weekdays=frozenset({7}))
    with pytest.raises(ValueError, match=r"^hours: expected \(start, end\) pairs"):
        BusinessCalendar("x", hours=("09:00-17:00",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^closed_days: .* is not a date"):
        BusinessCalendar("x", closed_days=frozenset({datetime(2026, 1, 1)}))


def test_inputs_must_be_aware_and_durations_not_negative():
    with pytest.raises(ValueError, match=r"^start: .* is naive"):
        add_business_time(CN, datetime(2026, 1, 5, 9), H)
    with pytest.raises(ValueError, match=r"^end: .* is naive"):
        business_time_between(CN, local(SHANGHAI, 2026, 1, 5, 9), datetime(2026, 1, 5, 10))
    with pytest.raises(ValueError, match=r"^duration: must not be negative"):
        add_business_time(CN, local(SHANGHAI, 2026, 1, 5, 9), -H)


# --- working days: holidays, make-up days, own closures -------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 2, 13), True),  # Friday before the Spring Festival
        (date(2026, 2, 14), True),  # Saturday, official make-up working day
        (date(2026, 2, 16), False),  # New Year's Eve
        (date(2026, 2, 17), False),  # Spring Festival
        (date(2026, 2, 20), False),
        (date(2026, 2, 21), False),  # plain Saturday
        (date(2026, 2, 23), False),  # Monday, still off
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # Saturday, official make-up working day
        (date(2026, 10, 1), False),  # National Day
        (date(2026, 10, 7), False),
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),  # Saturday, make-up working day
    ],
)
def test_cn_2026_holidays_and_make_up_days(day, working):
    assert is_working_day(CN, day) is working


def test_state_holidays_come_from_the_subdivision():
    cesar_chavez_day = date(2026, 3, 31)
    assert not is_working_day(US_CA, cesar_chavez_day)
    us = BusinessCalendar("us", timezone="America/Los_Angeles", country="US")
    assert is_working_day(us, cesar_chavez_day)
    assert not is_working_day(us, date(2026, 7, 3))  # Independence Day observed
    assert not is_working_day(DE_BY, date(2026, 1, 6))  # Epiphany, Bavaria only


def test_own_days_take_precedence_over_holidays_and_weekdays():
    cal = BusinessCalendar(
        "cn-custom",
        timezone="Asia/Shanghai",
        country="CN",
        extra_working_days=frozenset({date(2026, 10, 2), date(2026, 3, 7)}),
        closed_days=frozenset({date(2026, 2, 14), date(2026, 3, 9)}),
    )
    assert is_working_day(cal, date(2026, 10, 2))  # a holiday we work anyway
    assert is_working_day(cal, date(2026, 3, 7))  # a Saturday we work
    assert not is_working_day(cal, date(2026, 2, 14))  # a make-up Saturday we close anyway
    assert not is_working_day(cal, date(2026, 3, 9))  # a Monday we close


def test_day_notes_say_why_a_day_is_not_ordinary():
    cal = BusinessCalendar(
        "cn-custom",
        timezone="Asia/Shanghai",
        country="CN",
        extra_working_days=frozenset({date(2026, 3, 7), date(2026, 10, 2)}),
        closed_days=frozenset({date(2026, 3, 9)}),
    )
    assert [day_note(cal, d) for d in (date(2026, 3, 2), date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9))] == [
        None,  # a Monday
        "extra working day",  # a Saturday we work
        "weekend",
        "closed day",
    ]
    assert day_note(cal, date(2026, 10, 1)) == "holiday: National Day"
    assert day_note(cal, date(2026, 10, 2)) is None  # a holiday we work anyway, on a Friday
    assert day_note(cal, date(2026, 10, 10)) == "make-up workday"
    assert day_note(CALENDAR_24X7, date(2026, 10, 1)) is None
    for day in (date(2026, 3, 7), date(2026, 3, 8), date(2026, 10, 1), date(2026, 10, 10)):
        assert (day_note(cal, day) in ("extra working day", "make-up workday")) is is_working_day(cal, day)


def test_working_intervals_are_clipped_and_sum_to_the_business_time():
    start, end = local(SHANGHAI, 2026, 9, 30, 10), local(SHANGHAI, 2026, 10, 10, 15)
    spans = list(working_intervals(CN, start, end))
    assert spans[0] == (start.astimezone(UTC), local(SHANGHAI, 2026, 9, 30, 12).astimezone(UTC))
    assert spans[-1] == (local(SHANGHAI, 2026, 10, 10, 13, 30).astimezone(UTC), end.astimezone(UTC))
    assert sum((b - a for a, b in spans), timedelta()) == business_time_between(CN, start, end)
    assert list(working_intervals(CALENDAR_24X7, start, end)) == [(start, end)]
    assert list(working_intervals(CN, end, start)) == []


def test_manual_make_up_saturday_without_country():
    saturday = date(2027, 1, 30)
    cal = BusinessCalendar("sh", timezone="Asia/Shanghai", extra_working_days=frozenset({saturday}))
    friday_evening = local(SHANGHAI, 2027, 1, 29, 16)
    assert in_zone(add_business_time(cal, friday_evening, 2 * H), SHANGHAI) == local(SHANGHAI, 2027, 1, 30, 10)
    plain = BusinessCalendar("sh", timezone="Asia/Shanghai")
    assert in_zone(add_business_time(plain, friday_evening, 2 * H), SHANGHAI) == local(SHANGHAI, 2027, 2, 1, 10)


# --- worked examples ---------------------------------------------------------------------------------


def test_split_hours():
    monday = (2026, 3, 2)
    assert in_zone(add_business_time(CN, local(SHANGHAI, *monday, 11, 30), H), SHANGHAI) == local(
        SHANGHAI, *monday, 14, 0
    )
    # Opened over lunch: the clock starts at 13:30.
    assert in_zone(add_business_time(CN, local(SHANGHAI, *monday, 12, 40), H), SHANGHAI) == local(
        SHANGHAI, *monday, 14, 30
    )
    # Running out exactly at closing gives the closing time, not the next opening.
    assert in_zone(add_business_time(CN, local(SHANGHAI, *monday, 9), 3 * H), SHANGHAI) == local(
        SHANGHAI, *monday, 12, 0
    )
    assert business_day_length(CN) == timedelta(hours=7, minutes=30)
    assert business_time_between(
        CN, local(SHANGHAI, *monday, 0), local(SHANGHAI, 2026, 3, 3, 0)
    ) == business_day_length(CN)


def test_spring_festival_2026():
    day = business_day_length(CN)
    # Friday 16:00: 2 h on Friday, the rest on the make-up Saturday.
    assert in_zone(add_business_time(CN, local(SHANGHAI, 2026, 2, 13, 16), day), SHANGHAI) == local(
        SHANGHAI, 2026, 2, 14, 16
    )
    # Saturday 17:00: 1 h, then nine days off, then Tuesday the 24th.
    assert in_zone(add_business_time(CN, local(SHANGHAI, 2026, 2, 14, 17), day), SHANGHAI) == local(
        SHANGHAI, 2026, 2, 24, 17
    )
    assert business_time_between(CN, local(SHANGHAI, 2026, 2, 14, 18), local(SHANGHAI, 2026, 2, 24, 9)) == timedelta(0)
    assert next_business_start(CN, local(SHANGHAI, 2026, 2, 16, 10)) == local(SHANGHAI, 2026, 2, 24, 9)


def test_thirty_business_days_across_the_spring_festival():
    start = local(SHANGHAI, 2026, 2, 2, 9)
    due = add_business_time(CN, start, 30 * business_day_length(CN))
    # Working days from Feb 2: 2-6, 9-14 (Sat 14th worked), 24-28 (Sat 28th worked), Mar 2-6, 9-13, 16-19.
    assert in_zone(due, SHANGHAI) == local(SHANGHAI, 2026, 3, 19, 18)
    assert business_time_between(CN, start, due) == 225 * H


def test_national_day_2026():
    assert in_zone(add_business_time(CN, local(SHANGHAI, 2026, 9, 30, 17), 2 * H), SHANGHAI) == local(
        SHANGHAI, 2026, 10, 8, 10
    )


def test_us_california_holidays():
    # Cesar Chavez Day (California only), Thanksgiving and the day after, New Year.
    assert in_zone(add_business_time(US_CA, local(LOS_ANGELES, 2026, 3, 30, 16), 2 * H), LOS_ANGELES) == local(
        LOS_ANGELES, 2026, 4, 1, 10
    )
    assert in_zone(add_business_time(US_CA, local(LOS_ANGELES, 2026, 11, 25, 16), 2 * H), LOS_ANGELES) == local(
        LOS_ANGELES, 2026, 11, 30, 10
    )


def test_month_and_year_ends():
    assert in_zone(add_business_time(DE_BY, local(BERLIN, 2026, 1, 30, 16), 3 * H), BERLIN) == local(
        BERLIN, 2026, 2, 2, 11
    )
    assert in_zone(add_business_time(DE_BY, local(BERLIN, 2026, 2, 27, 16, 30), H), BERLIN) == local(
        BERLIN, 2026, 3, 2, 9, 30
    )
    # New Year's Eve (Thursday) into a holiday Friday and a weekend.
    assert in_zone(add_business_time(US_CA, local(LOS_ANGELES, 2026, 12, 31, 16), 2 * H), LOS_ANGELES) == local(
        LOS_ANGELES, 2027, 1, 4, 10
    )
    assert business_time_between(US_CA, local(LOS_ANGELES, 2026, 12, 31, 0), local(LOS_ANGELES, 2027, 1, 5, 0)) == (
        16 * H
    )


def test_is_business_time_and_next_start_at_the_edges():
    monday = (2026, 3, 2)
    assert is_business_time(CN, local(SHANGHAI, *monday, 9))
    assert is_business_time(CN, local(SHANGHAI, *monday, 11, 59, 59))
    assert not is_business_time(CN, local(SHANGHAI, *monday, 12))  # [open, close)
    assert not is_business_time(CN, local(SHANGHAI, *monday, 8, 59))
    assert next_business_start(CN, local(SHANGHAI, *monday, 12)) == local(SHANGHAI, *monday, 13, 30)
    assert next_business_start(CN, local(SHANGHAI, *monday, 10)) == local(SHANGHAI, *monday, 10)
    assert next_business_start(CN, local(SHANGHAI, 2026, 3, 6, 18)) == local(SHANGHAI, 2026, 3, 9, 9)
    assert next_business_start(CN, local(SHANGHAI, *monday, 10)).tzinfo is UTC
    assert add_business_time(CN, local(SHANGHAI, *monday, 10), H).tzinfo is UTC


def test_zero_duration_is_the_start_itself():
    sunday = local(SHANGHAI, 2026, 3, 8, 3)
    assert add_business_time(CN, sunday, timedelta(0)) == sunday
    assert business_time_between(CN, sunday, sunday) == timedelta(0)
    assert business_time_between(CN, local(SHANGHAI, 2026, 3, 9, 12), local(SHANGHAI, 2026, 3, 9, 10)) == timedelta(0)


def test_a_calendar_that_never_opens_is_an_error_not_a_hang():
    saturdays = {date(2026, 1, 3) + timedelta(weeks=n) for n in range(600)}
    cal = BusinessCalendar("never", weekdays=frozenset({5}), closed_days=frozenset(saturdays))
    with pytest.raises(ValueError, match="no working time"):
        add_business_time(cal, datetime(2026, 1, 1, tzinfo=UTC), H)


# --- daylight saving time ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cal", "tz", "day", "whole_day"),
    [
        (BERLIN_EVERY_DAY, BERLIN, date(2026, 3, 29), 23 * H),
        (BERLIN_EVERY_DAY, BERLIN, date(2026, 10, 25), 25 * H),
        (LA_EVERY_DAY, LOS_ANGELES, date(2026, 3, 8), 23 * H),
        (LA_EVERY_DAY, LOS_ANGELES, date(2026, 11, 1), 25 * H),
    ],
)
def test_a_nine_to_five_dst_day_still_counts_eight_hours(cal, tz, day, whole_day):
    midnight = datetime.combine(day, time(0), tzinfo=tz)
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    assert next_midnight - midnight == timedelta(days=1)  # aware arithmetic in one zone is wall-clock…
    assert next_midnight.astimezone(UTC) - midnight.astimezone(UTC) == whole_day  # …the real day is not
    assert business_time_between(cal, midnight, next_midnight) == 8 * H
    nine = datetime.combine(day, time(9), tzinfo=tz)
    assert in_zone(add_business_time(cal, nine, 8 * H), tz) == datetime.combine(day, time(17), tzinfo=tz)
    assert in_zone(add_business_time(cal, midnight, 9 * H), tz) == datetime.combine(
        day + timedelta(days=1), time(10), tzinfo=tz
    )
    around_the_clock = BusinessCalendar(
        "whole", timezone=str(tz), weekdays=frozenset(range(7)), hours=((time(0), time(0)),)
    )
    assert business_time_between(around_the_clock, midnight, next_midnight) == whole_day


def test_weekend_dst_change_between_friday_and_monday():
    friday = local(BERLIN, 2026, 3, 27, 16)  # CET, +01:00
    monday = local(BERLIN, 2026, 3, 30, 10)  # CEST, +02:00
    assert in_zone(add_business_time(DE_BY, friday, 2 * H), BERLIN) == monday
    assert business_time_between(DE_BY, friday, monday) == 2 * H
    assert business_time_between(BERLIN_24X5, friday, monday) == 8 * H + 10 * H


def test_hours_inside_the_spring_forward_gap():
    # Europe/Berlin 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    day = (2026, 3, 29)
    start = local(BERLIN, *day, 0)
    end = local(BERLIN, 2026, 3, 30, 0)
    gap = datetime(2026, 3, 29, 1, tzinfo=UTC)

    def cal(hours):
        return BusinessCalendar("gap", timezone="Europe/Berlin", weekdays=frozenset(range(7)), hours=hours)

    # 01:30 CET … 03:30 CEST is one real hour.
    assert business_time_between(cal(((time(1, 30), time(3, 30)),)), start, end) == H
    # An opening that does not exist opens at the jump.
    late_opening = cal(((time(2, 30), time(3, 30)),))
    assert business_time_between(late_opening, start, end) == timedelta(minutes=30)
    assert next_business_start(late_opening, start) == gap
    assert is_business_time(late_opening, gap)
    assert not is_business_time(late_opening, gap - timedelta(seconds=1))
    # Hours wholly inside the gap do not happen that day.
    inside = cal(((time(2, 15), time(2, 45)),))
    assert business_time_between(inside, start, end) == timedelta(0)
    assert next_business_start(inside, start) == local(BERLIN, 2026, 3, 30, 2, 15)
    # The night calendar: 01:30–02:30 is 30 min, 02:30–04:00 is 1 h, 22:00–24:00 is 2 h.
    assert business_time_between(BERLIN_NIGHT, start, end) == timedelta(hours=3, minutes=30)


def test_hours_inside_the_fall_back_fold():
    # Europe/Berlin 2026-10-25: 03:00 CEST falls back to 02:00 CET (01:00 UTC); 02:xx happens twice.
    start = local(BERLIN, 2026, 10, 25, 0)
    end = local(BERLIN, 2026, 10, 26, 0)
    fold = BusinessCalendar(
        "fold", timezone="Europe/Berlin", weekdays=frozenset(range(7)), hours=((time(1, 30), time(2, 30)),)
    )
    # From 01:30 CEST to the second 02:30 (CET): the whole repeated hour counts.
    assert business_time_between(fold, start, end) == 2 * H
    assert next_business_start(fold, start) == datetime(2026, 10, 24, 23, 30, tzinfo=UTC)
    # 01:30–02:30 and 02:30–04:00 stay disjoint and cover 01:30 CEST … 04:00 CET without a hole.
    assert business_time_between(BERLIN_NIGHT, start, end) == timedelta(hours=3, minutes=30) + 2 * H
    assert business_time_between(
        BERLIN_NIGHT, datetime(2026, 10, 24, 23, 30, tzinfo=UTC), datetime(2026, 10, 25, 3, tzinfo=UTC)
    ) == timedelta(hours=3, minutes=30)


# --- 24×7 --------------------------------------------------------------------------------------------


def test_24x7_is_plain_elapsed_time_even_across_dst():
    start = local(BERLIN, 2026, 3, 28, 12)
    assert add_business_time(CALENDAR_24X7, start, 24 * H) == start.astimezone(UTC) + 24 * H
    assert in_zone(add_business_time(CALENDAR_24X7, start, 24 * H), BERLIN) == local(BERLIN, 2026, 3, 29, 13)
    assert business_time_between(CALENDAR_24X7, start, local(BERLIN, 2026, 3, 29, 12)) == 23 * H
    assert is_business_time(CALENDAR_24X7, start)
    assert next_business_start(CALENDAR_24X7, start) == start


# --- properties ----------------------------------------------------------------------------------------

calendars = st.sampled_from(CALENDARS)
ZONES = [UTC, SHANGHAI, BERLIN, LOS_ANGELES]
# Real instants, drawn as local times (DST days included) and handed over in UTC: Python
# compares a folded local time unequal to every other zone's (PEP 495), so the properties
# compare UTC values; test_any_zone_gives_the_same_answers covers zoned inputs.
instants = st.datetimes(
    min_value=datetime(2025, 12, 1),
    max_value=datetime(2027, 1, 31),
    timezones=st.sampled_from(ZONES),
    allow_imaginary=False,
).map(lambda value: value.astimezone(UTC))
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=12))
PROPERTY = settings(max_examples=200, deadline=None)


@PROPERTY
@given(calendars, instants, instants, durations)
def test_later_start_is_due_no_earlier(cal, a, b, duration):
    a, b = sorted([a, b])
    assert add_business_time(cal, a, duration) <= add_business_time(cal, b, duration)


@PROPERTY
@given(calendars, instants, durations, durations)
def test_longer_duration_is_due_no_earlier(cal, start, d1, d2):
    d1, d2 = sorted([d1, d2])
    assert start <= add_business_time(cal, start, d1) <= add_business_time(cal, start, d2)


@PROPERTY
@given(calendars, instants, durations)
def test_between_inverts_add(cal, start, duration):
    due = add_business_time(cal, start, duration)
    assert business_time_between(cal, start, due) == duration
    # …and the due time is the earliest such instant.
    if duration:
        assert business_time_between(cal, start, due - timedelta(microseconds=1)) < duration


@PROPERTY
@given(calendars, instants, instants)
def test_add_inverts_between(cal, start, end):
    spent = business_time_between(cal, start, end)
    assert timedelta(0) <= spent <= max(end - start, timedelta(0))
    if end >= start:
        reached = add_business_time(cal, start, spent)
        assert reached <= end
        assert business_time_between(cal, reached, end) == timedelta(0)


@PROPERTY
@given(calendars, instants, durations, durations)
def test_add_is_additive(cal, start, a, b):
    assert add_business_time(cal, add_business_time(cal, start, a), b) == add_business_time(cal, start, a + b)


@PROPERTY
@given(calendars, instants, instants, instants)
def test_splitting_an_interval_keeps_the_total(cal, a, b, c):
    a, b, c = sorted([a, b, c])
    assert business_time_between(cal, a, c) == business_time_between(cal, a, b) + business_time_between(cal, b, c)


@PROPERTY
@given(calendars, instants)
def test_next_start_and_is_business_time_agree_with_between(cal, at):
    tick = timedelta(microseconds=1)
    opening = next_business_start(cal, at)
    assert opening >= at
    assert is_business_time(cal, opening)
    assert business_time_between(cal, at, opening) == timedelta(0)
    assert is_business_time(cal, at) == (business_time_between(cal, at, at + tick) == tick)
    assert is_business_time(cal, at) == (opening == at)


@PROPERTY
@given(calendars, instants, durations, st.sampled_from(ZONES), st.sampled_from(ZONES))
def test_any_zone_gives_the_same_answers(cal, start, duration, zone, other_zone):
    due = add_business_time(cal, start, duration)
    assert add_business_time(cal, start.astimezone(zone), duration) == due
    assert business_time_between(cal, start.astimezone(zone), due.astimezone(other_zone)) == duration
    assert is_business_time(cal, start.astimezone(zone)) == is_business_time(cal, start)
    assert next_business_start(cal, start.astimezone(zone)) == next_business_start(cal, start)


@PROPERTY
@given(instants, instants, durations)
def test_24x7_behaves_like_timedelta(start, end, duration):
    assert add_business_time(CALENDAR_24X7, start, duration) == start + duration
    assert business_time_between(CALENDAR_24X7, start, end) == max(end - start, timedelta(0))


# An independent oracle: walk the window minute by minute and ask the wall clock. It agrees
# with the interval arithmetic wherever no working-hours boundary falls into a DST fold
# (there the calendar counts the whole repeated hour, the wall clock would not).
ORACLE_CASES = [
    (CN, datetime(2026, 2, 10, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC)),
    (US_CA, datetime(2026, 3, 5, tzinfo=UTC), datetime(2026, 4, 3, tzinfo=UTC)),
    (US_CA, datetime(2026, 10, 28, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)),
    (BERLIN_EVERY_DAY, datetime(2026, 3, 26, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)),
    (BERLIN_24X5, datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 10, 30, tzinfo=UTC)),
    (BERLIN_NIGHT, datetime(2026, 3, 25, tzinfo=UTC), datetime(2026, 4, 2, tzinfo=UTC)),  # the gap only
]


def wall_clock_minutes(cal: BusinessCalendar, start: datetime, end: datetime) -> int:
    tz = ZoneInfo(cal.timezone)
    count = 0
    minute = start
    while minute < end:
        wall = minute.astimezone(tz)
        if is_working_day(cal, wall.date()):
            clock = wall.time().replace(tzinfo=None)
            if any(s <= clock and (clock < e or e == time(0)) for s, e in cal.hours):
                count += 1
        minute += timedelta(minutes=1)
    return count


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_matches_a_minute_by_minute_wall_clock(data):
    cal, low, high = data.draw(st.sampled_from(ORACLE_CASES))
    total_minutes = int((high - low).total_seconds() // 60)
    first = data.draw(st.integers(0, total_minutes - 1))
    length = data.draw(st.integers(0, min(3 * 24 * 60, total_minutes - first)))
    start = low + timedelta(minutes=first)
    end = start + timedelta(minutes=length)
    assert business_time_between(cal, start, end) == timedelta(minutes=wall_clock_minutes(cal, start, end))
