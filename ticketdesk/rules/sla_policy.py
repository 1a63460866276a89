"""SLA policies: targets per priority (with team and VIP overrides), calendars, clocks.

A policy is plain data (a TOML file, a JSON column) validated into frozen objects; every
error names the entry it is about, e.g. `teams.support.targets.P1.first_response: '2x' is
not a duration (use 30m, 4h or 2bd)`.

    warning = "1h"                      # lead time of the warning state
    default_calendar = "office"
    always_24x7 = ["P0"]                # priorities whose clocks ignore calendars
    [calendars.office]                  # see rules/calendar.py for the fields
    timezone = "Asia/Shanghai"
    hours = ["09:00-12:00", "13:30-18:00"]
    country = "CN"
    [targets.P1]                        # defaults of SPEC §3 for whatever is left out
    first_response = "4h"
    resolution = "1bd"                  # bd: business days, each as long as the calendar's day
    [vip.P0]
    first_response = "30m"
    [teams.support]
    calendar = "office"
    [teams.support.targets.P2]
    first_response = "6h"

Clocks (`due_dates`) count business time from creation, plus the business time the ticket
spent paused (pending, on hold, or resolved before a reopen), so any recomputation — a new
priority, team or customer tier — gives the same answer as if the ticket had always had it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ticketdesk.models.enums import Priority, Status
from ticketdesk.rules.business_time import add_business_time, business_day_length, business_time_between
from ticketdesk.rules.calendar import CALENDAR_24X7, BusinessCalendar

#: Statuses in which both SLA clocks stand still.
PAUSED_STATUSES = frozenset({Status.PENDING, Status.ON_HOLD})
DEFAULT_CALENDAR = BusinessCalendar(name="office")  # Monday to Friday, 09:00-17:00 UTC

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|bd)\s*$")
_TOP_KEYS = ("warning", "default_calendar", "always_24x7", "calendars", "targets", "vip", "teams")
_CLOCKS = ("first_response", "resolution")


@dataclass(frozen=True)
class Target:
    """A duration of business time; `bd` counts working days of the calendar in use."""

    text: str
    amount: float
    unit: str

    @classmethod
    def parse(cls, where: str, value: Any) -> Target:
        match = _DURATION.match(value) if isinstance(value, str) else None
        if match is None or float(match.group(1)) <= 0:
            raise ValueError(f"{where}: {value!r} is not a duration (use 30m, 4h, 2d or 2bd)")
        return cls(value.strip(), float(match.group(1)), match.group(2))

    def duration(self, cal: BusinessCalendar) -> timedelta:
        if self.unit == "bd":
            return business_day_length(cal) * self.amount
        return timedelta(minutes=self.amount * {"m": 1, "min": 1, "h": 60, "d": 1440}[self.unit])


@dataclass(frozen=True)
class Targets:
    first_response: Target
    resolution: Target


def _targets(first: str, resolution: str) -> Targets:
    return Targets(Target.parse("default", first), Target.parse("default", resolution))


#: SPEC §3.
DEFAULT_TARGETS: dict[Priority, Targets] = {
    Priority.P0: _targets("1h", "4h"),
    Priority.P1: _targets("4h", "1bd"),
    Priority.P2: _targets("8h", "3bd"),
    Priority.P3: _targets("24h", "10bd"),
}
DEFAULT_VIP: dict[Priority, dict[str, Target]] = {Priority.P0: {"first_response": Target.parse("vip", "30m")}}


@dataclass(frozen=True)
class TeamPolicy:
    calendar: str | None = None
    targets: Mapping[Priority, Mapping[str, Target]] = field(default_factory=dict)
    vip: Mapping[Priority, Mapping[str, Target]] = field(default_factory=dict)


@dataclass(frozen=True)
class SlaPolicy:
    warning: timedelta = timedelta(hours=1)
    default_calendar: str | None = None
    always_24x7: frozenset[Priority] = frozenset({Priority.P0})
    calendars: Mapping[str, BusinessCalendar] = field(default_factory=dict)
    targets: Mapping[Priority, Mapping[str, Target]] = field(default_factory=dict)
    vip: Mapping[Priority, Mapping[str, Target]] = field(default_factory=lambda: dict(DEFAULT_VIP))
    teams: Mapping[str, TeamPolicy] = field(default_factory=dict)
    #: the document it was read from, kept for `to_dict` (so an export round-trips exactly)
    source: Mapping[str, Any] = field(default_factory=dict, compare=False)

    # --- reading ---------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SlaPolicy:
        if not isinstance(data, Mapping):
            raise ValueError("sla: expected a table")
        unknown = [k for k in data if k not in _TOP_KEYS]
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown SLA setting (known: {', '.join(_TOP_KEYS)})")
        warning = Target.parse("warning", data.get("warning", "1h")).duration(CALENDAR_24X7)
        calendars: dict[str, BusinessCalendar] = {}
        for name in _table(data, "calendars"):
            fields = _table(data["calendars"], name, f"calendars.{name}")
            try:
                calendars[name] = BusinessCalendar.from_dict({**fields, "name": name})
            except ValueError as exc:
                raise ValueError(f"calendars.{name}.{exc}") from None
        default_calendar = data.get("default_calendar")
        if default_calendar is not None and default_calendar not in calendars:
            raise ValueError(f"default_calendar: no calendar named {default_calendar!r} in [calendars]")
        always = data.get("always_24x7", ["P0"])
        if not isinstance(always, list):
            raise ValueError(f"always_24x7: expected a list of priorities, got {always!r}")
        teams: dict[str, TeamPolicy] = {}
        for key in _table(data, "teams"):
            where = f"teams.{key}"
            table = _table(data["teams"], key, where)
            extra = [k for k in table if k not in ("calendar", "targets", "vip")]
            if extra:
                raise ValueError(f"{where}.{extra[0]}: unknown team setting (known: calendar, targets, vip)")
            calendar = table.get("calendar")
            if calendar is not None and calendar not in calendars:
                raise ValueError(f"{where}.calendar: no calendar named {calendar!r} in [calendars]")
            teams[key] = TeamPolicy(
                calendar=calendar,
                targets=_per_priority(table, "targets", f"{where}.targets"),
                vip=_per_priority(table, "vip", f"{where}.vip"),
            )
        vip = _per_priority(data, "vip", "vip") if "vip" in data else dict(DEFAULT_VIP)
        return cls(
            warning=warning,
            default_calendar=default_calendar,
            always_24x7=frozenset(_priority("always_24x7", p) for p in always),
            calendars=calendars,
            targets=_per_priority(data, "targets", "targets"),
            vip=vip,
            teams=teams,
            source=dict(data),
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(self.source)

    # --- applying --------------------------------------------------------------------

    def calendar_for(self, priority: Priority, team: str | None) -> BusinessCalendar:
        if priority in self.always_24x7:
            return CALENDAR_24X7
        name = (self.teams[team].calendar if team is not None and team in self.teams else None) or self.default_calendar
        return self.calendars[name] if name else DEFAULT_CALENDAR

    def targets_for(self, priority: Priority, team: str | None, vip: bool) -> Targets:
        chosen = {clock: getattr(DEFAULT_TARGETS[priority], clock) for clock in _CLOCKS}
        team_policy = self.teams.get(team or "")
        layers = [self.targets, team_policy.targets if team_policy else {}]
        if vip:
            layers += [self.vip, team_policy.vip if team_policy else {}]
        for layer in layers:
            chosen.update(layer.get(priority, {}))
        return Targets(chosen["first_response"], chosen["resolution"])

    def target_origin(self, priority: Priority, team: str | None, vip: bool, clock: str) -> str:
        """Where `targets_for` took one clock's target from, as a reader finds it in the
        policy: "[teams.support.targets.P1]", "[vip.P0]", or "the default for P1"."""
        p = priority.value
        team_policy = self.teams.get(team or "")
        layers: list[tuple[str, Mapping[Priority, Mapping[str, Target]]]] = [
            (f"[targets.{p}]", self.targets),
            (f"[teams.{team}.targets.{p}]", team_policy.targets if team_policy else {}),
        ]
        if vip:
            vip_name = f"[vip.{p}]" if "vip" in self.source else f"the VIP default for {p}"
            layers += [(vip_name, self.vip), (f"[teams.{team}.vip.{p}]", team_policy.vip if team_policy else {})]
        origin = f"the default for {p}"
        for name, layer in layers:
            if clock in layer.get(priority, {}):
                origin = name
        return origin

    def calendar_origin(self, priority: Priority, team: str | None) -> str:
        """Why `calendar_for` chose its calendar, in words."""
        if priority in self.always_24x7:
            return f"always_24x7 lists {priority.value}"
        if team is not None and team in self.teams and self.teams[team].calendar:
            return f"team {team}'s calendar"
        if self.default_calendar:
            return "the desk's default calendar"
        return "the built-in calendar (no default_calendar set)"

    def desk_zone(self) -> str:
        """The desk's time zone: its default calendar's, else UTC."""
        if self.default_calendar:
            return self.calendars[self.default_calendar].timezone
        return DEFAULT_CALENDAR.timezone


def _table(data: Mapping[str, Any], key: str, where: str | None = None) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ValueError(f"{where or key}: expected a table, got {value!r}")
    return value


def _priority(where: str, value: Any) -> Priority:
    try:
        return Priority(str(value).upper())
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not a priority (P0, P1, P2, P3)") from None


def _per_priority(data: Mapping[str, Any], key: str, where: str) -> dict[Priority, dict[str, Target]]:
    result: dict[Priority, dict[str, Target]] = {}
    for name in _table(data, key, where):
        priority = _priority(f"{where}.{name}", name)
        clocks = _table(data[key], name, f"{where}.{name}")
        extra = [k for k in clocks if k not in _CLOCKS]
        if extra:
            raise ValueError(f"{where}.{name}.{extra[0]}: unknown clock (first_response, resolution)")
        result[priority] = {c: Target.parse(f"{where}.{name}.{c}", v) for c, v in clocks.items()}
    return result


# --- clocks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Clocks:
    first_response_due: datetime
    resolution_due: datetime
    calendar: BusinessCalendar


def due_dates(
    policy: SlaPolicy,
    *,
    priority: Priority,
    team: str | None,
    vip: bool,
    created_at: datetime,
    paused: timedelta = timedelta(0),
) -> Clocks:
    """Both due times: the target in business time after creation, pushed back by the
    business time the ticket has spent paused."""
    cal = policy.calendar_for(priority, team)
    targets = policy.targets_for(priority, team, vip)
    return Clocks(
        add_business_time(cal, created_at, targets.first_response.duration(cal) + paused),
        add_business_time(cal, created_at, targets.resolution.duration(cal) + paused),
        cal,
    )


def paused_time(cal: BusinessCalendar, since: datetime, until: datetime) -> timedelta:
    """Business time of one pause, to add to a ticket's paused total when its clock resumes."""
    return business_time_between(cal, since, until)


def pauses(status: Status | str) -> bool:
    return Status(status) in PAUSED_STATUSES
