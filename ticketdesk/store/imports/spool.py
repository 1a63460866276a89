"""An import's good records, kept between its two passes.

The import goes over its records twice: validation (every problem found before anything is
written), then the write. Parsing a record (the readers' repairs, vocabulary, dates) costs
about 30 µs, as much as writing it, so the validation pass keeps each good record as it goes
by, pickled in chunks to an anonymous temporary file (in TMPDIR: about the size of the
input), and the write pass reads them back (about 5 µs a record). Memory stays bounded by a
chunk whatever the file's size; the file is gone when the spool is closed or the process
ends. Only this process reads what it wrote. A dry run keeps nothing.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import IO

from ticketdesk.models.import_records import ImportedTicket, Record

#: records pickled together: big enough for pickle to be fast, small enough to hold in memory
CHUNK = 1_000


class RecordSpool:
    def __init__(self) -> None:
        self._file: IO[bytes] | None = None  # made when the first chunk is full
        self._chunk: list[ImportedTicket] = []
        self._refused = False

    def keep(self, records: Iterable[Record]) -> Iterator[Record]:
        """`records`, each passed on as it is read; the parsed tickets are kept until a
        record is refused (the import will not write then: the rest is only checked)."""
        for record in records:
            if not isinstance(record, ImportedTicket):
                self._refused = True
            elif not self._refused:
                self._chunk.append(record)
                if len(self._chunk) >= CHUNK:
                    self._flush()
            yield record
        self._flush()

    def __iter__(self) -> Iterator[ImportedTicket]:
        """The kept records, in the order they were read."""
        self._flush()
        if self._file is None or self._refused:
            return
        self._file.seek(0)
        while True:
            try:
                chunk: list[ImportedTicket] = pickle.load(self._file)
            except EOFError:
                return
            yield from chunk

    def _flush(self) -> None:
        if self._chunk and not self._refused:
            if self._file is None:
                self._file = tempfile.TemporaryFile(prefix="ticketdesk-import-")  # noqa: SIM115 (close())
            pickle.dump(self._chunk, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self._chunk = []

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> RecordSpool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
