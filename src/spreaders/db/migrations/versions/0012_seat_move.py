"""A seat's move to a dedicated instance holds a lease, so two moves of one workspace never run at once

Revision ID: 0012
Revises: 0013
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import spreaders.db.base

revision: str = "0012"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("n8n_instances") as batch:
        batch.add_column(sa.Column("move_started_at", spreaders.db.base.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("n8n_instances") as batch:
        batch.drop_column("move_started_at")
