"""The real console script in tmux with a 16-colour terminal and with NO_COLOR: the escape
sequences it writes are read back (`capture-pane -e`) and checked."""

from __future__ import annotations

import re
import shlex
import shutil
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from ticketdesk.models.clock import utcnow
from ticketdesk.store import NewTicket, Store

from .helpers import tmux

pytestmark = pytest.mark.slow

SGR = re.compile(r"\x1b\[([0-9;]*)m")


def _sgr_params(pane: str) -> list[list[int]]:
    return [[int(p) for p in m.group(1).split(";") if p] for m in SGR.finditer(pane)]


def _colours(params: list[int]) -> list[tuple[str, tuple[int, ...]]]:
    """The colours an SGR sequence sets: ("256", (n,)), ("rgb", (r, g, b)) or ("16", (code,))."""
    found: list[tuple[str, tuple[int, ...]]] = []
    i = 0
    while i < len(params):
        p = params[i]
        if p in (38, 48) and i + 1 < len(params):
            if params[i + 1] == 5:
                found.append(("256", (params[i + 2],)))
                i += 3
                continue
            if params[i + 1] == 2:
                found.append(("rgb", tuple(params[i + 2 : i + 5])))
                i += 5
                continue
        if 30 <= p <= 37 or 40 <= p <= 47 or 90 <= p <= 97 or 100 <= p <= 107:
            found.append(("16", (p,)))
        i += 1
    return found


def _is_grey(kind: str, value: tuple[int, ...]) -> bool:
    if kind == "256":
        return value[0] >= 232 or value[0] in (0, 7, 8, 15, 16, 231)
    if kind == "rgb":
        return len(set(value)) == 1
    return value[0] in (30, 37, 40, 47, 90, 97, 100, 107)


@pytest.fixture
def breached_db(tmp_path: Path) -> Path:
    db = tmp_path / "colours.db"
    store = Store.open(f"sqlite:///{db}", login="admin", check=False)
    try:
        store.init()
        store.tickets.create(NewTicket(subject="Mail server down", priority="P0"), now=utcnow() - timedelta(days=3))
        store.tickets.create(NewTicket(subject="Printer jams", priority="P2"))
    finally:
        store.close()
    return db


def _screen(db: Path, tmp_path: Path, env: dict[str, str]) -> str:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    script = Path(sys.executable).parent / "ticketdesk"
    if not script.exists():
        pytest.skip(f"console script not installed at {script}")
    settings = {"TICKETDESK_DB": str(db), "TICKETDESK_CONFIG": str(tmp_path / "none.toml"), **env}
    command = "env -u COLORTERM -u NO_COLOR " + " ".join(f"{k}={shlex.quote(v)}" for k, v in settings.items())
    command += f" {shlex.quote(str(script))} --as admin"
    server = f"td-{uuid.uuid4().hex[:10]}"
    try:
        started = tmux(server, "new", "-d", "-s", server, "-x", "100", "-y", "30", command)
        assert started.returncode == 0, started.stderr
        deadline = time.monotonic() + 15
        pane = ""
        while time.monotonic() < deadline:
            pane = tmux(server, "capture-pane", "-e", "-p", "-t", server).stdout
            if "Mail server down" in pane and "Printer jams" in pane:
                time.sleep(0.3)  # let the last paint land
                return tmux(server, "capture-pane", "-e", "-p", "-t", server).stdout
            time.sleep(0.1)
        raise AssertionError(f"the queue never showed; last screen:\n{pane}")
    finally:
        tmux(server, "kill-server")


def test_sixteen_colour_terminal_gets_only_the_sixteen_colours(breached_db: Path, tmp_path: Path) -> None:
    pane = _screen(breached_db, tmp_path, {"TERM": "xterm-16color"})
    colours = [c for params in _sgr_params(pane) for c in _colours(params)]
    assert colours, "no colour at all in a colour terminal"
    assert {kind for kind, _ in colours} == {"16"}, sorted(set(colours))[:10]
    # the breached P0 (its SLA-left cell is negative) still stands out in colour
    before_breached = re.search(r"((?:\x1b\[[0-9;]*m)+)-\dd", pane)
    assert before_breached is not None, pane
    assert any(not _is_grey(k, v) for p in _sgr_params(before_breached.group(1)) for k, v in _colours(p))


def test_no_color_uses_no_colour_and_marks_the_breach_by_reverse_video(breached_db: Path, tmp_path: Path) -> None:
    pane = _screen(breached_db, tmp_path, {"TERM": "xterm-256color", "NO_COLOR": "1"})
    colours = [c for params in _sgr_params(pane) for c in _colours(params)]
    assert all(_is_grey(kind, value) for kind, value in colours), sorted(c for c in set(colours) if not _is_grey(*c))
    before_breached = re.search(r"((?:\x1b\[[0-9;]*m)+)-\dd", pane)
    assert before_breached is not None, pane
    assert any(7 in params for params in _sgr_params(before_breached.group(1))), repr(before_breached.group(1))
