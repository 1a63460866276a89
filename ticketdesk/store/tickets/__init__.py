"""Tickets: the store's ticket domain, one module per responsibility.

Every write operation takes the open write session first, then (keyword-only) the acting
agent and the rest; the caller (a service in service.py) owns the transaction, so a failure
anywhere leaves nothing behind. A change writes its ticket rows and their events together.

Writing: create.py (a new ticket; its rows are built by rows.py), update.py (field changes,
status transitions), comments.py (replies and notes), links.py (links and merges),
customers.py (find-or-create, VIP tier). What they share: lookups.py (names to rows),
numbers.py, events.py, saving.py (the version guard), tags.py, and the `Followups` protocol
(followups.py) through which automations and mail follow a change.

Reading: filters.py (a queue filter and search as SQL), pages.py (keyset pages of queue
rows), counts.py, detail.py (one ticket in full). Reply templates: templates.py; saved
views: views.py.
"""
