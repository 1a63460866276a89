"""Mail subjects: the `[#202611001]` ticket tag, reply and forward prefixes in the languages
customers write (Re:, AW:, SV:, 回复:, Fwd:, WG:, 转发: ...), and the clean subject a new
ticket gets. Used when a mail comes in (threading, the ticket's subject) and when a reply
goes out (its subject)."""

from __future__ import annotations

import re

_NUMBER_TAG = re.compile(r"\[#(\d{9,12})\]")


def ticket_number_in_subject(subject: str) -> str | None:
    """The ticket number of a `[#202611001]` tag in the subject, if any."""
    found = _NUMBER_TAG.search(subject)
    return found.group(1) if found else None


_REPLY_WORDS = r"re|aw|sv|antw|odp|rif|回复|回覆|答复|答覆"
_FORWARD_WORDS = r"fwd?|wg|tr|enc|rv|转发|轉發|转寄|轉寄"
_PREFIX = re.compile(
    rf"^\s*(?:(?:{_REPLY_WORDS}|{_FORWARD_WORDS})\s*(?:\[\d+\]|\(\d+\))?\s*[:：]|\[#\d{{9,12}}\])\s*",
    re.IGNORECASE,
)
_FORWARD_PREFIX = re.compile(rf"^\s*(?:\[#\d{{9,12}}\]\s*)?(?:{_FORWARD_WORDS})\s*[:：]", re.IGNORECASE)
_REPLY_OR_FORWARD = re.compile(
    rf"^\s*(?:(?:{_REPLY_WORDS}|{_FORWARD_WORDS})\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+", re.IGNORECASE
)


def strip_reply_prefixes(subject: str) -> str:
    """The subject without its leading Re:/Fwd:/AW:/回复:/转发: ... prefixes (tags kept)."""
    return _REPLY_OR_FORWARD.sub("", subject)


def clean_subject(subject: str) -> str:
    """The subject without leading Re:/Fwd:/AW:/回复:/转发: ... prefixes and `[#number]` tags."""
    text = subject
    while True:
        stripped = _PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    text = _NUMBER_TAG.sub(" ", text)
    return " ".join(text.split())


def is_forward_subject(subject: str) -> bool:
    """The subject starts with a forward prefix (Fwd:, FW:, WG:, 转发: ...)."""
    return bool(_FORWARD_PREFIX.match(subject))
