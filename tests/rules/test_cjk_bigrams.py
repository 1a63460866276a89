"""The pairs the bigram indexes hold (rules/cjk_bigrams.py): a two-character CJK word is in
a text exactly when it is one of the text's pairs, as LIKE '%word%' would find it."""

from __future__ import annotations

import importlib

from hypothesis import given
from hypothesis import strategies as st

from ticketdesk.rules import cjk_bigrams

CJK = st.sampled_from("打印机坏了退款账号登录々〇ひらがなカタカナー한국어𠀀𪜶豈")
TEXT = st.text(alphabet=st.one_of(CJK, st.sampled_from(" ab1,。\n・")), max_size=30)


@given(text=TEXT, word=st.text(alphabet=CJK, min_size=2, max_size=2))
def test_a_pair_is_in_the_text_exactly_when_the_index_holds_it(text: str, word: str) -> None:
    assert cjk_bigrams.is_cjk_pair(word)
    assert (word in text) == (word in cjk_bigrams.bigrams(text))
    tokens = cjk_bigrams.sqlite_tokens(text).split()
    assert (word in text) == (cjk_bigrams.token(word) in tokens)


@given(first=TEXT, second=TEXT)
def test_a_pair_never_spans_two_texts(first: str, second: str) -> None:
    joined = set(cjk_bigrams.sqlite_tokens(first, second).split())
    assert joined == set(cjk_bigrams.sqlite_tokens(first).split()) | set(cjk_bigrams.sqlite_tokens(second).split())


def test_what_the_index_serves() -> None:
    assert cjk_bigrams.bigrams("打印机坏了 VPN 无法打印") == {"打印", "印机", "机坏", "坏了", "无法", "法打"}
    assert cjk_bigrams.bigrams(None) == set() == cjk_bigrams.bigrams("no chinese here")
    assert cjk_bigrams.token("打印") == "6253g5370"
    assert cjk_bigrams.token("𠀀𪜶") == "20000g2a736"  # beyond the BMP: still letters and digits
    for word in ("打印", "ひら", "한국", "々〇"):
        assert cjk_bigrams.is_cjk_pair(word), word
    for word in ("打", "打印机", "ab", "打a", "。打", "・カ"):
        assert not cjk_bigrams.is_cjk_pair(word), word


def test_the_migration_indexes_the_characters_the_search_looks_for() -> None:
    """PostgreSQL's function (migration 0013) has the ranges written out; they must be the
    ones the search decides by."""
    migration = importlib.import_module("ticketdesk.migrations.versions.0013_cjk_bigrams")
    assert migration.CJK_CLASS == cjk_bigrams.REGEX_CLASS
