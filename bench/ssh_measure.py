"""What bench/ssh.py measures with: a row-level model of the screen a TUI paints, the timing
of one key's response, percentiles, and a process's memory and CPU from /proc."""

from __future__ import annotations

import os
import re
import select
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SIZE = (120, 40)
KEYS = {"j": b"j", "pagedown": b"\x1b[6~"}
LOADING = "loading…"
NUMBER_ON_SCREEN = re.compile(r"\b20\d{7,}\b")
#: the queue's status line: " 2/57,249   sort priority"
POSITION = re.compile(r"^\s*(\d[\d,]*)/(\d[\d,]*)\s")

# one terminal output token: CSI (params, intermediates, final), OSC, another escape, CR, LF, text
TOKEN = re.compile(
    rb"\x1b\[([0-9;:?<>=!]*)[ -/]*([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[^\[\]]|\r|\n|[^\x1b\r\n]+"
)


class ScreenRows:
    """The text of each screen row as painted from its first column. Enough to read a Textual
    screen (it positions the cursor at the start of each region line and writes the line, and
    goes on to the next row with CR LF), without emulating a terminal: text written from
    another column (a scrollbar, a span) is ignored, so is every style. Output may be fed in
    chunks split anywhere, even inside an escape sequence or a character."""

    def __init__(self) -> None:
        self.rows: dict[int, str] = {}
        self._row = 1
        self._col = 1  # 0: somewhere other than the first column
        self._fresh = True  # the next text at column 1 starts the row anew
        self._pending = b""

    def feed(self, data: bytes) -> None:
        data = self._pending + data
        at = 0
        while at < len(data):
            match = TOKEN.match(data, at)
            if match is None:  # an escape sequence cut by the chunk's end: kept for the next
                break
            token, end = match.group(0), match.end()
            if token.startswith(b"\x1b["):
                self._csi(match.group(1).decode(), match.group(2).decode())
            elif token == b"\r":
                self._col, self._fresh = 1, True
            elif token == b"\n":
                self._row += 1
                self._fresh = True
            elif not token.startswith(b"\x1b"):
                cut = _utf8_tail(token) if end == len(data) else 0
                self._text(data[at : end - cut].decode("utf-8", "replace"))
                if cut:  # a character cut by the chunk's end waits for the rest
                    at = end - cut
                    break
            at = end
        self._pending = data[at:]

    def _csi(self, params: str, final: str) -> None:
        if final in "Hf":
            parts = [int(p) if p.isdigit() else 1 for p in params.split(";")] if params else [1, 1]
            self._row, self._col = parts[0], parts[1] if len(parts) > 1 else 1
            self._fresh = self._col == 1
        elif (final, params) in (("J", "2"), ("J", "3"), ("h", "?1049"), ("h", "?1047"), ("h", "?47")):
            self.rows.clear()  # the screen cleared, or the alternate screen entered
        elif final in "ABCDEFGd":  # another cursor move: the column is no longer known
            self._col = 0

    def _text(self, text: str) -> None:
        if self._col != 1 or not text:
            return
        if self._fresh:
            self.rows[self._row] = text
            self._fresh = False
        else:
            self.rows[self._row] = self.rows.get(self._row, "") + text

    def position(self) -> tuple[int, int] | None:
        """(cursor, total) from the queue's status line, the lowest row that has one."""
        for row in sorted(self.rows, reverse=True):
            match = POSITION.match(self.rows[row])
            if match:
                return int(match.group(1).replace(",", "")), int(match.group(2).replace(",", ""))
        return None

    def cursor(self) -> int:
        """The queue's cursor, counted from 1 as the status line shows it (0: not shown)."""
        position = self.position()
        return position[0] if position else 0

    def loading(self) -> bool:
        return any(LOADING in text for text in self.rows.values())

    def ticket_shown(self) -> bool:
        return any(NUMBER_ON_SCREEN.search(text) for text in self.rows.values())

    def text(self) -> str:
        return "\n".join(self.rows[row] for row in sorted(self.rows))


def _utf8_tail(data: bytes) -> int:
    """How many bytes at the end of `data` begin a UTF-8 character not finished yet."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 != 0x80:  # a lead byte (or ASCII)
            need = 2 if byte & 0xE0 == 0xC0 else 3 if byte & 0xF0 == 0xE0 else 4 if byte & 0xF8 == 0xF0 else 1
            return back if need > back else 0
    return 0


def response(sent: float, chunks: list[tuple[float, bool]], settle: float) -> tuple[float, float] | None:
    """One key's (first byte, complete) in ms after `sent`, from the output chunks that
    followed it: (arrival time, the screen showed the key's result after this chunk).
    Complete is the last chunk of the burst in which the result was first shown: the burst
    goes on while chunks follow each other within `settle` seconds. None if the result was
    never shown."""
    first_done = next((i for i, (_, done) in enumerate(chunks) if done), None)
    if first_done is None:
        return None
    last = first_done
    while last + 1 < len(chunks) and chunks[last + 1][0] - chunks[last][0] < settle:
        last += 1
    return (chunks[0][0] - sent) * 1000, (chunks[last][0] - sent) * 1000


def pct(samples: list[float], q: float) -> float:
    """The q-quantile, nearest rank (p95 of 20 samples is the 19th smallest)."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    rank = max(1, -(-len(ordered) * q // 1))  # ceil(n * q), at least the first
    return ordered[int(rank) - 1]


def read_until(fd: int, screen: ScreenRows, ok: Callable[[ScreenRows], bool], timeout: float) -> None:
    """Feed a pty's output to `screen` until `ok(screen)`."""
    deadline = time.monotonic() + timeout
    while not ok(screen):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the screen did not get there in {timeout:.0f} s:\n{screen.text()}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            screen.feed(os.read(fd, 65536))


# --- /proc ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """kB: resident, proportional (shared pages divided among their sharers), private (USS)."""

    rss: float
    pss: float
    private: float


def usage(pid: int) -> Usage:
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, value = line.partition(":")
        fields[name] = int(value.split()[0])
    return Usage(fields["Rss"], fields["Pss"], fields["Private_Clean"] + fields["Private_Dirty"])


def _stat(pid: int) -> list[str]:
    # the command name (field 2) may hold spaces and parentheses: split after its last ")"
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 once it is gone)."""
    try:
        fields = _stat(pid)
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sessions(server: int) -> tuple[list[int], list[int]]:
    """The processes under `server` (children, grandchildren…) split in two: those on a
    terminal of their own (the sessions, each on its pty) and the rest (the server's
    helpers, such as a parent that forks the sessions)."""
    parents: dict[int, list[int]] = {}
    ttys: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = _stat(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
            ttys[int(entry.name)] = int(fields[4])
    below, todo = [], list(parents.get(server, []))
    while todo:
        pid = todo.pop()
        below.append(pid)
        todo.extend(parents.get(pid, []))
    own = [pid for pid in below if ttys.get(pid, 0) not in (0, ttys.get(server, 0))]
    return sorted(own), sorted(pid for pid in below if pid not in own)
