"""`ticketdesk sla ...` and `ticketdesk rules ...`: the SLA policy and the rules documents,
managed from the command line, end to end on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ticketdesk.cli import rules as cli_rules
from ticketdesk.store import Conflict, NewTicket, NotFound, Store
from ticketdesk.store.sla.policies import rules_with_active

from .test_cli import fails, ok

SLA_TOML = """\
warning = "45m"
default_calendar = "office"
always_24x7 = ["P0"]

[calendars.office]
timezone = "Asia/Shanghai"
hours = ["09:00-12:00", "13:30-18:00"]
country = "CN"
closed_days = [2026-10-09]          # a TOML date works as well as a string

[targets.P1]
first_response = "2h"

[vip.P0]
first_response = "15m"

[teams.support]
calendar = "office"

[teams.support.targets.P2]
first_response = "6h"
resolution = "2bd"
"""

RULES_TOML = """\
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
actions = [
    { action = "template", name = "Acknowledge" },
    { action = "assign", to = "alice" },
    { action = "set", field = "team", value = "support" },
]

[sweep]
close_pending_after_days = 10
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def sla_json(db_url: str) -> dict[str, Any]:
    return json.loads(ok(db_url, "sla", "show", "--format", "json"))


def body(toml_text: str) -> dict[str, Any]:
    """An exported document, read back (its header is a comment)."""
    return tomllib.loads(toml_text)


# --- sla ------------------------------------------------------------------------------


def test_sla_show_without_a_policy_is_the_commented_defaults(store: Store, db_url: str, tmp_path: Path) -> None:
    shown = ok(db_url, "sla", "show")
    assert shown == ok(db_url, "sla", "export")
    lines = shown.splitlines()
    assert all(line.startswith("#") for line in lines)
    assert "the built-in defaults are in force" in shown and "SPEC" not in shown  # no document they lack
    assert tomllib.loads(shown) == {}  # all comments: importing it as it is changes nothing
    # Uncommented, it is a valid policy: the defaults plus the example calendar and team.
    example = "\n".join(line.removeprefix("#").removeprefix(" ") for line in lines[lines.index("#") + 1 :])
    doc = tomllib.loads(example)
    assert doc["targets"]["P1"] == {"first_response": "4h", "resolution": "1bd"}
    assert doc["targets"]["P3"] == {"first_response": "24h", "resolution": "10bd"}
    assert doc["vip"] == {"P0": {"first_response": "30m"}}
    assert ok(db_url, "sla", "import", write(tmp_path, "sla.toml", example)) == (
        f"imported {tmp_path / 'sla.toml'} as the SLA policy (version 1)\n"
    )
    assert sla_json(db_url) == doc


def test_sla_show_json_without_a_policy_is_the_defaults(store: Store, db_url: str) -> None:
    data = sla_json(db_url)
    assert data["warning"] == "1h" and data["always_24x7"] == ["P0"]
    assert data["targets"]["P0"] == {"first_response": "1h", "resolution": "4h"}
    assert data["targets"]["P2"] == {"first_response": "8h", "resolution": "3bd"}
    assert data["vip"]["P0"] == {"first_response": "30m"}


def test_sla_import_export_round_trip(store: Store, db_url: str, tmp_path: Path) -> None:
    out = ok(db_url, "sla", "import", write(tmp_path, "sla.toml", SLA_TOML))
    assert out.endswith("as the SLA policy (version 1)\n")
    exported = ok(db_url, "sla", "export")
    assert exported.startswith("# ticketdesk SLA policy, version 1")
    expected = tomllib.loads(SLA_TOML)
    expected["calendars"]["office"]["closed_days"] = ["2026-10-09"]
    assert body(exported) == expected
    assert sla_json(db_url) == expected
    assert exported == ok(db_url, "sla", "show", "--format", "toml")
    # Reading in what was exported (here from stdin) changes nothing but the version.
    assert ok(db_url, "sla", "import", "-", input=exported) == "imported stdin as the SLA policy (version 2)\n"
    assert ok(db_url, "sla", "export") == exported.replace("version 1", "version 2")
    # Keys come back in reading order, not alphabetically as stored.
    keys = [line.split(" ")[0] for line in exported.splitlines() if " = " in line]
    assert keys[:3] == ["warning", "default_calendar", "always_24x7"]


