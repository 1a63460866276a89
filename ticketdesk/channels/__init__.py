"""Channels: email in (stdin, Maildir, mbox, IMAP) and out (the SMTP outbox)."""
