"""Other desks' words for our values (rules/import_vocabulary.py): aliases, and the nearest
of ours by the words a value contains. Pure: no DB."""

from __future__ import annotations

import pytest

from ticketdesk.models.enums import Channel, Priority, Status
from ticketdesk.rules.import_vocabulary import (
    CHANNEL_NEAREST,
    PRIORITY_NEAREST,
    STATUS_NEAREST,
    nearest,
    nearest_type,
    parse_channel,
    parse_priority,
    parse_status,
    type_key,
)

TYPES = {"incident", "question", "service_request", "complaint"}


def test_aliases_and_our_own_words() -> None:
    assert parse_status("Solved") == Status.RESOLVED and parse_status("on-hold") == Status.ON_HOLD
    assert parse_status("in progress") == Status.IN_PROGRESS and parse_status("closed") == Status.CLOSED
    assert parse_priority("Urgent") == Priority.P0 and parse_priority("p3") == Priority.P3
    assert parse_channel("Web Form") == Channel.WEB and parse_channel("walk-in") == Channel.WALK_IN
    assert type_key("Task") == "service_request" and type_key("Service Request") == "service_request"
    with pytest.raises(ValueError, match="status"):
        parse_status("gone")


def test_nearest_is_the_first_word_a_table_knows() -> None:
    assert nearest("Pending Customer Response", STATUS_NEAREST) == Status.PENDING
    assert nearest("Very High", PRIORITY_NEAREST) == Priority.P1
    assert nearest("Social media", CHANNEL_NEAREST) == Channel.WEB
    assert nearest("urgentish", PRIORITY_NEAREST) is None


def test_nearest_type_is_one_the_database_has() -> None:
    assert nearest_type("Technical issue", TYPES) == "incident"
    assert nearest_type("Billing inquiry", TYPES) == "question"
    assert nearest_type("Cancellation request", TYPES) == "service_request"
    assert nearest_type("gripe", TYPES) is None
    assert nearest_type("Technical issue", {"question"}) is None  # only types the database has