def test_sla_set_warning_and_calendar_edit_one_entry(store: Store, db_url: str, tmp_path: Path) -> None:
    ok(db_url, "sla", "import", write(tmp_path, "sla.toml", SLA_TOML))
    out = ok(db_url, "sla", "set", "--priority", "p1", "--team", "support", "--vip",
             "--first-response", "1h", "--resolution", "1bd")  # fmt: skip
    assert out == "P1 (team support, VIP customers): first response 1h, resolution 1bd (SLA policy version 2)\n"
    assert sla_json(db_url)["teams"]["support"]["vip"] == {"P1": {"first_response": "1h", "resolution": "1bd"}}

    ok(db_url, "sla", "set", "-p", "P3", "--resolution", "5bd")
    ok(db_url, "sla", "set", "-p", "P1", "--first-response", "default")  # drops the entry: default again
    data = sla_json(db_url)
    assert data["targets"] == {"P3": {"resolution": "5bd"}}
    ok(db_url, "sla", "set", "-p", "P2", "--vip", "--first-response", "2h")
    assert sla_json(db_url)["vip"] == {"P0": {"first_response": "15m"}, "P2": {"first_response": "2h"}}

    assert ok(db_url, "sla", "warning", "30m") == "warning lead 30m (SLA policy version 6)\n"
    assert sla_json(db_url)["warning"] == "30m"

    out = ok(db_url, "sla", "calendar", "de-office", "--timezone", "Europe/Berlin", "--hours", "08:00-16:30",
             "--weekdays", "mon,tue,wed,thu", "--country", "DE", "--subdivision", "BY",
             "--closed", "2026-12-24,2026-12-31", "--extra-working", "2026-12-27", "--default",
             "--team", "ops")  # fmt: skip
    assert out == "added calendar 'de-office', now the default and team ops's (SLA policy version 7)\n"
    data = sla_json(db_url)
    assert data["calendars"]["de-office"] == {
        "timezone": "Europe/Berlin", "weekdays": ["mon", "tue", "wed", "thu"], "hours": ["08:00-16:30"],
        "country": "DE", "subdivision": "BY", "closed_days": ["2026-12-24", "2026-12-31"],
        "extra_working_days": ["2026-12-27"],
    }  # fmt: skip
    assert data["default_calendar"] == "de-office" and data["teams"]["ops"] == {"calendar": "de-office"}

    out = ok(db_url, "sla", "calendar", "de-office", "--hours", "08:00-12:00,13:00-17:00", "--country", "none")
    assert out == "updated calendar 'de-office' (SLA policy version 8)\n"
    cal = sla_json(db_url)["calendars"]["de-office"]
    assert cal["hours"] == ["08:00-12:00", "13:00-17:00"] and cal["timezone"] == "Europe/Berlin"
    assert "country" not in cal and "subdivision" not in cal  # no country, no subdivision
    assert sla_json(db_url)["calendars"]["office"]["country"] == "CN"  # the others untouched


def test_the_stored_policy_is_the_one_tickets_use(store: Store, db_url: str) -> None:
    ok(db_url, "sla", "set", "-p", "P0", "--first-response", "20m", "--resolution", "3h")  # P0 runs 24x7
    number = store.tickets.create(NewTicket(subject="Mail server down", priority="P0"))
    row = store.tickets.get(number).row
    assert row.first_response_due - row.created_at == timedelta(minutes=20)
    assert row.resolution_due - row.created_at == timedelta(hours=3)


