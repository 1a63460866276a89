"""The live desk: who is where (presence) and the feed that tells a TUI the database
changed (PostgreSQL LISTEN/NOTIFY, SQLite `PRAGMA data_version`)."""
