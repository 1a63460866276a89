"""`ticketdesk template ...` and `reply --template`, end to end on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from ticketdesk.store import NewTicket, Store, TicketChanges
from ticketdesk.store.tickets.templates import DEFAULT_TEMPLATES

from .test_cli import fails, ok, run, show, stored_subject


def mk(store: Store, subject: str = "VPN drops every hour", **kw: object) -> str:
    return store.tickets.create(NewTicket(subject=subject, **kw))  # type: ignore[arg-type]


def test_template_add_show_list_edit_remove(store: Store, db_url: str) -> None:
    store.people.add("ada", role="admin", name="Ada Admin")  # templates are an admin's to manage
    out = ok(
        db_url, "template", "add", "Password reset", "--body", "Hi {{ customer_name }}, done.\n",
        "--status", "resolved", "--priority", "P3", "--tag", "account", "-t", "password", login="ada",
    )  # fmt: skip
    assert out == "added template 'Password reset'\n"
    shown = ok(db_url, "template", "show", "password reset")
    assert "name      Password reset\n" in shown
    assert "kind      public reply\n" in shown
    assert "sets      status resolved, priority P3, +account, +password\n" in shown
    assert "by ada" in shown
    assert shown.endswith("\nHi {{ customer_name }}, done.\n")  # the body as written

    data = json.loads(ok(db_url, "template", "show", "Password reset", "--format", "json"))
    assert (data["sets_status"], data["sets_priority"], data["add_tags"]) == ("resolved", "P3", ["account", "password"])

    listed = json.loads(ok(db_url, "template", "list", "--format", "json"))
    assert "Password reset" in [t["name"] for t in listed] and len(listed) == len(DEFAULT_TEMPLATES) + 1  # + ours
    lines = ok(db_url, "template", "list").splitlines()  # piped: tab-separated, one per line
    row = next(line.split("\t") for line in lines if line.startswith("Password reset"))
    assert row[:3] == ["Password reset", "reply", "status resolved, priority P3, +account, +password"]
    assert len(lines) == len(DEFAULT_TEMPLATES) + 1

    out = ok(db_url, "template", "edit", "Password reset", "--status", "none", "--no-tags", "--internal",
             "--rename", "Password note", "--body", "-", input="Reset for {{ ticket_number }}\n")  # fmt: skip
    assert out == "updated template 'Password note'\n"
    data = json.loads(ok(db_url, "template", "show", "password note", "--format", "json"))
    assert (data["sets_status"], data["sets_priority"], data["add_tags"], data["internal"]) == (None, "P3", [], True)
    assert data["body"] == "Reset for {{ ticket_number }}\n"

    assert ok(db_url, "template", "remove", "Password note") == "removed template 'Password note'\n"
    assert "no reply template named 'Password note'" in fails(db_url, "template", "show", "Password note")


def test_template_errors_are_one_line(store: Store, db_url: str) -> None:
    err = fails(db_url, "template", "add", "Bad", "--body", "Hello {{ custmer_name }}")
    assert "template 'Bad': 'custmer_name' is undefined on line 1" in err
    err = fails(db_url, "template", "add", "Bad", "--body", "line\ntwo\n{% endif %}")
    assert "template 'Bad': syntax error on line 3" in err
    assert "not allowed" in fails(db_url, "template", "add", "Bad", "--body", "{{ ''.__class__.__mro__ }}")
    assert "already exists" in fails(db_url, "template", "add", "ACKNOWLEDGE", "--body", "x")
    assert "cannot set status new" in fails(db_url, "template", "add", "Bad", "--body", "x", "--status", "new")
    assert "only an admin may add" in fails(db_url, "template", "add", "Mine", "--body", "x", login="alice")
    assert "only an admin may add" in fails(db_url, "template", "add", "Mine", "--body", "x", login="lena")
    assert "nothing to change" in fails(db_url, "template", "edit", "Acknowledge")
    assert "--tag or --no-tags" in fails(db_url, "template", "edit", "Acknowledge", "--tag", "x", "--no-tags")
    assert "no reply template named 'Nope'" in fails(db_url, "template", "remove", "Nope")
    assert run(db_url, "template", "add", "NoBody").exit_code == 2  # usage: --body is required


def test_reply_with_a_template(store: Store, db_url: str) -> None:
    number = mk(store, customer="Ann Lee <ann@example.com>", assignee="alice")
    out = ok(db_url, "reply", number, "--template", "need more info", login="alice")
    assert out == f"template 'need more info' applied to {number}\n"
    d = show(db_url, number)
    assert d["status"] == "pending" and d["version"] == 2
    reply = d["comments"][-1]
    assert reply["kind"] == "public" and reply["author"] == "alice"
    assert reply["body"].startswith("Hello Ann Lee,\n") and number in reply["body"]
    assert reply["body"].endswith("Alice Agent\n")

    ok(db_url, "reply", number, "-T", "Acknowledge", "--internal")  # --internal makes it a note
    assert show(db_url, number)["comments"][-1]["kind"] == "internal"


def test_reply_needs_exactly_one_of_body_and_template(store: Store, db_url: str) -> None:
    number = mk(store)
    assert "either --body" in fails(db_url, "reply", number)
    assert "just one" in fails(db_url, "reply", number, "--body", "hi", "--template", "Acknowledge")
    assert show(db_url, number)["comments"] == []


def test_reply_template_failure_changes_nothing(store: Store, db_url: str) -> None:
    number = mk(store)
    store.tickets.update([number], TicketChanges(status="closed", note="done"))
    before = show(db_url, number)
    err = fails(db_url, "reply", number, "--template", "Need more info")
    assert f"ticket {number} is closed" in err
    assert "no reply template named 'Nope'" in fails(db_url, "reply", number, "--template", "Nope")
    assert show(db_url, number) == before


def test_template_preview_renders_customer_text_literally(store: Store, db_url: str) -> None:
    number = mk(store, subject="{{ 7*7 }} red", customer="Ann <ann@example.com>")
    stored_subject(store, number, "{{ 7*7 }} \x1b[31mred")  # refused as input now; may be stored from before
    out = ok(db_url, "template", "preview", "Acknowledge", number)
    assert out.startswith("Hello Ann,\n")
    assert '"{{ 7*7 }} \\x1b[31mred"' in out  # not evaluated; the escape shown, not obeyed
    assert "\x1b" not in out
    assert show(db_url, number)["comments"] == []  # a preview writes nothing


def test_a_template_that_asks_takes_set_and_refuses_a_missing_or_unknown_label(store: Store, db_url: str) -> None:
    body = 'Hello,\nwe refunded {{ ask("Refund amount") }} for order {{ ask("Order number") }}.\n'
    ok(db_url, "template", "add", "Refund", "--body", "-", "--status", "pending", input=body)
    number = store.tickets.create(NewTicket(subject="Charged twice", customer="Ann Lee <ann@example.com>"))
    assert fails(db_url, "reply", number, "-T", "Refund", "--set", "Refund amount=12 EUR") == (
        "ticketdesk: error: template 'Refund' asks for 'Order number': give --set 'Order number=VALUE'"
    )
    assert fails(db_url, "reply", number, "-T", "Refund", "--set", "Order nr=1").startswith(
        "ticketdesk: error: --set: template 'Refund' does not ask for 'Order nr'"
    )
    assert store.tickets.get(number).comments == []
    shown = ok(
        db_url, "template", "preview", "Refund", number, "--set", "Refund amount=12 EUR", "--set", "Order number=A-17"
    )
    assert shown == "Hello,\nwe refunded 12 EUR for order A-17.\n-- and: status new → pending\n"
    ok(db_url, "reply", number, "-T", "Refund", "--set", "Refund amount=12 EUR", "--set", "Order number=A-17")
    detail = store.tickets.get(number)
    assert detail.comments[-1].body == "Hello,\nwe refunded 12 EUR for order A-17.\n" and detail.row.status == "pending"
