"""The service-rules settings documents ("sla" and "rules") as the store manages them.

- `write_sla` / `write_rules`: validate a whole document with its rules-layer parser, then
  check what it names against the database (teams, ticket types, agents, reply templates),
  and store it (settings.write_document: leads and admins only, optimistic version check).
  Every error names the entry, e.g. `rules: unknown team 'x' in routing[0] 'Printers'.team
  (known: ops, support)`.
- Reading order, TOML and the rendering of both documents are pure: rules/policy_documents.py.
- The edits the CLI (and later the TUI) make to one entry: plain functions from a document
  to a new one, applied by `edit_sla` / `edit_rules` in one transaction (settings.edit_document);
  the result is validated when written.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from ticketdesk.models import Agent, Priority, ReplyTemplate, Team, TicketType
from ticketdesk.models.enums import parse_enum
from ticketdesk.rules.automation import ASSIGN_TO_STRATEGIES
from ticketdesk.rules.policy_documents import default_sla_document, tidy_rules, tidy_sla
from ticketdesk.rules.routing import name_key
from ticketdesk.rules.rules_document import RulesDocument, parse_rules_document
from ticketdesk.rules.sla_policy import SlaPolicy
from ticketdesk.rules.templates import template_key
from ticketdesk.store.db import settings
from ticketdesk.store.db.errors import InvalidInput, NotFound
from ticketdesk.store.db.settings import DocumentChange

SLA = "sla"
RULES = "rules"
#: A known-values list in an error is cut after this many.
KNOWN_MAX = 15
#: The word that puts an SLA target back to its default.
DEFAULT = "default"


# --- writing ---------------------------------------------------------------------------


def write_sla(
    session: Session, *, actor: Agent, document: Mapping[str, Any], expected_version: int | None = None
) -> int:
    def parse(doc: dict[str, Any]) -> SlaPolicy:
        policy = SlaPolicy.from_dict(doc)
        check_sla_references(session, policy)
        return policy

    return settings.write_document(
        session, SLA, json_ready(document), actor=actor, parse=parse, expected_version=expected_version
    )


def write_rules(
    session: Session, *, actor: Agent, document: Mapping[str, Any], expected_version: int | None = None
) -> int:
    def parse(doc: dict[str, Any]) -> RulesDocument:
        rules = parse_rules_document(doc)
        check_rules_references(session, rules, doc)
        return rules

    return settings.write_document(
        session, RULES, json_ready(document), actor=actor, parse=parse, expected_version=expected_version
    )


def edit_sla(session: Session, *, actor: Agent, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> DocumentChange:
    """Apply `edit` to the SLA document and write the result, in this one transaction."""
    return settings.edit_document(
        session, SLA, edit, actor=actor, tidy=tidy_sla,
        write=lambda doc, version: write_sla(session, actor=actor, document=doc, expected_version=version),
    )  # fmt: skip


def edit_rules(session: Session, *, actor: Agent, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> DocumentChange:
    """Apply `edit` to the rules document and write the result, in this one transaction."""
    return settings.edit_document(
        session, RULES, edit, actor=actor, tidy=tidy_rules,
        write=lambda doc, version: write_rules(session, actor=actor, document=doc, expected_version=version),
    )  # fmt: skip


def json_ready(value: Any) -> Any:
    """A deep copy as plain JSON data: TOML dates and times become text ("2026-10-01",
    "09:00"), so `closed_days = [2026-10-01]` works as well as the quoted form."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec="seconds" if value.second else "minutes")
    return value


# --- references to the database ------------------------------------------------------


