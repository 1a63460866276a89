"""What happens to a demo ticket after it is created: a plan of actions (assign, reply,
status changes, customer and agent comments) that ends in the ticket's final status."""

from __future__ import annotations

import random

from ticketdesk.store.demo.traffic import DAY, HOUR


def plan(
    rng: random.Random, status: str, fr: float, res: float, age: float, *, incident: bool, vip: bool
) -> list[tuple[float, str]]:
    """The actions after creation, as (seconds after creation, action), ending in `status`.

    `fr` and `res` are the seconds to the SLA's first response and resolution dues. Each
    action is one change of the ticket (one version); 1-4 of them are comments. Delays are
    drawn around the SLA targets, so some tickets breach; everything is squeezed into the
    ticket's age when it would run past now. A ticket still being worked on was touched in
    the last day (a note, or the customer chasing), as on a desk whose sweep escalates
    tickets left a day without an update.
    """
    acts = _plan(rng, status, fr, res, age, incident=incident, vip=vip)
    if status in ("new", "open", "in_progress") and age > DAY:
        touch = age - rng.uniform(HOUR, 20 * HOUR)
        if not acts or touch > acts[-1][0] + 60:
            acts.append((touch, "cust_chase" if status == "new" else "note"))
    return acts


def _plan(
    rng: random.Random, status: str, fr: float, res: float, age: float, *, incident: bool, vip: bool
) -> list[tuple[float, str]]:
    rnd, uniform = rng.random, rng.uniform
    note = "vip_note" if vip and rnd() < 0.5 else "note"
    if status == "new":
        acts = ["cust_chase"] if rnd() < 0.6 else [note]
        if rnd() < 0.25:
            acts.append(note if acts[0] == "cust_chase" else "cust_chase")
        return _fit([age * x for x in sorted(uniform(0.05, 0.9) for _ in acts)], acts, age)

    comments = 1  # the first reply
    mid: list[str] = []
    if rnd() < 0.08:
        mid.append("prio")
    tail: list[str] = []
    if status == "open":
        if rnd() < 0.4:
            mid.append("cust")
    elif status in ("in_progress", "pending", "on_hold"):
        mid.append("in_progress")
        if status == "on_hold":
            mid += ["hold_note", "on_hold"]
        else:
            if rnd() < 0.35:
                mid.append(note)
            if status == "pending":  # waiting for the customer to confirm or answer
                mid += ["answer", "pending"] if rnd() < 0.5 else ["pending"]
    else:  # resolved or closed
        mid.append("in_progress")
        if rnd() < 0.3:
            mid += ["pending", "cust", "in_progress"]
            comments += 1
        if rnd() < 0.3:
            mid.append(note)
            comments += 1
        if rnd() < 0.5:
            mid.append("answer")
            comments += 1
        direct_close = status == "closed" and rnd() < 0.2
        mid.append("closed" if direct_close else "resolved")
        if incident and not direct_close and comments < 4 and rnd() < 0.05:
            tail = ["cust_reopen", "reopen", "in_progress", "resolved"]
        if status == "closed" and not direct_close:
            tail.append("closed")

    o_assign = max(30.0, fr * uniform(0.02, 0.6))
    o_reply = fr * (uniform(0.1, 0.95) if rnd() < 0.88 else uniform(1.05, 3.0))
    o_reply = max(o_reply, o_assign + uniform(60, 600))
    offsets = [o_assign, o_reply]
    if mid:
        if status in ("resolved", "closed"):
            end = res * (uniform(0.15, 0.95) if rnd() < 0.82 else uniform(1.05, 3.5))
            end = max(end, o_reply + 600 * len(mid))
        else:
            end = o_reply + max(age - o_reply, 600) * uniform(0.05, 0.95)
        offsets += sorted(uniform(o_reply, end) for _ in mid[:-1])
        offsets.append(end)
    t = offsets[-1]
    for act in tail:
        if act == "cust_reopen":
            t += uniform(0.3, 3) * DAY
        elif act == "reopen":
            t += uniform(300, 2 * HOUR)
        elif act == "in_progress":
            t += uniform(600, DAY)
        elif act == "resolved":
            t += uniform(HOUR, 2 * DAY)
        else:  # closed: confirmed by the customer, or closed automatically after some days
            t += uniform(HOUR, DAY) if rnd() < 0.3 else uniform(2, 7) * DAY
        offsets.append(t)
    return _fit(offsets, ["assign", "reply", *mid, *tail], age)


def _fit(offsets: list[float], acts: list[str], age: float) -> list[tuple[float, str]]:
    """Scale offsets into the ticket's age and keep them at least a second apart."""
    limit = age - 30 - len(offsets)
    if offsets and offsets[-1] > limit:
        factor = max(limit, 1.0) / offsets[-1]
        offsets = [o * factor for o in offsets]
    fitted: list[tuple[float, str]] = []
    last = 0.0
    for offset, act in zip(offsets, acts, strict=True):
        last = max(offset, last + 1.0)
        fitted.append((last, act))
    return fitted
