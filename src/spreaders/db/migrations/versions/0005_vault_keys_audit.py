"""vault: master-key check values and the credential audit log

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import spreaders.db.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vault_keys",
        sa.Column("backend", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("check_value", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", spreaders.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", spreaders.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("backend", "version", name=op.f("pk_vault_keys")),
    )
    op.create_table(
        "vault_audit",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=True),
        sa.Column("credential_id", sa.String(length=40), nullable=False),
        sa.Column("platform", sa.String(length=60), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", spreaders.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_vault_audit_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vault_audit")),
    )
    with op.batch_alter_table("vault_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vault_audit_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            "ix_vault_audit_tenant_credential", ["tenant_id", "credential_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("vault_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_vault_audit_tenant_credential")
        batch_op.drop_index(batch_op.f("ix_vault_audit_tenant_id"))
    op.drop_table("vault_audit")
    op.drop_table("vault_keys")
