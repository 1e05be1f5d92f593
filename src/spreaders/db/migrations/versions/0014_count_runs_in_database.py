"""Count finished runs in their template's usage with a trigger

Revision ID: 0014
Revises: 0011
Create Date: 2026-11-26

A run is counted in its template's usage (and success) when its record first moves to a finished
status, in the statement that moves it: whichever writer finishes a run (the waiting caller, a retried
call, the monitor), the run is counted once, and no writer spends a statement of its own on it (every
run ends with this write; on SQLite each statement is a round trip to the database thread).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Kept literal: a migration must not change when the application's constants do.
_FINISHED = "('success', 'error', 'canceled', 'crashed')"
_FINISHES = f"OLD.status NOT IN {_FINISHED} AND NEW.status IN {_FINISHED}"
_COUNT = (
    "UPDATE workflow_templates SET usage_count = usage_count + 1, "
    "success_count = success_count + CASE WHEN NEW.status = 'success' THEN 1 ELSE 0 END "
    "WHERE id = NEW.template_id"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"""
            CREATE TRIGGER workflow_executions_count_finished AFTER UPDATE OF status ON workflow_executions
            WHEN {_FINISHES}
            BEGIN {_COUNT}; END
            """
        )
        return
    op.execute(
        f"""
        CREATE FUNCTION workflow_executions_count_finished() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {_COUNT};
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER workflow_executions_count_finished AFTER UPDATE OF status ON workflow_executions
        FOR EACH ROW WHEN ({_FINISHES}) EXECUTE FUNCTION workflow_executions_count_finished()
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS workflow_executions_count_finished")
        return
    op.execute("DROP TRIGGER IF EXISTS workflow_executions_count_finished ON workflow_executions")
    op.execute("DROP FUNCTION IF EXISTS workflow_executions_count_finished()")
