"""Jobs remember when they were last handed to a task queue (the Celery runner).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``jobs.dispatched_at`` (seconds since the epoch; NULL: never published)."""
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("dispatched_at", sa.Float, nullable=True))


def downgrade() -> None:
    """Drop ``jobs.dispatched_at``."""
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("dispatched_at")
