"""One person's name, email and phone found in text and replaced with one marker, `ERASED`
(the customer erasure, store/people/erase.py). The email and the phone identify someone
(any case; a phone with or without spaces, dashes or its country code); the full name is
replaced in any value, the words of the name (as written, whole words, 3 letters or more)
only in the free text of their own tickets."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

#: What every erased value becomes (one constant: tests and readers look for it).
ERASED = "[erased]"
_MIN_PHONE_DIGITS = 6
_MIN_NAME_WORD = 3


@dataclass(frozen=True)
class Redactor:
    """Replaces one person's name, email and phone in text with ERASED."""

    #: the full name, email and phone variants: for any value
    strict: tuple[re.Pattern[str], ...]
    #: also the words of the name: for free text of their tickets
    words: tuple[re.Pattern[str], ...]

    @classmethod
    def of(cls, name: str | None, email: str | None, phone: str | None) -> Redactor:
        strict: list[re.Pattern[str]] = []
        if email:
            strict.append(re.compile(re.escape(email), re.IGNORECASE))
        if name and name.strip() and name.strip() != ERASED:
            parts = [re.escape(p) for p in name.split()]
            strict.append(re.compile(_bounded(r"\s+".join(parts), name.strip()), re.IGNORECASE))
        strict += _phone_patterns(phone)
        words = []
        for word in sorted(set(re.split(r"[\s,.;:()\"'<>]+", name or "")), key=len, reverse=True):
            if len(word) >= _MIN_NAME_WORD and word.isalpha() and word.lower() != "erased":
                words.append(re.compile(_bounded(re.escape(word), word)))
        return cls(tuple(strict), tuple(words))

    def value(self, value: str | None) -> str | None:
        """A stored value with the full name, email and phone replaced."""
        return _sub(self.strict, value)

    def text(self, value: str | None) -> str | None:
        """Free text: also the words of the name."""
        return _sub(self.words, _sub(self.strict, value))

    def found(self, value: str | None) -> bool:
        if not value:
            return False
        return any(p.search(value) for p in self.strict)


def _bounded(pattern: str, literal: str) -> str:
    """Whole words for a name in a script with word boundaries (not inside "Samuel");
    none for Chinese, where names sit between other characters."""
    start = r"(?<!\w)" if literal[:1].isascii() and literal[:1].isalnum() else ""
    end = r"(?!\w)" if literal[-1:].isascii() and literal[-1:].isalnum() else ""
    return start + pattern + end


def _phone_patterns(phone: str | None) -> list[re.Pattern[str]]:
    if not phone or not phone.strip():
        return []
    digits = re.sub(r"\D", "", phone)
    if len(digits) < _MIN_PHONE_DIGITS:
        return [re.compile(re.escape(phone.strip()))]
    variants = [digits]
    international = phone.strip().startswith(("+", "00"))
    if digits.startswith("00"):
        digits = digits[2:]
        variants.append(digits)
    if international:  # also written without the country code (1 to 3 digits)
        variants += [digits[k:] for k in (1, 2, 3) if len(digits) - k >= 7]
    sep = r"[\s\-./()]*"
    return [re.compile(r"(?<!\d)" + sep.join(v) + r"(?!\d)") for v in sorted(set(variants), key=len, reverse=True)]


def _sub(patterns: Iterable[re.Pattern[str]], value: str | None) -> str | None:
    if not value:
        return value
    for pattern in patterns:
        value = pattern.sub(ERASED, value)
    return value


def search_terms(email: str, phone: str | None) -> list[str]:
    """What identifies them uniquely, as it may be written: looked up in every text."""
    terms = [email]
    if phone and phone.strip():
        terms.append(phone.strip())
        digits = re.sub(r"\D", "", phone)
        if len(digits) >= _MIN_PHONE_DIGITS and digits != phone.strip():
            terms.append(digits)
    return [t for t in terms if len(t) >= 3]
