"""Two-character words in Chinese (Japanese, Korean) text, for the search's bigram indexes.

The trigram indexes serve words of three or more characters. The usual Chinese search word
is two characters (打印, 退款, 张伟), which has no trigram: without another index it is a LIKE
on every ticket and comment (1.7 s at 1M tickets). Chinese is written without spaces, so
the bigram indexes hold every pair of neighbouring CJK characters of a text: `打印机坏了`
gives 打印 印机 机坏 坏了. A two-character CJK word is in a text exactly when it is one of the
text's pairs (both characters are CJK, so they are neighbours in one run of CJK text), which
is what LIKE '%打印%' finds; other text gives no pairs and costs the indexes nothing.

SQLite keeps the pairs in FTS5 tables (migration 0013) fed by `sqlite_tokens`, registered
on every connection as the SQL function `ticketdesk_bigrams`. A pair is stored as an ASCII
token (`6253g5370`: the code points in hex), so FTS5's tokenizer, whose Unicode tables are
from 2012, never splits or drops a character it does not know. PostgreSQL computes the same
pairs in SQL (`CJK_CLASS` in the migration's function) for GIN expression indexes, in a
UTF8 database (in another encoding the search tests pairs with ILIKE, store/tickets/filters.py).

Changing `CJK_RANGES` or the token form changes what the indexes hold: it needs a migration
that rebuilds them (SQLite: `INSERT INTO ticket_bigram(ticket_bigram) VALUES ('rebuild')`;
PostgreSQL: a new function and REINDEX), as the indexes' deletes recompute old rows' pairs.
On SQLite the bigram tables' views name `ticket`, `comment` and `customer`: a later
migration that makes Alembic rebuild one of those tables (batch mode's copy and rename)
must drop the views and triggers first and create them again after (migration 0013's
statements), or SQLite refuses the rename.
"""

from __future__ import annotations

import re

#: The characters written without spaces between words: Han (every block, with the
#: iteration and ideographic-zero marks 々〆〇), kana, Hangul syllables.
CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x3005, 0x3007),
    (0x3041, 0x3096),
    (0x309D, 0x309F),
    (0x30A1, 0x30FA),
    (0x30FC, 0x30FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xAC00, 0xD7A3),
    (0xF900, 0xFAFF),
    (0x20000, 0x323AF),
)

#: The ranges as a regular-expression bracket body, in the \U escapes both Python's `re` and
#: PostgreSQL's regular expressions read.
REGEX_CLASS = "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in CJK_RANGES)
_RUNS = re.compile(f"[{REGEX_CLASS}]{{2,}}")
_PAIR = re.compile(f"[{REGEX_CLASS}]{{2}}")


def is_cjk_pair(word: str) -> bool:
    """Whether the bigram indexes serve this search word: two CJK characters."""
    return _PAIR.fullmatch(word) is not None


def bigrams(text: str | None) -> set[str]:
    """Every pair of neighbouring CJK characters in `text`."""
    pairs: set[str] = set()
    if text:
        for run in _RUNS.findall(text):
            pairs.update(run[i : i + 2] for i in range(len(run) - 1))
    return pairs


def token(pair: str) -> str:
    """A pair as the SQLite index stores it: ASCII letters and digits only."""
    return f"{ord(pair[0]):x}g{ord(pair[1]):x}"


def sqlite_tokens(*texts: str | None) -> str:
    """The SQL function `ticketdesk_bigrams(text, ...)`: the pairs of each text (a pair never
    spans two texts, as LIKE on each column would not find it), as space-separated tokens."""
    pairs: set[str] = set()
    for text in texts:
        pairs |= bigrams(text)
    return " ".join(sorted(token(pair) for pair in pairs))
