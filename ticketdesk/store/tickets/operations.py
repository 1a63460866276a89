"""Left only for store/__init__.py and store/desk.py, which import `NewTicket` and
`TicketChanges` from here and are being changed by someone else right now. The ticket
operations are in create.py, update.py, comments.py, links.py and customers.py; import these
two from create.py and update.py, and delete this module once those two files do."""

from ticketdesk.store.tickets.create import NewTicket as NewTicket
from ticketdesk.store.tickets.update import TicketChanges as TicketChanges
