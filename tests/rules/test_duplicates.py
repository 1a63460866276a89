"""Duplicate detection: English and Chinese near-duplicates match, unrelated tickets and
short texts contained in long ones do not, the threshold is inclusive."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketdesk.rules.duplicates import (
    DEFAULT_THRESHOLD,
    find_duplicate,
    normalise,
    similarity,
    ticket_similarity,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Printer on floor 3 not printing", "printer on floor 3 is not printing"),
        ("打印机无法打印", "打印机不能打印了"),
        ("Can't log in to Outlook", "Cannot log in to outlook!"),
        ("您好，VPN连不上了。", "VPN 连接不上"),
        ("ＶＰＮ　断线", "VPN 断线"),  # full-width letters and space
        ("Outlook keeps crashing", "outlook keeps   crashing."),
    ],
)
def test_near_duplicates_score_high(a: str, b: str) -> None:
    assert similarity(a, b) >= DEFAULT_THRESHOLD


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("VPN drops", "Printer jams"),
        ("VPN", "VPN drops every hour"),  # a short text is not a copy of every text containing it
        ("打印机无法打印", "电脑无法开机"),
        ("Password reset", "Password expired"),
        ("", "Printer jams"),
        ("", ""),
    ],
)
def test_different_tickets_score_low(a: str, b: str) -> None:
    assert similarity(a, b) < DEFAULT_THRESHOLD


def test_normalise() -> None:
    assert normalise("打印机无法打印了！") == "打印机不能打印"
    assert normalise("邮箱登陆不了") == "邮箱登录不了"  # 不了 is a verb ending, not a particle
    assert normalise("  Printer   DOESN'T print. ") == "printer does not print"


OPEN = [
    ("202603001", "VPN drops every hour", "Since Monday the VPN disconnects."),
    ("202603002", "Printer on floor 3 is not printing", "Paper jam light on, reset did not help."),
    ("202603003", "打印机不能打印了", ""),
]


def test_find_duplicate_picks_the_best_candidate() -> None:
    found = find_duplicate("printer on floor 3 not printing", "", OPEN)
    assert found is not None and found[0] == "202603002"
    found = find_duplicate("打印机无法打印", "三楼的打印机", OPEN)
    assert found == ("202603003", 100.0)
    assert find_duplicate("Mailbox full", "Cannot receive mail", OPEN) is None
    assert find_duplicate("Printer jams", "", []) is None


def test_threshold_is_inclusive() -> None:
    score = similarity("Printer on floor 3 not printing", "Printer on floor 2 not printing")
    assert 50 < score < 100
    candidates = [("202603009", "Printer on floor 2 not printing", "")]
    assert find_duplicate("Printer on floor 3 not printing", "", candidates, threshold=score) == ("202603009", score)
    assert find_duplicate("Printer on floor 3 not printing", "", candidates, threshold=score + 0.01) is None


def test_description_lifts_but_never_lowers() -> None:
    subject = similarity("Outlook crashes on start", "Outlook crashing at startup")
    same_text = ticket_similarity(
        "Outlook crashes on start", "Error 0x800 when opening Outlook after the update",
        "Outlook crashing at startup", "Error 0x800 when opening Outlook after the update",
    )  # fmt: skip
    other_text = ticket_similarity(
        "Outlook crashes on start", "Error 0x800 when opening Outlook after the update",
        "Outlook crashing at startup", "Happens every morning since the laptop was replaced",
    )  # fmt: skip
    assert same_text > subject
    assert other_text == subject
    # an empty description is not compared
    assert ticket_similarity("Outlook crashes on start", "", "Outlook crashing at startup", "x") == subject


def test_ties_go_to_the_first_candidate_and_long_descriptions_are_cheap() -> None:
    log = "ERROR timeout\n" * 100_000  # 1.4 MB
    candidates = [("1", "VPN drops", log), ("2", "VPN drops", log)]
    assert find_duplicate("VPN drops", log, candidates) == ("1", 100.0)


texts = st.text(alphabet=st.sampled_from("abc 打印机 VPN"), max_size=30)


@settings(max_examples=200, deadline=None)
@given(texts, texts)
def test_similarity_is_a_symmetric_score(a: str, b: str) -> None:
    score = similarity(a, b)
    assert 0 <= score <= 100
    assert score == pytest.approx(similarity(b, a))
    if normalise(a):
        assert similarity(a, a) == 100
