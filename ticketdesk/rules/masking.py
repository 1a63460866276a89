"""Masking of personal data (customer email and phone) for roles that do not need it.

mask_email("john.smith@example.com") -> "j***@example.com"
mask_phone("13812345678")            -> "138****5678"
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ticketdesk.models.enums import Role

#: Roles that see contact details in clear (they call customers back, fix records).
SEES_PERSONAL_DATA = frozenset({Role.LEAD, Role.ADMIN})
#: Fields masked by default; the config file can add more (`[masking] fields = [...]`) but
#: never take these away.
DEFAULT_FIELDS = frozenset({"customer_email", "email", "customer_phone", "phone"})
#: Every field name the config may list (customer contact and identity fields, under the
#: names the read models and export rows use); anything else is a typo and is refused.
KNOWN_FIELDS = DEFAULT_FIELDS | frozenset(
    {"customer", "customer_name", "organisation", "customer_organisation", "department", "industry"}
)

_DIGITS = re.compile(r"\d")


def mask_email(value: str | None) -> str | None:
    if not value:
        return value
    local, at, domain = value.partition("@")
    if not at:
        return mask_text(value)
    return f"{local[:1]}***@{domain}"


def mask_phone(value: str | None) -> str | None:
    """Keep the first 3 and last 4 digits (a Chinese mobile reads 138****5678)."""
    if not value:
        return value
    digits = _DIGITS.findall(value)
    if len(digits) <= 7:
        return "*" * len(value)
    return "".join(digits[:3]) + "*" * (len(digits) - 7) + "".join(digits[-4:])


def mask_text(value: str | None) -> str | None:
    if not value:
        return value
    return value[:1] + "***"


def masker_for(field: str) -> Callable[[str | None], str | None]:
    if "email" in field:
        return mask_email
    if "phone" in field:
        return mask_phone
    return mask_text


@dataclass(frozen=True)
class Masking:
    """What one acting role gets to see."""

    enabled: bool
    fields: frozenset[str] = DEFAULT_FIELDS

    @classmethod
    def for_role(cls, role: Role | str, extra_fields: Iterable[str] = ()) -> Masking:
        return cls(Role(role) not in SEES_PERSONAL_DATA, DEFAULT_FIELDS | frozenset(extra_fields))

    @classmethod
    def clear(cls) -> Masking:
        """Nothing masked (a role that sees personal data, or an audited unmask)."""
        return cls(False)

    def value(self, field: str, value: str | None) -> str | None:
        if not self.enabled or field not in self.fields:
            return value
        return masker_for(field)(value)

    def any_of(self, names: Iterable[str], value: str | None) -> str | None:
        """`value` masked if any of its names (e.g. "email", "customer_email") is masked."""
        if not self.enabled:
            return value
        for name in names:
            if name in self.fields:
                return masker_for(name)(value)
        return value

    def row(self, data: dict[str, object]) -> dict[str, object]:
        """A copy of a flat record (export row, JSON dict) with its masked fields masked."""
        if not self.enabled:
            return dict(data)
        return {k: (self.value(k, v) if isinstance(v, str) or v is None else v) for k, v in data.items()}
