"""n8n credentials made from connected accounts, and the credentials bound into each deployment

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import spreaders.db.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "n8n_credential_links",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("credential_id", sa.String(length=40), nullable=True),
        sa.Column("instance_id", sa.String(length=40), nullable=False),
        sa.Column("n8n_type", sa.String(length=120), nullable=False),
        sa.Column("n8n_credential_id", sa.String(length=64), nullable=False),
        sa.Column("n8n_name", sa.String(length=300), nullable=False),
        sa.Column("secret_version", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", spreaders.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name=op.f("fk_n8n_credential_links_credential_id_credentials"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["n8n_instances.id"],
            name=op.f("fk_n8n_credential_links_instance_id_n8n_instances"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_n8n_credential_links_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_n8n_credential_links")),
        sa.UniqueConstraint(
            "instance_id", "credential_id", "n8n_type", name="uq_n8n_credential_links_target"
        ),
    )
    op.create_index(
        op.f("ix_n8n_credential_links_credential_id"), "n8n_credential_links", ["credential_id"], unique=False
    )
    op.create_index(
        op.f("ix_n8n_credential_links_tenant_id"), "n8n_credential_links", ["tenant_id"], unique=False
    )
    op.add_column(
        "credentials", sa.Column("secret_version", sa.Integer(), nullable=False, server_default="1")
    )
    op.add_column(
        "deployments",
        sa.Column("credential_refs", spreaders.db.base.JsonType, nullable=False, server_default="{}"),
    )


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch_op:
        batch_op.drop_column("credential_refs")
    with op.batch_alter_table("credentials") as batch_op:
        batch_op.drop_column("secret_version")
    op.drop_index(op.f("ix_n8n_credential_links_tenant_id"), table_name="n8n_credential_links")
    op.drop_index(op.f("ix_n8n_credential_links_credential_id"), table_name="n8n_credential_links")
    op.drop_table("n8n_credential_links")
