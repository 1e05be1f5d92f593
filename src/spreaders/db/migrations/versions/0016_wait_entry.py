"""Deployments record the path of their wait entry (execute-and-wait in one answer from n8n)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Null for deployments made before (they get one when next redeployed or rebound) and for
    # templates that answer HTTP themselves.
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("wait_path", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("wait_path")
