"""KPI values as text, shared by the Reports screen and `ticketdesk report` (no Textual import)."""

from __future__ import annotations

from typing import Any

DASH = "—"


def kpi_text(value: Any, kind: str) -> str:
    """`kind`: dur (seconds, shown in hours), pct (0..1), avg, or a count."""
    if value is None:
        return DASH
    if kind == "dur":
        return f"{value / 3600:.1f} h"
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind == "avg":
        return f"{value:.2f}"
    return f"{value:,}"
