"""Time spent on a ticket, as agents type it: `25m`, `1h10m`, `2h`, `1h 5m`, or a bare number
of minutes; and the same back (`1h10m`)."""

from __future__ import annotations

import re

#: the longest single entry: more than a day of work in one go is a typing mistake
MAX_MINUTES = 24 * 60

_DURATION = re.compile(r"^(?:(?P<h>\d{1,3})\s*h)?\s*(?:(?P<m>\d{1,4})\s*(?:m|min)?)?$")


def parse_duration(text: str, field: str = "time") -> int:
    """Minutes; a ValueError naming `field` for anything else."""
    value = text.strip().lower()
    match = _DURATION.match(value)
    if not value or match is None or not (match["h"] or match["m"]):
        raise ValueError(f"{field}: expected a time like 25m, 1h10m or 2h, got {text!r}")
    if match["m"] and not match["h"] and not value.endswith(("m", "min")) and not value.isdigit():
        raise ValueError(f"{field}: expected a time like 25m, 1h10m or 2h, got {text!r}")
    minutes = int(match["h"] or 0) * 60 + int(match["m"] or 0)
    if not 1 <= minutes <= MAX_MINUTES:
        raise ValueError(f"{field}: {text!r} is {minutes} minutes; one entry is 1 minute to 24 hours")
    return minutes


def format_minutes(minutes: int) -> str:
    """`1h10m`, `45m`, `2h`; `0m` for none."""
    hours, rest = divmod(max(minutes, 0), 60)
    if hours and rest:
        return f"{hours}h{rest:02d}m"
    return f"{hours}h" if hours else f"{rest}m"
