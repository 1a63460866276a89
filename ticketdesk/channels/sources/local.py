"""The local mail sources: one message on standard input, a Maildir, an mbox file."""

from __future__ import annotations

import mailbox
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ticketdesk.channels.sources.protocol import MailSourceError, RawMail

# --- stdin ----------------------------------------------------------------------------------

_ENVELOPE_FROM = re.compile(rb"\AFrom [^\r\n]*\r?\n")


class StdinSource:
    """One message piped in by an MTA. A leading mbox-style `From sender date` envelope
    line (Postfix `pipe` flag F, procmail) is dropped: it is not a header."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def __enter__(self) -> StdinSource:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def messages(self) -> Iterator[RawMail]:
        raw = _ENVELOPE_FROM.sub(b"", self._stream.read(), count=1)
        yield RawMail(raw=raw, origin="stdin", key="stdin")

    def done(self, mail: RawMail) -> None:
        return None

    def failed(self, mail: RawMail, reason: str) -> None:
        return None


# --- Maildir --------------------------------------------------------------------------------


class MaildirSource:
    """A Maildir: what is in `new/`, and what sits in `cur/` unread (a mail client may have
    moved it there without reading it: no S flag) and not trashed (no T flag).

    done: the file is renamed into `cur/` with the S (seen) flag added. failed: renamed into
    `cur/` with F (flagged) and S added: a mail client shows it flagged, and since it is
    seen the next run leaves it alone (its copy and the reason are in the failed folder).
    Renames only, so the bytes are never rewritten and nothing is deleted. Nothing is
    locked: a message that disappears between listing and reading (another run took it)
    is skipped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._colon = mailbox.Maildir.colon

    def __enter__(self) -> MaildirSource:
        missing = [sub for sub in ("new", "cur", "tmp") if not (self.path / sub).is_dir()]
        if missing:
            raise ValueError(f"{self.path} is not a Maildir (no {'/, '.join(missing)}/ directory)")
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def _listed(self) -> list[str]:
        keys: list[tuple[str, str]] = []
        for sub in ("new", "cur"):
            with os.scandir(self.path / sub) as entries:
                for entry in entries:
                    if entry.name.startswith(".") or not entry.is_file():
                        continue
                    if sub == "cur" and {"S", "T"} & set(self._flags(entry.name)):
                        continue
                    keys.append((entry.name, f"{sub}/{entry.name}"))
        # Delivery names start with the arrival time: oldest first, so a reply comes after
        # the message it answers.
        return [key for _, key in sorted(keys)]

    def _flags(self, name: str) -> str:
        _base, sep, info = name.partition(self._colon)
        return info[2:] if sep and info.startswith("2,") else ""

    def messages(self) -> Iterator[RawMail]:
        for key in self._listed():
            try:
                raw = (self.path / key).read_bytes()
            except FileNotFoundError:
                continue  # another run took it
            yield RawMail(raw=raw, origin=f"maildir {key}", key=key)

    def _move_to_cur(self, key: str, add: str) -> None:
        name = key.split("/", 1)[1]
        base = name.partition(self._colon)[0]
        flags = "".join(sorted(set(self._flags(name)) | set(add)))
        target = self.path / "cur" / f"{base}{self._colon}2,{flags}"
        try:
            os.rename(self.path / key, target)
        except FileNotFoundError:
            return  # another run moved it already
        except OSError as exc:
            raise MailSourceError(f"cannot move {self.path / key} to {target}: {exc.strerror}") from exc

    def done(self, mail: RawMail) -> None:
        self._move_to_cur(mail.key, "S")

    def failed(self, mail: RawMail, reason: str) -> None:
        self._move_to_cur(mail.key, "FS")


# --- mbox -----------------------------------------------------------------------------------


class MboxSource:
    """Every message of an mbox file, read under the mbox lock when it can be taken
    (fcntl + dot-lock, as mail delivery agents do). The file is never rewritten, so done
    and failed do nothing: a re-run yields the same messages and the ingest recognises
    them by Message-ID."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._box: mailbox.mbox | None = None
        self._locked = False

    def __enter__(self) -> MboxSource:
        if not self.path.is_file():
            raise ValueError(f"{self.path} is not an mbox file (no such file)")
        try:
            box = mailbox.mbox(self.path, create=False)
        except OSError as exc:
            raise MailSourceError(f"cannot open mbox {self.path}: {exc.strerror or exc}") from exc
        try:
            box.lock()
        except mailbox.ExternalClashError as exc:
            box.close()
            raise MailSourceError(f"mbox {self.path} is locked by another program; try again later") from exc
        except OSError:
            pass  # read-only file or directory: read without the lock
        else:
            self._locked = True
        self._box = box
        return self

    def __exit__(self, *exc: object) -> None:
        box, self._box = self._box, None
        if box is None:
            return
        if self._locked:
            box.unlock()
            self._locked = False
        box.close()

    def messages(self) -> Iterator[RawMail]:
        if self._box is None:
            raise MailSourceError("mbox source used outside its `with` block")
        box = self._box
        for n, key in enumerate(box.iterkeys(), start=1):
            yield RawMail(raw=box.get_bytes(key), origin=f"mbox message {n}", key=str(key))

    def done(self, mail: RawMail) -> None:
        return None

    def failed(self, mail: RawMail, reason: str) -> None:
        return None
