"""Times as a person reads them: in one named time zone (the desk's, or the agent's own), with
the zone said once per screen or output. Stored and JSON times stay UTC ISO 8601.

Pure: the zone is passed in, resolved once by whoever starts the process.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from ticketdesk.rules.calendar_fields import zone as _zone


def zone(name: str | None) -> tzinfo:
    """The zone named (an IANA name such as Asia/Shanghai); UTC for None."""
    return _zone(name) if name else UTC


def zone_label(tz: tzinfo, at: datetime | None = None) -> str:
    """`Asia/Shanghai (UTC+08:00)`, `UTC`: the zone's name and its offset at `at` (now by default)."""
    moment = (at or datetime.now(UTC)).astimezone(tz)
    name = tz.key if isinstance(tz, ZoneInfo) else str(tz)
    offset = moment.strftime("%z")
    if name in ("UTC", "Etc/UTC"):
        return "UTC"
    return f"{name} (UTC{offset[:3]}:{offset[3:]})"


def stamp(value: datetime | None, tz: tzinfo, empty: str = "") -> str:
    """`2026-12-03 14:05` in `tz`."""
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value is not None else empty


def short_stamp(value: datetime | None, tz: tzinfo) -> str:
    """`12-03 14:05` in `tz`: for table columns."""
    return value.astimezone(tz).strftime("%m-%d %H:%M") if value is not None else ""


def clock_stamp(value: datetime, tz: tzinfo, seconds: bool = False) -> str:
    """`14:05` (or `14:05:09`) in `tz`."""
    return value.astimezone(tz).strftime("%H:%M:%S" if seconds else "%H:%M")


def day_stamp(value: datetime, tz: tzinfo) -> str:
    """`Thu 12-03 14:05` in `tz`: for timelines, where the weekday matters."""
    return value.astimezone(tz).strftime("%a %m-%d %H:%M")
