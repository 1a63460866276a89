"""Demo tickets built in a second process while this one inserts them.

Drawing a ticket (its texts, timeline and SLA times) costs about as much as storing it, so a
big demo builds the batches in a forked child and this process only numbers and inserts
them: on two cores the two halves overlap. The child runs exactly the code and random
draws the serial build would (same seed, same data), touches no database connection (it
was forked with this process's open one: it never uses it and ends with os._exit), and
sends each batch back through a pipe; a full pipe holds it until the batch is taken, so at
most one batch waits. At the end it sends its random state: what is drawn after the tickets
(the knowledge base) comes out as in the serial build.
"""

from __future__ import annotations

import multiprocessing
import random
import signal
import sys
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection

from ticketdesk.store.demo.writer import Built, TicketWriter

#: below this many tickets the fork and the pickling cost more than they save
IN_BACKGROUND_FROM = 20_000


def built_batches(
    writer: TicketWriter, rng: random.Random, batches: Iterable[list[float]], tickets: int
) -> Iterator[Built]:
    """Each batch built, in order: here for a small demo, else in a forked child."""
    if tickets < IN_BACKGROUND_FROM or sys.platform != "linux":  # (fork is unsafe on macOS)
        for times in batches:
            yield writer.build(times)
        return
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(target=_build_all, args=(writer, rng, batches, sending), daemon=True)
    child.start()
    sending.close()
    try:
        while True:
            try:
                message = receiving.recv()
            except EOFError:
                child.join(5)
                raise RuntimeError(f"the demo's builder process ended (exit code {child.exitcode})") from None
            if isinstance(message, Built):
                yield message
            else:  # the end: the random state after the last ticket
                rng.setstate(message)
                break
        child.join()
    finally:
        if child.is_alive():  # this side failed (an insert, ^C): the child's work is moot
            child.kill()
            child.join()
        receiving.close()


def _build_all(writer: TicketWriter, rng: random.Random, batches: Iterable[list[float]], sending: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C is the parent's to handle, and it ends this one
    try:
        for times in batches:
            sending.send(writer.build(times))
        sending.send(rng.getstate())
    except BrokenPipeError:  # the parent stopped reading: it failed, and says so itself
        return
    finally:
        sending.close()