class _Known:
    """What exists in the database, each kind read once, when first needed."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @cached_property
    def teams(self) -> dict[str, str]:
        """key -> name"""
        return {key: name for key, name in self.session.execute(select(col(Team.key), col(Team.name)))}

    @cached_property
    def types(self) -> list[str]:
        return list(self.session.execute(select(col(TicketType.key))).scalars())

    @cached_property
    def agents(self) -> dict[str, bool]:
        """login -> active"""
        return {login: active for login, active in self.session.execute(select(col(Agent.login), col(Agent.active)))}

    @cached_property
    def templates(self) -> dict[str, str]:
        """key -> name"""
        rows = self.session.execute(select(col(ReplyTemplate.key), col(ReplyTemplate.name)))
        return {key: name for key, name in rows}

    def team(self, value: str, where: str) -> None:
        if value in self.teams:
            return
        hint = next(
            (k for k, n in self.teams.items() if value.casefold() in (k.casefold(), n.casefold())),
            None,
        )
        raise ValueError(
            f"unknown team {value!r} in {where} (known: {_listed(sorted(self.teams))})"
            + (f"; did you mean {hint!r}? (documents use team keys)" if hint else "")
        )

    def ticket_type(self, value: str, where: str) -> None:
        if value not in self.types:
            raise ValueError(f"unknown ticket type {value!r} in {where} (known: {_listed(sorted(self.types))})")

    def agent(self, login: str, where: str) -> None:
        if login not in self.agents:
            logins = _listed(sorted(self.agents, key=lambda v: (v.casefold(), v)))
            strategies = " or ".join(ASSIGN_TO_STRATEGIES)
            raise ValueError(f"unknown agent {login!r} in {where} (known: {logins}; or a strategy: {strategies})")
        if not self.agents[login]:
            raise ValueError(f"agent {login!r} in {where} is deactivated")

    def template(self, name: str, where: str) -> None:
        if template_key(name) not in self.templates:
            known = _listed(repr(n) for n in sorted(self.templates.values(), key=lambda v: (v.casefold(), v)))
            raise ValueError(f"unknown reply template {name!r} in {where} (known: {known})")


def _listed(values: Iterable[str], *, limit: int = KNOWN_MAX) -> str:
    items = list(values)
    if len(items) > limit:
        return ", ".join(items[:limit]) + f", ... ({len(items) - limit} more)"
    return ", ".join(items) or "none"


def check_sla_references(session: Session, policy: SlaPolicy) -> None:
    """The teams an SLA policy names exist (by key: the policy is looked up by team key)."""
    known = _Known(session)
    for key in policy.teams:
        known.team(key, f"teams.{key}")


def check_rules_references(session: Session, rules: RulesDocument, document: Mapping[str, Any]) -> None:
    """Teams, ticket types, agents and reply templates the rules name exist. The sweep's
    closing template is checked only when the document sets it (the default may have been
    removed on purpose: the sweep then closes without a reply)."""
    known = _Known(session)
    for key in rules.teams:
        known.team(key, f"teams.{key}")
    for i, route in enumerate(rules.routing):
        where = f"routing[{i}] {route.name!r}"
        if route.team is not None:
            known.team(route.team, f"{where}.team")
        for ticket_type in sorted(route.types):
            known.ticket_type(ticket_type, f"{where}.types")
    for i, rule in enumerate(rules.automation):
        for j, action in enumerate(rule.actions):
            where = f"automation[{i}] {rule.name!r}.actions[{j}]"
            if action.action == "template":
                known.template(action.name or "", f"{where}.name")
            elif action.action == "assign" and not action.assigns_by_strategy:
                known.agent(action.to or "", f"{where}.to")
            elif action.action == "set" and action.field == "team":
                known.team(action.value or "", f"{where}.value")
            elif action.action == "set" and action.field == "type":
                known.ticket_type(action.value or "", f"{where}.value")
    sweep = document.get("sweep")
    if isinstance(sweep, Mapping) and "pending_close_template" in sweep and rules.sweep.pending_close_template:
        known.template(rules.sweep.pending_close_template, "sweep.pending_close_template")


# --- edits of one entry ------------------------------------------------------------------


def sla_with_target(
    doc: Mapping[str, Any],
    *,
    priority: str,
    team: str | None = None,
    vip: bool = False,
    first_response: str | None = None,
    resolution: str | None = None,
) -> dict[str, Any]:
    """Set (or, with "default", drop) the targets of one priority: desk-wide or for a team,
    for every customer or VIPs only."""
    if first_response is None and resolution is None:
        raise InvalidInput("nothing to change: give a first response and/or a resolution target")
    try:
        level = parse_enum(Priority, priority, "priority").value
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    out = copy.deepcopy(dict(doc))
    layer = "vip" if vip else "targets"
    if team is None:
        if vip and "vip" not in out:  # a new VIP table replaces the default one: keep it
            out["vip"] = default_sla_document()["vip"]
        holder = out
    else:
        holder = _table(_table(out, "teams", "teams"), team, f"teams.{team}")
    per_priority = _table(holder, layer, layer)
    clocks = _table(per_priority, level, f"{layer}.{level}")
    for clock, value in (("first_response", first_response), ("resolution", resolution)):
        if value is None:
            continue
        if value.strip().casefold() == DEFAULT:
            clocks.pop(clock, None)
        else:
            clocks[clock] = value.strip()
    if not clocks:
        del per_priority[level]
    return out


def sla_with_warning(doc: Mapping[str, Any], warning: str) -> dict[str, Any]:
    out = copy.deepcopy(dict(doc))
    out["warning"] = warning.strip()
    return out


def sla_with_calendar(
    doc: Mapping[str, Any],
    name: str,
    *,
    timezone: str | None = None,
    hours: list[str] | None = None,
    weekdays: list[str] | None = None,
    country: str | None = None,
    subdivision: str | None = None,
    closed_days: list[str] | None = None,
    extra_working_days: list[str] | None = None,
    default: bool = False,
    team: str | None = None,
) -> dict[str, Any]:
    """Add or change a calendar (fields not given stay as they are; country or
    subdivision "none" removes it), optionally making it the default or a team's."""
    name = name.strip()
    if not name:
        raise InvalidInput("a calendar needs a name")
    out = copy.deepcopy(dict(doc))
    calendars = _table(out, "calendars", "calendars")
    if name not in calendars and (timezone is None or hours is None):
        raise InvalidInput(f"calendar {name!r} does not exist yet: give its time zone and working hours")
    cal = _table(calendars, name, f"calendars.{name}")
    for key, value in (
        ("timezone", timezone),
        ("hours", hours),
        ("weekdays", weekdays),
        ("closed_days", closed_days),
        ("extra_working_days", extra_working_days),
    ):
        if value is not None:
            cal[key] = value
    for key, text in (("country", country), ("subdivision", subdivision)):
        if text is None:
            continue
        if text.strip().casefold() in ("", "none"):
            cal.pop(key, None)
            if key == "country":
                cal.pop("subdivision", None)
        else:
            cal[key] = text.strip()
    if default:
        out["default_calendar"] = name
    if team is not None:
        _table(_table(out, "teams", "teams"), team, f"teams.{team}")["calendar"] = name
    return out


