"""The SLA policy and rules documents as text: TOML in with pointed errors, TOML out that
reads back the same, reading order, and the rules as rows. No database, no CLI."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from ticketdesk.rules.policy_documents import (
    commented,
    default_sla_document,
    example_sla_document,
    parse_toml,
    parsed_rules,
    rule_json,
    rule_toml,
    rules_json,
    rules_rows,
    rules_toml,
    sla_policy_toml,
    tidy_rules,
    tidy_sla,
    toml_text,
)
from ticketdesk.rules.rules_document import parse_rules_document
from ticketdesk.rules.sla_policy import SlaPolicy

RULES = """\
[teams.support]
assign = "least_open"

[[routing]]
name = "Printers"
keywords = ["printer", "打印机"]
types = ["incident"]
team = "support"

[[routing]]
name = "Billing"
categories = ["billing"]
team = "ops"
support_level = "L2"

[[automation]]
name = "Stale P1"
trigger = "time"
conditions = [
    { field = "priority", op = "is", value = "P1" },
    { field = "status", op = "in", value = ["open", "in_progress"] },
    { field = "hours_since_updated", op = "gte", value = 4 },
]
actions = [
    { action = "escalate", kind = "management", reason = "P1 without an update for 4 h" },
    { action = "add_tag", tag = "stale" },
]

[[automation]]
name = "Welcome"
trigger = "created"
active = false
actions = [
    { action = "template", name = "Acknowledge" },
    { action = "assign", to = "alice" },
    { action = "set", field = "team", value = "support" },
]

