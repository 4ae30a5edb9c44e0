"""Alembic migrations of Belay's store (one set for SQLite and PostgreSQL)."""
