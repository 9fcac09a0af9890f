"""Database plumbing: declarative base, engines for SQLite and PostgreSQL, sessions."""
