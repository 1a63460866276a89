"""Serving the desk over SSH: agents' public keys, the OpenSSH route (issue 14)."""
