"""Inbound mail, from raw bytes to the `InboundMail` (models/inbound_mail.py) the store
ingests: `parse.parse_message`."""
