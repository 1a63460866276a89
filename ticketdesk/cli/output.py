"""Command output: exact in a pipe, harmless on a terminal (DESIGN.md: untrusted text is data).

- `out()` is the stream a command writes to. Piped or redirected it is stdout itself, so
  CSV, JSON, TSV, Markdown and TOML keep the stored text exactly. On a terminal every write
  goes through rules/text.py `printable`: an ESC, BEL, CR or C1 control (CSI is \\x9b) kept
  in a subject, a name or a comment is shown as `\\x1b` instead of being obeyed, whatever
  the format. Rich output (tables, `show`) escapes its cells itself and writes its own
  styling, so it does not go through here.
- `json_text()` is JSON with every control character escaped, C1 and DEL included
  (`ensure_ascii=False` escapes C0 only): the same data, safe to `cat`, CJK kept readable.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, TextIO

from ticketdesk.rules.text import printable

# json.dumps escapes U+0000-U+001F itself; DEL and the C1 block pass through raw.
_JSON_RAW_CONTROL = re.compile(r"[\x7f-\x9f]")


def stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (ValueError, AttributeError):  # closed or replaced by something without isatty
        return False


class TerminalText:
    """A text stream that makes every write printable before passing it on."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(printable(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def out() -> TextIO:
    """stdout as it is when piped or redirected; made printable when it is a terminal."""
    return TerminalText(sys.stdout) if stdout_is_terminal() else sys.stdout  # type: ignore[return-value]


def json_text(data: Any, *, indent: int | None = None) -> str:
    text = json.dumps(data, ensure_ascii=False, indent=indent)
    return _JSON_RAW_CONTROL.sub(_escape, text) if _JSON_RAW_CONTROL.search(text) else text


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def dump_json(data: Any) -> None:
    """Indented JSON and a newline on stdout (see `out` and `json_text`)."""
    out().write(json_text(data, indent=2) + "\n")