def test_sla_errors_are_one_line_and_write_nothing(store: Store, db_url: str, tmp_path: Path) -> None:
    ok(db_url, "sla", "import", write(tmp_path, "sla.toml", SLA_TOML))
    before = ok(db_url, "sla", "export")

    err = fails(db_url, "sla", "set", "-p", "P1", "--team", "support", "--first-response", "2x")
    assert err == (
        "ticketdesk: error: sla: teams.support.targets.P1.first_response: '2x' is not a duration"
        " (use 30m, 4h, 2d or 2bd)"
    )
    assert "unknown priority 'P9'" in fails(db_url, "sla", "set", "-p", "P9", "--first-response", "1h")
    assert "give --first-response and/or --resolution" in fails(db_url, "sla", "set", "-p", "P1")
    err = fails(db_url, "sla", "set", "-p", "P1", "--team", "helpdesk", "--first-response", "1h")
    assert "sla: unknown team 'helpdesk' in teams.helpdesk (known: ops, product, rnd, servicedesk, support)" in err
    err = fails(db_url, "sla", "set", "-p", "P1", "--team", "Technical Support", "--first-response", "1h")
    assert "did you mean 'support'?" in err  # a team's name is not its key
    assert "sla: warning: 'soon' is not a duration" in fails(db_url, "sla", "warning", "soon")
    err = fails(db_url, "sla", "calendar", "night")
    assert "calendar 'night' does not exist yet: give its time zone and working hours" in err
    err = fails(db_url, "sla", "calendar", "mars", "--timezone", "Mars/Base", "--hours", "09:00-17:00")
    assert "sla: calendars.mars.timezone: Mars/Base is not a known time zone" in err
    err = fails(db_url, "sla", "calendar", "office", "--hours", "9-5")
    assert "sla: calendars.office.hours[0]: '9' is not a time of day" in err
    err = fails(db_url, "sla", "calendar", "office", "--closed", "2026-13-01")
    assert "calendars.office.closed_days[0]: '2026-13-01' is not a date" in err
    err = fails(db_url, "sla", "calendar", "office", "--team", "nope")
    assert "unknown team 'nope' in teams.nope" in err

    broken = write(tmp_path, "broken.toml", 'warning = "1h"\n\n[targets\nP1 = 1\n')
    assert fails(db_url, "sla", "import", broken) == (
        f"ticketdesk: error: {broken}: line 3: Expected ']' at the end of a table declaration (column 9)"
    )
    err = fails(db_url, "sla", "import", write(tmp_path, "typo.toml", 'warnign = "1h"\n'))
    assert err.startswith("ticketdesk: error: sla: warnign: unknown SLA setting (known: warning, ")
    err = fails(db_url, "sla", "import", write(tmp_path, "bad.toml", '[targets.P7]\nresolution = "1h"\n'))
    assert "sla: targets.P7: 'P7' is not a priority (P0, P1, P2, P3)" in err
    missing = str(tmp_path / "missing.toml")
    assert f"{missing}: no such file" in fails(db_url, "sla", "import", missing)
    latin = tmp_path / "latin1.toml"
    latin.write_bytes('warning = "1h" # caf\xe9\n'.encode("latin-1"))
    assert f"{latin}: not UTF-8 text" in fails(db_url, "sla", "import", str(latin))

    # An agent may read the policy but not change it.
    assert ok(db_url, "sla", "show", login="alice") == before
    refused = "only an admin may change the sla settings"
    assert refused in fails(db_url, "sla", "import", write(tmp_path, "ok.toml", SLA_TOML), login="alice")
    assert refused in fails(db_url, "sla", "import", write(tmp_path, "ok.toml", SLA_TOML), login="lena")  # a lead
    assert refused in fails(db_url, "sla", "set", "-p", "P1", "--first-response", "1h", login="alice")
    assert refused in fails(db_url, "sla", "warning", "10m", login="alice")
    assert refused in fails(db_url, "sla", "calendar", "office", "--country", "none", login="bob")

    assert ok(db_url, "sla", "export") == before  # still version 1, as imported


# --- rules ------------------------------------------------------------------------------


def test_rules_import_export_round_trip(store: Store, db_url: str, tmp_path: Path) -> None:
    out = ok(db_url, "rules", "import", write(tmp_path, "rules.toml", RULES_TOML))
    assert out.endswith(": 2 routing rules, 2 automations, 1 team strategy (rules version 1)\n")
    exported = ok(db_url, "rules", "export")
    assert exported.startswith("# ticketdesk rules, version 1")
    assert body(exported) == tomllib.loads(RULES_TOML)
    # As people write it: names first, one condition per line, short lists on one line.
    assert '[[routing]]\nname = "Printers"\ntypes = ["incident"]\nkeywords = ["printer", "打印机"]\n' in exported
    assert '    {field = "status", op = "in", value = ["open", "in_progress"]},\n' in exported
    assert ok(db_url, "rules", "import", "-", input=exported).endswith("(rules version 2)\n")
    assert ok(db_url, "rules", "export") == exported.replace("version 1", "version 2")


