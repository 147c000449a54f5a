"""The SQLite database: schema migrations, storage, ingest and flags."""
