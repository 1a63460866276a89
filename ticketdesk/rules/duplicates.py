"""Duplicate detection: does a new ticket look like one that is already open?

Similarity is a score from 0 to 100, the larger of two measures on normalised text:

- words: the mean of rapidfuzz's `token_set_ratio` (word order and repeated words do not
  count) and `token_sort_ratio` (so a short text is not a "duplicate" of every longer text
  that contains its words: "VPN" vs "VPN drops every hour" is no match);
- characters: `fuzz.ratio` on the text with all spaces removed, which is what works for
  Chinese, written without spaces between words.

Normalising: NFKC (full-width letters and digits become ASCII), case-folded, punctuation
as spaces; English contractions spelt out ("can't" → "cannot"); in Chinese the common ways
of saying "cannot" are made one ("无法", "不能", "没法"...), greetings and sentence-final
particles ("了", "吗", "呢"...) are dropped, so "打印机无法打印" and "打印机不能打印了" compare as
the same text.

Pure: no I/O; the store picks the candidates (e.g. open tickets of the last weeks).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from rapidfuzz import fuzz, utils

DEFAULT_THRESHOLD = 85.0
#: Descriptions are compared on their first characters only (they may be a MiB of logs).
DESCRIPTION_PREFIX = 2000
#: When both tickets have a description, its similarity can lift the subject's score:
#: score = max(subject, SUBJECT_WEIGHT * subject + (1 - SUBJECT_WEIGHT) * description).
SUBJECT_WEIGHT = 0.7

_ENGLISH = [
    (re.compile(r"\bcan'?t\b|\bcan not\b|\bunable to\b|\bcould not\b|\bcouldn'?t\b"), "cannot"),
    (re.compile(r"\b(does|do|did|is|are|was|were|has|have|had|would|should)n'?t\b"), r"\1 not"),
    (re.compile(r"\bwon'?t\b"), "will not"),
]
_CHINESE = [
    (re.compile(r"无法|不能够|不能|不可以|没法|没办法"), "不能"),
    (re.compile(r"没有"), "没"),
    (re.compile(r"登陆"), "登录"),  # the common misspelling
    (re.compile(r"^(?:您好|你好|请问|麻烦)+|谢谢"), " "),
    # sentence-final particles: before punctuation, a space or the end
    (re.compile(r"(?<!不)[了吗呢吧啊呀哦啦嘛]+(?=[\s,.!?;:，。！？；：、…~]|$)"), " "),
]


def normalise(text: str) -> str:
    """The text as compared: see the module docstring."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    for pattern, replacement in _ENGLISH:
        text = pattern.sub(replacement, text)
    for pattern, replacement in _CHINESE:
        text = pattern.sub(replacement, text)
    return " ".join(utils.default_process(text).split())


def similarity(a: str, b: str) -> float:
    """0 (nothing alike) to 100 (the same text once normalised); 0 if either is empty."""
    return _similarity(normalise(a), normalise(b))


def _similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    words = (fuzz.token_set_ratio(a, b) + fuzz.token_sort_ratio(a, b)) / 2
    chars = fuzz.ratio(a.replace(" ", ""), b.replace(" ", ""))
    return float(max(words, chars))


def ticket_similarity(subject: str, description: str, other_subject: str, other_description: str) -> float:
    """How alike two tickets are: the subjects' similarity, lifted by the descriptions'
    when both have one (a different description never lowers the score)."""
    score = similarity(subject, other_subject)
    mine, theirs = description.strip()[:DESCRIPTION_PREFIX], other_description.strip()[:DESCRIPTION_PREFIX]
    if mine and theirs:
        blended = SUBJECT_WEIGHT * score + (1 - SUBJECT_WEIGHT) * similarity(mine, theirs)
        score = max(score, blended)
    return score


def find_duplicate(
    new_subject: str,
    new_description: str,
    candidates: Sequence[tuple[str, str, str]],
    threshold: float = DEFAULT_THRESHOLD,
) -> tuple[str, float] | None:
    """(number, score) of the candidate (number, subject, description) most like the new
    ticket, if its score reaches `threshold`; the first one wins a tie."""
    best: tuple[str, float] | None = None
    for number, subject, description in candidates:
        score = ticket_similarity(new_subject, new_description, subject, description)
        if score >= threshold and (best is None or score > best[1]):
            best = (number, score)
    return best
