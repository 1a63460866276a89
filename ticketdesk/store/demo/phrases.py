"""The demo's text tables, read once from the TOML files in `data/` (shipped in the package):
what tickets are about (topics.toml), what customers and agents write (phrases.toml) and the
values of the template slots (slots.toml). people.py reads people.toml the same way.

The files are data, not code: a malformed one fails here with the file and key named, and
the generator sees only typed, frozen values.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources


def load(name: str) -> dict[str, object]:
    """`data/<name>` of this package, parsed."""
    with (resources.files(__package__) / "data" / name).open("rb") as file:
        return tomllib.load(file)


# --- checked reading --------------------------------------------------------------------------


def table(value: object, where: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise ValueError(f"demo data: {where} must be a table")
    return value


def tables(value: object, where: str) -> list[dict[str, object]]:
    if not isinstance(value, list):
        raise ValueError(f"demo data: {where} must be an array of tables")
    return [table(item, f"{where}[{i}]") for i, item in enumerate(value)]


def text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"demo data: {where} must be a string")
    return value


def texts(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError(f"demo data: {where} must be an array of strings")
    return tuple(text(item, f"{where}[{i}]") for i, item in enumerate(value))


def number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"demo data: {where} must be a number")
    return value


def weights(value: object, where: str) -> tuple[tuple[str, float], ...]:
    """An inline table of relative weights, in the file's order: `{ incident = 4, question = 1 }`."""
    return tuple((key, number(w, f"{where}.{key}")) for key, w in table(value, where).items())


