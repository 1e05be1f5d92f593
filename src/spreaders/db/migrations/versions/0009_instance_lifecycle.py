"""Instances sized by tier (tier, V8 heap) and backups taken before deprovisioning

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import spreaders.db.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("n8n_instances") as batch:
        batch.add_column(sa.Column("tier", sa.String(length=20), server_default="free", nullable=False))
        batch.add_column(sa.Column("heap_mb", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "instance_backups",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("instance_id", sa.String(length=40), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("workflows", sa.Integer(), nullable=False),
        sa.Column("credentials", sa.Integer(), nullable=False),
        sa.Column("secrets", sa.LargeBinary(), nullable=False),
        sa.Column("restored_at", spreaders.db.base.UTCDateTime(), nullable=True),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", spreaders.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_instance_backups_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instance_backups")),
    )
    op.create_index(
        op.f("ix_instance_backups_instance_id"), "instance_backups", ["instance_id"], unique=False
    )
    op.create_index(op.f("ix_instance_backups_tenant_id"), "instance_backups", ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_instance_backups_tenant_id"), table_name="instance_backups")
    op.drop_index(op.f("ix_instance_backups_instance_id"), table_name="instance_backups")
    op.drop_table("instance_backups")
    with op.batch_alter_table("n8n_instances") as batch:
        batch.drop_column("heap_mb")
        batch.drop_column("tier")
