"""Reply templates (macros): names, the placeholder context, and sandboxed rendering.

Bodies are Jinja2 templates rendered in a `SandboxedEnvironment` with `StrictUndefined`:
a misspelt placeholder is an error, never an empty string, and template code cannot reach
Python internals. Ticket values (subject, customer name...) go in as plain strings in the
context: they are data, never parsed as template code, so a subject of `{{ 7*7 }}` comes
out literally. Every failure becomes a one-line `TemplateError` naming the template.

Pure: no I/O; the clock and the time zone are parameters. Jinja2 is imported on first use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any

from ticketdesk.rules import text

NAME_MAX = 100
#: The rendered reply may be no larger than a comment body.
OUTPUT_MAX_CHARS = text.BODY_MAX_BYTES
#: `x ** n` with a larger n is refused (huge integers cost seconds and memory).
POWER_MAX = 1000

#: Placeholder -> what it holds; every one is always defined (empty text when unknown).
PLACEHOLDERS: dict[str, str] = {
    "customer_name": "the customer's name",
    "customer_email": "the customer's email address",
    "ticket_number": "the ticket number, e.g. 202611001",
    "subject": "the ticket subject",
    "agent_name": "the replying agent's display name",
    "agent_login": "the replying agent's login",
    "team": "the ticket's team (name)",
    "priority": "P0..P3",
    "status": "the status before the template is applied",
    "first_response_due": "first-response due time, YYYY-MM-DD HH:MM local",
    "resolution_due": "resolution due time, YYYY-MM-DD HH:MM local",
    "today": "today's date, YYYY-MM-DD local",
}

#: Used to check a template when it is saved: every placeholder filled, as for a real ticket.
SAMPLE_CONTEXT: dict[str, str] = {
    "customer_name": "Ann Lee",
    "customer_email": "ann@example.com",
    "ticket_number": "202611001",
    "subject": "VPN drops every hour",
    "agent_name": "Alice Agent",
    "agent_login": "alice",
    "team": "Technical Support",
    "priority": "P2",
    "status": "open",
    "first_response_due": "2026-11-23 17:00",
    "resolution_due": "2026-11-26 09:00",
    "today": "2026-11-23",
}

_DASHES = re.compile(r"[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class TemplateError(ValueError):
    """A template that cannot be saved or rendered; the message is one line naming it."""


# --- names ---------------------------------------------------------------------------


def validate_name(value: str | None) -> str:
    """The display name: trimmed, one line, at most NAME_MAX characters."""
    name = " ".join((value or "").split())
    if not name:
        raise TemplateError("template name must not be empty")
    if _CONTROL.search(name):
        raise TemplateError("template name must not contain control characters")
    if len(name) > NAME_MAX:
        raise TemplateError(f"template name is {len(name)} characters long (at most {NAME_MAX})")
    return name


def template_key(name: str) -> str:
    """What makes two names the same: case, runs of spaces and the kind of dash do not count,
    so `resolved - please confirm` finds "Resolved – please confirm"."""
    return _DASHES.sub("-", " ".join(name.split())).casefold()


# --- context ---------------------------------------------------------------------------


def format_local(value: datetime | None, tz: tzinfo | None = None) -> str:
    """'YYYY-MM-DD HH:MM' in `tz` (default: the machine's local zone); '' for None."""
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value is not None else ""


def build_context(
    *,
    ticket_number: str,
    subject: str,
    priority: str,
    status: str,
    now: datetime,
    customer_name: str | None = None,
    customer_email: str | None = None,
    agent_name: str | None = None,
    agent_login: str | None = None,
    team: str | None = None,
    first_response_due: datetime | None = None,
    resolution_due: datetime | None = None,
    tz: tzinfo | None = None,
) -> dict[str, str]:
    """Every placeholder as a string; unknown values are empty text (so `{{ x or "..." }}` works)."""
    return {
        "customer_name": customer_name or "",
        "customer_email": customer_email or "",
        "ticket_number": ticket_number,
        "subject": subject,
        "agent_name": agent_name or agent_login or "",
        "agent_login": agent_login or "",
        "team": team or "",
        "priority": priority,
        "status": status,
        "first_response_due": format_local(first_response_due, tz),
        "resolution_due": format_local(resolution_due, tz),
        "today": now.astimezone(tz).strftime("%Y-%m-%d"),
    }


# --- rendering ---------------------------------------------------------------------------


def prompts(name: str, body: str) -> list[str]:
    """What the template asks the agent for, in order: the labels of its `{{ ask("Order
    number") }}` calls (a macro's values that no placeholder has: an order number, an
    amount). A label must be plain text in quotes, so that it can be asked before rendering."""
    from jinja2 import TemplateSyntaxError, nodes

    try:
        tree = _environment().parse(body)
    except TemplateSyntaxError as exc:
        raise TemplateError(_line(name, f"syntax error on line {exc.lineno}: {exc.message}")) from None
    asked: list[str] = []
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == "ask":
            if (
                len(call.args) != 1
                or not isinstance(call.args[0], nodes.Const)
                or not isinstance(call.args[0].value, str)
            ):
                raise TemplateError(
                    _line(name, f'line {call.lineno}: ask takes one label in quotes, e.g. ask("Order number")')
                )
            label = call.args[0].value.strip()
            if label and label not in asked:
                asked.append(label)
    return asked


def with_answers(context: Mapping[str, Any], answers: Mapping[str, str]) -> dict[str, Any]:
    """`context` with `ask(label)` giving the agent's answer; a label not answered is an
    error that names it (the CLI's --set, the TUI's questions)."""

    def ask(label: str) -> str:
        if label.strip() not in answers:
            raise UndefinedAnswer(f"asks for {label.strip()!r}, which was not given")
        return answers[label.strip()]

    return {**context, "ask": ask}


class UndefinedAnswer(Exception):
    pass


def render(name: str, body: str, context: Mapping[str, Any]) -> str:
    """Render `body` with `context`; any failure is a TemplateError naming template `name`."""
    from jinja2 import TemplateSyntaxError, UndefinedError
    from jinja2.exceptions import SecurityError

    try:
        template = _environment().from_string(body)
        parts: list[str] = []
        size = 0
        for chunk in template.generate(**context):
            size += len(chunk)
            if size > OUTPUT_MAX_CHARS:
                raise _TooLong
            parts.append(chunk)
        return "".join(parts)
    except TemplateSyntaxError as exc:
        raise TemplateError(_line(name, f"syntax error on line {exc.lineno}: {exc.message}")) from None
    except _TooLong:
        raise TemplateError(_line(name, f"renders more than {OUTPUT_MAX_CHARS:,} characters")) from None
    except SecurityError as exc:
        raise TemplateError(_line(name, f"not allowed{_where(exc)}: {exc}")) from None
    except UndefinedError as exc:
        hint = f" (placeholders: {', '.join(PLACEHOLDERS)})" if "is undefined" in str(exc) else ""
        raise TemplateError(_line(name, f"{exc}{_where(exc)}{hint}")) from None
    except RecursionError:
        raise TemplateError(_line(name, "nests too deeply")) from None
    except UndefinedAnswer as exc:
        raise TemplateError(_line(name, str(exc))) from None
    except Exception as exc:  # anything else a template can raise: ZeroDivisionError, TypeError...
        raise TemplateError(_line(name, f"{type(exc).__name__}{_where(exc)}: {exc}")) from None


def validate(name: str, body: str) -> str:
    """Check a template before it is saved: it parses, and renders against SAMPLE_CONTEXT to
    non-empty text. Returns the body unchanged."""
    try:
        body = text.validate_body(body, "template body")
    except ValueError as exc:
        raise TemplateError(_line(name, str(exc))) from None
    if not body.strip():
        raise TemplateError(_line(name, "body must not be empty"))
    sample = with_answers(SAMPLE_CONTEXT, {label: f"<{label}>" for label in prompts(name, body)})
    if not render(name, body, sample).strip():
        raise TemplateError(_line(name, "renders to empty text for a sample ticket"))
    return body


class _TooLong(Exception):
    pass


def _line(name: str, message: str) -> str:
    return " ".join(f"template {name!r}: {message}".split())


def _where(exc: BaseException) -> str:
    """' on line N' for a runtime error, from the frames Jinja2 maps back to the template."""
    lineno = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            lineno = tb.tb_lineno
        tb = tb.tb_next
    return f" on line {lineno}" if lineno else ""


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import SandboxedEnvironment

    class Sandbox(SandboxedEnvironment):
        """The stock sandbox, plus limits on `*` and `**` so a template cannot eat the memory."""

        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "*":
                for seq, times in ((left, right), (right, left)):
                    sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
                    if sized and len(seq) * times > OUTPUT_MAX_CHARS:
                        raise SecurityError("repetition result is too large")
            elif operator == "**" and isinstance(right, int | float) and abs(right) > POWER_MAX:
                raise SecurityError(f"exponent larger than {POWER_MAX}")
            return super().call_binop(context, operator, left, right)

    return Sandbox(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)
