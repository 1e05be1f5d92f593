"""PostgreSQL: a GIN index of the search vector's name and description part, for pruned searches

A GIN index on the part of each template's search vector that comes from its name and description
(weights A and B: `ts_filter(search_vector, '{a,b}')`). A match holding none of a search's words
there, and not every word, ranks at most 0.2 x (n - 1) / n for n words (ts_rank's weight of the
body), so a search ranks only the matches this index (or the every-word test) finds, and proves the
result the same as ranking every match (see `spreaders.registry.pruning`). Without a pending list
(`fastupdate = off`), as the vector's own index. SQLite is unchanged.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The expression must stay the one `spreaders.registry.fulltext` tests (the planner matches it by its text).
POSTGRESQL_UPGRADE = """
    CREATE INDEX ix_workflow_templates_fts_facets_head_vector ON workflow_templates_fts_facets
    USING gin (ts_filter(search_vector, '{a,b}'::"char"[])) WITH (fastupdate = off)
"""
POSTGRESQL_DOWNGRADE = "DROP INDEX IF EXISTS ix_workflow_templates_fts_facets_head_vector"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_UPGRADE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_DOWNGRADE)
