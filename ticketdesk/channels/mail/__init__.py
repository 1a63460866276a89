"""Inbound mail, from raw bytes to an `InboundMail` (models/inbound_mail.py) the store
ingests: `parse.parse_message` is the entry point.

- parse.py      the message: headers, body, attachments, `UnparseableMail`
- walk.py       the MIME walk: which part is the text, which are attachments
- headers.py    raw headers: encoded words, Message-IDs, addresses, the date
- charsets.py   bytes to text: declared charsets, supersets, guesses for undeclared 8-bit
- html_text.py  HTML to readable plain text
- quotes.py     quoted history out of a reply (HTML and plain text)
- automatic.py  auto-replies, bounces and bulk mail
- controls.py   escape sequences and control characters out of untrusted text

Subject rules (reply prefixes, the [#number] tag) are in rules/mail_subject.py.
"""
