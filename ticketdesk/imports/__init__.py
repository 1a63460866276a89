"""Tickets from other helpdesks: CSV, JSON Lines and Zendesk exports read into plain
`ImportedTicket` records (models/import_records.py) that store/imports/importer.py writes.

Every reader is a generator over a text stream: it yields an `ImportedTicket` per good
record and an `ImportProblem` per bad field ("line 17: priority: unknown priority ..."),
so a caller can report every error of a file and stream 100,000 records in flat memory.
What only the database can tell (is the team known, was the ticket imported before) is
checked by the store. No database here; the clock is passed in as `now`.

- csv_format.py    `read_csv`
- jsonl_format.py  `read_jsonl`
- zendesk.py       `read_zendesk` (API documents and NDJSON)
- mapping.py       our fields and `--map subject=Title,...`
- repairs.py       one record into a ticket, repairing and saying what real exports get wrong
- values.py        dates, text, booleans, JSON lines

Other desks' words for our statuses, priorities, types and channels are rules:
rules/import_vocabulary.py.
"""
