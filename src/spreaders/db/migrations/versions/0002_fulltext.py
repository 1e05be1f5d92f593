"""full-text search over workflow templates

SQLite: an external-content FTS5 table on `workflow_templates`' implicit rowid, kept in step by
triggers, and beside it a narrow "facets" table (the columns search filters and scores on, keyed by the
same rowid) kept in step by triggers too: template rows are wide (workflow JSON), and reading hundreds
of them per query made search ten times slower than the FTS5 query itself. PostgreSQL: a STORED
generated tsvector column (name A, description B, search_text C) with a GIN index. Both are filled for
the rows already present. The names live in `spreaders.registry.fulltext` too; `env.py` keeps autogenerate
away from them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Columns named as in the content table, so FTS5 can read them back ('rebuild', 'integrity-check').
SQLITE_UPGRADE = (
    """
    CREATE VIRTUAL TABLE workflow_templates_fts USING fts5(
        name, description, search_text,
        content='workflow_templates', content_rowid='rowid',
        tokenize='porter unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER workflow_templates_fts_insert AFTER INSERT ON workflow_templates BEGIN
        INSERT INTO workflow_templates_fts(rowid, name, description, search_text)
        VALUES (new.rowid, new.name, new.description, new.search_text);
    END
    """,
    """
    CREATE TRIGGER workflow_templates_fts_delete AFTER DELETE ON workflow_templates BEGIN
        INSERT INTO workflow_templates_fts(workflow_templates_fts, rowid, name, description, search_text)
        VALUES ('delete', old.rowid, old.name, old.description, old.search_text);
    END
    """,
    # Only text changes touch the index: flipping is_active or counting runs does not.
    """
    CREATE TRIGGER workflow_templates_fts_update
    AFTER UPDATE OF name, description, search_text ON workflow_templates BEGIN
        INSERT INTO workflow_templates_fts(workflow_templates_fts, rowid, name, description, search_text)
        VALUES ('delete', old.rowid, old.name, old.description, old.search_text);
        INSERT INTO workflow_templates_fts(rowid, name, description, search_text)
        VALUES (new.rowid, new.name, new.description, new.search_text);
    END
    """,
    "INSERT INTO workflow_templates_fts(workflow_templates_fts) VALUES ('rebuild')",
    """
    CREATE TABLE workflow_templates_fts_facets (
        rid INTEGER PRIMARY KEY,
        id VARCHAR(40) NOT NULL,
        tenant_id VARCHAR(40) NOT NULL,
        is_active BOOLEAN NOT NULL,
        name VARCHAR(300) NOT NULL,
        category VARCHAR(200) NOT NULL,
        trigger_type VARCHAR(40) NOT NULL,
        self_contained BOOLEAN NOT NULL,
        usage_count INTEGER NOT NULL,
        success_count INTEGER NOT NULL,
        platforms JSON NOT NULL,
        capabilities JSON NOT NULL,
        required_credentials JSON NOT NULL
    )
    """,
    """
    CREATE TRIGGER workflow_templates_fts_facets_insert AFTER INSERT ON workflow_templates BEGIN
        INSERT INTO workflow_templates_fts_facets
        VALUES (new.rowid, new.id, new.tenant_id, new.is_active, new.name, new.category, new.trigger_type,
                new.self_contained, new.usage_count, new.success_count, new.platforms, new.capabilities,
                new.required_credentials);
    END
    """,
    """
    CREATE TRIGGER workflow_templates_fts_facets_update AFTER UPDATE OF
        id, tenant_id, is_active, name, category, trigger_type, self_contained, usage_count, success_count,
        platforms, capabilities, required_credentials
    ON workflow_templates BEGIN
        UPDATE workflow_templates_fts_facets SET
            id = new.id, tenant_id = new.tenant_id, is_active = new.is_active, name = new.name,
            category = new.category, trigger_type = new.trigger_type, self_contained = new.self_contained,
            usage_count = new.usage_count, success_count = new.success_count, platforms = new.platforms,
            capabilities = new.capabilities, required_credentials = new.required_credentials
        WHERE rid = old.rowid;
    END
    """,
    """
    CREATE TRIGGER workflow_templates_fts_facets_delete AFTER DELETE ON workflow_templates BEGIN
        DELETE FROM workflow_templates_fts_facets WHERE rid = old.rowid;
    END
    """,
    """
    INSERT INTO workflow_templates_fts_facets
    SELECT rowid, id, tenant_id, is_active, name, category, trigger_type, self_contained, usage_count,
           success_count, platforms, capabilities, required_credentials
    FROM workflow_templates
    """,
)
SQLITE_DOWNGRADE = (
    "DROP TRIGGER IF EXISTS workflow_templates_fts_facets_delete",
    "DROP TRIGGER IF EXISTS workflow_templates_fts_facets_update",
    "DROP TRIGGER IF EXISTS workflow_templates_fts_facets_insert",
    "DROP TABLE IF EXISTS workflow_templates_fts_facets",
    "DROP TRIGGER IF EXISTS workflow_templates_fts_update",
    "DROP TRIGGER IF EXISTS workflow_templates_fts_delete",
    "DROP TRIGGER IF EXISTS workflow_templates_fts_insert",
    "DROP TABLE IF EXISTS workflow_templates_fts",
)

# Adding a STORED generated column rewrites the table, which fills it for existing rows.
POSTGRESQL_UPGRADE = (
    """
    ALTER TABLE workflow_templates ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, coalesce(name, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B')
        || setweight(to_tsvector('english'::regconfig, coalesce(search_text, '')), 'C')
    ) STORED
    """,
    "CREATE INDEX ix_workflow_templates_search_vector ON workflow_templates USING gin (search_vector)",
)
POSTGRESQL_DOWNGRADE = (
    "DROP INDEX IF EXISTS ix_workflow_templates_search_vector",
    "ALTER TABLE workflow_templates DROP COLUMN IF EXISTS search_vector",
)


def _run(statements: dict[str, Sequence[str]]) -> None:
    dialect = op.get_bind().dialect.name
    if dialect not in statements:
        raise NotImplementedError(f"Full-text search has no migration for {dialect!r}.")
    for statement in statements[dialect]:
        op.execute(statement)


def upgrade() -> None:
    _run({"sqlite": SQLITE_UPGRADE, "postgresql": POSTGRESQL_UPGRADE})


def downgrade() -> None:
    _run({"sqlite": SQLITE_DOWNGRADE, "postgresql": POSTGRESQL_DOWNGRADE})