[sweep]
close_pending_after_days = 10
"""


def rules_doc() -> dict[str, Any]:
    return tomllib.loads(RULES)


# --- TOML in ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("a = 1\nb = \n", "sla.toml: line 2: Invalid value (column 5)"),
        ("a = [1,", "sla.toml: at the end: Invalid value"),
        ("a = 1\na = 2\n", "sla.toml: line 2: Cannot overwrite a value (column 6)"),
    ],
)
def test_a_syntax_error_names_the_file_and_the_line(text: str, said: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_toml(text, "sla.toml")
    assert str(caught.value) == said


def test_parse_toml_reads_the_document() -> None:
    assert parse_toml('warning = "30m"\n[targets.P1]\nfirst_response = "2h"\n', "stdin") == {
        "warning": "30m",
        "targets": {"P1": {"first_response": "2h"}},
    }


# --- TOML out -----------------------------------------------------------------------------


def test_toml_text_reads_back_the_same_document() -> None:
    doc = rules_doc()
    assert tomllib.loads(toml_text(doc)) == doc
    assert tomllib.loads(toml_text(tidy_rules(doc))) == doc


def test_toml_text_writes_tables_as_people_do() -> None:
    text = toml_text(tidy_rules(rules_doc()))
    assert text.count("[[routing]]") == 2 and text.count("[[automation]]") == 2  # top level: tables
    assert (
        "conditions = [\n"
        '    {field = "priority", op = "is", value = "P1"},\n'
        '    {field = "status", op = "in", value = ["open", "in_progress"]},\n'
    ) in text  # below: inline tables, one per line
    assert "打印机" in text  # CJK kept readable


def test_toml_text_drops_nulls() -> None:
    assert tomllib.loads(toml_text({"a": None, "b": {"c": None, "d": 1}, "e": [1, None]})) == {"b": {"d": 1}, "e": [1]}


def test_commented_text_is_all_comment() -> None:
    text = commented('a = 1\n\n[b]\nc = "x"\n')
    assert text == '# a = 1\n#\n# [b]\n# c = "x"\n'
    assert tomllib.loads(text) == {}


# --- reading order --------------------------------------------------------------------------


def test_tidy_puts_keys_in_reading_order() -> None:
    stored = {  # as a JSON column gives it back: sorted
        "teams": {"support": {"targets": {"P2": {"resolution": "2bd", "first_response": "6h"}}, "calendar": "office"}},
        "targets": {"P3": {"first_response": "1d"}, "P1": {"first_response": "2h"}},
        "warning": "45m",
    }
    tidy = tidy_sla(stored)
    assert list(tidy) == ["warning", "targets", "teams"]
    assert list(tidy["targets"]) == ["P1", "P3"]
    assert list(tidy["teams"]["support"]) == ["calendar", "targets"]
    assert list(tidy["teams"]["support"]["targets"]["P2"]) == ["first_response", "resolution"]
    rule = tidy_rules(
        {"automation": [{"trigger": "time", "name": "x", "actions": [{"tag": "a", "action": "add_tag"}]}]}
    )
    assert list(rule["automation"][0]) == ["name", "trigger", "actions"]
    assert list(rule["automation"][0]["actions"][0]) == ["action", "tag"]


# --- the SLA policy -------------------------------------------------------------------------


def test_the_default_and_example_policies_are_valid() -> None:
    default = SlaPolicy.from_dict(default_sla_document())  # the defaults of SPEC §3, said as a document
    assert default.warning == SlaPolicy.from_dict({}).warning
    example = example_sla_document()
    assert SlaPolicy.from_dict(example).teams["support"].calendar == "office"
    assert list(example) == list(tidy_sla(example))


def test_sla_policy_toml_without_a_policy_is_the_commented_example() -> None:
    text = sla_policy_toml({}, 0)
    lines = text.splitlines()
    assert all(line.startswith("#") for line in lines) and "P1 4 h / 1 business day" in text and "SPEC" not in text
    assert tomllib.loads(text) == {}
    example = "\n".join(line.removeprefix("#").removeprefix(" ") for line in lines[lines.index("#") + 1 :])
    assert tomllib.loads(example) == example_sla_document()


def test_sla_policy_toml_names_the_version() -> None:
    text = sla_policy_toml({"warning": "30m"}, 3)
    assert text.startswith("# ticketdesk SLA policy, version 3 (load with `ticketdesk sla import FILE`)\n\n")
    assert tomllib.loads(text) == {"warning": "30m"}


# --- the rules ------------------------------------------------------------------------------


def test_rules_rows_say_each_rule_in_words() -> None:
    rows = rules_rows(parse_rules_document(rules_doc()))
    assert rows["routing"] == [
        ("1", "Printers", "types incident; keywords printer, 打印机", "team support"),
        ("2", "Billing", "categories billing", "team ops, level L2"),
    ]
    assert rows["automation"] == [
        (
            "1", "Stale P1", "time", "on",
            "priority is P1 and status in [open, in_progress] and hours_since_updated gte 4",
            "escalate management; add_tag stale",
        ),
        ("2", "Welcome", "created", "off", "always", "template 'Acknowledge'; assign alice; set team support"),
    ]  # fmt: skip
    assert rows["team"] == [("support", "least_open")]
    assert ("close_pending_after_days", "10") in rows["sweep"]


def test_rules_rows_of_no_rules() -> None:
    rows = rules_rows(parse_rules_document({}))
    assert rows["routing"] == rows["automation"] == rows["team"] == []
    assert rows["sweep"]  # the sweep always has its settings


def test_parsed_rules_says_a_stored_document_is_no_longer_valid() -> None:
    with pytest.raises(ValueError) as caught:
        parsed_rules({"routing": [{"name": "x"}]})
    assert str(caught.value) == (
        "the stored rules are not valid any more: routing[0] 'x': a routing rule needs a team or a"
        " support_level (or both); import a fixed file"
    )


def test_rules_as_json_and_one_rule_as_toml() -> None:
    doc = tidy_rules(rules_doc())
    rules = parse_rules_document(doc)
    data = rules_json(rules, 4)
    assert data["version"] == 4 and [r["position"] for r in data["routing"]] == [1, 2]
    assert [(r["name"], r["active"]) for r in data["automation"]] == [("Stale P1", True), ("Welcome", False)]
    assert rule_json(rules, "routing", 1) == {
        "kind": "routing", "position": 2, "name": "Billing", "categories": ["billing"], "team": "ops",
        "support_level": "L2",
    }  # fmt: skip
    assert rule_json(rules, "automation", 1)["active"] is False
    shown = rule_toml(doc, rules, "automation", 1)
    assert shown.startswith('# automation rule 2 of 2, off (disabled)\n[[automation]]\nname = "Welcome"\n')
    assert tomllib.loads(shown) == {"automation": [rules_doc()["automation"][1]]}
    assert rule_toml(doc, rules, "routing", 0).startswith("# routing rule 1 of 2\n[[routing]]\n")


def test_rules_toml() -> None:
    text = rules_toml(rules_doc(), 2)
    assert text.startswith("# ticketdesk rules, version 2 (load with `ticketdesk rules import FILE`)\n\n")
    assert tomllib.loads(text) == rules_doc()
    none = rules_toml({}, 0)
    assert none.startswith("# No rules are stored:")
    assert tomllib.loads(none) == {"sweep": parse_rules_document({}).sweep.to_dict()}


def test_the_readme_names_every_automation_action_and_condition() -> None:
    """A new user finds the action keys in the README, not through error messages; this
    keeps the list whole when an action or a condition field is added."""
    from pathlib import Path

    from ticketdesk.rules.automation import ACTIONS, SET_FIELDS
    from ticketdesk.rules.automation_conditions import FIELDS, OPS

    readme = Path(__file__).resolve().parents[2].joinpath("README.md").read_text(encoding="utf-8")
    listed = readme[readme.index("What a rule may say, in full:") :][:2000]
    for name in (*ACTIONS, *SET_FIELDS, *FIELDS, *OPS):
        assert f"`{name}`" in listed, name
