"""Semantic text styles that stay readable without colour.

With `NO_COLOR` set, Textual turns every colour into a grey of the same luminance: red text
becomes dark grey on a dark background, nearly invisible. So meaning is carried by weight,
underline and reverse video there, and by colour everywhere else (16 colours included).
"""

from __future__ import annotations

COLOURED = {
    "danger": "bold red",
    "alert": "red",
    "warning": "yellow",
    "good": "green",
    "muted": "dim",
    "created": "cyan",
    "resolved": "green",
    "presence": "bold magenta",
}
MONOCHROME = {
    "danger": "bold reverse",
    "alert": "bold",
    "warning": "bold underline",
    "good": "",
    "muted": "dim",
    "created": "",
    "resolved": "",
    "presence": "bold",
}

#: queue cell values with a meaning of their own
CELL_MEANING = {
    "P0": "danger", "P1": "warning", "P3": "muted", "breached": "danger", "warning": "warning", "ok": "good"
}  # fmt: skip


def style(meaning: str, no_color: bool) -> str:
    return (MONOCHROME if no_color else COLOURED)[meaning]


def cell_style(value: str, no_color: bool) -> str:
    meaning = CELL_MEANING.get(value)
    return style(meaning, no_color) if meaning else ""
