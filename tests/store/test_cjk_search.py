"""Two-character Chinese search words through the bigram indexes (migration 0013), on both
databases: the same tickets as a substring test of every text, whichever plan, after
changes, bulk loads and copies; and the index is what answers."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from sqlalchemy import select, text

from ticketdesk.imports.csv_format import read_csv
from ticketdesk.imports.mapping import parse_mapping
from ticketdesk.models.clock import utcnow
from ticketdesk.rules.query import TicketFilter, parse_query
from ticketdesk.store import NewTicket, Store, TicketChanges
from ticketdesk.store.tickets import filters

WORDS = ["打印", "退款", "账号", "登录", "网络", "发票", "密码", "张伟", "王芳"]
FILLER = "请帮忙处理一下谢谢系统今天又出问题了"


def _sentence(rng: random.Random) -> str:
    parts = [rng.choice(WORDS) if rng.random() < 0.3 else "".join(rng.sample(FILLER, 3)) for _ in range(4)]
    # Latin text and spaces between some runs: a pair never spans them
    return rng.choice(["", "VPN ", "error 809 "]) + rng.choice(["", " "]).join(parts)


def _fill(store: Store, rng: random.Random, tickets: int = 30) -> None:
    for i in range(tickets):
        number = store.tickets.create(
            NewTicket(
                subject=_sentence(rng),
                description=_sentence(rng),
                customer=f"{rng.choice(['张伟', '李娜', '王芳', 'Ann'])} <c{i % 6}@example.cn>",
                priority=rng.choice(["P1", "P2", "P3"]),
            )
        )
        if rng.random() < 0.5:
            store.tickets.reply(number, _sentence(rng))
        if rng.random() < 0.2:
            store.tickets.update([number], TicketChanges(status="pending"))


def _texts(store: Store) -> dict[str, str]:
    """Every text a search reads, by ticket number, joined with a separator no word holds."""
    sql = (
        "SELECT t.number, t.subject, t.description, c.name, coalesce(c.email, ''),"
        " (SELECT group_concat(body, '|') FROM comment WHERE ticket_id = t.id)"
        " FROM ticket t LEFT JOIN customer c ON c.id = t.customer_id"
    )
    if not store.db.is_sqlite:
        sql = sql.replace("group_concat(body, '|')", "string_agg(body, '|')")
    with store.db.engine.connect() as conn:
        return {row[0]: "|".join(part or "" for part in row[1:]) for row in conn.execute(text(sql))}


def _found(store: Store, query: str) -> list[str]:
    return [r.number for r in store.tickets.page(parse_query(query), limit=1000).rows]


def _expected(store: Store, word: str, status: str | None = None) -> list[str]:
    plain = parse_query(f"status:{status}" if status else "")
    texts = _texts(store)
    return [r.number for r in store.tickets.page(plain, limit=1000).rows if word in texts[r.number]]


@pytest.mark.parametrize("common", [False, True], ids=["rare-plan", "common-plan"])
def test_a_two_character_word_finds_what_a_substring_test_finds(
    store: Store, common: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(filters, "COMMON_MATCHES", 1 if common else 1_000_000)
    _fill(store, random.Random(7))
    seen = 0
    for word in [*WORDS, "系统", "问题", "谢谢", "猫狗"]:
        for status in (None, "open,pending"):
            expected = _expected(store, word, status)
            query = f"status:{status} {word}" if status else word
            assert _found(store, query) == expected, query
            assert store.tickets.count(parse_query(query)) == len(expected), query
            seen += len(expected)
        # with a trigram word beside it, every word must match
        both = [n for n in _expected(store, word) if "error 809" in _texts(store)[n]]
        assert _found(store, f"{word} 809") == both, word
    assert seen > 50, "the words should be found in many tickets"
    assert _found(store, "猫狗") == []


def test_the_index_follows_replies_and_erasure(store: Store) -> None:
    number = store.tickets.create(NewTicket(subject="Printer offline", customer="张伟 <zhang@example.cn>"))
    other = store.tickets.create(NewTicket(subject="VPN", customer="Ann <ann@example.com>"))
    assert _found(store, "张伟") == [number]
    assert _found(store, "卡纸") == []
    store.tickets.reply(other, "打印机卡纸了")
    assert _found(store, "卡纸") == [other]
    store.customers.erase("zhang@example.cn")
    assert _found(store, "张伟") == []
    assert _found(store, "卡纸") == [other]


def test_the_bigram_index_answers_a_two_character_word(store: Store) -> None:
    """The plan reads the bigram index: on SQLite its FTS5 tables, on PostgreSQL its GIN
    indexes (sequential and plain index scans forbidden, as a small test table would otherwise
    get one)."""
    store.tickets.create(NewTicket(subject="打印机坏了", customer="王芳 <wang@example.cn>"))
    with store.db.read() as session:
        if not store.db.is_sqlite:
            session.execute(text("SET LOCAL enable_seqscan = off"))
            session.execute(text("SET LOCAL enable_indexscan = off"))
        conditions = filters.filter_conditions(session, TicketFilter(search="打印"), actor_id=None)
        statement = select(filters.T.c.id).where(*conditions)
        compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        explain = "EXPLAIN QUERY PLAN " if store.db.is_sqlite else "EXPLAIN "
        plan = "\n".join(str(row[-1]) for row in session.execute(text(explain + str(compiled))))
    if store.db.is_sqlite:
        assert "ticket_bigram" in plan and "comment_bigram" in plan and "customer_bigram" in plan, plan
    else:
        assert "ix_ticket_bigrams" in plan and "ix_comment_bigrams" in plan and "ix_customer_bigrams" in plan, plan


def test_a_common_pair_with_other_conditions_is_counted_through_the_index(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL counts a common word with other conditions as a union of branches; the
    ticket-text branch of a pair is the bigram index's condition too (ILIKE '%打印%' has no
    trigram, and would be tested on every ticket the other conditions select). On a table
    this small the planner may still prefer the priority index and filter: the condition
    is what is checked."""
    if store.db.is_sqlite:
        pytest.skip("PostgreSQL's count of a common word")
    monkeypatch.setattr(filters, "COMMON_MATCHES", 1)
    store.tickets.create(NewTicket(subject="打印机坏了", priority="P3"))
    with store.db.read() as session:
        statement = filters.count_statement(session, parse_query("prio:P3 打印"), actor_id=None)
        compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        plan = "\n".join(str(row[0]) for row in session.execute(text("EXPLAIN " + str(compiled))))
    assert "ticketdesk_bigrams((((subject)::text" in plan and "~~*" not in plan, plan  # ~~* is ILIKE
    assert store.tickets.count(parse_query("prio:P3 打印")) == 1


