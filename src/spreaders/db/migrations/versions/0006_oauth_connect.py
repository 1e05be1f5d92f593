"""OAuth connect: authorization state on connect requests; scopes, expiry and status message on credentials

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import spreaders.db.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("credentials") as batch_op:
        batch_op.add_column(sa.Column("scopes", _JSON, nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("expires_at", spreaders.db.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("status_message", sa.Text(), nullable=False, server_default=""))
        batch_op.create_index(batch_op.f("ix_credentials_expires_at"), ["expires_at"], unique=False)
    with op.batch_alter_table("connect_requests") as batch_op:
        batch_op.add_column(sa.Column("scopes", _JSON, nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("credential_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("state_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("state_expires_at", spreaders.db.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("redirect_uri", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("completed_at", spreaders.db.base.UTCDateTime(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_connect_requests_state_hash"), ["state_hash"])


def downgrade() -> None:
    with op.batch_alter_table("connect_requests") as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_connect_requests_state_hash"), type_="unique")
        for column in (
            "completed_at",
            "redirect_uri",
            "state_expires_at",
            "state_hash",
            "credential_id",
            "scopes",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("credentials") as batch_op:
        batch_op.drop_index(batch_op.f("ix_credentials_expires_at"))
        for column in ("status_message", "expires_at", "scopes"):
            batch_op.drop_column(column)
