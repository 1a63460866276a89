"""`ticketdesk kb ...` end to end on SQLite and PostgreSQL: every command and its errors."""

from __future__ import annotations

import json

from ticketdesk.store import NewTicket, Store, TicketChanges

from .test_cli import fails, ok


def add(db_url: str, *args: str, input: str | None = None) -> int:
    out = ok(db_url, "kb", "add", *args, input=input)
    assert out.startswith("added article #")
    return int(out.split("#", 1)[1].split(":", 1)[0])


def show(db_url: str, article_id: int) -> dict[str, object]:
    return json.loads(ok(db_url, "kb", "show", str(article_id), "--format", "json"))  # type: ignore[no-any-return]


def test_add_show_list(store: Store, db_url: str) -> None:
    printer = add(
        db_url, "--title", "办公室打印机无法打印", "--symptoms", "打印任务一直排队", "--scope", "2F",
        "--solution", "重启打印服务", "--prevention", "每月更新驱动", "--tag", "printer", "-t", "打印,hardware",
    )  # fmt: skip
    vpn = add(db_url, "--title", "VPN drops every hour", "--steps", "-", input="1. open\n2. update\n")
    data = show(db_url, printer)
    assert data["title"] == "办公室打印机无法打印"
    assert data["tags"] == ["printer", "打印", "hardware"]
    expected = ("2F", "每月更新驱动", 1, "admin")
    assert (data["scope"], data["prevention"], data["version"], data["created_by"]) == expected
    assert show(db_url, vpn)["steps"] == "1. open\n2. update\n"  # '-' read stdin

    text = ok(db_url, "kb", "show", f"#{vpn}")
    assert text.startswith(f"#{vpn}  VPN drops every hour\n")
    assert "version 1" in text and "\nSteps\n1. open\n2. update\n" in text
    assert "Solution" not in text  # empty fields are left out

    listed = json.loads(ok(db_url, "kb", "list", "--format", "json"))
    assert [a["id"] for a in listed] == [vpn, printer]
    assert [a["id"] for a in json.loads(ok(db_url, "kb", "list", "--tag", "hardware", "--format", "json"))] == [printer]
    lines = ok(db_url, "kb", "list").splitlines()  # piped: tab-separated
    assert lines[1].split("\t")[:3] == [f"#{printer}", "办公室打印机无法打印", "printer,打印,hardware"]
    assert ok(db_url, "kb", "list", "--tag", "nothing", "--format", "json").strip() == "[]"


def test_search_english_and_chinese(store: Store, db_url: str) -> None:
    printer = add(db_url, "--title", "办公室打印机无法打印", "--symptoms", "打印任务一直排队，显示脱机")
    vpn = add(db_url, "--title", "VPN drops every hour", "--symptoms", "The client disconnects after sixty minutes")
    hits = json.loads(ok(db_url, "kb", "search", "打印机", "--format", "json"))
    assert [h["id"] for h in hits] == [printer]
    assert [h["id"] for h in json.loads(ok(db_url, "kb", "search", "脱机", "--format", "json"))] == [printer]
    hits = json.loads(ok(db_url, "kb", "search", "SIXTY", "minutes", "--format", "json"))
    assert [h["id"] for h in hits] == [vpn] and "sixty minutes" in hits[0]["snippet"]
    line = ok(db_url, "kb", "search", "vpn").splitlines()
    assert line == [f"#{vpn}\tVPN drops every hour\t\tThe client disconnects after sixty minutes"]
    assert ok(db_url, "kb", "search", "扫描仪") == ""
    assert ok(db_url, "kb", "search", "扫描仪", "--format", "json").strip() == "[]"


def test_markup_in_articles_is_printed_literally(store: Store, db_url: str) -> None:
    article = add(db_url, "--title", "[bold red]Alert[/] \x1b[2J", "--solution", "[link=http://x]click[/link]")
    text = ok(db_url, "kb", "show", str(article))
    assert "[bold red]Alert[/] \\x1b[2J" in text
    assert "[link=http://x]click[/link]" in text
    assert "\x1b" not in text
    assert "[bold red]Alert[/]" in ok(db_url, "kb", "search", "alert")


