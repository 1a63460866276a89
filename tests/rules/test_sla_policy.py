"""SLA policies: parsing with pointed errors, target layering, calendars, due dates with pauses."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta

import pytest

from ticketdesk.models.enums import Priority
from ticketdesk.rules.business_time import business_time_between
from ticketdesk.rules.sla_policy import CALENDAR_24X7, SlaPolicy, Target, due_dates

POLICY = tomllib.loads(
    """
warning = "30m"
default_calendar = "office"

[calendars.office]
timezone = "Asia/Shanghai"
hours = ["09:00-12:00", "13:30-18:00"]

[calendars.ops]
always_open = true

[targets.P2]
first_response = "6h"

[teams.support]
calendar = "office"
[teams.support.targets.P1]
first_response = "2h"
[teams.support.vip.P1]
first_response = "1h"

[teams.ops]
calendar = "ops"
"""
)
# A Wednesday, 10:00 in Shanghai.
WED_10 = datetime(2026, 3, 18, 2, 0, tzinfo=UTC)


def test_defaults_are_spec_section_3() -> None:
    policy = SlaPolicy.from_dict({})
    t = policy.targets_for(Priority.P0, None, vip=False)
    assert (t.first_response.text, t.resolution.text) == ("1h", "4h")
    assert policy.targets_for(Priority.P0, None, vip=True).first_response.text == "30m"
    assert policy.targets_for(Priority.P3, None, vip=False).resolution.text == "10bd"
    assert policy.calendar_for(Priority.P0, None) is CALENDAR_24X7
    assert policy.warning == timedelta(hours=1)


def test_team_and_vip_layers() -> None:
    policy = SlaPolicy.from_dict(POLICY)
    assert policy.targets_for(Priority.P1, "support", vip=False).first_response.text == "2h"
    assert policy.targets_for(Priority.P1, "support", vip=True).first_response.text == "1h"
    assert policy.targets_for(Priority.P1, "ops", vip=True).first_response.text == "4h"  # no VIP P1 rule there
    assert policy.targets_for(Priority.P2, "ops", vip=False).first_response.text == "6h"  # global override
    assert policy.calendar_for(Priority.P2, "ops").always_open
    assert policy.calendar_for(Priority.P2, "nosuchteam").name == "office"
    assert policy.warning == timedelta(minutes=30)


def test_business_hours_due_dates_skip_lunch_and_the_night() -> None:
    policy = SlaPolicy.from_dict(POLICY)
    clocks = due_dates(policy, priority=Priority.P1, team="support", vip=False, created_at=WED_10)
    # 10:00 + 2 h of business time runs out at 12:00, as lunch starts (the earliest instant)
    assert clocks.first_response_due == datetime(2026, 3, 18, 4, 0, tzinfo=UTC)
    p2 = due_dates(policy, priority=Priority.P2, team="support", vip=False, created_at=WED_10)
    # 6 h: 2 h before lunch, 4 h after it (13:30-17:30)
    assert p2.first_response_due == datetime(2026, 3, 18, 9, 30, tzinfo=UTC)
    # 1bd = 7.5 h: 2 h before lunch, 4.5 h after, 1 h next morning: Thursday 10:00
    assert clocks.resolution_due == datetime(2026, 3, 19, 2, 0, tzinfo=UTC)


def test_p0_is_24x7_and_a_pause_pushes_both_clocks() -> None:
    policy = SlaPolicy.from_dict(POLICY)
    friday_night = datetime(2026, 3, 20, 14, 0, tzinfo=UTC)  # 22:00 Shanghai
    p0 = due_dates(policy, priority=Priority.P0, team="support", vip=False, created_at=friday_night)
    assert p0.resolution_due - friday_night == timedelta(hours=4)
    paused = due_dates(
        policy, priority=Priority.P2, team="support", vip=False, created_at=WED_10, paused=timedelta(hours=3)
    )
    plain = due_dates(policy, priority=Priority.P2, team="support", vip=False, created_at=WED_10)
    cal = policy.calendar_for(Priority.P2, "support")
    assert business_time_between(cal, plain.first_response_due, paused.first_response_due) == timedelta(hours=3)
    assert business_time_between(cal, plain.resolution_due, paused.resolution_due) == timedelta(hours=3)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"targets": {"P1": {"first_response": "2x"}}}, "targets.P1.first_response: '2x' is not a duration"),
        ({"targets": {"P9": {"first_response": "2h"}}}, "targets.P9: 'P9' is not a priority"),
        ({"targets": {"P1": {"first_reply": "2h"}}}, "targets.P1.first_reply: unknown clock"),
        ({"teams": {"support": {"calendar": "nope"}}}, "teams.support.calendar: no calendar named 'nope'"),
        ({"teams": {"support": {"calender": "x"}}}, "teams.support.calender: unknown team setting"),
        ({"calendars": {"office": {"timezone": "Mars/Base"}}}, "calendars.office.timezone:"),
        ({"calendars": {"office": {"hours": ["13:00-12:00"]}}}, "calendars.office.hours"),
        ({"default_calendar": "office"}, "default_calendar: no calendar named 'office'"),
        ({"warning": "soon"}, "warning: 'soon' is not a duration"),
        ({"escalate": True}, "escalate: unknown SLA setting"),
        ({"always_24x7": "P0"}, "always_24x7: expected a list"),
        ({"targets": {"P1": {"resolution": "0h"}}}, "targets.P1.resolution: '0h' is not a duration"),
    ],
)
def test_invalid_policies_point_at_the_bad_entry(doc: dict, message: str) -> None:
    with pytest.raises(ValueError) as err:
        SlaPolicy.from_dict(doc)
    assert str(err.value).startswith(message), str(err.value)


def test_target_units() -> None:
    office = SlaPolicy.from_dict(POLICY).calendars["office"]
    assert Target.parse("x", "90m").duration(office) == timedelta(minutes=90)
    assert Target.parse("x", "1.5h").duration(office) == timedelta(minutes=90)
    assert Target.parse("x", "2d").duration(office) == timedelta(days=2)
    assert Target.parse("x", "2bd").duration(office) == timedelta(hours=15)
    assert Target.parse("x", "1bd").duration(CALENDAR_24X7) == timedelta(hours=24)
