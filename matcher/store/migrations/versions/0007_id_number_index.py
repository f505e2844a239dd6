"""A worker's ID number stays unique by a unique index rather than a table constraint.

The same rule on every backend, but an index SQLite can drop and build again: an import filling an
empty workers table leaves its indexes out and builds them once at the end, in one sorted pass
(:func:`matcher.store.bulk.indexes_after`), where the constraint's index took one scattered B-tree
insert per row (about a third of the table's insert time at 100,000 workers). SQLite cannot drop a
table constraint, so there the table is copied (batch mode; nothing refers to the workers table).
Stored values do not change.

Revision ID: 0007_id_number_index
Revises: 0006_programme
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0007_id_number_index"
down_revision = "0006_programme"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.drop_constraint("uq_workers_id_number_hash", type_="unique")
        batch.create_index("ix_workers_id_number_hash", ["id_number_hash"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.drop_index("ix_workers_id_number_hash")
        batch.create_unique_constraint("uq_workers_id_number_hash", ["id_number_hash"])
