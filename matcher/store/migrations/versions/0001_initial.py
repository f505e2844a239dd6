"""Initial schema: records (workers, enterprises, jobs, pairings), import batches and changes.

Revision ID: 0001
Revises:
Create Date: 2026-05-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _bookkeeping() -> list[sa.Column]:
    return [
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("created_batch_id", sa.Integer, sa.ForeignKey("import_batches.id"), nullable=False),
        sa.Column("updated_batch_id", sa.Integer, sa.ForeignKey("import_batches.id"), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "store_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("files", sa.JSON, nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("n_rejected", sa.Integer, nullable=False),
    )
    op.create_table(
        "record_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.Integer, sa.ForeignKey("import_batches.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("record_key", sa.String(129), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("row", sa.Integer, nullable=False),
        sa.Column("changes", sa.JSON, nullable=True),
    )
    op.create_index("ix_record_changes_batch_id", "record_changes", ["batch_id"])
    op.create_table(
        "workers",
        sa.Column("worker_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("id_number_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("id_number_masked", sa.String(32), nullable=False),
        sa.Column("phone_hash", sa.String(64), nullable=True),
        sa.Column("phone_masked", sa.String(32), nullable=False),
        sa.Column("gender", sa.String(16), nullable=False),
        sa.Column("birth_year", sa.Integer, nullable=False),
        sa.Column("home_county_code", sa.String(6), nullable=False),
        sa.Column("education", sa.Text, nullable=False),
        sa.Column("skills", sa.Text, nullable=False),
        sa.Column("experience", sa.Text, nullable=False),
        sa.Column("desired_occupations", sa.Text, nullable=False),
        sa.Column("mobility", sa.String(16), nullable=False),
        sa.Column("min_wage", sa.Integer, nullable=True),
        sa.Column("employment_status", sa.String(16), nullable=False),
        sa.Column("current_employer", sa.Text, nullable=False),
        sa.Column("group_id", sa.String(64), nullable=False),
        *_bookkeeping(),
    )
    op.create_index("ix_workers_phone_hash", "workers", ["phone_hash"])
    op.create_index("ix_workers_home_county_code", "workers", ["home_county_code"])
    op.create_table(
        "enterprises",
        sa.Column("enterprise_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("location_code", sa.String(6), nullable=False),
        sa.Column("employment_base", sa.Boolean, nullable=False),
        sa.Column("capacity", sa.Integer, nullable=True),
        sa.Column("dorm_beds", sa.Integer, nullable=True),
        *_bookkeeping(),
    )
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.String(64), primary_key=True),
        sa.Column("enterprise_id", sa.String(64), sa.ForeignKey("enterprises.enterprise_id"), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("occupation_code", sa.String(16), nullable=False),
        sa.Column("openings", sa.Integer, nullable=False),
        sa.Column("wage_min", sa.Integer, nullable=True),
        sa.Column("wage_max", sa.Integer, nullable=True),
        sa.Column("location_code", sa.String(6), nullable=True),
        sa.Column("age_min", sa.Integer, nullable=True),
        sa.Column("age_max", sa.Integer, nullable=True),
        sa.Column("gender", sa.String(16), nullable=False),
        sa.Column("accommodation", sa.Boolean, nullable=False),
        *_bookkeeping(),
    )
    op.create_index("ix_jobs_enterprise_id", "jobs", ["enterprise_id"])
    op.create_table(
        "pairings",
        sa.Column("district_code", sa.String(6), primary_key=True),
        sa.Column("county_code", sa.String(6), primary_key=True),
        sa.Column("since_year", sa.Integer, nullable=True),
        *_bookkeeping(),
    )


def downgrade() -> None:
    for table in ("pairings", "jobs", "enterprises", "workers", "record_changes", "import_batches"):
        op.drop_table(table)
    op.drop_table("store_meta")