def test_edit_and_version_conflict(store: Store, db_url: str) -> None:
    article = add(db_url, "--title", "VPN drops", "--tag", "vpn")
    assert ok(db_url, "kb", "edit", str(article), "--solution", "Update the client", "--version", "1") == (
        f"updated article #{article} (version 2)\n"
    )
    err = fails(db_url, "kb", "edit", str(article), "--title", "Stale", "--version", "1")
    assert f"article #{article} was changed by someone else since version 1" in err
    assert show(db_url, article)["title"] == "VPN drops"
    ok(db_url, "kb", "edit", str(article), "--prevention", "-", "--no-tags", input="Keep clients current\n")
    data = show(db_url, article)
    assert (data["prevention"], data["tags"], data["version"], data["solution"]) == (
        "Keep clients current\n",
        [],
        3,
        "Update the client",
    )
    ok(db_url, "kb", "edit", str(article), "--tag", "vpn", "--tag", "network")
    assert show(db_url, article)["tags"] == ["vpn", "network"]


def test_from_ticket(store: Store, db_url: str) -> None:
    number = store.tickets.create(
        NewTicket(subject="Outlook keeps asking for the password", description="Since the update", tags=["mail"])
    )
    err = fails(db_url, "kb", "from-ticket", number)
    assert f"ticket {number} is new: only a resolved or closed ticket becomes an article" in err
    store.tickets.update([number], TicketChanges(status="resolved", note="Cleared the cached credentials"))
    out = ok(db_url, "kb", "from-ticket", number)
    assert out.startswith("added article #") and f"from {number}: Outlook keeps asking" in out
    listed = json.loads(ok(db_url, "kb", "list", "--format", "json"))
    data = show(db_url, listed[0]["id"])
    assert (data["title"], data["symptoms"], data["solution"], data["tags"], data["source_ticket"]) == (
        "Outlook keeps asking for the password",
        "Since the update",
        "Cleared the cached credentials",
        ["mail"],
        number,
    )
    assert "already has article" in fails(db_url, "kb", "from-ticket", number)
    assert "no ticket" in fails(db_url, "kb", "from-ticket", "2099-999999")


def test_errors_are_one_line_and_write_nothing(store: Store, db_url: str) -> None:
    assert "title must not be empty" in fails(db_url, "kb", "add", "--title", "  ")
    assert "tag 'bad tag!' is not valid" in fails(db_url, "kb", "add", "--title", "x", "--tag", "bad tag!")
    assert "NUL" in fails(db_url, "kb", "add", "--title", "x", "--solution", "a\x00b")
    assert "only one field can be read from stdin" in fails(
        db_url, "kb", "add", "--title", "x", "--steps", "-", "--solution", "-", input="text"
    )
    assert json.loads(ok(db_url, "kb", "list", "--format", "json")) == []
    assert "no knowledge-base article #42" in fails(db_url, "kb", "show", "42")
    assert "article id must be a number" in fails(db_url, "kb", "show", "abc")
    article = add(db_url, "--title", "x")
    assert "nothing to change" in fails(db_url, "kb", "edit", str(article))
    assert "--tag or --no-tags" in fails(db_url, "kb", "edit", str(article), "--tag", "a", "--no-tags")
    assert "no knowledge-base article #42" in fails(db_url, "kb", "edit", "42", "--title", "y")
    assert "NUL" in fails(db_url, "kb", "search", "a\x00b")
    assert "no agent with login 'ghost'" in fails(db_url, "kb", "list", login="ghost")
    store.people.add("audrey", role="auditor")
    assert "auditor" in fails(db_url, "kb", "add", "--title", "Mine", login="audrey")
    assert [a["id"] for a in json.loads(ok(db_url, "kb", "list", "--format", "json", login="audrey"))] == [article]
