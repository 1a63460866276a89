"""SSH public keys read from OpenSSH's formats with asyncssh (no home-made key parsing).

An agent's key arrives as an authorized_keys line (`ssh-ed25519 AAAA… ana@laptop`, options
before it are refused: the desk sets its own), or, from sshd's AuthorizedKeysCommand, as the
base64 key alone (`%k`).
"""

from __future__ import annotations

import binascii
import warnings
from types import ModuleType

from ticketdesk.models.public_keys import PublicKey
from ticketdesk.rules.text import one_line


class BadPublicKey(ValueError):
    """A line that is not an OpenSSH public key; the message says why in one line."""


def _asyncssh() -> ModuleType:
    # imported on use (it loads the cryptography stack); its import warns about DSA, which a
    # person running `agent key add` must not see
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import asyncssh

    return asyncssh


def parse_public_key(text: str) -> PublicKey:
    """One public key from an authorized_keys line or a base64 key; ValueError when it is
    not one (a private key, options, garbage)."""
    asyncssh = _asyncssh()
    line = text.strip()
    if not line:
        raise BadPublicKey("empty: expected an OpenSSH public key line (ssh-ed25519 AAAA… comment)")
    if "PRIVATE KEY" in line:
        raise BadPublicKey("that is a private key: give the .pub file")
    parts = line.split(None, 2)
    if len(parts) == 1:  # the base64 key alone, as sshd's %k gives it: its type is inside it
        parts = [_key_type(parts[0]), parts[0]]
    if not parts[0]:
        raise BadPublicKey("not an OpenSSH public key (expected 'type base64 [comment]')")
    try:
        key = asyncssh.import_public_key(" ".join(parts[:2]))
    except (asyncssh.KeyImportError, ValueError):
        raise BadPublicKey(
            "not an OpenSSH public key line (expected 'type base64 [comment]', no options before it)"
        ) from None
    comment = parts[2].strip() if len(parts) == 3 else ""
    algorithm, encoded = key.export_public_key("openssh").decode("ascii").split()[:2]
    return PublicKey(
        algorithm=algorithm,
        key=encoded,
        fingerprint=key.get_fingerprint("sha256"),
        comment=one_line(comment)[:200],
    )


def _key_type(encoded: str) -> str:
    """The key type an SSH wire-format key starts with (a length, then the name); "" when the
    text is not one."""
    try:
        blob = binascii.a2b_base64(encoded)
    except binascii.Error:
        return ""
    size = int.from_bytes(blob[:4], "big")
    name = blob[4 : 4 + size]
    return name.decode("ascii") if 0 < size < 64 and len(name) == size and name.isascii() else ""


def parse_public_keys(text: str) -> list[PublicKey]:
    """Every key of an authorized_keys-style file (blank lines and # comments skipped); the
    error names the line."""
    keys = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            keys.append(parse_public_key(line))
        except ValueError as exc:
            raise BadPublicKey(f"line {number}: {exc}") from None
    if not keys:
        raise BadPublicKey("no public key in it")
    return keys
