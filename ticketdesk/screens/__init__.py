"""Textual screens (the agent TUI)."""
