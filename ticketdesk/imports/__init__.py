"""Tickets from other helpdesks: the CSV, JSON Lines and Zendesk readers (readers.py)."""
