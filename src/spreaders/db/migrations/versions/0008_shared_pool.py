"""the free tier's shared n8n pool: instance kinds, seats (member users) and warm capacity

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import spreaders.db.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("n8n_instances") as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="dedicated")
        )
        batch_op.add_column(sa.Column("pool_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("capacity", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("n8n_user_id", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("claimed_at", spreaders.db.base.UTCDateTime(), nullable=True))
        batch_op.alter_column("tenant_id", existing_type=sa.String(length=40), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_n8n_instances_pool_id_n8n_instances"),
            "n8n_instances",
            ["pool_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(batch_op.f("ix_n8n_instances_pool_id"), ["pool_id"], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM n8n_instances WHERE tenant_id IS NULL")
    with op.batch_alter_table("n8n_instances") as batch_op:
        batch_op.drop_index(batch_op.f("ix_n8n_instances_pool_id"))
        batch_op.drop_constraint(batch_op.f("fk_n8n_instances_pool_id_n8n_instances"), type_="foreignkey")
        batch_op.alter_column("tenant_id", existing_type=sa.String(length=40), nullable=False)
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("n8n_user_id")
        batch_op.drop_column("capacity")
        batch_op.drop_column("pool_id")
        batch_op.drop_column("kind")
