"""Who is on the demo desk: organisations, customers and agents, from data/people.toml, and
their rows (organisations and agents added when missing, customers made up in bulk)."""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import Table, func, select
from sqlmodel import Session, SQLModel

from ticketdesk.store.db.bulk import insert_rows
from ticketdesk.store.demo.phrases import load, table, tables, text, texts
from ticketdesk.store.demo.traffic import DAYS, cum


@dataclass(frozen=True)
class Organisation:
    name: str
    industry: str
    domain: str  # its people's mail domain
    chinese: bool  # its people write in Chinese


@dataclass(frozen=True)
class AgentSpec:
    login: str
    name: str  # "陈伟 Chen Wei": signs Chinese replies 陈伟 and English ones Chen Wei
    team: str  # a team key of the seeded desk
    role: str
    skills: tuple[str, ...]


@dataclass(frozen=True)
class People:
    organisations: tuple[Organisation, ...]
    freemail_en: tuple[str, ...]
    freemail_zh: tuple[str, ...]
    first_en: tuple[str, ...]
    last_en: tuple[str, ...]
    surnames_zh: tuple[tuple[str, str], ...]  # (characters, pinyin)
    given_zh: tuple[tuple[str, str], ...]
    departments_en: dict[str, tuple[str, ...]]  # by industry
    departments_common_en: tuple[str, ...]
    departments_zh: tuple[str, ...]
    agents: tuple[AgentSpec, ...]