def test_rules_export_without_rules_shows_the_sweep_defaults(store: Store, db_url: str) -> None:
    exported = ok(db_url, "rules", "export")
    assert body(exported) == {
        "sweep": {
            "close_resolved_after_days": 7, "close_pending_after_days": 14,
            "pending_close_template": "Closing - no response", "escalate_on_breach": True,
            "escalate_after_hours_without_update": 24,
        }
    }  # fmt: skip
    assert ok(db_url, "rules", "list") == (
        "sweep\tclose_resolved_after_days\t7\nsweep\tclose_pending_after_days\t14\n"
        'sweep\tpending_close_template\t"Closing - no response"\nsweep\tescalate_on_breach\ttrue\n'
        "sweep\tescalate_after_hours_without_update\t24\n"
    )


def test_rules_list_and_show(store: Store, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ok(db_url, "rules", "import", write(tmp_path, "rules.toml", RULES_TOML))
    lines = ok(db_url, "rules", "list", login="alice").splitlines()  # piped: one tab-separated line each
    assert lines[:5] == [
        "routing\t1\tPrinters\ttypes incident; keywords printer, 打印机\tteam support",
        "routing\t2\tBilling\tcategories billing\tteam ops, level L2",
        "automation\t1\tStale P1\ttime\ton\tpriority is P1 and status in [open, in_progress] and"
        " hours_since_updated gte 4\tescalate management; add_tag stale",
        "automation\t2\tWelcome\tcreated\ton\talways\ttemplate 'Acknowledge'; assign alice; set team support",
        "team\tsupport\tleast_open",
    ]
    assert "sweep\tclose_pending_after_days\t10" in lines

    data = json.loads(ok(db_url, "rules", "list", "--format", "json"))
    assert data["version"] == 1
    assert [(r["position"], r["name"]) for r in data["routing"]] == [(1, "Printers"), (2, "Billing")]
    assert [(r["name"], r["trigger"], r["active"]) for r in data["automation"]] == [
        ("Stale P1", "time", True),
        ("Welcome", "created", True),
    ]
    assert data["teams"] == {"support": {"assign": "least_open"}}
    assert data["sweep"]["close_pending_after_days"] == 10 and data["sweep"]["close_resolved_after_days"] == 7

    shown = ok(db_url, "rules", "show", "stale  P1")  # any case, any spacing
    assert shown.startswith('# automation rule 1 of 2, on\n[[automation]]\nname = "Stale P1"\n')
    assert tomllib.loads(shown)["automation"][0] == tomllib.loads(RULES_TOML)["automation"][0]
    data = json.loads(ok(db_url, "rules", "show", "printers", "--format", "json"))
    assert (data["kind"], data["position"], data["team"]) == ("routing", 1, "support")

    monkeypatch.setattr(cli_rules, "is_terminal", lambda: True)  # a terminal: Rich tables under titles
    table = ok(db_url, "rules", "list")
    for title in ("Routing (first match wins)", "Automations", "Assignment within teams", "Sweep"):
        assert title in table
    assert "Printers" in table and "least_open" in table


def test_rules_enable_disable_remove_assign(store: Store, db_url: str, tmp_path: Path) -> None:
    ok(db_url, "rules", "import", write(tmp_path, "rules.toml", RULES_TOML))
    assert ok(db_url, "rules", "disable", "stale p1") == ("disabled automation 'stale p1' (rules version 2)\n")
    assert "Stale P1\ttime\toff\t" in ok(db_url, "rules", "list")
    assert "active = false" in ok(db_url, "rules", "show", "Stale P1")
    assert ok(db_url, "rules", "show", "Stale P1").startswith("# automation rule 1 of 2, off (disabled)\n")
    ok(db_url, "rules", "enable", "Stale P1")
    assert "active" not in body(ok(db_url, "rules", "export"))["automation"][0]

    assert ok(db_url, "rules", "assign", "ops", "round_robin") == "team ops assigns by round_robin (rules version 4)\n"
    ok(db_url, "rules", "assign", "support", "none")
    teams = body(ok(db_url, "rules", "export"))["teams"]
    assert teams == {"support": {"assign": "none"}, "ops": {"assign": "round_robin"}}

    assert ok(db_url, "rules", "remove", "BILLING") == "removed routing rule 'BILLING' (rules version 6)\n"
    ok(db_url, "rules", "remove", "Welcome")
    doc = body(ok(db_url, "rules", "export"))
    assert [r["name"] for r in doc["routing"]] == ["Printers"]
    assert [r["name"] for r in doc["automation"]] == ["Stale P1"]


def test_rules_errors_are_one_line_and_write_nothing(store: Store, db_url: str, tmp_path: Path) -> None:
    ok(db_url, "rules", "import", write(tmp_path, "rules.toml", RULES_TOML))
    before = ok(db_url, "rules", "export")

    def bad(text: str) -> str:
        return fails(db_url, "rules", "import", write(tmp_path, "bad.toml", text))

    broken = write(tmp_path, "broken.toml", '[[routing]]\nname = "Printers"\nteam = support\n')
    assert fails(db_url, "rules", "import", broken) == (
        f"ticketdesk: error: {broken}: line 3: Invalid value (column 8)"
    )
    assert bad('[[routing]]\nname = "Printers"\nteam = "x"\n') == (
        "ticketdesk: error: rules: unknown team 'x' in routing[0] 'Printers'.team"
        " (known: ops, product, rnd, servicedesk, support)"
    )
    assert "rules: routing[0] 'Printers'.channels[0]: 'fax' is not a channel" in bad(
        '[[routing]]\nname = "Printers"\nchannels = ["fax"]\nteam = "ops"\n'
    )
    assert "unknown ticket type 'bug' in routing[0] 'Bugs'.types" in bad(
        '[[routing]]\nname = "Bugs"\ntypes = ["bug"]\nteam = "rnd"\n'
    )
    rule = '[[automation]]\nname = "R"\ntrigger = "created"\nactions = [{ action = %s }]\n'
    err = bad(rule % '"template", name = "Thanks"')
    assert "rules: unknown reply template 'Thanks' in automation[0] 'R'.actions[0].name (known: 'Acknowledge'," in err
    err = bad(rule % '"assign", to = "zoe"')
    assert "rules: unknown agent 'zoe' in automation[0] 'R'.actions[0].to (known: admin, alice, bob, lena;" in err
    err = bad(rule % '"set", field = "team", value = "qa"')
    assert "unknown team 'qa' in automation[0] 'R'.actions[0].value" in err
    err = bad(rule % '"set", field = "type", value = "bug"')
    assert "unknown ticket type 'bug' in automation[0] 'R'.actions[0].value (known: complaint, incident," in err
    assert "unknown team 'helpdesk' in teams.helpdesk" in bad('[teams.helpdesk]\nassign = "least_open"\n')
    assert "unknown reply template 'Bye' in sweep.pending_close_template" in bad(
        '[sweep]\npending_close_template = "Bye"\n'
    )
    assert "rules: escalations: unknown section (known: teams, routing, automation, sweep)" in bad("[escalations]\n")

    err = fails(db_url, "rules", "assign", "support", "fastest")
    assert "rules: teams.support.assign: 'fastest' is not a strategy (none, round_robin, least_open, skills)" in err
    assert "unknown team 'nope' in teams.nope" in fails(db_url, "rules", "assign", "nope", "least_open")
    err = fails(db_url, "rules", "enable", "Nope")
    assert "no automation rule named 'Nope' (routing: 'Printers', 'Billing'; automation: 'Stale P1', 'Welcome')" in err
    assert "'Printers' is a routing rule" in fails(db_url, "rules", "disable", "Printers")
    assert "no rule named 'Nope'" in fails(db_url, "rules", "remove", "Nope")
    assert "no rule named 'Nope'" in fails(db_url, "rules", "show", "Nope")
    assert f"{tmp_path / 'none.toml'}: no such file" in fails(db_url, "rules", "import", str(tmp_path / "none.toml"))

    # An agent may read the rules but not change them.
    assert ok(db_url, "rules", "export", login="alice") == before
    refused = "only an admin may change the rules settings"
    assert refused in fails(db_url, "rules", "import", write(tmp_path, "ok.toml", RULES_TOML), login="alice")
    assert refused in fails(db_url, "rules", "disable", "Stale P1", login="lena")  # a lead
    assert refused in fails(db_url, "rules", "disable", "Stale P1", login="alice")
    assert refused in fails(db_url, "rules", "enable", "Stale P1", login="bob")
    assert refused in fails(db_url, "rules", "remove", "Printers", login="alice")
    assert refused in fails(db_url, "rules", "assign", "ops", "least_open", login="alice")

    assert ok(db_url, "rules", "export") == before  # still version 1, as imported


def test_a_name_used_by_a_routing_and_an_automation_rule(store: Store, db_url: str, tmp_path: Path) -> None:
    text = RULES_TOML + '\n[[routing]]\nname = "Welcome"\nteam = "servicedesk"\n'
    ok(db_url, "rules", "import", write(tmp_path, "rules.toml", text))
    assert "say which" in fails(db_url, "rules", "remove", "welcome")
    assert json.loads(ok(db_url, "rules", "show", "welcome", "--kind", "routing", "--format", "json"))["position"] == 3
    ok(db_url, "rules", "disable", "welcome")  # only automations can be disabled: no doubt which
    assert ok(db_url, "rules", "remove", "welcome", "--kind", "routing").startswith("removed routing rule")
    doc = body(ok(db_url, "rules", "export"))
    assert [r["name"] for r in doc["routing"]] == ["Printers", "Billing"]
    assert doc["automation"][1] == {**tomllib.loads(RULES_TOML)["automation"][1], "active": False}


def test_a_stale_version_is_a_conflict(store: Store) -> None:
    doc, version = store.policies.sla()
    assert (doc, version) == ({}, 0)
    assert store.policies.set_sla({"warning": "30m"}, expected_version=version) == 1
    with pytest.raises(Conflict, match="changed by someone else"):
        store.policies.set_sla({"warning": "2h"}, expected_version=version)
    assert store.policies.sla() == ({"warning": "30m"}, 1)
    assert store.policies.set_rules({"teams": {"ops": {"assign": "skills"}}}) == 1
    with pytest.raises(Conflict):
        store.policies.set_rules({}, expected_version=0)
    assert store.policies.rules() == ({"teams": {"ops": {"assign": "skills"}}}, 1)


def test_an_edit_is_one_transaction_so_concurrent_edits_both_land(store: Store) -> None:
    """Two leads change one entry each at the same time: the second waits for the first and
    edits its result; neither change is lost, and neither is told to reload."""
    store.policies.set_rules({"teams": {"ops": {"assign": "skills"}}})
    other = Store.open(store.db.url, login=store.login)  # another process, in effect: its own engine
    inside, release = threading.Event(), threading.Event()

    def slow(doc: dict[str, Any]) -> dict[str, Any]:
        inside.set()  # read, row locked; now let the other editor try
        assert release.wait(10)
        return {**doc, "teams": {**doc["teams"], "support": {"assign": "least_open"}}}

    results: list[Any] = []
    first = threading.Thread(target=lambda: results.append(store.policies.edit_rules(slow)))
    first.start()
    assert inside.wait(10)
    second = threading.Thread(
        target=lambda: results.append(
            other.policies.edit_rules(lambda doc: {**doc, "teams": {**doc["teams"], "ops": {"assign": "none"}}})
        )
    )
    second.start()
    time.sleep(0.3)  # the second editor is waiting for the first one's transaction
    release.set()
    first.join(20)
    second.join(20)
    other.close()
    assert sorted(change.version for change in results) == [2, 3]
    assert store.policies.rules() == ({"teams": {"ops": {"assign": "none"}, "support": {"assign": "least_open"}}}, 3)
    last = max(results, key=lambda change: change.version)
    assert last.before["teams"]["support"] == {"assign": "least_open"}  # it edited the first one's result


def test_an_edit_returns_the_document_before_and_after(store: Store) -> None:
    change = store.policies.edit_sla(lambda doc: {**doc, "warning": "20m"})
    assert (change.before, change.after, change.version) == ({}, {"warning": "20m"}, 1)
    with pytest.raises(NotFound, match="no automation rule named 'x'"):
        store.policies.edit_rules(lambda doc: rules_with_active(doc, "x", True))
    assert store.policies.rules() == ({}, 0)  # nothing written


def test_rule_names_are_shown_literally(store: Store, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ok(db_url, "rules", "import", "-", input='[[routing]]\nname = "[red]Boom[/red]"\nteam = "ops"\n')
    assert "routing\t1\t[red]Boom[/red]\tevery ticket\tteam ops\n" in ok(db_url, "rules", "list")
    monkeypatch.setattr(cli_rules, "is_terminal", lambda: True)
    assert "[red]Boom[/red]" in ok(db_url, "rules", "list")  # Rich markup in a name is text, not style


def test_sla_explain_text_json_and_the_agents_time_zone(
    store: Store, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    ok(db_url, "sla", "import", write(tmp_path, "sla.toml", SLA_TOML))
    created = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)  # Wed 10:00 in Shanghai
    number = store.tickets.create(NewTicket(subject="VPN", priority="P1", team="support"), now=created)
    text = ok(db_url, "sla", "explain", number)
    assert text.splitlines()[:3] == [
        f"SLA of ticket {number}: P1, team support, new",
        "calendar office (team support's calendar): Mon, Tue, Wed, Thu, Fri 09:00–12:00, 13:30–18:00"
        " Asia/Shanghai; CN public holidays and make-up workdays; 1 extra closed day(s)",
        "times in Asia/Shanghai (UTC+08:00)",
    ]
    assert "First response: target 2h ([targets.P1])\n  breached: due Wed 09-30 12:00, still running\n" in text
    assert "  Wed 09-30 10:00 → 12:00" in text
    data = json.loads(ok(db_url, "sla", "explain", number, "-f", "json"))
    first = data["clocks"][0]
    assert (data["desk_timezone"], first["state"]) == ("Asia/Shanghai", "breached")
    assert first["due"] == "2026-09-30T04:00:00+00:00"
    assert first["timeline"][0] == {
        "kind": "running", "from": "2026-09-30T02:00:00+00:00", "to": "2026-09-30T04:00:00+00:00",
        "business_seconds": 7200, "note": "",
    }  # fmt: skip
    monkeypatch.setenv("TICKETDESK_CONFIG", write(tmp_path, "config.toml", '[ui]\ntimezone = "Europe/Berlin"\n'))
    berlin = ok(db_url, "sla", "explain", number)
    assert "times in Europe/Berlin (UTC+0" in berlin and "  Wed 09-30 04:00 → 06:00" in berlin  # CEST then
    assert fails(db_url, "sla", "explain", "999") == "ticketdesk: error: ticket 999 not found"
    monkeypatch.setenv("TICKETDESK_CONFIG", write(tmp_path, "bad.toml", '[ui]\ntimezone = "Mars/Base"\n'))
    assert "[ui] timezone: Mars/Base is not a known time zone" in fails(db_url, "sla", "explain", number)


def test_show_and_list_give_times_in_the_desks_zone_labelled(store: Store, db_url: str, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    created = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)
    number = store.tickets.create(NewTicket(subject="VPN", priority="P1", team="support"), now=created)
    assert "2026-09-30 02:00   (times in UTC)" in ok(db_url, "show", number)  # no policy: UTC
    ok(db_url, "sla", "import", write(tmp_path, "sla.toml", SLA_TOML))  # the desk is in Shanghai now
    shown = ok(db_url, "show", number)
    assert "created       2026-09-30 10:00   (times in Asia/Shanghai (UTC+08:00))" in shown
    # set on create by the built-in policy: 4 h from 09:00 UTC
    assert "first response due 2026-09-30 21:00" in shown
    assert "2026-09-30 10:00  admin: status: - -> new" in shown  # the timeline too
    listed = ok(db_url, "list")  # piped: tab-separated, the updated time in the desk's zone
    assert listed.rstrip("\n").split("\t")[-1] == "2026-09-30 10:00"
    assert json.loads(ok(db_url, "show", number, "-f", "json"))["created_at"] == "2026-09-30T02:00:00+00:00"
