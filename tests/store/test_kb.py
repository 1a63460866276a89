"""The knowledge base in the store: articles, search in English and Chinese, suggestions for
a ticket, version conflicts and articles from solved tickets; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ticketdesk.store import Conflict, Forbidden, InvalidInput, NewTicket, NotFound, Store, TicketChanges
from ticketdesk.store.quality.kb_articles import ArticleEdit, ArticleSpec
from ticketdesk.store.quality.kb_search import distinctive_terms

from ..conftest import as_agent


def add(store: Store, title: str, **kw: object) -> int:
    return store.kb.add(ArticleSpec(title=title, **kw)).id  # type: ignore[arg-type]


@pytest.fixture
def kb(store: Store) -> dict[str, int]:
    return {
        "printer": add(
            store,
            "办公室打印机无法打印",
            symptoms="打印任务一直排队，打印机显示脱机",
            solution="重启打印后台处理程序（Print Spooler）服务",
            tags=["printer", "打印"],
        ),
        "vpn": add(
            store,
            "VPN drops every hour",
            symptoms="The VPN client disconnects after about sixty minutes",
            steps="1. Open the client\n2. Check for updates",
            solution="Update the VPN client to version 5.2",
            tags=["vpn", "network"],
        ),
        "mail": add(
            store,
            "Outlook cannot connect to the mail server",
            symptoms="Outlook asks for the password again and again",
            solution="Remove the cached credentials and sign in again",
            tags=["mail"],
        ),
        "wifi": add(store, "Wi-Fi is slow on floor 3", symptoms="无线网络很慢", scope="3F only", tags=["network"]),
    }


def found(store: Store, query: str, **kw: object) -> list[int]:
    return [r.id for r in store.kb.search(query, **kw)]  # type: ignore[arg-type]


def test_add_show_and_list(store: Store, kb: dict[str, int]) -> None:
    a = store.kb.get(kb["vpn"])
    assert (a.title, a.tags, a.version, a.created_by, a.source_ticket) == (
        "VPN drops every hour",
        ("vpn", "network"),
        1,
        "admin",
        None,
    )
    assert a.steps == "1. Open the client\n2. Check for updates"
    assert a.as_dict()["created_at"].endswith("+00:00")
    assert [r.id for r in store.kb.recent()] == [kb["wifi"], kb["mail"], kb["vpn"], kb["printer"]]
    assert {r.id for r in store.kb.recent(tag="network")} == {kb["vpn"], kb["wifi"]}
    assert store.kb.recent(tag="nothing") == []
    assert [r.id for r in store.kb.recent(tag="NET")] == []  # a whole tag, not a part of one


def test_search_english_any_case_all_words(store: Store, kb: dict[str, int]) -> None:
    assert found(store, "vpn") == [kb["vpn"]]
    assert found(store, "OUTLOOK password") == [kb["mail"]]
    assert found(store, "outlook vpn") == []
    assert found(store, "cached credentials") == [kb["mail"]]
    assert set(found(store, "network")) == {kb["vpn"], kb["wifi"]}  # tags are searched too
    assert found(store, "network", tag="vpn") == [kb["vpn"]]
    hit = store.kb.search("sixty")[0]
    assert "sixty minutes" in hit.snippet


def test_search_chinese(store: Store, kb: dict[str, int]) -> None:
    assert found(store, "打印机") == [kb["printer"]]
    assert found(store, "后台处理") == [kb["printer"]]
    assert found(store, "无线网络") == [kb["wifi"]]
    assert found(store, "打印机 spooler") == [kb["printer"]]  # mixed scripts, any case
    assert found(store, "扫描仪") == []
    hit = store.kb.search("脱机")[0]  # two characters: below the trigram size
    assert hit.id == kb["printer"] and "脱机" in hit.snippet


def test_short_words_and_symbols(store: Store, kb: dict[str, int]) -> None:
    assert found(store, "3F") == [kb["wifi"]]
    assert found(store, "5.2") == [kb["vpn"]]
    assert found(store, "Wi") == [kb["wifi"]]
    assert found(store, "100%") == []  # LIKE wildcards are literal
    assert found(store, "_") == []
    assert found(store, '"quoted" OR vpn') == []  # FTS syntax is not interpreted
    with pytest.raises(InvalidInput, match="at least one word"):
        store.kb.search("   ")
    with pytest.raises(InvalidInput, match="NUL"):
        store.kb.search("a\x00b")


def test_search_ranks_title_hits_first(store: Store, kb: dict[str, int]) -> None:
    other = add(store, "Reset a password", symptoms="mentions vpn once")
    assert found(store, "vpn")[:2] == [kb["vpn"], other]


def test_markup_and_control_text_is_stored_and_returned_literally(store: Store) -> None:
    title = "[bold red]Click[/] [link=http://evil]here[/link] \x1b[31m"
    article_id = add(store, title, solution="{{ 7*7 }} [b]x[/b]")
    a = store.kb.get(article_id)
    assert a.title == title.strip() and a.solution == "{{ 7*7 }} [b]x[/b]"
    hit = store.kb.search("[bold")[0]
    assert hit.id == article_id
    assert "\x1b" not in hit.snippet  # snippets are made printable


def test_validation(store: Store) -> None:
    with pytest.raises(InvalidInput, match="title must not be empty"):
        add(store, "  ")
    with pytest.raises(InvalidInput, match="at most 300"):
        add(store, "x" * 301)
    with pytest.raises(InvalidInput, match="NUL"):
        add(store, "ok", solution="a\x00b")
    with pytest.raises(InvalidInput, match="tag"):
        add(store, "ok", tags=["bad tag!"])
    with pytest.raises(NotFound, match="#999"):
        store.kb.get(999)
    assert store.kb.recent() == []


def test_edit_is_version_checked(store: Store, kb: dict[str, int]) -> None:
    vpn = kb["vpn"]
    changed = store.kb.edit(vpn, ArticleEdit(solution="Reinstall the client", tags=["vpn"]), expected_version=1)
    assert (changed.version, changed.solution, changed.tags) == (2, "Reinstall the client", ("vpn",))
    assert changed.steps == "1. Open the client\n2. Check for updates"  # untouched
    assert found(store, "reinstall") == [vpn]  # the index follows the edit
    assert found(store, "5.2") == []
    with pytest.raises(Conflict, match="changed by someone else since version 1"):
        as_agent(store, "alice").kb.edit(vpn, ArticleEdit(title="Mine"), expected_version=1)
    assert store.kb.get(vpn).title == "VPN drops every hour"
    assert store.kb.edit(vpn, ArticleEdit(title="VPN drops")).version == 3  # no version given: latest
    with pytest.raises(InvalidInput, match="nothing to change"):
        store.kb.edit(vpn, ArticleEdit())
    with pytest.raises(InvalidInput, match="title must not be empty"):
        store.kb.edit(vpn, ArticleEdit(title=""))
    with pytest.raises(NotFound):
        store.kb.edit(999, ArticleEdit(title="x"))
    assert store.kb.get(vpn).version == 3


def test_auditor_reads_but_does_not_write(store: Store, kb: dict[str, int]) -> None:
    store.people.add("audrey", role="auditor")
    auditor = as_agent(store, "audrey")
    assert found(auditor, "vpn") == [kb["vpn"]]
    with pytest.raises(Forbidden, match="auditor"):
        auditor.kb.add(ArticleSpec(title="x"))
    with pytest.raises(Forbidden):
        auditor.kb.edit(kb["vpn"], ArticleEdit(title="x"))


def test_article_from_a_resolved_ticket(store: Store) -> None:
    number = store.tickets.create(
        NewTicket(subject="打印机无法打印", description="办公室的打印机一直脱机", tags=["printer", "floor2"])
    )
    with pytest.raises(InvalidInput, match="only a resolved or closed ticket"):
        store.kb.from_ticket(number)
    assert store.kb.recent() == []
    store.tickets.update([number], TicketChanges(status="resolved", note="重启了打印服务"))
    a = store.kb.from_ticket(number)
    assert (a.title, a.symptoms, a.solution, a.tags, a.source_ticket) == (
        "打印机无法打印",
        "办公室的打印机一直脱机",
        "重启了打印服务",
        ("floor2", "printer"),
        number,
    )
    assert found(store, "打印服务") == [a.id]
    with pytest.raises(InvalidInput, match=f"already has article #{a.id}"):
        store.kb.from_ticket(number)
    with pytest.raises(NotFound):
        store.kb.from_ticket("2099-000001")


def test_suggestions_for_a_ticket(store: Store, kb: dict[str, int]) -> None:
    for i in range(12):  # noise that shares common words with everything
        add(store, f"Client note {i}", symptoms="the client shows an error after the update")
    vpn_ticket = store.tickets.create(
        NewTicket(subject="VPN keeps disconnecting", description="My VPN client drops every hour since Monday.")
    )
    top = store.kb.suggest(vpn_ticket)
    assert len(top) == 3 and top[0].id == kb["vpn"]
    printer_ticket = store.tickets.create(NewTicket(subject="打印机坏了", description="办公室打印机无法打印，一直脱机"))
    assert store.kb.suggest(printer_ticket)[0].id == kb["printer"]
    mail_ticket = store.tickets.create(NewTicket(subject="Outlook keeps asking for my password"))
    assert store.kb.suggest(mail_ticket, limit=1)[0].id == kb["mail"]
    nothing = store.tickets.create(NewTicket(subject="Zebra xylophone quartz"))
    assert store.kb.suggest(nothing) == []
    with pytest.raises(NotFound):
        store.kb.suggest("2099-000001")


def test_distinctive_terms() -> None:
    terms = distinctive_terms("VPN keeps disconnecting", "The VPN client drops. Thanks, please help")
    assert terms[0] == "vpn"
    assert "the" not in terms and "please" not in terms and "keeps" in terms
    assert distinctive_terms("打印机坏了", "")[:3] == ["打印机", "印机坏", "机坏了"]
    assert distinctive_terms("", "") == []


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_postgres_search_uses_the_trigram_index(store: Store, kb: dict[str, int]) -> None:
    from sqlalchemy import select

    from ticketdesk.store.quality.kb_articles import A
    from ticketdesk.store.quality.kb_search import _word_condition

    with store.db.read() as session:
        session.execute(text("SET LOCAL enable_seqscan = off"))
        query = select(A.c.id).where(_word_condition(session, "打印机"))
        plan = "\n".join(
            r[0]
            for r in session.execute(
                text("EXPLAIN " + str(query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})))
            )
        )
    assert "ix_kb_search" in plan, plan
