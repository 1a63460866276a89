"""The SLA policy and the rules documents as people read and write them.

Both are versioned documents the store keeps whole (store/sla/policies.py validates one
against the database and writes it). This module is what is pure about them:

- TOML in: `parse_toml` reads the text of a file; a syntax error names the file and the line
  (`sla.toml: line 3: Expected '=' after a key in a key/value pair (column 9)`).
- TOML out: `toml_text` writes a document the way people write one (`[[routing]]` tables,
  `conditions = [{ ... }, ...]` inline, one per line); tomllib reads back the same document.
- Reading order: `tidy_sla` / `tidy_rules` put keys in the order a reader expects (stored
  documents come back sorted alphabetically).
- The SLA policy as shown: `sla_policy_toml`, with none stored the defaults of SPEC §3 and a
  commented example (`default_sla_document`, `example_sla_document`).
- The rules as shown: `parsed_rules` (a stored document that no longer parses, said in one
  line), `rules_rows` (the text of each routing rule, automation, team strategy and sweep
  setting), `rules_json`, `rules_toml`.

No files, no database: the CLI reads the file, the store checks what a document names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ticketdesk.models.enums import Priority
from ticketdesk.rules.automation import Action
from ticketdesk.rules.automation_conditions import Condition
from ticketdesk.rules.routing import RoutingRule
from ticketdesk.rules.rules_document import RulesDocument, parse_rules_document
from ticketdesk.rules.sla_policy import DEFAULT_TARGETS, DEFAULT_VIP

# --- TOML in and out --------------------------------------------------------------------------


def parse_toml(text: str, name: str) -> dict[str, Any]:
    """The document in `text`; a syntax error is a ValueError naming `name` and the line."""
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(toml_error(name, exc)) from None


def toml_error(name: str, exc: Exception) -> str:
    """tomllib's message, said as `NAME: line N: what (column C)`."""
    message = str(exc)
    found = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", message, flags=re.S)
    if found:
        return f"{name}: line {found[2]}: {found[1]} (column {found[3]})"
    found = re.fullmatch(r"(.*) \(at end of document\)", message, flags=re.S)
    if found:
        return f"{name}: at the end: {found[1]}"
    return f"{name}: {message}"


