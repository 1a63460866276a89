"""SLA targets and state.

The default targets of SPEC §3, counted on the wall clock (24×7). Business-hours
calendars replace the clock arithmetic later; the state rules stay the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ticketdesk.models.enums import Priority


class SlaState(StrEnum):
    OK = "ok"
    WARNING = "warning"
    BREACHED = "breached"


@dataclass(frozen=True)
class Targets:
    first_response: timedelta
    resolution: timedelta


DEFAULT_TARGETS: dict[Priority, Targets] = {
    Priority.P0: Targets(timedelta(hours=1), timedelta(hours=4)),
    Priority.P1: Targets(timedelta(hours=4), timedelta(days=1)),
    Priority.P2: Targets(timedelta(hours=8), timedelta(days=3)),
    Priority.P3: Targets(timedelta(hours=24), timedelta(days=10)),
}
VIP_P0_FIRST_RESPONSE = timedelta(minutes=30)
DEFAULT_WARNING = timedelta(hours=1)


def due_dates(priority: Priority, start: datetime, *, vip: bool = False) -> tuple[datetime, datetime]:
    """(first response due, resolution due) for a ticket of `priority` opened at `start`."""
    targets = DEFAULT_TARGETS[priority]
    first = targets.first_response
    if vip and priority == Priority.P0:
        first = VIP_P0_FIRST_RESPONSE
    return start + first, start + targets.resolution


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