def _pairs(value: object, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        raise ValueError(f"demo data: {where} must be an array of [characters, pinyin] pairs")
    pairs = []
    for i, item in enumerate(value):
        pair = texts(item, f"{where}[{i}]")
        if len(pair) != 2:
            raise ValueError(f"demo data: {where}[{i}] must be [characters, pinyin]")
        pairs.append((pair[0], pair[1]))
    return tuple(pairs)


def _flag(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"demo data: {where} must be true or false")
    return value


@cache
def people() -> People:
    """people.toml, loaded on first use."""
    raw = load("people.toml")
    names = table(raw.get("names"), "people.toml names")
    depts = table(raw.get("departments"), "people.toml departments")
    by_industry = table(depts.get("by_industry_en"), "people.toml departments.by_industry_en")
    orgs = tables(raw.get("organisations"), "people.toml organisations")
    agents = tables(raw.get("agents"), "people.toml agents")
    return People(
        organisations=tuple(
            Organisation(
                name=text(o.get("name"), f"organisations[{i}].name"),
                industry=text(o.get("industry"), f"organisations[{i}].industry"),
                domain=text(o.get("domain"), f"organisations[{i}].domain"),
                chinese=_flag(o.get("chinese"), f"organisations[{i}].chinese"),
            )
            for i, o in enumerate(orgs)
        ),
        freemail_en=texts(raw.get("freemail_en"), "people.toml freemail_en"),
        freemail_zh=texts(raw.get("freemail_zh"), "people.toml freemail_zh"),
        first_en=texts(names.get("first_en"), "names.first_en"),
        last_en=texts(names.get("last_en"), "names.last_en"),
        surnames_zh=_pairs(names.get("surnames_zh"), "names.surnames_zh"),
        given_zh=_pairs(names.get("given_zh"), "names.given_zh"),
        departments_en={k: texts(v, f"departments.by_industry_en.{k}") for k, v in by_industry.items()},
        departments_common_en=texts(depts.get("common_en"), "departments.common_en"),
        departments_zh=texts(depts.get("zh"), "departments.zh"),
        agents=tuple(
            AgentSpec(
                login=text(a.get("login"), f"agents[{i}].login"),
                name=text(a.get("name"), f"agents[{i}].name"),
                team=text(a.get("team"), f"agents[{i}].team"),
                role=text(a.get("role"), f"agents[{i}].role"),
                skills=texts(a.get("skills", []), f"agents[{i}].skills"),
            )
            for i, a in enumerate(agents)
        ),
    )


# --- rows -------------------------------------------------------------------------------------


def _table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


@dataclass(frozen=True)
class OrganisationRow:
    id: int
    industry: str
    domain: str
    chinese: bool


@dataclass
class DemoAgent:
    id: int
    login: str
    name_en: str  # how replies are signed in English ...
    name_zh: str  # ... and in Chinese
    team_key: str
    role: str
    chinese: bool


@dataclass
class Customers:
    """The customers made for this run, by index: the writer picks one per ticket."""

    ids: list[int]
    greeting: list[str]  # how a reply greets them
    vip: list[bool]
    dept: list[str | None]
    chinese: list[bool]


def ensure_organisations(session: Session) -> tuple[list[OrganisationRow], int]:
    """Insert the demo organisations that are missing; returns all of them and how many were new."""
    org = _table("organisation")
    wanted = people().organisations
    names = [o.name for o in wanted]
    existing = dict(session.execute(select(org.c.name, org.c.id).where(org.c.name.in_(names))).all())
    missing = [{"name": o.name, "industry": o.industry} for o in wanted if o.name not in existing]
    if missing:
        insert_rows(session, org, missing)
        existing = dict(session.execute(select(org.c.name, org.c.id).where(org.c.name.in_(names))).all())
    return [OrganisationRow(existing[o.name], o.industry, o.domain, o.chinese) for o in wanted], len(missing)


def ensure_agents(
    session: Session, rng: random.Random, team_ids: dict[str, int], now: datetime
) -> tuple[list[DemoAgent], int]:
    """Insert the demo agents whose login is free; existing ones (the seeded admin, or a
    previous demo run) are reused as they are."""
    agent = _table("agent")
    specs = people().agents
    logins = [a.login for a in specs]
    existing = {row.login for row in session.execute(select(agent.c.login).where(agent.c.login.in_(logins)))}
    rows = [
        {
            "login": a.login,
            "display_name": a.name,
            "email": f"{a.login}@helpdesk.example.com",
            "role": a.role,
            "team_id": team_ids.get(a.team),
            "skills": ",".join(a.skills),
            "active": True,
            "created_at": now - timedelta(days=DAYS + rng.randint(10, 900)),
        }
        for a in specs
        if a.login not in existing
    ]
    if rows:
        insert_rows(session, agent, rows)
    key_of = {tid: key for key, tid in team_ids.items()}
    found = session.execute(
        select(agent.c.id, agent.c.login, agent.c.display_name, agent.c.team_id, agent.c.role, agent.c.skills)
        .where(agent.c.login.in_(logins), agent.c.active.is_(True))
        .order_by(agent.c.id)
    ).all()
    result = []
    for row in found:
        team_key = key_of.get(row.team_id) if row.team_id is not None else None
        if team_key is None:
            continue  # an agent without a team (e.g. the admin) takes no demo tickets
        # "陈伟 Chen Wei" signs Chinese replies 陈伟 and English ones Chen Wei; "Alice Morgan" signs Alice.
        words = row.display_name.split() or [row.login]
        if words[0].isascii():
            name_en = name_zh = words[0]
        else:
            name_zh, name_en = words[0], " ".join(words[1:]) or words[0]
        chinese = "chinese" in (row.skills or "")
        result.append(DemoAgent(row.id, row.login, name_en, name_zh, team_key, row.role, chinese))
    if not result:
        raise ValueError("no active demo agent with a team: cannot assign demo tickets")
    return result, len(rows)


def insert_customers(
    session: Session, rng: random.Random, orgs: list[OrganisationRow], count: int, now: datetime
) -> Customers:
    """`count` new customers, most of them in an organisation (a few big ones, a long tail)."""
    data = people()
    customer = _table("customer")
    used = set(session.execute(select(customer.c.email).where(customer.c.email.is_not(None))).scalars())
    next_id = (session.execute(select(func.max(customer.c.id))).scalar_one() or 0) + 1
    # A few big organisations and a long tail, like real customer bases.
    org_cum = cum([1 / (rank + 1) ** 0.8 for rank in range(len(orgs))])
    org_order = list(range(len(orgs)))
    rng.shuffle(org_order)
    out = Customers([], [], [], [], [])
    rows: list[dict[str, object]] = []
    for _ in range(count):
        org_id: int | None
        industry: str | None
        if rng.random() < 0.05:
            org_id, industry, zh = None, None, rng.random() < 0.3
            domain = rng.choice(data.freemail_zh if zh else data.freemail_en)
        else:
            org = orgs[org_order[bisect_right(org_cum, rng.random() * org_cum[-1])]]
            org_id, industry, domain, zh = org.id, org.industry, org.domain, org.chinese
        if zh:
            (surname, sur_py), (given, given_py) = rng.choice(data.surnames_zh), rng.choice(data.given_zh)
            name, greeting = surname + given, surname + given
            local = f"{sur_py}.{given_py}" if rng.random() < 0.6 else f"{given_py}{sur_py}"
            phone: str | None = f"1{rng.choice(('38', '39', '58', '86', '35', '37', '88'))}{rng.randrange(10**8):08d}"
            dept: str | None = rng.choice(data.departments_zh)
        else:
            first, last = rng.choice(data.first_en), rng.choice(data.last_en)
            name, greeting = f"{first} {last}", first
            local = f"{first}.{last}".replace("'", "") if rng.random() < 0.7 else f"{first[0]}{last}".replace("'", "")
            phone = (
                f"+44 20 7946 {rng.randrange(10**4):04d}"
                if rng.random() < 0.5
                else f"+1 555 01{rng.randrange(100):02d}"
            )
            dept = rng.choice(data.departments_en.get(industry or "", ()) + data.departments_common_en)
        if rng.random() < 0.1:
            phone = None
        if org_id is None:
            dept = None
        local = local.lower()
        email = f"{local}@{domain}"
        suffix = 1
        while email in used:  # emails are unique: number the namesakes
            suffix += 1
            email = f"{local}{suffix}@{domain}"
        used.add(email)
        vip = rng.random() < 0.05
        rows.append(
            {
                "id": next_id,
                "name": name,
                "email": email,
                "phone": phone,
                "organisation_id": org_id,
                "department": dept,
                "industry": industry,
                "vip": vip,
                "created_at": now - timedelta(days=DAYS + rng.uniform(1, 400)),
            }
        )
        out.ids.append(next_id)
        out.greeting.append(greeting)
        out.vip.append(vip)
        out.dept.append(dept)
        out.chinese.append(zh)
        next_id += 1
    insert_rows(session, customer, rows)
    return out
