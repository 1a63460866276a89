"""The lifecycle table, rule by rule, without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ticketdesk.models.enums import Priority, Role, Status
from ticketdesk.rules.workflow import (
    TRANSITIONS,
    TicketState,
    TransitionError,
    plan_transition,
    status_after_assignment,
    status_after_customer_reply,
    status_after_public_reply,
)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
S = Status

# The lifecycle of SPEC §2, written out independently of TRANSITIONS so a change to the
# table shows up here as a failure.
EXPECTED_ALLOWED = {
    (S.NEW, S.OPEN), (S.NEW, S.IN_PROGRESS), (S.NEW, S.PENDING), (S.NEW, S.ON_HOLD), (S.NEW, S.RESOLVED),
    (S.NEW, S.CLOSED),
    (S.OPEN, S.IN_PROGRESS), (S.OPEN, S.PENDING), (S.OPEN, S.ON_HOLD), (S.OPEN, S.RESOLVED), (S.OPEN, S.CLOSED),
    (S.IN_PROGRESS, S.OPEN), (S.IN_PROGRESS, S.PENDING), (S.IN_PROGRESS, S.ON_HOLD), (S.IN_PROGRESS, S.RESOLVED),
    (S.IN_PROGRESS, S.CLOSED),
    (S.PENDING, S.OPEN), (S.PENDING, S.IN_PROGRESS), (S.PENDING, S.ON_HOLD), (S.PENDING, S.RESOLVED),
    (S.PENDING, S.CLOSED),
    (S.ON_HOLD, S.OPEN), (S.ON_HOLD, S.IN_PROGRESS), (S.ON_HOLD, S.PENDING), (S.ON_HOLD, S.RESOLVED),
    (S.ON_HOLD, S.CLOSED),
    (S.RESOLVED, S.CLOSED), (S.RESOLVED, S.OPEN),
    (S.CLOSED, S.OPEN),
}  # fmt: skip

ALL_PAIRS = [(a, b) for a in Status for b in Status if a != b]


def state(status: Status, priority: Priority = Priority.P2, *, has_resolution: bool = False) -> TicketState:
    return TicketState(number="202611001", status=status, priority=priority, has_resolution=has_resolution)


def test_table_matches_the_spec() -> None:
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert table == EXPECTED_ALLOWED


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=lambda s: s.value)
def test_every_transition_allowed_or_forbidden(current: Status, target: Status) -> None:
    ticket = state(current, has_resolution=current in (S.RESOLVED, S.CLOSED))
    if (current, target) in EXPECTED_ALLOWED:
        plan = plan_transition(ticket, target, actor_role=Role.LEAD, note="fixed it", now=NOW)
        assert plan.status == target
        assert plan.set_timestamps["status_changed_at"] == NOW
    else:
        with pytest.raises(TransitionError, match="202611001"):
            plan_transition(ticket, target, actor_role=Role.LEAD, note="fixed it", now=NOW)


def test_nothing_goes_back_to_new() -> None:
    assert all(S.NEW not in targets for targets in TRANSITIONS.values())


def test_same_status_is_refused() -> None:
    with pytest.raises(TransitionError, match="already open"):
        plan_transition(state(S.OPEN), S.OPEN, actor_role=Role.AGENT, note=None, now=NOW)


def test_closed_can_only_be_reopened() -> None:
    for target in (S.PENDING, S.RESOLVED, S.IN_PROGRESS, S.ON_HOLD):
        with pytest.raises(TransitionError, match="can only be reopened"):
            plan_transition(state(S.CLOSED, has_resolution=True), target, actor_role=Role.ADMIN, note="x", now=NOW)


@pytest.mark.parametrize("note", [None, "", "   "])
def test_resolving_needs_a_note(note: str | None) -> None:
    with pytest.raises(TransitionError, match="resolution note"):
        plan_transition(state(S.OPEN), S.RESOLVED, actor_role=Role.AGENT, note=note, now=NOW)


def test_resolving_sets_resolved_at_and_the_resolution() -> None:
    plan = plan_transition(state(S.IN_PROGRESS), S.RESOLVED, actor_role=Role.AGENT, note=" rebooted ", now=NOW)
    assert plan.set_timestamps["resolved_at"] == NOW
    assert plan.resolution == "rebooted"
    assert "closed_at" not in plan.set_timestamps


def test_closing_unresolved_ticket_needs_a_note_and_sets_both_timestamps() -> None:
    with pytest.raises(TransitionError, match="resolution note"):
        plan_transition(state(S.OPEN), S.CLOSED, actor_role=Role.AGENT, note=None, now=NOW)
    plan = plan_transition(state(S.OPEN), S.CLOSED, actor_role=Role.AGENT, note="spam", now=NOW)
    assert plan.set_timestamps["closed_at"] == NOW
    assert plan.set_timestamps["resolved_at"] == NOW


def test_closing_a_resolved_ticket_needs_no_new_note() -> None:
    plan = plan_transition(state(S.RESOLVED, has_resolution=True), S.CLOSED, actor_role=Role.AGENT, note=None, now=NOW)
    assert plan.set_timestamps["closed_at"] == NOW
    assert "resolved_at" not in plan.set_timestamps


@pytest.mark.parametrize(("role", "allowed"), [(Role.AGENT, False), (Role.AUDITOR, False), (Role.LEAD, True),
                                               (Role.ADMIN, True)])  # fmt: skip
def test_closing_p0_needs_a_lead(role: Role, allowed: bool) -> None:
    ticket = state(S.RESOLVED, Priority.P0, has_resolution=True)
    if allowed:
        assert plan_transition(ticket, S.CLOSED, actor_role=role, note=None, now=NOW).status == S.CLOSED
    else:
        with pytest.raises(TransitionError, match="P0"):
            plan_transition(ticket, S.CLOSED, actor_role=role, note=None, now=NOW)


def test_resolving_p0_is_open_to_agents() -> None:
    plan = plan_transition(state(S.OPEN, Priority.P0), S.RESOLVED, actor_role=Role.AGENT, note="ok", now=NOW)
    assert plan.status == S.RESOLVED


@pytest.mark.parametrize("current", [S.RESOLVED, S.CLOSED])
def test_reopen_clears_the_end_timestamps(current: Status) -> None:
    plan = plan_transition(state(current, has_resolution=True), S.OPEN, actor_role=Role.AGENT, note=None, now=NOW)
    assert plan.is_reopen
    assert set(plan.clear_timestamps) == {"resolved_at", "closed_at"}


def test_implied_transitions() -> None:
    assert status_after_assignment(S.NEW) == S.OPEN
    assert status_after_assignment(S.PENDING) is None
    assert status_after_public_reply(S.NEW) == S.OPEN
    assert status_after_public_reply(S.ON_HOLD) is None


@pytest.mark.parametrize(
    ("status", "after"),
    [(S.NEW, None), (S.OPEN, None), (S.IN_PROGRESS, None), (S.PENDING, S.OPEN), (S.ON_HOLD, None),
     (S.RESOLVED, S.OPEN), (S.CLOSED, None)],
)  # fmt: skip
def test_customer_reply_brings_waiting_and_resolved_tickets_back(status: Status, after: Status | None) -> None:
    assert status_after_customer_reply(status) == after
    if after is not None:  # and the rules allow the move it implies
        assert after in TRANSITIONS[status]
