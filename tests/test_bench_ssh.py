"""What bench/ssh.py measures with (bench/ssh_measure.py): the screen model that reads the
queue's position off a TUI's output, the timing of one key's response, the percentile, and
the /proc readings. The bench itself is run by hand, never here."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import termios
import time

import pytest

from bench.ssh_measure import ScreenRows, cpu_seconds, pct, response, sessions, usage

# what Textual sent for a PgDn on the queue, shortened: the alternate screen, a title (OSC),
# rows positioned at column 1 and continued with CR LF (one still loading, one in Chinese),
# the scrollbar written at column 119, the status line on row 39
PAINT = (
    "\x1b[?1049h\x1b[?25l\x1b]22;default\x07\x1b[?2026$p"
    "\x1b[2;1H\x1b[38;2;226;227;229;48;2;36;47;56m  NUMBER      PRI STATUS\x1b[0m\r\n"
    "\x1b[38;2;224;224;224;48;2;18;18;18m  20261221309 P0  open  打印机无法连接\x1b[0m\r\n"
    "  loading…\x1b[0m\r\n"
    "\x1b[3;119H\x1b[7;38;2;0;48;84;48;2;18;18;18m▏\x1b[0m"
    "\x1b[39;1H\x1b[38;2;224;224;224m 39/57,249   sort priority\x1b[0m"
).encode()
ROWS = {
    2: "  NUMBER      PRI STATUS",
    3: "  20261221309 P0  open  打印机无法连接",
    4: "  loading…",
    39: " 39/57,249   sort priority",
}


def test_the_screen_reads_the_same_whatever_the_chunks() -> None:
    # ssh delivers output in chunks cut anywhere: inside an escape sequence, inside a
    # three-byte character
    for cut in range(len(PAINT) + 1):
        for cut2 in range(cut, len(PAINT) + 1, 5):
            screen = ScreenRows()
            for part in (PAINT[:cut], PAINT[cut:cut2], PAINT[cut2:]):
                screen.feed(part)
            assert screen.rows == ROWS, (cut, cut2)


def test_the_screen_gives_the_position_and_what_is_still_loading() -> None:
    screen = ScreenRows()
    screen.feed(PAINT)
    assert screen.position() == (39, 57249)
    assert screen.cursor() == 39
    assert screen.loading()
    assert screen.ticket_shown()
    # the page arrives: the loading row is painted over from its first column
    screen.feed(b"\x1b[4;1H  20261221777 P0  open  VPN drops\x1b[0m\x1b[39;1H 40/57,249   sort priority")
    assert not screen.loading()
    assert screen.cursor() == 40


def test_the_screen_forgets_what_a_clear_wipes_and_skips_other_columns() -> None:
    screen = ScreenRows()
    screen.feed(PAINT)
    screen.feed(b"\x1b[2J")
    assert screen.rows == {}
    assert screen.position() is None and screen.cursor() == 0
    screen.feed(b"\x1b[5;40H 7/9 not from the first column\x1b[6;1Hrow six\x1b[3Cmore")
    assert screen.rows == {6: "row six"}  # after a relative move the column is unknown


def test_a_response_is_complete_at_the_end_of_the_burst_that_shows_the_result() -> None:
    sent = 100.0
    # rows at +12 ms, the status line with the result at +45, the scrollbar at +60, then a
    # poll's repaint 300 ms later that belongs to no key
    chunks = [(100.012, False), (100.045, True), (100.060, False), (100.360, False)]
    assert response(sent, chunks, settle=0.030) == (pytest.approx(12), pytest.approx(60))
    # a narrower window ends the burst at the result itself
    assert response(sent, chunks, settle=0.010) == (pytest.approx(12), pytest.approx(45))


def test_a_response_that_never_shows_the_result_has_no_time() -> None:
    assert response(0.0, [(0.01, False), (0.02, False)], settle=0.03) is None
    assert response(0.0, [], settle=0.03) is None


def test_percentiles_are_nearest_rank() -> None:
    samples = [float(n) for n in range(20, 0, -1)]
    assert pct(samples, 0.95) == 19
    assert pct(samples, 0.5) == 10
    assert pct([7.0], 0.95) == 7
    with pytest.raises(ValueError):
        pct([], 0.5)


def _take_the_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # in the child: the pty becomes its terminal, as serve ssh does


def test_proc_readings_of_real_processes() -> None:
    # under this process: a "session" on a pty of its own, and a helper with a child of its
    # own (a forking parent would be one)
    master, slave = os.openpty()
    session = subprocess.Popen(
        [sys.executable, "-c", "import sys; sum(range(3_000_000)); sys.stdin.read()"],
        stdin=slave, stdout=slave, stderr=slave, start_new_session=True, preexec_fn=_take_the_terminal,
    )  # fmt: skip
    os.close(slave)
    helper = subprocess.Popen(["sh", "-c", "sleep 30 & wait"], stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        for _ in range(100):  # until the helper's own child is there
            own, rest = sessions(os.getpid())
            if len(rest) >= 2:
                break
            time.sleep(0.05)
        assert own == [session.pid]
        assert helper.pid in rest and len(rest) == 2
        use = usage(session.pid)
        assert 0 < use.private <= use.pss <= use.rss
        # busy at its start, then waiting: some CPU, read from /proc/PID/stat
        for _ in range(100):
            if cpu_seconds(session.pid) > 0:
                break
            time.sleep(0.05)
        assert cpu_seconds(session.pid) > 0
    finally:
        os.close(master)  # the session's terminal hangs up
        session.kill()
        session.wait()
        os.killpg(helper.pid, signal.SIGTERM)  # the helper and its child
        helper.wait()
    assert cpu_seconds(session.pid) == 0.0  # gone
