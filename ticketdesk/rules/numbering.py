"""Ticket numbers: YYYYMM + a serial of at least 3 digits that restarts each month."""

from __future__ import annotations

from datetime import datetime

SERIAL_MIN_DIGITS = 3


def period_of(moment: datetime) -> str:
    """The counter period of a moment, in UTC: '202611'."""
    return f"{moment.year:04d}{moment.month:02d}"


def format_number(period: str, serial: int) -> str:
    if serial < 1:
        raise ValueError("ticket serial starts at 1")
    return f"{period}{serial:0{SERIAL_MIN_DIGITS}d}"


def looks_like_number(value: str) -> bool:
    return value.isdigit() and len(value) >= 6 + SERIAL_MIN_DIGITS
