"""Templates record the JSON type of the inputs whose type they declare

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Templates imported before hold none (an empty object) until they are imported again. A plain
    # ADD COLUMN: SQLite's batch mode would rebuild the table under the usage trigger that names it.
    op.add_column(
        "workflow_templates",
        sa.Column(
            "input_types",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
            server_default=sa.text("'{}'"),
        ),
    )


def downgrade() -> None:
    op.drop_column("workflow_templates", "input_types")
