"""The programme's own records (issue 17): job posting dates, enterprise contacts, the worker survey's
service needs and employer, job fair type and intents, and the supply lists sent.

Columns added with a default, so every stored row stays valid; the content hash of each record row
is computed again over its new columns (as an import would compute it), so importing the same file
after the upgrade finds every row unchanged. Tables are reflected, not taken from the models.

Revision ID: 0006_programme
Revises: 0005_scrub_free_text
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from matcher.store.convert import content_hash

revision = "0006_programme"
down_revision = "0005_scrub_free_text"
branch_labels = None
depends_on = None


def new_columns() -> dict[str, list[sa.Column]]:
    """table -> the columns this revision adds (new objects each call: a column joins one table)."""
    return {
        "workers": [
            sa.Column("service_needs", sa.Text, nullable=False, server_default=""),
            sa.Column("work_location_code", sa.String(6), nullable=True),
            sa.Column("employer_contact", sa.Text, nullable=False, server_default=""),
        ],
        "enterprises": [
            sa.Column("contact_name", sa.Text, nullable=False, server_default=""),
            sa.Column("contact_phone", sa.String(32), nullable=False, server_default=""),
        ],
        "jobs": [
            sa.Column("posted_on", sa.String(10), nullable=True),
            sa.Column("closes_on", sa.String(10), nullable=True),
        ],
        "job_fairs": [
            sa.Column("fair_type", sa.String(16), nullable=False, server_default="dedicated"),
            sa.Column("n_intents", sa.Integer, nullable=False, server_default="0"),
        ],
    }


HASHED = ("workers", "enterprises", "jobs")


def rehash(conn: sa.Connection, name: str) -> None:
    """Store each row's content hash over all its columns (the new ones included)."""
    table = sa.Table(name, sa.MetaData(), autoload_with=conn)
    pk = list(table.primary_key.columns)
    for row in conn.execute(sa.select(table)).mappings().all():
        new = content_hash(dict(row))
        if new != row["content_sha256"]:
            where = [c == row[c.name] for c in pk]
            conn.execute(sa.update(table).where(*where).values(content_sha256=new))


def upgrade() -> None:
    for table, columns in new_columns().items():
        for column in columns:
            op.add_column(table, column)
    op.create_index("ix_jobs_posted_on", "jobs", ["posted_on"])
    op.create_table(
        "supply_lists_sent",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("sent_on", sa.Date, nullable=False),
        sa.Column("n_jobs", sa.Integer, nullable=False),
        sa.Column("n_openings", sa.Integer, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_supply_lists_sent_county_code", "supply_lists_sent", ["county_code"])
    op.create_index("ix_supply_lists_sent_sent_on", "supply_lists_sent", ["sent_on"])
    conn = op.get_bind()
    for name in HASHED:
        rehash(conn, name)


def downgrade() -> None:
    op.drop_index("ix_supply_lists_sent_sent_on", "supply_lists_sent")
    op.drop_index("ix_supply_lists_sent_county_code", "supply_lists_sent")
    op.drop_table("supply_lists_sent")
    op.drop_index("ix_jobs_posted_on", "jobs")
    conn = op.get_bind()
    for table, columns in new_columns().items():
        for column in columns:
            if conn.dialect.name == "sqlite":
                # SQLite drops a column in place (3.35+); batch mode would copy the table, which
                # foreign keys pointing at it forbid.
                conn.exec_driver_sql(f'ALTER TABLE "{table}" DROP COLUMN "{column.name}"')
            else:
                op.drop_column(table, column.name)