# --- topics ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One kind of problem: subject, description, replies and resolution of a ticket all come
    from the same case, so they agree."""

    subject: str
    symptom: str
    errors: tuple[str, ...]  # error texts the customer may quote
    resolution: str
    request: bool  # a service request (for service_request tickets), not a problem


@dataclass(frozen=True)
class Topic:
    key: str
    weight: float
    category: str
    tags: tuple[str, ...]
    zh_tags: tuple[str, ...]  # only on tickets written in Chinese
    teams: tuple[tuple[str, float], ...]
    types: tuple[tuple[str, float], ...]
    en: tuple[Case, ...]
    zh: tuple[Case, ...]
    priorities: tuple[float, ...] | None  # P0..P3 weights; None: by ticket type

    def cases(self, *, chinese: bool, request: bool) -> tuple[Case, ...]:
        """Requests for service_request tickets, problems for the other types; any case where
        the topic has none of the kind."""
        cases = self.zh if chinese else self.en
        return tuple(c for c in cases if c.request == request) or cases


def _case(raw: dict[str, object], where: str) -> Case:
    request = raw.get("request", False)
    if not isinstance(request, bool):
        raise ValueError(f"demo data: {where}.request must be true or false")
    return Case(
        subject=text(raw.get("subject"), f"{where}.subject"),
        symptom=text(raw.get("symptom"), f"{where}.symptom"),
        errors=texts(raw.get("errors", []), f"{where}.errors"),
        resolution=text(raw.get("resolution"), f"{where}.resolution"),
        request=request,
    )


def _topic(raw: dict[str, object], where: str) -> Topic:
    priorities = raw.get("priorities")
    if priorities is not None and not (isinstance(priorities, list) and len(priorities) == 4):
        raise ValueError(f"demo data: {where}.priorities must be four weights (P0, P1, P2, P3)")
    return Topic(
        key=text(raw.get("key"), f"{where}.key"),
        weight=number(raw.get("weight"), f"{where}.weight"),
        category=text(raw.get("category"), f"{where}.category"),
        tags=texts(raw.get("tags", []), f"{where}.tags"),
        zh_tags=texts(raw.get("zh_tags", []), f"{where}.zh_tags"),
        teams=weights(raw.get("teams"), f"{where}.teams"),
        types=weights(raw.get("types"), f"{where}.types"),
        en=tuple(_case(c, f"{where}.en[{i}]") for i, c in enumerate(tables(raw.get("en"), f"{where}.en"))),
        zh=tuple(_case(c, f"{where}.zh[{i}]") for i, c in enumerate(tables(raw.get("zh"), f"{where}.zh"))),
        priorities=None if priorities is None else tuple(number(p, f"{where}.priorities") for p in priorities),
    )


# --- what people write -------------------------------------------------------------------------


@dataclass(frozen=True)
class Language:
    """What customers and agents write in one language (phrases.toml `[en.*]` or `[zh.*]`)."""

    # description sentences after the symptom
    when: tuple[str, ...]
    steps: tuple[str, ...]
    urgent: tuple[str, ...]
    mild: tuple[str, ...]
    request: tuple[str, ...]
    ask: tuple[str, ...]
    error: str
    phone: str
    walk_in: str
    greeting: str
    sign_off: str
    # comments
    first_reply: tuple[str, ...]
    first_reply_incident: tuple[str, ...]
    answer: tuple[str, ...]
    customer: tuple[str, ...]
    customer_incident: tuple[str, ...]
    chase: tuple[str, ...]
    reopen: tuple[str, ...]
    note: tuple[str, ...]
    note_incident: tuple[str, ...]
    hold_note: tuple[str, ...]
    vip_note: str
    # satisfaction survey comments
    survey_happy: tuple[str, ...]
    survey_unhappy: tuple[str, ...]


def _language(raw: dict[str, object], where: str) -> Language:
    d = table(raw.get("description"), f"{where}.description")
    c = table(raw.get("comments"), f"{where}.comments")
    dw, cw = f"{where}.description", f"{where}.comments"
    return Language(
        when=texts(d.get("when"), f"{dw}.when"),
        steps=texts(d.get("steps"), f"{dw}.steps"),
        urgent=texts(d.get("urgent"), f"{dw}.urgent"),
        mild=texts(d.get("mild"), f"{dw}.mild"),
        request=texts(d.get("request"), f"{dw}.request"),
        ask=texts(d.get("ask"), f"{dw}.ask"),
        error=text(d.get("error"), f"{dw}.error"),
        phone=text(d.get("phone"), f"{dw}.phone"),
        walk_in=text(d.get("walk_in"), f"{dw}.walk_in"),
        greeting=text(d.get("greeting"), f"{dw}.greeting"),
        sign_off=text(d.get("sign_off"), f"{dw}.sign_off"),
        first_reply=texts(c.get("first_reply"), f"{cw}.first_reply"),
        first_reply_incident=texts(c.get("first_reply_incident"), f"{cw}.first_reply_incident"),
        answer=texts(c.get("answer"), f"{cw}.answer"),
        customer=texts(c.get("customer"), f"{cw}.customer"),
        customer_incident=texts(c.get("customer_incident"), f"{cw}.customer_incident"),
        chase=texts(c.get("chase"), f"{cw}.chase"),
        reopen=texts(c.get("reopen"), f"{cw}.reopen"),
        note=texts(c.get("note"), f"{cw}.note"),
        note_incident=texts(c.get("note_incident"), f"{cw}.note_incident"),
        hold_note=texts(c.get("hold_note"), f"{cw}.hold_note"),
        vip_note=text(c.get("vip_note"), f"{cw}.vip_note"),
        survey_happy=texts(c.get("survey_happy"), f"{cw}.survey_happy"),
        survey_unhappy=texts(c.get("survey_unhappy"), f"{cw}.survey_unhappy"),
    )


@dataclass(frozen=True)
class Phrases:
    topics: tuple[Topic, ...]
    en: Language
    zh: Language
    slots: Mapping[str, tuple[str, ...]]  # slot name -> its values

    def language(self, chinese: bool) -> Language:
        return self.zh if chinese else self.en


@cache
def phrases() -> Phrases:
    """The text tables, loaded on first use."""
    topics = load("topics.toml")
    said = load("phrases.toml")
    slots = load("slots.toml")
    return Phrases(
        topics=tuple(_topic(t, f"topics.toml topic[{i}]") for i, t in enumerate(tables(topics.get("topic"), "topic"))),
        en=_language(table(said.get("en"), "phrases.toml en"), "phrases.toml en"),
        zh=_language(table(said.get("zh"), "phrases.toml zh"), "phrases.toml zh"),
        slots={key: texts(values, f"slots.toml {key}") for key, values in slots.items()},
    )
