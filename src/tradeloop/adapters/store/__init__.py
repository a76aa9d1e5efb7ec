"""SQL storage (SQLAlchemy 2.0 + Alembic): SQLite in WAL mode by default, PostgreSQL by URL."""
