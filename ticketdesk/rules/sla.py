"""The SLA state of a ticket from its due times: ok, warning, breached. The targets, calendars
and due times are rules/sla_policy.py's."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum


class SlaState(StrEnum):
    OK = "ok"
    WARNING = "warning"
    BREACHED = "breached"


DEFAULT_WARNING = timedelta(hours=1)


def sla_state(
    *,
    now: datetime,
    first_response_due: datetime | None,
    first_responded_at: datetime | None,
    resolution_due: datetime | None,
    resolved_at: datetime | None,
    warning: timedelta = DEFAULT_WARNING,
) -> SlaState | None:
    """The worst state of the clocks still running (or missed); None when no clock applies."""
    states: list[SlaState] = []
    for due, met_at in ((first_response_due, first_responded_at), (resolution_due, resolved_at)):
        if due is None:
            continue
        if met_at is not None:
            states.append(SlaState.BREACHED if met_at > due else SlaState.OK)
        elif now >= due:
            states.append(SlaState.BREACHED)
        elif due - now <= warning:
            states.append(SlaState.WARNING)
        else:
            states.append(SlaState.OK)
    if not states:
        return None
    order = [SlaState.OK, SlaState.WARNING, SlaState.BREACHED]
    return max(states, key=order.index)
