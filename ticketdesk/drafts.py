"""Unsent replies and notes, kept on disk as they are typed, so a draft outlives its screen,
a database outage, a dropped SSH connection, a server stop and even `kill -9`.

One small JSON file per agent and database, under the data directory (mode 0600), rewritten
whole (write a temporary file, then rename) on every change: a draft is a few kilobytes,
and a rename is atomic, so a file is never half-written. A draft is keyed by (ticket number,
kind) and remembers when it was started (the send guard asks about anything that arrived
since). Drafts are per host: an agent who logs in to another desk host does not find them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, MutableMapping
from datetime import datetime
from pathlib import Path

from ticketdesk.models.clock import utcnow

Key = tuple[str, str]


class DraftBox(MutableMapping[Key, str]):
    """Drafts by (ticket number, kind), with their start times; `path=None` keeps them in
    memory only (tests, a read-only data directory)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._texts: dict[Key, str] = {}
        self._started: dict[Key, datetime] = {}
        #: why the last save failed (None: it did not); the ticket screen says it once
        self.save_failure: str | None = None
        if path is not None and path.exists():
            self._load(path)

    @classmethod
    def for_desk(cls, data_dir: Path, url: str, login: str) -> DraftBox:
        """The box of `login` on the database at `url` (the URL is hashed: it may hold a
        password, and it is long)."""
        desk = hashlib.sha256(url.encode()).hexdigest()[:16]
        name = re.sub(r"[^A-Za-z0-9._-]", "_", login) or "_"
        return cls(data_dir / "drafts" / desk / f"{name}.json")

    def started(self, key: Key) -> datetime | None:
        """When the draft under `key` was started (None: there is none)."""
        return self._started.get(key)

    def __getitem__(self, key: Key) -> str:
        return self._texts[key]

    def __setitem__(self, key: Key, text: str) -> None:
        if self._texts.get(key) == text:
            return
        self._texts[key] = text
        self._started.setdefault(key, utcnow())
        self._save()

    def __delitem__(self, key: Key) -> None:
        del self._texts[key]
        self._started.pop(key, None)
        self._save()

    def __iter__(self) -> Iterator[Key]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)

    def _load(self, path: Path) -> None:
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
            for entry in entries:
                key = (str(entry["ticket"]), str(entry["kind"]))
                self._texts[key] = str(entry["text"])
                self._started[key] = datetime.fromisoformat(entry["started_at"])
        except (OSError, ValueError, KeyError, TypeError):
            # never lose a draft file to a bug: keep the unreadable one beside the new one
            path.replace(path.with_suffix(f".unreadable-{utcnow():%Y%m%dT%H%M%S}"))
            self._texts.clear()
            self._started.clear()

    def _save(self) -> None:
        if self.path is None:
            return
        entries = [
            {"ticket": t, "kind": k, "text": text, "started_at": self._started[(t, k)].isoformat()}
            for (t, k), text in self._texts.items()
        ]
        temporary = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(entries, out, ensure_ascii=False)
            os.replace(temporary, self.path)
        except OSError as exc:  # a full disk must not end the TUI: the text is still in memory
            self.save_failure = f"{self.path.parent}: {exc.strerror or exc}"
        else:
            self.save_failure = None
