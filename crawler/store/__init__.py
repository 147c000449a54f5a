"""The SQLite database: the schema and its migrations, and every statement the other parts run."""
