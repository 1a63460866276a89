"""Routing rules (parsing with pointed errors, first match wins, Chinese keywords) and
assignment within a team (round robin, least open, skills), without a database."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketdesk.rules.routing import (
    ASSIGN_STRATEGIES,
    Candidate,
    RoutingRule,
    TicketFacts,
    pick_assignee,
    route,
)

CREATED = datetime(2026, 3, 18, 2, 0, tzinfo=UTC)


def facts(**changes: object) -> TicketFacts:
    base = TicketFacts(
        number="202603001",
        subject="Printer on floor 3 not printing",
        description="Paper jam light is on.",
        type="incident",
        category="hardware",
        priority="P2",
        status="new",
        channel="email",
        team=None,
        assignee=None,
        support_level="L1",
        tags=frozenset(),
        customer_vip=False,
        organisation="ACME Ltd",
        created_at=CREATED,
        updated_at=CREATED,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def rule(**data: object) -> RoutingRule:
    return RoutingRule.from_dict({"name": "r", "team": "support", **data})


# --- parsing ---------------------------------------------------------------------------


def test_from_dict_normalises_and_round_trips() -> None:
    r = RoutingRule.from_dict(
        {
            "name": "  Printers  ",
            "types": ["incident", "service_request"],
            "channels": ["Phone", "walk-in"],
            "keywords": "打印机",
            "team": "support",
            "support_level": "l2",
            "skills": ["printing", "printing"],
        },
        where="routing[2]",
    )
    assert r.name == "Printers"
    assert r.channels == frozenset({"phone", "walk_in"})
    assert r.keywords == ("打印机",)
    assert r.support_level == "L2"
    assert r.skills == ("printing",)
    assert RoutingRule.from_dict(r.to_dict()) == r
    assert r.to_dict()["channels"] == ["phone", "walk_in"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"name": "Printers", "channels": ["phone", "fax"], "team": "support"},
            "routing[2] 'Printers'.channels[1]: 'fax' is not a channel (phone, email, web, chat, walk_in)",
        ),
        ({"name": "Printers", "team": "support", "support_level": "L4"}, "routing[2] 'Printers'.support_level: 'L4'"),
        ({"name": "Printers", "keywords": ["printer"]}, "routing[2] 'Printers': a routing rule needs a team"),
        ({"name": "Printers", "team": "support", "keyword": ["x"]}, "routing[2] 'Printers'.keyword: unknown routing"),
        ({"name": "Printers", "team": "support", "keywords": [""]}, "routing[2] 'Printers'.keywords[0]: expected"),
        ({"name": "Printers", "team": "support", "types": 3}, "routing[2] 'Printers'.types: expected a list"),
        ({"name": "Printers", "team": ""}, "routing[2] 'Printers'.team: expected a team key"),
        ({"team": "support"}, "routing[2].name: a rule needs a name"),
        ("nope", "routing[2]: expected a table"),
    ],
)
def test_errors_point_at_the_entry(data: object, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        RoutingRule.from_dict(data, where="routing[2]")  # type: ignore[arg-type]
    assert str(exc.value).startswith(message)


# --- matching --------------------------------------------------------------------------


def test_keywords_match_chinese_and_ignore_case() -> None:
    printers = rule(keywords=["打印机"])
    assert printers.matches(facts(subject="办公室打印机坏了", description=""))
    assert printers.matches(facts(subject="求助", description="三楼的打印机卡纸"))
    assert not printers.matches(facts(subject="邮箱无法登录", description=""))
    assert rule(keywords=["VPN"]).matches(facts(subject="vpn drops every hour"))
    assert rule(keywords=["ＶＰＮ"]).matches(facts(subject="VPN drops"))  # full-width keyword
    assert rule(keywords=["floor 3"]).matches(facts(subject="Printer on floor   3"))
    assert rule(keywords=["wifi", "printer"]).matches(facts(subject="Printer jams"))  # any keyword


def test_all_criteria_must_hold_case_insensitively() -> None:
    r = rule(types=["Incident"], categories=["HARDWARE"], channels=["email"], organisations=["acme ltd"])
    assert r.matches(facts())
    assert not r.matches(facts(type="question"))
    assert not r.matches(facts(category=None))
    assert not r.matches(facts(channel="phone"))
    assert not r.matches(facts(organisation=None))
    assert rule().matches(facts())  # no criteria: a catch-all


def test_match_reason_names_what_matched() -> None:
    r = rule(name="Printers", types=["incident"], keywords=["printer", "打印机"])
    assert r.match_reason(facts(subject="打印机坏了")) == "rule 'Printers': type incident, keyword '打印机'"
    assert r.match_reason(facts(subject="VPN")) is None
    assert rule(name="All").match_reason(facts()) == "rule 'All': matches every ticket"


def test_route_takes_the_first_match_in_order() -> None:
    vpn = rule(name="VPN", keywords=["vpn"], team="ops")
    printers = rule(name="Printers", keywords=["printer"], team="support", support_level="L2")
    fallback = rule(name="Everything else", team="servicedesk")
    rules = [vpn, printers, fallback]
    assert route(rules, facts()) is printers
    assert route(rules, facts(subject="VPN and printer both down")) is vpn
    assert route(rules, facts(subject="Mailbox full", description="")) is fallback
    assert route([vpn, printers], facts(subject="Mailbox full", description="")) is None
    assert route([], facts()) is None


# --- assignment ------------------------------------------------------------------------

TEAM = [
    Candidate("carol", 5, frozenset({"Network", "VPN"}), True),
    Candidate("alice", 2, frozenset({"printing"}), True),
    Candidate("dave", 0, frozenset({"vpn", "network", "linux"}), False),
    Candidate("bob", 2, frozenset({"network"}), True),
]


def pick(strategy: str, last: str | None = None, wanted: set[str] | None = None) -> tuple[str, str] | None:
    return pick_assignee(strategy, TEAM, last_assigned=last, wanted_skills=frozenset(wanted or ()))


def test_round_robin_goes_in_login_order_and_wraps() -> None:
    assert pick("round_robin") == ("alice", "round robin, first in line")
    assert pick("round_robin", "alice") == ("bob", "round robin after alice")
    assert pick("round_robin", "bob") == ("carol", "round robin after bob")  # dave is inactive
    assert pick("round_robin", "carol") == ("alice", "round robin after carol")
    assert pick("round_robin", "dave") == ("alice", "round robin after dave")
    assert pick("round_robin", "bert") == ("bob", "round robin after bert")  # left the team


def test_least_open_breaks_ties_by_login() -> None:
    assert pick("least_open") == ("alice", "least open tickets (2)")


def test_skills_most_matched_then_least_open() -> None:
    login, reason = pick("skills", wanted={"vpn", "NETWORK"})  # type: ignore[misc]
    assert login == "carol"  # dave matches too but is inactive
    assert reason == "skills match 2/2 (network, vpn), 5 open"
    assert pick("skills", wanted={"network"})[0] == "bob"  # type: ignore[index]  # bob 2 open, carol 5
    assert pick("skills", wanted={"printing"})[0] == "alice"  # type: ignore[index]
    assert pick("skills", wanted={"sap"}) == ("alice", "nobody has sap; least open tickets (2)")
    assert pick("skills") == ("alice", "no skills wanted; least open tickets (2)")


def test_none_nobody_active_and_unknown_strategy() -> None:
    assert pick("none") is None
    idle = [dataclasses.replace(c, active=False) for c in TEAM]
    for strategy in ASSIGN_STRATEGIES:
        assert pick_assignee(strategy, idle, last_assigned=None, wanted_skills=frozenset()) is None
    assert pick_assignee("least_open", [], last_assigned=None, wanted_skills=frozenset()) is None
    with pytest.raises(ValueError, match="'random' is not an assignment strategy"):
        pick("random")


# --- properties ------------------------------------------------------------------------

words = st.sampled_from(["printer", "vpn", "打印机", "邮箱", "wifi", "sap"])
rules_st = st.lists(
    st.builds(
        RoutingRule,
        name=st.sampled_from(["a", "b", "c"]),
        types=st.frozensets(st.sampled_from(["incident", "question"]), max_size=2),
        channels=st.frozensets(st.sampled_from(["email", "phone"]), max_size=2),
        keywords=st.lists(words, max_size=2).map(tuple),
        team=st.just("support"),
    ),
    max_size=5,
)
facts_st = st.builds(
    facts,
    subject=st.lists(words, max_size=3).map(" ".join),
    type=st.sampled_from(["incident", "question"]),
    channel=st.sampled_from(["email", "phone"]),
)


@settings(max_examples=150, deadline=None)
@given(rules_st, facts_st)
def test_route_returns_the_first_matching_rule(rules: list[RoutingRule], ticket: TicketFacts) -> None:
    chosen = route(rules, ticket)
    matching = [i for i, r in enumerate(rules) if r.matches(ticket)]
    if chosen is None:
        assert not matching
    else:
        assert chosen.matches(ticket)
        assert rules.index(chosen) == matching[0]


candidates_st = st.lists(
    st.builds(
        Candidate,
        login=st.text("abcxyz", min_size=1, max_size=4),
        open_count=st.integers(0, 20),
        skills=st.frozensets(st.sampled_from(["vpn", "network", "printing"]), max_size=3),
        active=st.booleans(),
    ),
    max_size=8,
    unique_by=lambda c: c.login,
)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(ASSIGN_STRATEGIES),
    candidates_st,
    st.none() | st.text("abcxyz", max_size=4),
    st.frozensets(st.sampled_from(["vpn", "network", "printing", "sap"]), max_size=2),
)
def test_never_an_inactive_agent_and_deterministic(
    strategy: str, candidates: list[Candidate], last: str | None, wanted: frozenset[str]
) -> None:
    picked = pick_assignee(strategy, candidates, last_assigned=last, wanted_skills=wanted)
    active = {c.login for c in candidates if c.active}
    if strategy == "none" or not active:
        assert picked is None
        return
    assert picked is not None
    assert picked[0] in active
    assert pick_assignee(strategy, list(reversed(candidates)), last_assigned=last, wanted_skills=wanted) == picked


@settings(max_examples=100, deadline=None)
@given(candidates_st)
def test_round_robin_cycles_through_every_active_agent(candidates: list[Candidate]) -> None:
    active = {c.login for c in candidates if c.active}
    seen: list[str] = []
    last: str | None = None
    for _ in range(2 * len(active)):
        picked = pick_assignee("round_robin", candidates, last_assigned=last, wanted_skills=frozenset())
        assert picked is not None
        last = picked[0]
        seen.append(last)
    n = len(active)
    assert set(seen[:n]) == active  # each one once per round
    assert seen[n:] == seen[:n]  # and the same order again
