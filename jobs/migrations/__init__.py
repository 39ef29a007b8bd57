"""Alembic migrations of the job store (run programmatically by ``jobs.store``)."""
