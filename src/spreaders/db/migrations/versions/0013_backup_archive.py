"""Backups kept in the database (Kubernetes instances: the platform's pods have no durable disk)

Revision ID: 0013
Revises: 0009
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("instance_backups") as batch:
        batch.add_column(sa.Column("archive", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instance_backups") as batch:
        batch.drop_column("archive")
