"""full-text search reads a narrow table on PostgreSQL too

PostgreSQL kept each template's tsvector in a generated column beside its workflow JSON, so a search
read (and de-TOASTed) a wide row for every match: about three buffer reads a row, five times the
cost of testing and ranking the vector itself. Like SQLite's facets table (migration 0002), the
vector now lives in `workflow_templates_fts_facets` beside the few columns search filters and scores
on, kept in line (STORAGE MAIN, and a row is not compressed or moved out below 8 KB), with a GIN
index that has no pending list (`fastupdate = off`: a search never scans unsorted pending entries).
Triggers keep it in step with `workflow_templates`: inserts and deletes per statement (an import
inserts many rows), updates per row and only when a column it holds changes; the vector is made
again only when the text changed. One SQL function makes the vector, so the triggers, the fill and
the downgrade agree. The generated column and its index are dropped. SQLite is unchanged.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VECTOR_FUNCTION = """
    CREATE FUNCTION workflow_templates_search_vector(name text, description text, search_text text)
    RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT setweight(to_tsvector('english'::regconfig, coalesce(name, '')), 'A')
            || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B')
            || setweight(to_tsvector('english'::regconfig, coalesce(search_text, '')), 'C')
    $$
"""
_FACET_COLUMNS = (
    "id, tenant_id, is_active, name, category, trigger_type, self_contained, usage_count, success_count, "
    "platforms, capabilities, required_credentials"
)
# (the alias of the templates' rows) -> the facets' columns, in table order.
_FACET_VALUES = (
    "{r}.id, {r}.tenant_id, {r}.is_active, {r}.name, {r}.category, {r}.trigger_type, {r}.self_contained, "
    "{r}.usage_count, {r}.success_count, {r}.platforms, {r}.capabilities, {r}.required_credentials, "
    "workflow_templates_search_vector({r}.name, {r}.description, {r}.search_text)"
)
_FILL = f"INSERT INTO workflow_templates_fts_facets ({_FACET_COLUMNS}, search_vector) SELECT {_FACET_VALUES}"

POSTGRESQL_UPGRADE = (
    VECTOR_FUNCTION,
    """
    CREATE TABLE workflow_templates_fts_facets (
        id VARCHAR(40) PRIMARY KEY,
        tenant_id VARCHAR(40) NOT NULL,
        is_active BOOLEAN NOT NULL,
        name VARCHAR(300) NOT NULL,
        category VARCHAR(200) NOT NULL,
        trigger_type VARCHAR(40) NOT NULL,
        self_contained BOOLEAN NOT NULL,
        usage_count INTEGER NOT NULL,
        success_count INTEGER NOT NULL,
        platforms JSONB NOT NULL,
        capabilities JSONB NOT NULL,
        required_credentials JSONB NOT NULL,
        search_vector TSVECTOR NOT NULL
    ) WITH (toast_tuple_target = 8160)
    """,
    "ALTER TABLE workflow_templates_fts_facets ALTER COLUMN search_vector SET STORAGE MAIN",
    f"""
    CREATE FUNCTION workflow_templates_fts_facets_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_FILL.format(r="n")} FROM new_rows n;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER workflow_templates_fts_facets_insert AFTER INSERT ON workflow_templates
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION workflow_templates_fts_facets_insert()
    """,
    """
    CREATE FUNCTION workflow_templates_fts_facets_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE workflow_templates_fts_facets SET
            id = NEW.id, tenant_id = NEW.tenant_id, is_active = NEW.is_active, name = NEW.name,
            category = NEW.category, trigger_type = NEW.trigger_type, self_contained = NEW.self_contained,
            usage_count = NEW.usage_count, success_count = NEW.success_count, platforms = NEW.platforms,
            capabilities = NEW.capabilities, required_credentials = NEW.required_credentials,
            search_vector = CASE
                WHEN (OLD.name, OLD.description, OLD.search_text)
                    IS NOT DISTINCT FROM (NEW.name, NEW.description, NEW.search_text)
                THEN search_vector
                ELSE workflow_templates_search_vector(NEW.name, NEW.description, NEW.search_text)
            END
        WHERE id = OLD.id;
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE TRIGGER workflow_templates_fts_facets_update AFTER UPDATE OF
        {_FACET_COLUMNS}, description, search_text
    ON workflow_templates FOR EACH ROW EXECUTE FUNCTION workflow_templates_fts_facets_update()
    """,
    """
    CREATE FUNCTION workflow_templates_fts_facets_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM workflow_templates_fts_facets f USING old_rows o WHERE f.id = o.id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER workflow_templates_fts_facets_delete AFTER DELETE ON workflow_templates
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION workflow_templates_fts_facets_delete()
    """,
    f"{_FILL.format(r='t')} FROM workflow_templates t",
    """
    CREATE INDEX ix_workflow_templates_fts_facets_search_vector ON workflow_templates_fts_facets
    USING gin (search_vector) WITH (fastupdate = off)
    """,
    "DROP INDEX IF EXISTS ix_workflow_templates_search_vector",
    "ALTER TABLE workflow_templates DROP COLUMN IF EXISTS search_vector",
)
POSTGRESQL_DOWNGRADE = (
    """
    ALTER TABLE workflow_templates ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, coalesce(name, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B')
        || setweight(to_tsvector('english'::regconfig, coalesce(search_text, '')), 'C')
    ) STORED
    """,
    "CREATE INDEX ix_workflow_templates_search_vector ON workflow_templates USING gin (search_vector)",
    "DROP TRIGGER IF EXISTS workflow_templates_fts_facets_delete ON workflow_templates",
    "DROP TRIGGER IF EXISTS workflow_templates_fts_facets_update ON workflow_templates",
    "DROP TRIGGER IF EXISTS workflow_templates_fts_facets_insert ON workflow_templates",
    "DROP FUNCTION IF EXISTS workflow_templates_fts_facets_delete()",
    "DROP FUNCTION IF EXISTS workflow_templates_fts_facets_update()",
    "DROP FUNCTION IF EXISTS workflow_templates_fts_facets_insert()",
    "DROP TABLE IF EXISTS workflow_templates_fts_facets",
    "DROP FUNCTION IF EXISTS workflow_templates_search_vector(text, text, text)",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_DOWNGRADE:
            op.execute(statement)
