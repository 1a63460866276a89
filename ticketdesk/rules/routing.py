"""Routing: which team (and support level) a ticket goes to, and who in the team gets it.

Routing rules are plain data (the `[[routing]]` tables of the rules document, see
rules/rules_document.py) validated into frozen objects; every error names the rule and the
entry, e.g. `routing[2] 'Printers'.channels: 'fax' is not a channel (phone, email, web,
chat, walk_in)`.

    [[routing]]
    name = "Printers"
    types = ["incident"]                # empty or left out: any
    categories = ["hardware"]
    channels = ["phone", "walk_in"]
    organisations = ["ACME Ltd"]
    keywords = ["printer", "打印机"]      # any of them, as a substring of subject + description
    team = "support"                    # at least one of team / support_level
    support_level = "L2"
    skills = ["printing"]               # wanted for skills-based assignment

The first rule whose every criterion holds wins (`route`). Within the team an agent is
picked by the team's strategy (`pick_assignee`): round robin, least open tickets, or best
skills match; the answer carries the reason so the store can log the assignment.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from ticketdesk.models.enums import Channel, SupportLevel

E = TypeVar("E", bound=StrEnum)

NAME_MAX = 100
ASSIGN_STRATEGIES = ("none", "round_robin", "least_open", "skills")
_ROUTING_KEYS = (
    "name",
    "types",
    "categories",
    "channels",
    "organisations",
    "keywords",
    "team",
    "support_level",
    "skills",
)


# --- the facts rules look at --------------------------------------------------------


@dataclass(frozen=True)
class TicketFacts:
    """What routing and automation rules may look at: a plain snapshot of one ticket.

    Enum-valued fields hold the enum's value (`"in_progress"`, `"P1"`, `"walk_in"`, `"L2"`);
    `team` is the team key and `assignee` the agent's login. Timestamps are aware datetimes.
    """

    number: str
    subject: str
    description: str
    type: str
    category: str | None
    priority: str
    status: str
    channel: str
    team: str | None
    assignee: str | None
    support_level: str
    tags: frozenset[str]
    customer_vip: bool
    organisation: str | None
    created_at: datetime
    updated_at: datetime
    status_changed_at: datetime | None = None
    last_customer_reply_at: datetime | None = None
    sla_state: str | None = None  # "ok", "warning", "breached" or None (no clock)


# --- shared validation helpers (used by the automation rules and the rules document too) ---


def fold(text: str) -> str:
    """The form text is compared in: NFKC (full-width letters and digits become ASCII),
    case-folded, runs of whitespace as one space."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def rule_name(where: str, value: Any) -> str:
    """A rule's display name: trimmed, one line, at most NAME_MAX characters."""
    if not isinstance(value, str) or not " ".join(value.split()):
        raise ValueError(f"{where}.name: a rule needs a name")
    name = " ".join(value.split())
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise ValueError(f"{where}.name: {name!r} contains control characters")
    if len(name) > NAME_MAX:
        raise ValueError(f"{where}.name: {len(name)} characters long (at most {NAME_MAX})")
    return name


def name_key(name: str) -> str:
    """What makes two rule names the same: case and runs of spaces do not count."""
    return fold(name)