def _toml_shaped(value: Any, *, top: bool = False) -> Any:
    """Plain data ready for tomlkit: nulls dropped (TOML has none); lists of tables below
    the top level become arrays of inline tables, one per line, as people write them
    (`conditions = [{ field = ... }, ...]`), while top-level ones stay `[[routing]]`."""
    import tomlkit

    if isinstance(value, dict):
        return {k: _toml_shaped(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        items = [_toml_shaped(v) for v in value if v is not None]
        if top or not items or not all(isinstance(v, dict) for v in items):
            return items
        array = tomlkit.array()
        for item in items:
            table = tomlkit.inline_table()
            table.update(item)
            array.append(table)
        return array.multiline(True)
    return value


def toml_text(doc: Mapping[str, Any]) -> str:
    """TOML text of a settings document (tomllib reads back the same document)."""
    import tomlkit

    return tomlkit.dumps({k: _toml_shaped(v, top=True) for k, v in doc.items() if v is not None})


def commented(text: str) -> str:
    """Every line of `text` as a TOML comment."""
    return "".join(f"# {line}\n" if line else "#\n" for line in text.splitlines())


# --- reading order ---------------------------------------------------------------------------

_SLA_ORDER = ("warning", "default_calendar", "always_24x7", "calendars", "targets", "vip", "teams")
_CALENDAR_ORDER = (
    "timezone", "weekdays", "hours", "country", "subdivision", "closed_days", "extra_working_days", "always_open",
)  # fmt: skip
_CLOCK_ORDER = ("first_response", "resolution")
_ROUTING_ORDER = (
    "name", "types", "categories", "channels", "organisations", "keywords", "team", "support_level", "skills",
)  # fmt: skip
_AUTOMATION_ORDER = ("name", "trigger", "active", "conditions", "actions")


def _ordered(data: Any, order: Iterable[str]) -> Any:
    if not isinstance(data, Mapping):
        return data
    first = [k for k in order if k in data]
    return {k: data[k] for k in [*first, *sorted(k for k in data if k not in first)]}


def _per_priority(data: Any) -> Any:
    if not isinstance(data, Mapping):
        return data
    return {p: _ordered(clocks, _CLOCK_ORDER) for p, clocks in _ordered(data, [p.value for p in Priority]).items()}


def tidy_sla(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The SLA document in reading order (top-level settings, calendars, targets, teams)."""
    out = dict(_ordered(doc, _SLA_ORDER))
    if isinstance(out.get("calendars"), Mapping):
        out["calendars"] = {name: _ordered(cal, _CALENDAR_ORDER) for name, cal in out["calendars"].items()}
    for key in ("targets", "vip"):
        if key in out:
            out[key] = _per_priority(out[key])
    if isinstance(out.get("teams"), Mapping):
        teams: dict[str, Any] = {}
        for key, table in out["teams"].items():
            table = _ordered(table, ("calendar", "targets", "vip"))
            if isinstance(table, dict):
                table = {k: _per_priority(v) if k in ("targets", "vip") else v for k, v in table.items()}
            teams[key] = table
        out["teams"] = teams
    return out


def tidy_rules(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The rules document in reading order (teams, routing, automation, sweep; names first)."""
    out = dict(_ordered(doc, ("teams", "routing", "automation", "sweep")))
    if isinstance(out.get("routing"), list):
        out["routing"] = [_ordered(r, _ROUTING_ORDER) for r in out["routing"]]
    if isinstance(out.get("automation"), list):
        rules = []
        for rule in out["automation"]:
            rule = _ordered(rule, _AUTOMATION_ORDER)
            if isinstance(rule, dict):
                for key, order in (("conditions", ("field", "op", "value")), ("actions", ("action",))):
                    if isinstance(rule.get(key), list):
                        rule[key] = [_ordered(item, order) for item in rule[key]]
            rules.append(rule)
        out["automation"] = rules
    return out


# --- the SLA policy ---------------------------------------------------------------------------


def default_sla_document() -> dict[str, Any]:
    """The policy in force when none is stored (SPEC §3), as a document."""
    return {
        "warning": "1h",
        "always_24x7": ["P0"],
        "targets": {
            p.value: {"first_response": t.first_response.text, "resolution": t.resolution.text}
            for p, t in DEFAULT_TARGETS.items()
        },
        "vip": {p.value: {c: t.text for c, t in clocks.items()} for p, clocks in DEFAULT_VIP.items()},
    }


def example_sla_document() -> dict[str, Any]:
    """The defaults plus an example calendar and team: what `sla show` offers to start from."""
    return tidy_sla(
        {
            **default_sla_document(),
            "default_calendar": "office",
            "calendars": {
                "office": {
                    "timezone": "Asia/Shanghai",
                    "weekdays": ["mon", "tue", "wed", "thu", "fri"],
                    "hours": ["09:00-12:00", "13:30-18:00"],
                    "country": "CN",
                }
            },
            "teams": {"support": {"calendar": "office", "targets": {"P2": {"first_response": "6h"}}}},
        }
    )


def sla_policy_toml(doc: Mapping[str, Any], version: int) -> str:
    """The stored policy as TOML under a header naming its version; with none stored
    (version 0), the defaults and the example, commented out, ready to edit and import."""
    if version == 0:
        return (
            "# No SLA policy is stored, so the built-in defaults are in force: the values of warning,\n"
            "# always_24x7, [targets] and [vip] below (P0 1 h first response / 4 h resolution, 24x7;\n"
            "# P1 4 h / 1 business day; P2 8 h / 3; P3 24 h / 10), business days being Monday to\n"
            "# Friday, 09:00-17:00 UTC. default_calendar, [calendars.office] and [teams.support] are\n"
            "# an example.\n"
            "# To change the policy: save this, uncomment and edit what you need, and load it with\n"
            "# `ticketdesk sla import FILE`.\n"
            "#\n" + commented(toml_text(example_sla_document()))
        )
    return f"# ticketdesk SLA policy, version {version} (load with `ticketdesk sla import FILE`)\n\n" + toml_text(doc)


# --- the rules --------------------------------------------------------------------------------


def parsed_rules(doc: Mapping[str, Any]) -> RulesDocument:
    """The stored rules document parsed; one written before a change of the rules' language
    that no longer parses is said in one line."""
    try:
        return parse_rules_document(doc)
    except ValueError as exc:
        raise ValueError(f"the stored rules are not valid any more: {exc}; import a fixed file") from None


def condition_text(c: Condition) -> str:
    """`priority is P1`, `status in [open, in_progress]`, `assignee is_empty`."""
    if c.value is None:
        return f"{c.field} {c.op}"
    value = "[" + ", ".join(str(v) for v in c.value) + "]" if isinstance(c.value, tuple) else str(c.value)
    return f"{c.field} {c.op} {value}"


def action_text(a: Action) -> str:
    """`set team support`, `assign alice`, `add_tag stale`, `template 'Acknowledge'`."""
    detail = {
        "set": f"{a.field} {a.value}",
        "assign": a.to,
        "add_tag": a.tag,
        "remove_tag": a.tag,
        "escalate": a.kind,
        "template": repr(a.name),
    }.get(a.action)
    return f"{a.action} {detail}" if detail else a.action


def routing_texts(r: RoutingRule) -> tuple[str, str]:
    """(when, sends to) of a routing rule: `types incident; keywords printer` and `team support`."""
    criteria = [
        f"{label} {', '.join(sorted(values))}"
        for label, values in (
            ("types", r.types),
            ("categories", r.categories),
            ("channels", r.channels),
            ("organisations", r.organisations),
        )
        if values
    ]
    if r.keywords:
        criteria.append("keywords " + ", ".join(r.keywords))
    target = [f"team {r.team}"] if r.team else []
    if r.support_level:
        target.append(f"level {r.support_level}")
    if r.skills:
        target.append("skills " + ", ".join(r.skills))
    return "; ".join(criteria) or "every ticket", ", ".join(target)


def rules_rows(rules: RulesDocument) -> dict[str, list[tuple[str, ...]]]:
    """The rules as text rows, by section: routing (#, name, when, sends to), automation (#,
    name, trigger, on/off, if, then), team (team, strategy) and sweep (setting, value)."""
    return {
        "routing": [(str(i), r.name, *routing_texts(r)) for i, r in enumerate(rules.routing, 1)],
        "automation": [
            (
                str(i),
                r.name,
                r.trigger,
                "on" if r.active else "off",
                " and ".join(condition_text(c) for c in r.conditions) or "always",
                "; ".join(action_text(a) for a in r.actions),
            )
            for i, r in enumerate(rules.automation, 1)
        ],
        "team": [(key, t.assign) for key, t in rules.teams.items()],
        "sweep": [(key, json.dumps(value, ensure_ascii=False)) for key, value in rules.sweep.to_dict().items()],
    }


def rules_json(rules: RulesDocument, version: int) -> dict[str, Any]:
    """The rules as data: the version, then each section, rules with their position (and
    automations with whether they are on)."""
    data = rules.to_dict()
    data["routing"] = [{"position": i, **r} for i, r in enumerate(data["routing"], 1)]
    data["automation"] = [{"position": i, **r.to_dict(), "active": r.active} for i, r in enumerate(rules.automation, 1)]
    return {"version": version, **data}


def rule_json(rules: RulesDocument, section: str, index: int) -> dict[str, Any]:
    """One routing or automation rule as data, with its kind and position."""
    rule = getattr(rules, section)[index]
    extra = {"active": rule.active} if section == "automation" else {}
    return {"kind": section, "position": index + 1, **rule.to_dict(), **extra}


def rule_toml(doc: Mapping[str, Any], rules: RulesDocument, section: str, index: int) -> str:
    """One rule as it would be written in the rules file, under a comment saying where it
    stands and whether it is on."""
    rule = getattr(rules, section)[index]
    state = "" if section == "routing" else (", on" if rule.active else ", off (disabled)")
    head = f"# {section} rule {index + 1} of {len(getattr(rules, section))}{state}\n"
    return head + toml_text({section: [doc[section][index]]})


def rules_toml(doc: Mapping[str, Any], version: int) -> str:
    """The stored rules as TOML under a header naming the version; with none stored, the
    sweep's defaults under a note saying so."""
    if version == 0:
        return (
            "# No rules are stored: no routing, no automations, no automatic assignment; the sweep\n"
            "# runs with its defaults, shown here. Add rules and load with `ticketdesk rules import FILE`.\n"
            "\n" + toml_text({"sweep": parsed_rules({}).sweep.to_dict()})
        )
    return f"# ticketdesk rules, version {version} (load with `ticketdesk rules import FILE`)\n\n" + toml_text(doc)