def find_rule(doc: Mapping[str, Any], name: str, section: str | None = None) -> tuple[str, int]:
    """(section, index) of the routing or automation rule called `name` (case and runs of
    spaces do not count); NotFound if none, InvalidInput if both sections have one."""
    if section is not None and section not in ("routing", "automation"):
        raise InvalidInput(f"{section!r} is not a kind of rule (routing, automation)")
    wanted = name_key(" ".join(name.split()))
    hits: list[tuple[str, int]] = []
    names: dict[str, list[str]] = {}
    for kind in ("routing", "automation"):
        rules = doc.get(kind, [])
        for i, rule in enumerate(rules if isinstance(rules, list) else []):
            rule_name = rule.get("name") if isinstance(rule, Mapping) else None
            if not isinstance(rule_name, str):
                continue
            names.setdefault(kind, []).append(repr(rule_name))
            if (section is None or kind == section) and name_key(" ".join(rule_name.split())) == wanted:
                hits.append((kind, i))
    if not hits:
        where = "; ".join(f"{kind}: {', '.join(listed)}" for kind, listed in names.items())
        what = f"{section} rule" if section else "rule"
        raise NotFound(f"no {what} named {name!r}" + (f" ({where})" if where else " (there are no rules)"))
    if len(hits) > 1:
        raise InvalidInput(f"both a routing and an automation rule are named {name!r}: say which")
    return hits[0]


def rules_with_active(doc: Mapping[str, Any], name: str, active: bool) -> dict[str, Any]:
    try:
        _, index = find_rule(doc, name, "automation")
    except NotFound as missing:
        try:
            find_rule(doc, name, "routing")
        except NotFound:
            raise missing from None
        raise InvalidInput(f"{name!r} is a routing rule: those are always on (remove it instead)") from None
    out = copy.deepcopy(dict(doc))
    rule = out["automation"][index]
    if active:
        rule.pop("active", None)
    else:
        rule["active"] = False
    return out


def rules_without(doc: Mapping[str, Any], name: str, section: str | None = None) -> tuple[dict[str, Any], str]:
    """The document without the rule, and the rule's section."""
    kind, index = find_rule(doc, name, section)
    out = copy.deepcopy(dict(doc))
    del out[kind][index]
    return out, kind


def rules_with_strategy(doc: Mapping[str, Any], team: str, strategy: str) -> dict[str, Any]:
    out = copy.deepcopy(dict(doc))
    _table(_table(out, "teams", "teams"), team.strip(), f"teams.{team.strip()}")["assign"] = strategy.strip()
    return out


def _table(holder: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = holder.setdefault(key, {})
    if not isinstance(value, dict):
        raise InvalidInput(f"{where}: the stored document has {value!r} here, not a table; import a fixed one")
    return value