def test_postgresql_makes_the_pairs_python_makes(store: Store) -> None:
    """The migration's SQL function and rules/cjk_bigrams.py agree, at every range's edges
    and just outside them, in kana, Hangul, and beyond the BMP."""
    if store.db.is_sqlite:
        pytest.skip("PostgreSQL's function (SQLite calls the Python one)")
    from ticketdesk.rules import cjk_bigrams

    edges = [chr(c) for low, high in cjk_bigrams.CJK_RANGES for c in (low - 1, low, low + 1, high - 1, high, high + 1)]
    rng = random.Random(2)
    texts = ["打印机坏了 VPN 无法打印", "ひらがなとカタカナー", "한국어 문서", "々〇〆", "𠀀𪜶𫝀", "a・カ。打"]
    texts += ["".join(rng.choice([*edges, " ", "a", "。"]) for _ in range(12)) for _ in range(300)]
    with store.db.engine.connect() as conn:
        for sample in texts:
            made = set(conn.execute(text("SELECT ticketdesk_bigrams(:t)"), {"t": sample}).scalar_one())
            assert made == cjk_bigrams.bigrams(sample), sample


def test_bulk_loads_and_copies_index_the_pairs(db_url: str, tmp_path: Path) -> None:
    """The demo and an import load with the index's triggers suspended and index the new
    rows in one statement; `copy` rebuilds the indexes on the target. Each finds the same
    tickets as a substring test."""
    store = Store.open(db_url, login="admin")
    try:
        store.generate_demo(tickets=300)
        src = "subject,customer_email\n发票抬头填错了,a@example.cn\n申请退款,b@example.cn\n"
        store.imports.run(read_csv(io.StringIO(src), parse_mapping(None), now=utcnow()), source="csv")
        for word in ("打印", "发票", "退款", "账号"):
            assert _found(store, word) == _expected(store, word), word
        assert _expected(store, "打印") and _expected(store, "发票")
        if store.db.is_sqlite:
            store.copy_to(f"sqlite:///{tmp_path / 'copy.db'}")
            target = Store.open(f"sqlite:///{tmp_path / 'copy.db'}", login="admin")
            for word in ("打印", "发票"):
                assert _found(target, word) == _found(store, word) != [], word
            target.close()
    finally:
        store.close()


def test_the_migration_indexes_a_desk_that_has_tickets(store: Store) -> None:
    """A desk from before migration 0013 gets its existing texts indexed by the upgrade; the
    downgrade takes the indexes away again."""
    from alembic import command

    from ticketdesk.store.db.engine import _alembic_config, upgrade_schema

    _fill(store, random.Random(11), tickets=12)
    before = {word: _found(store, word) for word in WORDS}
    assert any(before.values())
    with store.db.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0012")
    with store.db.engine.connect() as conn:
        if store.db.is_sqlite:
            left = conn.execute(text("SELECT name FROM sqlite_master WHERE name LIKE '%bigram%'")).all()
        else:
            left = conn.execute(text("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%bigram%'")).all()
    assert left == []
    upgrade_schema(store.db)
    for word in WORDS:
        assert _found(store, word) == before[word] == _expected(store, word), word


def test_a_postgresql_database_not_in_utf8_searches_pairs_without_the_index(
    request: pytest.FixtureRequest, pg_server: object
) -> None:
    """In an EUC_CN database the bigram function's code-point ranges do not mean characters
    (it would miss 工作): the search tests pairs with ILIKE there, and `init` says why."""
    from tests.conftest import PostgresServer

    if not isinstance(pg_server, PostgresServer):
        pytest.skip("PostgreSQL unavailable")
    name = "td_euc_cn"
    pg_server.admin_sql(f"CREATE DATABASE {name} ENCODING 'EUC_CN' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    try:
        store = Store.open(pg_server.url(name), login="admin", check=False)
        store.init()
        with store.db.engine.connect() as conn:
            pairs = conn.execute(text("SELECT ticketdesk_bigrams('工作不正常')")).scalar()
        assert "工作" not in pairs  # what the index would miss
        made = {word: store.tickets.create(NewTicket(subject=f"{word}不正常")) for word in ("工作", "打印")}
        for word, number in made.items():
            assert _found(store, word) == [number], word
        assert any("encoding is EUC_CN" in w for w in store.warnings())
        store.close()
    finally:
        pg_server.admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
