"""Personal data masked in the read models handed out by the store (rules/masking.py says how).

Applied by the Store facade to every ticket row and ticket detail it returns, so `list`,
`show`, their JSON/CSV and the TUI all see the same masked values.
"""

from __future__ import annotations

from dataclasses import replace

from ticketdesk.rules.masking import Masking
from ticketdesk.store.readmodels import CustomerView, Page, TicketDetail, TicketRow

#: Names under which each value may be listed in the config (`[masking] fields`).
ROW_NAMES = {"customer_email": ("customer_email", "email"), "customer": ("customer", "customer_name")}
CUSTOMER_NAMES = {
    "email": ("email", "customer_email"),
    "phone": ("phone", "customer_phone"),
    "name": ("customer", "customer_name"),
    "organisation": ("organisation", "customer_organisation"),
    "department": ("department",),
    "industry": ("industry",),
}


def mask_row(masking: Masking, row: TicketRow) -> TicketRow:
    if not masking.enabled:
        return row
    return replace(
        row,
        customer_email=masking.any_of(ROW_NAMES["customer_email"], row.customer_email),
        customer=masking.any_of(ROW_NAMES["customer"], row.customer),
    )


def mask_page(masking: Masking, page: Page) -> Page:
    if not masking.enabled:
        return page
    return Page(rows=[mask_row(masking, r) for r in page.rows], next_after=page.next_after)


def mask_customer(masking: Masking, customer: CustomerView | None) -> CustomerView | None:
    if customer is None or not masking.enabled:
        return customer
    names = CUSTOMER_NAMES
    name = masking.any_of(names["name"], customer.name)
    assert name is not None  # a masker turns a text into a text
    return replace(
        customer,
        name=name,
        email=masking.any_of(names["email"], customer.email),
        phone=masking.any_of(names["phone"], customer.phone),
        organisation=masking.any_of(names["organisation"], customer.organisation),
        department=masking.any_of(names["department"], customer.department),
        industry=masking.any_of(names["industry"], customer.industry),
    )


def mask_detail(masking: Masking, detail: TicketDetail) -> TicketDetail:
    if not masking.enabled:
        return detail
    return replace(detail, row=mask_row(masking, detail.row), customer=mask_customer(masking, detail.customer))
