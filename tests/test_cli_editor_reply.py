"""`ticketdesk reply N --edit` (issue 15, point 4) with a scripted $EDITOR, on SQLite and
PostgreSQL; and the file's format (rules/editor_reply.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ticketdesk.drafts import DraftBox
from ticketdesk.rules.editor_reply import REPLY_STARTS, THREAD_STARTS, EditorReplyError, Quoted, read_reply, reply_file
from ticketdesk.store import NewTicket, Store

from .test_cli import fails, ok

ANN = "Ann Lee <ann@example.com>"

#: an editor that writes the reply under the marker and edits the header as told
EDITOR = """
import sys
path, reply, status, tags, drop_marker = sys.argv[1:6]
text = open(path, encoding="utf-8").read()
lines = text.splitlines()
out = []
for line in lines:
    if line.startswith("Status: ") and status != "-":
        line = "Status: " + status
    if line.startswith("Tags:") and tags != "-":
        line = "Tags: " + tags
    if line.startswith("-----") and "write the reply" in line:
        if drop_marker == "yes":
            continue
        out.append(line)
        out.extend(reply.split("|"))
        continue
    out.append(line)
open(path, "w", encoding="utf-8").write("\\n".join(out) + "\\n")
"""


@pytest.fixture
def editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    script = tmp_path / "editor.py"
    script.write_text(EDITOR, encoding="utf-8")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the draft box, not the user's

    def use(reply: str, status: str = "-", tags: str = "-", drop_marker: str = "no") -> None:
        # the file's path comes last, as an editor gets it
        wrapper = tmp_path / "ed.sh"
        wrapper.write_text(
            f'#!/bin/sh\nexec {sys.executable} {script} "$1" "{reply}" "{status}" "{tags}" "{drop_marker}"\n'
        )
        wrapper.chmod(0o755)
        monkeypatch.setenv("VISUAL", str(wrapper))

    return use


def test_a_reply_written_in_the_editor_is_sent_with_its_status_and_tags_and_can_be_undone(
    store: Store, db_url: str, editor: object
) -> None:
    number = store.tickets.create(NewTicket(subject="VPN drops", customer=ANN, tags=("vpn",)))
    store.tickets.reply(number, "We are looking into it.")  # quoted in the file, not sent again
    editor("Hello Ann,|please restart the client.", status="pending", tags="vpn, waiting")  # type: ignore[operator]
    assert (
        ok(db_url, "reply", number, "--edit")
        == f"reply queued on {number}: sends in 20 s (ticketdesk undo takes it back)\n"
    )
    detail = store.tickets.get(number)
    assert [c.body for c in detail.comments] == ["We are looking into it.", "Hello Ann,\nplease restart the client."]
    assert detail.row.status == "pending" and detail.row.tags == ("vpn", "waiting")
    [queued, _earlier] = sorted(store.outbox.entries(), key=lambda m: m.id, reverse=True)
    assert queued.status == "queued" and (queued.next_attempt_at - queued.created_at).total_seconds() == 20
    assert ok(db_url, "undo").startswith("undone: reply, status open → pending, tags +waiting on ")
    detail = store.tickets.get(number)
    assert detail.row.status == "open" and detail.row.tags == ("vpn",) and len(detail.comments) == 1


def test_an_editor_that_fails_or_an_empty_reply_sends_nothing_and_a_broken_file_is_kept(
    store: Store, db_url: str, editor: object, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    number = store.tickets.create(NewTicket(subject="VPN drops", customer=ANN))
    monkeypatch.setenv("VISUAL", "false")
    assert (
        fails(db_url, "reply", number, "--edit")
        == "ticketdesk: error: the editor 'false' exited with status 1: nothing sent"
    )
    editor("")  # type: ignore[operator]
    assert fails(db_url, "reply", number, "--edit") == "ticketdesk: error: the reply is empty: nothing sent"
    editor("Half a reply", drop_marker="yes")  # type: ignore[operator]
    message = fails(db_url, "reply", number, "--edit")
    assert "is gone: the reply cannot be told from the header" in message and "kept as the draft" in message
    assert store.tickets.get(number).comments == [] and store.outbox.entries() == []
    [box] = (tmp_path / "data").rglob("*.json")
    assert "Status: new" in DraftBox(box)[(number, "public")]  # the whole file: nothing typed is lost


def test_the_file_reads_back_its_reply_status_and_tags() -> None:
    text = reply_file(
        to=ANN, status="open", tags=["vpn"], draft="Draft so far",
        thread=[Quoted("2026-12-07 10:03", "Ann Lee", "My VPN drops.\\n\\nSince Monday.")],
    )  # fmt: skip
    assert text.splitlines()[3] == REPLY_STARTS and THREAD_STARTS in text and "> My VPN drops." in text
    assert read_reply(text).body == "Draft so far" and read_reply(text).status == "open"
    edited = text.replace("Tags: vpn", "Tags: vpn waiting,  urgent").replace("Draft so far", "Done.\\n\\nBye")
    assert read_reply(edited).tags == ("urgent", "vpn", "waiting") and read_reply(edited).body == "Done.\\n\\nBye"
    with pytest.raises(EditorReplyError, match="header line 2: expected To:, Status: or Tags:"):
        read_reply(text.replace("Status: open", "Stat open"))
