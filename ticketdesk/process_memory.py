"""The TUI's memory over a working day: glibc's allocator told to keep less.

Every store call runs in a thread of its own (widgets/store_call.py), thousands a day, and
glibc gives threads their own malloc arenas (up to 8 per core). What SQLite and the Python
objects bigger than 512 bytes free in one arena is kept there for that arena's next
threads, not handed back to the system: over an agent's 8 hours the resident size grew in
steps long after every cache was full (bench/memory.py). Two arenas are enough for a UI
thread and its store calls; and once the agent has moved to another screen, free memory at
the ends and in the middle of the arenas is returned (`malloc_trim`).

Linux with glibc only; elsewhere (macOS, musl) both are no-ops.
"""

from __future__ import annotations

import ctypes
import sys

#: mallopt's parameter for the arena limit (malloc.h)
_M_ARENA_MAX = -8
#: arenas for a TUI process: its UI thread and the store calls' threads
ARENAS = 2


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")  # glibc's name (find_library would run ldconfig)
        libc.gnu_get_libc_version  # noqa: B018 (glibc, not musl: raises AttributeError)
    except (OSError, AttributeError):
        return None
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    libc.malloc_trim.restype = ctypes.c_int
    return libc


_LIBC = _glibc()


def limit_arenas() -> None:
    """At most `ARENAS` malloc arenas from now on (before the threads that would make more)."""
    if _LIBC is not None:
        _LIBC.mallopt(_M_ARENA_MAX, ARENAS)


def give_back() -> bool:
    """Return the allocator's free memory to the system (a few ms); whether any was."""
    return _LIBC is not None and bool(_LIBC.malloc_trim(0))


def glibc() -> ctypes.CDLL | None:
    """The C library these settings go to, None where there are none (not glibc)."""
    return _LIBC
