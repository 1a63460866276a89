"""The demo's ticket writer: draws each ticket (topic, type, priority, team, customer, final
status), writes what it says (texts.py) and what happened to it (timeline.py), and inserts
tickets, tags, comments and events batch by batch in bulk.

A demo ticket is created as the app creates one: its number is reserved with
`reserve_serials`, its row and creation events come from store/tickets/rows.py, as for
`create_ticket`. Then its timeline is replayed onto the row: status, assignee, priority,
timestamps and version move as the store's operations would move them.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Table, func, select
from sqlmodel import Session, SQLModel

from ticketdesk.models import Priority, Status
from ticketdesk.rules import numbering
from ticketdesk.rules.sla_policy import due_dates, pauses
from ticketdesk.store.db.bulk import BulkWriter, insert_rows
from ticketdesk.store.demo import texts, timeline
from ticketdesk.store.demo.people import Customers, DemoAgent
from ticketdesk.store.demo.phrases import Case, phrases
from ticketdesk.store.demo.traffic import (
    CHANNEL_WEIGHTS,
    CHANNELS,
    DAY,
    DEFAULT_LEVELS,
    DEFAULT_PRIORITIES,
    GENERAL_TAGS,
    HOUR,
    LEVELS,
    LEVELS_BY_TEAM,
    LOCAL_OFFSET,
    PRIORITIES,
    PRIORITY_BY_TYPE,
    STATUS_BY_AGE,
    STATUSES,
    cum,
)
from ticketdesk.store.sla import clocks as sla_clocks
from ticketdesk.store.tickets.numbers import reserve_serials
from ticketdesk.store.tickets.rows import FIRST_VERSION, TicketDraft, creation_changes, due_dates_for, new_ticket_row

# Column order of the row tuples the writer builds.
_TICKET_COLUMNS = (
    "id", "number", "subject", "description", "type", "category", "priority", "status", "channel",
    "customer_id", "team_id", "assignee_id", "support_level", "resolution", "merged_into_id", "reopen_count",
    "first_response_due", "resolution_due", "expected_at", "created_at", "updated_at", "status_changed_at",
    "first_responded_at", "resolved_at", "closed_at", "version", "sla_paused_at",
)  # fmt: skip
_COMMENT_COLUMNS = ("id", "ticket_id", "kind", "author_id", "customer_id", "body", "created_at")
_EVENT_COLUMNS = ("ticket_id", "actor_id", "at", "kind", "field", "old", "new", "ticket_version")  # ids: the database's
_TICKET_TAG_COLUMNS = ("ticket_id", "tag_id")
_SURVEY_COLUMNS = (
    "ticket_id", "speed", "efficiency", "attitude", "effectiveness", "overall", "comment", "source", "submitted_at",
    "recorded_by_id",
)  # fmt: skip
#: the share of resolved tickets whose customer answers the satisfaction survey
SURVEY_RATE = 0.3

# A row tuple in the column order above; datetimes already bound for the driver (BulkWriter).
Row = tuple[object, ...]
#: a built ticket's number until `TicketWriter.insert` reserves it
UNNUMBERED = ""


@dataclass
class Built:
    """One batch of tickets as rows, ready to number and insert."""

    times: list[float]
    tickets: list[Row]
    tags: list[Row]
    comments: list[Row]
    events: list[Row]
    surveys: list[Row]


def _table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


def ensure_tags(session: Session) -> dict[str, int]:
    """The tags demo tickets carry (added when missing), by name."""
    tag = _table("tag")
    topics = phrases().topics
    names = sorted({"vip", *GENERAL_TAGS} | {t for topic in topics for t in (*topic.tags, *topic.zh_tags)})
    existing = set(session.execute(select(tag.c.name).where(tag.c.name.in_(names))).scalars())
    missing = [{"name": n} for n in names if n not in existing]
    if missing:
        insert_rows(session, tag, missing)
    return {name: tid for name, tid in session.execute(select(tag.c.name, tag.c.id).where(tag.c.name.in_(names)))}


class TicketWriter:
    """Builds tickets with their tags, comments and events batch by batch and inserts them."""

    def __init__(
        self,
        session: Session,
        rng: random.Random,
        now: datetime,
        team_ids: dict[str, int],
        type_keys: set[str],
        agents: list[DemoAgent],
        customers: Customers,
        tag_ids: dict[str, int],
    ) -> None:
        self.session = session
        self.rng = rng
        self.now_ts = now.timestamp()
        self.team_ids = team_ids
        self.type_keys = type_keys
        self.customers = customers
        self.tag_ids = tag_ids
        self.t_ticket, self.t_tag = _table("ticket"), _table("ticket_tag")
        self.t_comment, self.t_event = _table("comment"), _table("event")
        self.t_survey = _table("survey")
        self.bulk = BulkWriter(session)
        self.policy = sla_clocks.policy(session)
        self.first_ticket = self.next_ticket = self._max_id(self.t_ticket) + 1
        self.first_comment = self.next_comment = self._max_id(self.t_comment) + 1
        self.comments = 0
        self.events = 0
        self.surveys = 0

        self.by_team: dict[str, list[DemoAgent]] = {}
        for agent in agents:
            self.by_team.setdefault(agent.team_key, []).append(agent)
        self.chinese_by_team = {k: [a for a in v if a.chinese] for k, v in self.by_team.items()}
        self.leads = {k: next((a for a in v if a.role == "lead"), v[0]) for k, v in self.by_team.items()}
        self.desk = self.by_team.get("servicedesk") or agents  # who logs calls and e-mails
        staffed = sorted(self.by_team)
        self.fallback_team = "servicedesk" if "servicedesk" in self.by_team else staffed[0]

        self.topics = phrases().topics
        self.topic_cum = cum([t.weight for t in self.topics])
        # Cases by (topic, Chinese?, service request?).
        self.cases: dict[tuple[str, bool, bool], tuple[Case, ...]] = {
            (topic.key, zh, request): topic.cases(chinese=zh, request=request)
            for topic in self.topics
            for zh in (False, True)
            for request in (True, False)
        }
        self.priority_cum = {t.key: cum(t.priorities) for t in self.topics if t.priorities}
        self.type_priority_cum = {k: cum(v) for k, v in PRIORITY_BY_TYPE.items()}
        self.default_priority_cum = cum(DEFAULT_PRIORITIES)
        self.channel_cum = cum(CHANNEL_WEIGHTS)
        self.status_cum = [(limit, cum(w)) for limit, w in STATUS_BY_AGE]
        self.level_cum = {k: cum(v) for k, v in LEVELS_BY_TEAM.items()}
        self.default_level_cum = cum(DEFAULT_LEVELS)
        # Ticket counts per customer follow a power law over a shuffled order.
        self.cust_order = list(range(len(customers.ids)))
        rng.shuffle(self.cust_order)
        zh = [i for i in self.cust_order if customers.chinese[i]]
        self.zh_order = zh or self.cust_order

    def _max_id(self, table: Table) -> int:
        return int(self.session.execute(select(func.max(table.c.id))).scalar_one() or 0)

    def _numbers(self, times: list[float]) -> list[str]:
        """Numbers for tickets created at `times` (ascending), reserved per month as
        `create_ticket` reserves its one: the month's counter moves past them."""
        periods = [numbering.period_of(datetime.fromtimestamp(t, UTC)) for t in times]
        wanted: dict[str, int] = {}
        for period in periods:
            wanted[period] = wanted.get(period, 0) + 1
        serial = {period: reserve_serials(self.session, period, count) for period, count in wanted.items()}
        numbers = []
        for period in periods:
            numbers.append(numbering.format_number(period, serial[period]))
            serial[period] += 1
        return numbers

    # -- one batch: built (no database: it may run in another process), then inserted --

    def build(self, times: list[float]) -> Built:
        """The rows of tickets created at `times`, numbered later by `insert` (the numbers
        are reserved in the database, in the order the batches are inserted)."""
        built = Built(times, [], [], [], [], [])
        for created_ts in times:
            self._ticket(created_ts, UNNUMBERED, built.tickets, built.tags, built.comments, built.events, built.surveys)
        return built

    def insert(self, built: Built) -> None:
        numbers = dict(zip((row[0] for row in built.tickets), self._numbers(built.times), strict=True))
        tickets = [(row[0], numbers[row[0]], *row[2:]) for row in built.tickets]
        # the creation event that sets the number (creation_changes) carries it too
        events = [(*row[:6], numbers[row[0]], row[7]) if row[4] == "number" else row for row in built.events]
        self.bulk.insert(self.t_ticket, _TICKET_COLUMNS, tickets)
        self.bulk.insert(self.t_tag, _TICKET_TAG_COLUMNS, built.tags)
        self.bulk.insert(self.t_comment, _COMMENT_COLUMNS, built.comments)
        self.bulk.insert(self.t_event, _EVENT_COLUMNS, events)
        self.bulk.insert(self.t_survey, _SURVEY_COLUMNS, built.surveys)
        self.comments += len(built.comments)
        self.events += len(events)
        self.surveys += len(built.surveys)

    def _ticket(
        self,
        created_ts: float,
        number: str,
        tickets: list[Row],
        tag_rows: list[Row],
        comment_rows: list[Row],
        event_rows: list[Row],
        survey_rows: list[Row],
    ) -> None:
        rng = self.rng
        rnd = rng.random
        choice = rng.choice
        cust = self.customers
        age = self.now_ts - created_ts

        # About 10% of the tickets are written in Chinese, by customers of Chinese organisations.
        zh = rnd() < 0.10
        order = self.zh_order if zh else self.cust_order
        ci = order[int(len(order) * rnd() ** 1.6)]  # a few customers file many tickets
        zh = zh and cust.chinese[ci]
        vip = cust.vip[ci]
        topic = self.topics[bisect_right(self.topic_cum, rnd() * self.topic_cum[-1])]
        ticket_type = self._weighted_key(topic.types, self.type_keys) or choice(sorted(self.type_keys))
        incident = ticket_type == "incident"
        pcum = self.priority_cum.get(topic.key) or self.type_priority_cum.get(ticket_type, self.default_priority_cum)
        priority = PRIORITIES[bisect_right(pcum, rnd() * pcum[-1])]
        if vip and priority == "P3" and rnd() < 0.5:
            priority = "P2"
        channel = CHANNELS[bisect_right(self.channel_cum, rnd() * self.channel_cum[-1])]
        team_key = self._weighted_key(topic.teams, self.by_team.keys()) or self.fallback_team
        lcum = self.level_cum.get(team_key, self.default_level_cum)
        level = LEVELS[bisect_right(lcum, rnd() * lcum[-1])]
        status = "closed"
        for limit, scum in self.status_cum:
            if age < limit * DAY:
                status = STATUSES[bisect_right(scum, rnd() * scum[-1])]
                break
        team_agents = self.by_team[team_key]
        if zh and self.chinese_by_team[team_key] and rnd() < 0.8:
            team_agents = self.chinese_by_team[team_key]
        assignee = None if status == "new" else choice(team_agents)
        worker = assignee or choice(self.desk)  # who handles it; for new tickets, who triages
        lead = self.leads[team_key]
        creator = choice(self.desk)

        case = choice(self.cases[topic.key, zh, ticket_type == "service_request"])
        errors = case.errors
        has_error = bool(errors)
        created = datetime.fromtimestamp(created_ts, UTC)
        noticed = datetime.fromtimestamp(created_ts + LOCAL_OFFSET - rng.uniform(300, 7200), UTC)
        slots = texts.Slots(
            rng,
            {
                "first": cust.greeting[ci],
                "agent": worker.name_zh if zh else worker.name_en,
                "hhmm": f"{noticed.hour:02d}:{noticed.minute:02d}",
                "error": choice(errors) if errors else "",
            },
        )
        dept = cust.dept[ci]
        if dept is not None and zh == cust.chinese[ci]:  # the customer's own department, in its language
            slots["dept_zh" if zh else "dept"] = dept
        subject = case.subject.format_map(slots)
        subject = subject[:1].upper() + subject[1:]  # "{app} down" may start with "the ERP"
        resolution_text = case.resolution.format_map(slots)
        slots["resolution"] = resolution_text
        slots["resolution_lc"] = resolution_text[:1].lower() + resolution_text[1:]
        description = texts.description(
            rng,
            case.symptom,
            zh=zh,
            ticket_type=ticket_type,
            priority=priority,
            channel=channel,
            has_error=has_error,
            slots=slots,
        )

        # Tags: 0-3, mostly from the topic; VIP customers usually carry `vip`.
        wanted = (0, 1, 1, 1, 2, 2, 2, 3)[int(rnd() * 8)]
        names: list[str] = []
        if vip and rnd() < 0.8:
            names.append("vip")
        pool = list(topic.tags) + (list(topic.zh_tags) if zh else [])
        while len(names) < wanted and pool:
            names.append(pool.pop(int(rnd() * len(pool))))
        if len(names) < wanted and rnd() < 0.5:
            names.append(choice(GENERAL_TAGS))
        names = list(dict.fromkeys(names))[:3]

        # The SLA targets the agents work against (for the final priority) time the plan.
        targets = due_dates(self.policy, priority=Priority(priority), team=team_key, vip=vip, created_at=created)
        fr_target = (targets.first_response_due - created).total_seconds()
        res_target = (targets.resolution_due - created).total_seconds()
        plan = timeline.plan(rng, status, fr_target, res_target, age, incident=incident, vip=vip)

        tid = self.next_ticket
        self.next_ticket += 1
        dt = self.bulk.bind_datetime
        created_v = dt(created)
        history: list[Row] = []  # the events after creation

        # Replay the plan. Every action is one change of the ticket, so it bumps the version
        # and its events carry the new version, as the store's own operations do.
        initial_priority = priority
        if any(act == "prio" for _, act in plan):
            # The priority changed on the way: start from a neighbour of the final one.
            idx = PRIORITIES.index(priority)
            initial_priority = PRIORITIES[idx + 1] if idx < 3 and (idx == 0 or rnd() < 0.7) else PRIORITIES[idx - 1]
        current = Status.NEW.value  # the draft's status: a demo ticket arrives unassigned
        status_changed = at = created_v
        recompute_first = recompute_resolution = False
        first_responded: object = None
        resolved: object = None
        closed: object = None
        resolution: str | None = None
        reopen_count = 0
        version = FIRST_VERSION
        replied_after = resolved_after = 0.0  # seconds after creation
        for offset, act in plan:
            version += 1
            at = dt(datetime.fromtimestamp(created_ts + offset, UTC))
            if act == "assign":
                actor = lead if rnd() < 0.5 else worker  # dispatched by the lead, or taken
                history.append((tid, actor.id, at, "changed", "assignee", None, worker.login, version))
                history.append((tid, actor.id, at, "changed", "status", current, "open", version))
                current, status_changed = "open", at
            elif act == "prio":
                history.append((tid, lead.id, at, "changed", "priority", initial_priority, priority, version))
                # As sla.recompute does: a running clock moves to the new priority's due, a met one stays.
                recompute_first = first_responded is None
                recompute_resolution = resolved is None
            elif act in ("cust", "cust_chase", "cust_reopen"):
                body = texts.customer_comment(rng, act, zh=zh, incident=incident, slots=slots)
                # Written by the customer; logged by the agent who received the mail or call.
                comment_rows.append(self._comment(tid, "public", None, cust.ids[ci], body, at))
                history.append((tid, worker.id, at, "commented", "comment", None, "public", version))
            elif act in texts.AGENT_COMMENTS:
                body, kind = texts.agent_comment(rng, act, zh=zh, incident=incident, has_error=has_error, slots=slots)
                comment_rows.append(self._comment(tid, kind, worker.id, None, body, at))
                history.append((tid, worker.id, at, "commented", "comment", None, kind, version))
                if kind == "public" and first_responded is None:
                    first_responded = at
                    replied_after = offset
            else:  # a status change
                target = "open" if act == "reopen" else act
                actor = lead if act == "closed" and priority == "P0" else worker  # only leads close P0s
                history.append((tid, actor.id, at, "changed", "status", current, target, version))
                if act == "reopen":
                    resolved = closed = None
                    reopen_count += 1
                elif act == "resolved":
                    resolved, resolved_after = at, offset
                    resolution = resolution_text
                elif act == "closed":
                    closed = at
                    if resolved is None:
                        resolved, resolved_after = at, offset
                    resolution = resolution_text
                current, status_changed = target, at

        expected_at = None
        if ticket_type == "service_request" and rnd() < 0.25:
            expected_at = datetime.fromtimestamp(created_ts + rng.uniform(2, 14) * DAY, UTC)
        draft = TicketDraft(
            number=number,
            subject=subject,
            description=description,
            type=ticket_type,
            category=topic.category if rnd() < 0.75 else None,
            priority=initial_priority,
            channel=channel,
            support_level=level,
            customer_id=cust.ids[ci],
            customer_vip=vip,
            team_id=self.team_ids[team_key],
            team_key=team_key,
            assignee_id=None,
            assignee_login=None,
            expected_at=expected_at,
            tags=tuple(sorted(names)),
            created_at=created,
        )
        # `targets` are the draft's due times unless the priority changed since creation.
        row = new_ticket_row(draft, targets if initial_priority == priority else due_dates_for(draft, self.policy))
        for change in creation_changes(draft):
            event_rows.append(
                (tid, creator.id, created_v, change.kind.value, change.field, change.old, change.new, FIRST_VERSION)
            )
        event_rows.extend(history)
        tag_rows.extend((tid, self.tag_ids[name]) for name in draft.tags)
        answered_by = self.now_ts - (created_ts + resolved_after)  # seconds since it was resolved
        if resolved is not None and answered_by > HOUR and rnd() < SURVEY_RATE:
            late = replied_after > fr_target or resolved_after > res_target
            submitted = created_ts + resolved_after + rng.uniform(0.5 * HOUR, min(2 * DAY, answered_by))
            survey_rows.append(
                (tid, *self._survey(late, zh), "email", dt(datetime.fromtimestamp(submitted, UTC)), None)
            )

        # The row as created, then as its timeline left it.
        first_due = targets.first_response_due if recompute_first else row["first_response_due"]
        resolution_due = targets.resolution_due if recompute_resolution else row["resolution_due"]
        tickets.append(
            (
                tid, row["number"], row["subject"], row["description"], row["type"], row["category"],
                priority, current, row["channel"], row["customer_id"], row["team_id"],
                assignee.id if assignee else None, row["support_level"], resolution, None, reopen_count,
                dt(first_due), dt(resolution_due), dt(expected_at) if expected_at else None, created_v, at,
                status_changed, first_responded, resolved, closed, version,
                status_changed if pauses(current) else None,  # SLA clocks paused since
            )
        )  # fmt: skip

    def _survey(self, late: bool, zh: bool) -> tuple[int, int, int, int, int, str | None]:
        """Five scores (speed, efficiency, attitude, effectiveness, overall) and maybe a
        comment: most customers are happy; a ticket that missed its SLA scores lower, speed most."""
        rng = self.rng

        def score(mean: float) -> int:
            return max(1, min(5, round(rng.gauss(mean, 0.8))))

        speed = score(2.6 if late else 4.6)
        efficiency, attitude, effectiveness = (score(3.5 if late else 4.5) for _ in range(3))
        overall = score((speed + efficiency + attitude + effectiveness) / 4)
        comment = None
        if rng.random() < 0.35:
            lang = phrases().language(zh)
            comment = rng.choice(lang.survey_happy if overall >= 4 else lang.survey_unhappy)
        return speed, efficiency, attitude, effectiveness, overall, comment

    def _weighted_key(self, options: tuple[tuple[str, float], ...], allowed: Collection[str]) -> str | None:
        usable = [(k, w) for k, w in options if k in allowed]
        if not usable:
            return None
        pick = self.rng.random() * sum(w for _, w in usable)
        for key, weight in usable:
            pick -= weight
            if pick < 0:
                return key
        return usable[-1][0]

    def _comment(self, tid: int, kind: str, author: int | None, customer: int | None, body: str, at: object) -> Row:
        cid = self.next_comment
        self.next_comment += 1
        return (cid, tid, kind, author, customer, body, at)
