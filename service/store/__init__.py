"""gonogo's database: tables, engine and transactions, migrations (SQLite by default, PostgreSQL)."""
