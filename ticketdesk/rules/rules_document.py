"""The rules document: the teams' assignment strategies, the routing rules
(rules/routing.py), the automation rules (rules/automation.py) and the sweep settings, in
one document (a TOML file, stored as the "rules" setting) validated into frozen objects;
every error starts with the path of the bad entry, e.g. `teams.support.assign: 'random'
is not a strategy (...)`.

    [teams.support]
    assign = "least_open"              # none, round_robin, least_open, skills

    [[routing]]                        # see rules/routing.py
    name = "Printers"
    keywords = ["printer", "打印机"]
    team = "support"

    [[automation]]                     # see rules/automation.py
    name = "Stale P1"
    trigger = "time"
    conditions = [{ field = "hours_since_updated", op = "gte", value = 4 }]
    actions = [{ action = "add_tag", tag = "stale" }]

    [sweep]
    close_resolved_after_days = 7      # 0 disables
    close_pending_after_days = 14      # 0 disables
    pending_close_template = "Closing - no response"   # "" closes without a reply
    escalate_on_breach = true
    escalate_after_hours_without_update = 24           # 0 disables
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ticketdesk.rules import templates
from ticketdesk.rules.automation import AutomationRule, table_list
from ticketdesk.rules.automation_conditions import bool_value
from ticketdesk.rules.routing import ASSIGN_STRATEGIES, RoutingRule, check_keys, fold, name_key

__all__ = ["RulesDocument", "SweepSettings", "TeamRules", "parse_rules_document"]


@dataclass(frozen=True)
class TeamRules:
    assign: str = "none"  # one of ASSIGN_STRATEGIES


@dataclass(frozen=True)
class SweepSettings:
    close_resolved_after_days: float = 7  # 0: never
    close_pending_after_days: float = 14  # 0: never
    pending_close_template: str = "Closing - no response"  # "": close without a reply
    escalate_on_breach: bool = True
    escalate_after_hours_without_update: float = 24  # 0: never

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "sweep") -> SweepSettings:
        defaults = cls()
        check_keys(where, data, tuple(defaults.to_dict()), "sweep setting")
        values: dict[str, Any] = {}
        for key in ("close_resolved_after_days", "close_pending_after_days", "escalate_after_hours_without_update"):
            if key in data:
                value = data[key]
                if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 10**6:
                    raise ValueError(f"{where}.{key}: expected a number, 0 or more (0 turns it off), got {value!r}")
                values[key] = value
        if "escalate_on_breach" in data:
            values["escalate_on_breach"] = bool_value(f"{where}.escalate_on_breach", data["escalate_on_breach"])
        if "pending_close_template" in data:
            name = data["pending_close_template"]
            if not isinstance(name, str):
                raise ValueError(f"{where}.pending_close_template: expected a template name, got {name!r}")
            try:
                values["pending_close_template"] = templates.validate_name(name) if name.strip() else ""
            except ValueError as exc:
                raise ValueError(f"{where}.pending_close_template: {exc}") from None
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {
            "close_resolved_after_days": self.close_resolved_after_days,
            "close_pending_after_days": self.close_pending_after_days,
            "pending_close_template": self.pending_close_template,
            "escalate_on_breach": self.escalate_on_breach,
            "escalate_after_hours_without_update": self.escalate_after_hours_without_update,
        }


@dataclass(frozen=True)
class RulesDocument:
    routing: tuple[RoutingRule, ...] = ()
    automation: tuple[AutomationRule, ...] = ()
    teams: Mapping[str, TeamRules] = field(default_factory=dict)
    sweep: SweepSettings = SweepSettings()

    def strategy_for(self, team: str | None) -> str:
        """The team's assignment strategy ("none" for a team without settings)."""
        if team is None:
            return "none"
        settings = self.teams.get(team) or next((t for k, t in self.teams.items() if fold(k) == fold(team)), None)
        return settings.assign if settings else "none"

    def to_dict(self) -> dict[str, Any]:
        return {
            "teams": {key: {"assign": t.assign} for key, t in self.teams.items()},
            "routing": [r.to_dict() for r in self.routing],
            "automation": [r.to_dict() for r in self.automation],
            "sweep": self.sweep.to_dict(),
        }


def parse_rules_document(data: Mapping[str, Any]) -> RulesDocument:
    """Read the document (e.g. from tomllib); raises ValueError starting with the path of
    the bad entry."""
    if not isinstance(data, Mapping):
        raise ValueError(f"rules: expected a table, got {data!r}")
    sections = ("teams", "routing", "automation", "sweep")
    unknown = [k for k in data if k not in sections]
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown section (known: {', '.join(sections)})")
    teams_data = data.get("teams", {})
    if not isinstance(teams_data, Mapping):
        raise ValueError(f"teams: expected a table, got {teams_data!r}")
    teams: dict[str, TeamRules] = {}
    for key, table in teams_data.items():
        where = f"teams.{key}"
        check_keys(where, table, ("assign",), "team setting")
        strategy = table.get("assign", "none")
        if not isinstance(strategy, str) or strategy not in ASSIGN_STRATEGIES:
            raise ValueError(f"{where}.assign: {strategy!r} is not a strategy ({', '.join(ASSIGN_STRATEGIES)})")
        teams[key] = TeamRules(assign=strategy)
    routing = tuple(
        RoutingRule.from_dict(r, f"routing[{i}]") for i, r in enumerate(table_list("routing", data.get("routing", [])))
    )
    automation = tuple(
        AutomationRule.from_dict(r, f"automation[{i}]")
        for i, r in enumerate(table_list("automation", data.get("automation", [])))
    )
    named: tuple[tuple[str, Sequence[RoutingRule | AutomationRule]], ...] = (
        ("routing", routing),
        ("automation", automation),
    )
    for section, rules in named:
        seen: dict[str, int] = {}
        for i, rule in enumerate(rules):
            first = seen.setdefault(name_key(rule.name), i)
            if first != i:
                raise ValueError(f"{section}[{i}] {rule.name!r}.name: already used by {section}[{first}]")
    sweep_data = data.get("sweep", {})
    if not isinstance(sweep_data, Mapping):
        raise ValueError(f"sweep: expected a table, got {sweep_data!r}")
    return RulesDocument(routing, automation, teams, SweepSettings.from_dict(sweep_data))
