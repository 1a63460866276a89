"""Mail subject rules (rules/mail_subject.py): the [#number] tag, reply and forward
prefixes in many languages, the clean subject."""

from __future__ import annotations

import pytest

from ticketdesk.rules.mail_subject import clean_subject, is_forward_subject, ticket_number_in_subject


def test_ticket_number_in_subject() -> None:
    assert ticket_number_in_subject("Re: [#202611001] VPN") == "202611001"
    assert ticket_number_in_subject("回复：[#202611002]打印机") == "202611002"
    assert ticket_number_in_subject("[#12345] too short") is None
    assert ticket_number_in_subject("#202611001 without brackets") is None
    assert ticket_number_in_subject("") is None


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: [#202611001] VPN drops", "VPN drops"),
        ("RE: RE: Fwd: Printer", "Printer"),
        ("FW: AW: WG: Printer", "Printer"),
        ("Re[2]: Printer", "Printer"),
        ("Re (3): Printer", "Printer"),
        ("回复: 打印机", "打印机"),
        ("回复：回复：[#202611002] 打印机无法连接", "打印机无法连接"),
        ("答复: 转发: 网络故障", "网络故障"),
        ("[#202611001] Re: VPN", "VPN"),
        ("VPN drops [#202611001]", "VPN drops"),
        ("Regarding the invoice", "Regarding the invoice"),
        ("Fwdx: not a prefix", "Fwdx: not a prefix"),
        ("  spaced   out  ", "spaced out"),
        ("", ""),
    ],
)
def test_clean_subject(subject: str, expected: str) -> None:
    assert clean_subject(subject) == expected


def test_forward_subjects() -> None:
    assert is_forward_subject("Fwd: x") and is_forward_subject("FW: x") and is_forward_subject("转发：x")
    assert not is_forward_subject("Re: Fwd: x")
    assert not is_forward_subject("Forward planning")
