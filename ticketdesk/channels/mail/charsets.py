"""Bytes of a mail to text by their declared charset, with the fallbacks real mail needs.

A declared gb2312/gbk is read as gb18030 (its superset), big5 as big5hkscs. When the
declared charset does not fit the bytes, or none is declared, UTF-8 is tried first (strict
UTF-8 almost never validates by accident), then gb18030 and big5 (scored against each
other, since gb18030 accepts nearly every big5 byte string), and last the candidate with
the fewest replacement characters. Every fallback is recorded in `notes`."""

from __future__ import annotations

import codecs
import re

_SUPERSET = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "euccn": "gb18030",
    "csgb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "chinese": "gb18030",
    "gb18030": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "csbig5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    "cn-big5": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "ascii",
}
_UNKNOWN_CHARSETS = {"unknown-8bit", "x-unknown", "unknown", "default", "x-user-defined", "8bit", ""}


def python_codec(charset: str | None) -> str | None:
    """A Python codec for a declared charset (superset where one exists), None if unknown."""
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower().split("*", 1)[0]
    if name in _UNKNOWN_CHARSETS:
        return None
    name = _SUPERSET.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    # only text encodings (not base64_codec, rot13, ...)
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef\u2010-\u2027]")


def _cjk_score(text: str, check: str) -> float:
    """Share of the non-ASCII characters that are CJK ideographs/punctuation in `check`."""
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return 1.0
    good = 0
    for char in wide:
        if _CJK.match(char):
            try:
                char.encode(check)
            except UnicodeEncodeError:
                continue
            good += 1
    return good / len(wide)


def _guess_strict(data: bytes) -> tuple[str, str] | None:
    """(text, codec) for undeclared or mislabelled bytes, or None when nothing fits cleanly."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    candidates: list[tuple[str, str]] = []
    for name in ("gb18030", "big5hkscs"):
        try:
            candidates.append((data.decode(name), name))
        except UnicodeDecodeError:
            continue
    if len(candidates) == 2:
        gb, big5 = candidates
        gb_score = _cjk_score(gb[0], "gb2312")
        big5_score = _cjk_score(big5[0], "big5")
        return big5 if big5_score > gb_score + 0.1 else gb
    return candidates[0] if candidates else None


def _maybe_utf8(data: bytes, text: str, codec: str, declared: str, what: str, notes: list[str]) -> str:
    """UTF-8 labelled as a Chinese charset decodes without error but as nonsense; prefer
    UTF-8 when the bytes are valid UTF-8 and read as more plausible CJK text."""
    if codec not in {"gb18030", "big5hkscs"} or data.isascii():
        return text
    try:
        utf8 = data.decode("utf-8")
    except UnicodeDecodeError:
        return text
    check = "gb2312" if codec == "gb18030" else "big5"
    if _cjk_score(utf8, "gb18030") > _cjk_score(text, check):
        notes.append(f"{what}: not valid {declared}, read as utf-8")
        return utf8
    return text


def decode_text(data: bytes, charset: str | None, what: str, notes: list[str]) -> str:
    """Bytes to text by the declared charset, with fallbacks recorded in `notes`."""
    if not data:
        return ""
    codec = python_codec(charset)
    declared = (charset or "").strip().strip("\"'").lower()
    if declared and codec is None:
        notes.append(f"{what}: unknown charset {declared!r}")
    if codec:
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            pass
        else:
            return _maybe_utf8(data, text, codec, declared, what, notes)
    elif data.isascii():
        return data.decode("ascii")
    guess = _guess_strict(data)
    if guess is not None:
        text, used = guess
        if codec and codec != "ascii":
            notes.append(f"{what}: not valid {declared}, read as {used}")
        else:
            notes.append(f"{what}: undeclared 8-bit charset, read as {used}")
        return text
    order = [c for c in (codec, "utf-8", "gb18030", "big5hkscs") if c and c != "ascii"]
    best_text, best_name = "", ""
    best_bad = -1
    for name in order:
        text = data.decode(name, errors="replace")
        bad = text.count("\ufffd")
        if best_bad < 0 or bad < best_bad:
            best_text, best_name, best_bad = text, name, bad
    notes.append(f"{what}: not decodable as {declared or 'any known charset'}, read as {best_name} with replacements")
    return best_text