def check_keys(where: str, data: Any, known: Sequence[str], what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected a table, got {data!r}")
    unknown = [k for k in data if k not in known]
    if unknown:
        raise ValueError(f"{where}.{unknown[0]}: unknown {what} (known: {', '.join(known)})")
    return data


def text_value(where: str, value: Any, what: str = "a non-empty text") -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: expected {what}, got {value!r}")
    text = value.strip()
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise ValueError(f"{where}: {text!r} contains control characters")
    return text


def text_list(where: str, value: Any) -> tuple[str, ...]:
    """A list of non-empty texts (a single text is taken as a list of one), duplicates dropped."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple | frozenset | set):
        raise ValueError(f"{where}: expected a list of texts, got {value!r}")
    result: dict[str, None] = {}
    for i, item in enumerate(items):
        result.setdefault(text_value(f"{where}[{i}]", item), None)
    return tuple(result)


def enum_value(where: str, enum: type[E], value: Any, what: str) -> str:
    """An enum's value from text, case-insensitively, '-' or ' ' standing for '_'."""
    if isinstance(value, str):
        key = value.strip().casefold().replace("-", "_").replace(" ", "_")
        for member in enum:
            if member.value.casefold() == key:
                return member.value
    allowed = ", ".join(m.value for m in enum)
    raise ValueError(f"{where}: {value!r} is not {what} ({allowed})")


def _sorted_folded(values: Iterable[str]) -> list[str]:
    return sorted(values, key=lambda v: (fold(v), v))


# --- routing rules ---------------------------------------------------------------------


@dataclass(frozen=True)
class RoutingRule:
    """Criteria (all must hold; an empty set means any) and where matching tickets go."""

    name: str
    types: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    organisations: frozenset[str] = frozenset()
    keywords: tuple[str, ...] = ()
    team: str | None = None
    support_level: str | None = None
    skills: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "routing[0]") -> RoutingRule:
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: expected a table, got {data!r}")
        name = rule_name(where, data.get("name"))
        where = f"{where} {name!r}"
        check_keys(where, data, _ROUTING_KEYS, "routing setting")

        def texts(key: str) -> tuple[str, ...]:
            return text_list(f"{where}.{key}", data[key]) if key in data else ()

        channels = texts("channels")
        team = text_value(f"{where}.team", data["team"], "a team key") if "team" in data else None
        level = data.get("support_level")
        if level is not None:
            level = enum_value(f"{where}.support_level", SupportLevel, level, "a support level")
        if team is None and level is None:
            raise ValueError(f"{where}: a routing rule needs a team or a support_level (or both)")
        return cls(
            name=name,
            types=frozenset(texts("types")),
            categories=frozenset(texts("categories")),
            channels=frozenset(
                enum_value(f"{where}.channels[{i}]", Channel, c, "a channel") for i, c in enumerate(channels)
            ),
            organisations=frozenset(texts("organisations")),
            keywords=texts("keywords"),
            team=team,
            support_level=level,
            skills=texts("skills"),
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name}
        for key in ("types", "categories", "channels", "organisations"):
            values = getattr(self, key)
            if values:
                data[key] = _sorted_folded(values)
        if self.keywords:
            data["keywords"] = list(self.keywords)
        if self.team is not None:
            data["team"] = self.team
        if self.support_level is not None:
            data["support_level"] = self.support_level
        if self.skills:
            data["skills"] = list(self.skills)
        return data

    def match_reason(self, facts: TicketFacts) -> str | None:
        """None when the rule does not match; else why it does, for the assignment log
        (e.g. `rule 'Printers': type incident, keyword '打印机'`)."""
        reasons: list[str] = []
        for label, wanted, actual in (
            ("type", self.types, facts.type),
            ("category", self.categories, facts.category),
            ("channel", self.channels, facts.channel),
            ("organisation", self.organisations, facts.organisation),
        ):
            if not wanted:
                continue
            if actual is None or fold(actual) not in {fold(w) for w in wanted}:
                return None
            reasons.append(f"{label} {actual}")
        if self.keywords:
            text = fold(f"{facts.subject}\n{facts.description}")
            hit = next((k for k in self.keywords if fold(k) in text), None)
            if hit is None:
                return None
            reasons.append(f"keyword {hit!r}")
        return f"rule {self.name!r}: " + (", ".join(reasons) if reasons else "matches every ticket")

    def matches(self, facts: TicketFacts) -> bool:
        return self.match_reason(facts) is not None


def route(rules: Sequence[RoutingRule], facts: TicketFacts) -> RoutingRule | None:
    """The first rule, in order, that matches the ticket; None if none does."""
    return next((rule for rule in rules if rule.matches(facts)), None)


# --- assignment within a team ----------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """An agent of the team, as assignment sees them."""

    login: str
    open_count: int
    skills: frozenset[str]
    active: bool = True


def _login_order(login: str) -> tuple[str, str]:
    return (login.casefold(), login)


def pick_assignee(
    strategy: str,
    candidates: Sequence[Candidate],
    *,
    last_assigned: str | None,
    wanted_skills: frozenset[str],
) -> tuple[str, str] | None:
    """(login, reason) of the agent to assign, or None (strategy "none", nobody active).

    - round_robin: the next login after `last_assigned` in login order, wrapping around
      (if `last_assigned` has left the team, the next one after where they would stand);
    - least_open: fewest open tickets, ties by login;
    - skills: most of `wanted_skills` matched (case-insensitive), ties by fewest open
      tickets, then login; if nobody has any wanted skill, as least_open.
    Inactive agents are never picked. The same input always gives the same answer.
    """
    if strategy not in ASSIGN_STRATEGIES:
        raise ValueError(f"{strategy!r} is not an assignment strategy ({', '.join(ASSIGN_STRATEGIES)})")
    active = [c for c in candidates if c.active]
    if strategy == "none" or not active:
        return None
    if strategy == "round_robin":
        ordered = sorted({c.login for c in active}, key=_login_order)
        if last_assigned is None:
            return ordered[0], "round robin, first in line"
        after = next((login for login in ordered if _login_order(login) > _login_order(last_assigned)), ordered[0])
        return after, f"round robin after {last_assigned}"
    if strategy == "skills":
        wanted = {fold(s) for s in wanted_skills if s.strip()}

        def matched(c: Candidate) -> list[str]:
            have = {fold(s) for s in c.skills}
            return sorted(wanted & have)

        best = min(active, key=lambda c: (-len(matched(c)), c.open_count, _login_order(c.login)))
        hits = matched(best)
        if hits:
            return best.login, f"skills match {len(hits)}/{len(wanted)} ({', '.join(hits)}), {best.open_count} open"
        fallback = _least_open(active)
        why = "no skills wanted" if not wanted else f"nobody has {', '.join(sorted(wanted))}"
        return fallback.login, f"{why}; least open tickets ({fallback.open_count})"
    best = _least_open(active)
    return best.login, f"least open tickets ({best.open_count})"


def _least_open(active: Sequence[Candidate]) -> Candidate:
    return min(active, key=lambda c: (c.open_count, _login_order(c.login)))
