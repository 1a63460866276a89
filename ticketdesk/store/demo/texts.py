"""What a demo ticket says: its description and comments, written from the phrase tables
(data/phrases.toml) with the ticket's own slot values."""

from __future__ import annotations

import random
from collections.abc import Callable

from ticketdesk.store.demo.people import people
from ticketdesk.store.demo.phrases import phrases

# Slots whose values are made up rather than picked from slots.toml.
SLOT_MAKERS: dict[str, Callable[[random.Random], str]] = {
    "asset": lambda r: f"LT-{r.randint(10000, 99999)}",
    "ip": lambda r: f"10.{r.randint(1, 60)}.{r.randint(0, 255)}.{r.randint(2, 254)}",
    "invoice": lambda r: f"INV-{r.randint(2024, 2026)}-{r.randint(1000, 99999):05d}",
    "amount": lambda r: f"{r.randint(120, 98000) + r.randint(0, 99) / 100:,.2f}",
    "ref": lambda r: f"{r.choice(('CS', 'SR', 'VND'))}{r.randint(100000, 999999)}",
    "room": lambda r: f"{r.randint(1, 18)}{r.randint(1, 40):02d}",
    "dept": lambda r: r.choice(people().departments_common_en),
    "dept_zh": lambda r: r.choice(people().departments_zh),
}

# Agent actions of a ticket's timeline (timeline.py) that write a comment.
AGENT_COMMENTS = frozenset({"reply", "answer", "note", "hold_note", "vip_note"})


class Slots(dict[str, str]):
    """Template values for one ticket, drawn on first use so subject, description and
    comments of a ticket agree (the same printer, the same invoice)."""

    def __init__(self, rng: random.Random, fixed: dict[str, str]) -> None:
        super().__init__(fixed)
        self._rng = rng
        self._values = phrases().slots

    def __missing__(self, key: str) -> str:
        maker = SLOT_MAKERS.get(key)
        value = maker(self._rng) if maker is not None else self._rng.choice(self._values[key])
        self[key] = value
        return value


def description(
    rng: random.Random,
    symptom: str,
    *,
    zh: bool,
    ticket_type: str,
    priority: str,
    channel: str,
    has_error: bool,
    slots: Slots,
) -> str:
    """A few sentences: the symptom, then (by type) since when, what was tried, the error
    text and the impact; phone and walk-in tickets are written down by the agent."""
    rnd, choice = rng.random, rng.choice
    lang = phrases().language(zh)
    urgent = priority in ("P0", "P1")
    parts = [symptom]
    if ticket_type == "incident":
        if rnd() < 0.8:
            parts.append(choice(lang.when))
        if rnd() < 0.6:
            parts.append(choice(lang.steps))
        if has_error and rnd() < 0.75:
            parts.append(lang.error)
        if rnd() < 0.75 or urgent:
            parts.append(choice(lang.urgent if urgent else lang.mild))
    elif ticket_type == "service_request":
        if rnd() < 0.6:
            parts.append(choice(lang.request))
    elif rnd() < 0.6:
        parts.append(choice(lang.ask))
    if zh:
        body = "".join(parts)
        if channel == "phone":
            body = lang.phone + body
        elif channel == "walk_in":
            body = lang.walk_in + body
        elif rnd() < 0.4:
            body = lang.greeting + body + lang.sign_off
    else:
        body = " ".join(parts).replace(" \n\n", "\n\n").replace("\n\n ", "\n\n").strip()
        if channel == "phone":
            body = lang.phone + body
        elif channel == "walk_in":
            body = lang.walk_in + body
        elif channel in ("email", "web") and rnd() < 0.5:
            body = lang.greeting + body + lang.sign_off
    return body.format_map(slots)


def agent_comment(
    rng: random.Random, act: str, *, zh: bool, incident: bool, has_error: bool, slots: Slots
) -> tuple[str, str]:
    """(body, kind) of an agent's comment."""
    lang = phrases().language(zh)
    if act == "reply":
        pool = lang.first_reply + lang.first_reply_incident if incident else lang.first_reply
        return rng.choice(pool).format_map(slots), "public"
    if act == "answer":
        return rng.choice(lang.answer).format_map(slots), "public"
    if act == "hold_note":
        return rng.choice(lang.hold_note).format_map(slots), "internal"
    if act == "vip_note":
        return lang.vip_note, "internal"
    # The log note (the first incident note) quotes the error text: only for tickets with one.
    special = lang.note_incident if has_error else lang.note_incident[1:]
    pool = lang.note + special if incident else lang.note
    return rng.choice(pool).format_map(slots), "internal"


def customer_comment(rng: random.Random, act: str, *, zh: bool, incident: bool, slots: Slots) -> str:
    lang = phrases().language(zh)
    if act == "cust_reopen":
        return rng.choice(lang.reopen)
    if act == "cust_chase":  # on a ticket nobody has answered yet
        return rng.choice(lang.chase)
    return rng.choice(lang.customer_incident if incident else lang.customer).format_map(slots)
