"""The demo's knowledge base: an article for the commonest problems of each topic, in English
and in Chinese, written from the same cases the demo tickets are drawn from (topics.toml), so
search, `K` on a ticket and the suggestions find what the tickets are about."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlmodel import Session, SQLModel

from ticketdesk.store.db.bulk import insert_rows
from ticketdesk.store.demo import texts
from ticketdesk.store.demo.people import DemoAgent
from ticketdesk.store.demo.phrases import Case, Topic, phrases
from ticketdesk.store.demo.traffic import DAY

#: problems per topic written up: English, Chinese
PER_TOPIC = (2, 1)


def insert_articles(session: Session, rng: random.Random, agents: list[DemoAgent], now: datetime) -> int:
    """Add the articles, each by a team lead some time in the past year; none on a desk that
    already has a knowledge base. Returns how many were added."""
    kb = SQLModel.metadata.tables["kb_article"]
    if session.execute(select(func.count()).select_from(kb)).scalar_one():
        return 0
    authors = [a for a in agents if a.role == "lead"] or agents
    rows = []
    for topic in phrases().topics:
        for zh, count in zip((False, True), PER_TOPIC, strict=True):
            problems = [c for c in (topic.zh if zh else topic.en) if not c.request]
            for case in problems[:count]:
                written = now.timestamp() - rng.uniform(30, 330) * DAY
                updated = min(written + rng.uniform(0, 20) * DAY, now.timestamp() - DAY)
                rows.append(
                    {
                        **_article(rng, topic, case, zh),
                        "created_by_id": rng.choice(authors).id,
                        "created_at": datetime.fromtimestamp(written, UTC),
                        "updated_at": datetime.fromtimestamp(max(written, updated), UTC),
                        "version": 1,
                    }
                )
    insert_rows(session, kb, rows)
    return len(rows)


def _article(rng: random.Random, topic: Topic, case: Case, zh: bool) -> dict[str, str]:
    slots = texts.Slots(
        rng, {"first": "", "agent": "", "hhmm": "09:00", "error": case.errors[0] if case.errors else ""}
    )
    title = case.subject.format_map(slots)
    resolution = case.resolution.format_map(slots)
    symptoms = case.symptom.format_map(slots)
    if case.errors:
        label = "报错信息" if zh else "Error messages"
        symptoms += f"\n{label}: " + "; ".join(f"“{e}”" for e in case.errors)
    teams = ", ".join(key for key, _ in topic.teams)
    if zh:
        scope = f"{topic.category}类问题，由以下团队处理：{teams}。"
        steps = f"1. 与用户确认现象和报错信息。\n2. {resolution}\n3. 请用户确认恢复正常后再解决工单。"
        prevention = "如同一问题一周内多次出现，请建问题单并关联相关工单。"
    else:
        scope = f"{topic.category} problems; handled by {teams}."
        steps = (
            f"1. Confirm the symptom and any error text with the customer.\n2. {resolution}\n"
            "3. Ask the customer to confirm it works before resolving the ticket."
        )
        prevention = "If it comes back more than once in a week, open a problem record and link the tickets."
    return {
        "title": title[:1].upper() + title[1:],
        "symptoms": symptoms,
        "scope": scope,
        "steps": steps,
        "solution": resolution,
        "prevention": prevention,
        "tags": ",".join(dict.fromkeys([*topic.tags, *(topic.zh_tags if zh else ())])),
    }
