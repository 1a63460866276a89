"""Template rendering without a database: placeholders, strictness, the sandbox, data stays data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ticketdesk.rules.templates import (
    PLACEHOLDERS,
    SAMPLE_CONTEXT,
    TemplateError,
    build_context,
    format_local,
    render,
    template_key,
    validate,
    validate_name,
)

NOW = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)
TOKYO = timezone(timedelta(hours=9))


def ctx(**overrides: str) -> dict[str, str]:
    return {**SAMPLE_CONTEXT, **overrides}


def test_every_placeholder_renders() -> None:
    body = "\n".join(f"{name}={{{{ {name} }}}}" for name in PLACEHOLDERS)
    out = render("All", body, SAMPLE_CONTEXT)
    for name, value in SAMPLE_CONTEXT.items():
        assert f"{name}={value}" in out
    assert set(SAMPLE_CONTEXT) == set(PLACEHOLDERS)


def test_placeholders_and_jinja_logic() -> None:
    body = "Hello {{ customer_name or 'there' }},\n{% if team %}Team: {{ team }}{% endif %}\n— {{ agent_name }}\n"
    assert render("Hi", body, ctx()) == "Hello Ann Lee,\nTeam: Technical Support\n— Alice Agent\n"
    assert render("Hi", body, ctx(customer_name="", team="")) == "Hello there,\n\n— Alice Agent\n"


def test_trailing_newline_is_kept_and_nothing_is_escaped() -> None:
    out = render("T", "<b>{{ subject }}</b> & co\n", ctx(subject="a < b & \"c\" 'd'"))
    assert out == "<b>a < b & \"c\" 'd'</b> & co\n"  # autoescape off: replies are plain text


def test_build_context_formats_dates_in_the_given_zone() -> None:
    context = build_context(
        ticket_number="202611001",
        subject="VPN",
        priority="P1",
        status="open",
        now=NOW,
        customer_name=None,
        agent_login="alice",
        first_response_due=datetime(2026, 11, 23, 23, 5, tzinfo=UTC),
        resolution_due=None,
        tz=TOKYO,
    )
    assert set(context) == set(PLACEHOLDERS)
    assert context["first_response_due"] == "2026-11-24 08:05"
    assert context["resolution_due"] == ""
    assert context["today"] == "2026-11-24"  # 22:30 UTC is the next morning in Tokyo
    assert context["customer_name"] == "" and context["customer_email"] == "" and context["team"] == ""
    assert context["agent_name"] == "alice"  # no display name: the login
    assert format_local(None) == ""
    assert format_local(datetime(2026, 1, 2, 3, 4, tzinfo=UTC), UTC) == "2026-01-02 03:04"


def test_unknown_placeholder_is_an_error_naming_it_and_the_line() -> None:
    with pytest.raises(TemplateError) as info:
        render("Ack", "Hello\n{{ customer_nmae }}", ctx())
    message = str(info.value)
    assert message.startswith("template 'Ack': 'customer_nmae' is undefined on line 2")
    assert "customer_name" in message  # lists the real placeholders
    assert "\n" not in message


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(TemplateError, match=r"^template 'Broken': syntax error on line 3: ") as info:
        render("Broken", "one\ntwo\n{% if status %}open", ctx())
    assert "\n" not in str(info.value)
    with pytest.raises(TemplateError, match="syntax error on line 1"):
        render("Broken", "{{ subject ", ctx())


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ subject.__class__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ namespace.__init__.__globals__.os }}",
        "{{ lipsum.__globals__ }}",
        "{{ (subject|attr('__class__')) }}",
        "{% set x = ''.__class__ %}{{ x }}",
    ],
)
def test_sandbox_blocks_python_internals(body: str) -> None:
    with pytest.raises(TemplateError, match=r"^template 'Evil': ") as info:
        render("Evil", body, ctx())
    assert "unsafe" in str(info.value) or "not allowed" in str(info.value) or "undefined" in str(info.value)


def test_sandbox_limits_huge_output() -> None:
    with pytest.raises(TemplateError, match=r"not allowed.*too large"):
        render("Big", "{{ 'x' * 100000000 }}", ctx())
    with pytest.raises(TemplateError, match="exponent"):
        render("Big", "{{ 10 ** 10000000 }}", ctx())
    with pytest.raises(TemplateError, match="more than"):
        render("Big", "{% for i in range(100000) %}{{ subject * 20 }}{% endfor %}", ctx())
    with pytest.raises(TemplateError, match="Range too big"):
        render("Big", "{% for i in range(10**7) %}{% endfor %}", ctx())
    assert render("Small", "{{ '=' * 3 }}{{ 2 ** 10 }}", ctx()) == "===1024"


def test_other_runtime_errors_are_one_line_template_errors() -> None:
    with pytest.raises(TemplateError, match=r"template 'Div': ZeroDivisionError on line 2: division by zero"):
        render("Div", "ok\n{{ 1 / 0 }}", ctx())
    with pytest.raises(TemplateError, match=r"template 'Attr': .*has no attribute 'nope'"):
        render("Attr", "{{ subject.nope }}", ctx())


@pytest.mark.parametrize(
    "value",
    [
        "{{ 7*7 }}",
        "{% for x in range(3) %}x{% endfor %}",
        "{{ ''.__class__.__mro__ }}",
        "{# comment #} {% raw %}",
        "}}{{",
    ],
)
def test_customer_text_is_data_not_template_code(value: str) -> None:
    body = "Re: {{ subject }} from {{ customer_name }} <{{ customer_email }}>"
    out = render("Ack", body, ctx(subject=value, customer_name=value, customer_email=value))
    assert out == f"Re: {value} from {value} <{value}>"


def test_validate_checks_on_save() -> None:
    assert validate("Ack", "Hello {{ customer_name }}\n") == "Hello {{ customer_name }}\n"
    with pytest.raises(TemplateError, match="'Ack': 'nope' is undefined"):
        validate("Ack", "{{ nope }}")
    with pytest.raises(TemplateError, match="body must not be empty"):
        validate("Ack", "  \n")
    with pytest.raises(TemplateError, match="renders to empty text"):
        validate("Ack", "{% if false %}x{% endif %}")
    with pytest.raises(TemplateError, match="NUL"):
        validate("Ack", "a\x00b")
    with pytest.raises(TemplateError, match="syntax error on line 1"):
        validate("Ack", "{% endif %}")


def test_names_and_keys() -> None:
    assert validate_name("  Need   more info ") == "Need more info"
    assert template_key("Resolved – please confirm") == template_key("resolved - PLEASE  confirm")
    assert template_key("Straße") == template_key("STRASSE")
    for bad, why in (("", "empty"), ("   ", "empty"), ("a\x1bb", "control"), ("x" * 101, "at most 100")):
        with pytest.raises(TemplateError, match=why):
            validate_name(bad)
