"""An SSH public key as the store keeps it: parsed and fingerprinted by ticketdesk/ssh/keys.py
(asyncssh), so the store needs no SSH library."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PublicKey:
    #: the key type, e.g. "ssh-ed25519"
    algorithm: str
    #: the key, base64 as in an authorized_keys line
    key: str
    #: OpenSSH's "SHA256:…" fingerprint
    fingerprint: str
    comment: str = ""

    def authorized_keys_line(self) -> str:
        """The key as one authorized_keys line (without options)."""
        return f"{self.algorithm} {self.key}" + (f" {self.comment}" if self.comment else "")
