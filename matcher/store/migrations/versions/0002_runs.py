"""Placement runs (with assignments and unplaced workers), job fairs and placement outcomes.

Revision ID: 0002_runs
Revises: 0001
Create Date: 2026-05-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_runs"
down_revision = "0001"
branch_labels = None
depends_on = None


def _run_fk() -> sa.Column:
    return sa.Column(
        "run_id",
        sa.String(32),
        sa.ForeignKey("placement_runs.run_id", ondelete="CASCADE"),
        primary_key=True,
    )


def upgrade() -> None:
    op.create_table(
        "placement_runs",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("base_run_id", sa.String(32), nullable=True),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("input_sha256", sa.String(64), nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("versions", sa.JSON, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("solver", sa.String(64), nullable=False),
        sa.Column("objective", sa.Float, nullable=False),
        sa.Column("bound", sa.Float, nullable=True),
        sa.Column("gap", sa.Float, nullable=True),
        sa.Column("n_workers", sa.Integer, nullable=False),
        sa.Column("n_jobs", sa.Integer, nullable=False),
        sa.Column("n_openings", sa.Integer, nullable=False),
        sa.Column("n_placed", sa.Integer, nullable=False),
        sa.Column("n_candidates", sa.Integer, nullable=False),
        sa.Column("assignment_sha256", sa.String(64), nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
    )
    op.create_index("ix_placement_runs_created_at", "placement_runs", ["created_at"])
    op.create_index("ix_placement_runs_input_sha256", "placement_runs", ["input_sha256"])
    op.create_table(
        "run_assignments",
        _run_fk(),
        sa.Column("worker_id", sa.String(64), primary_key=True),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("enterprise_id", sa.String(64), nullable=False),
        sa.Column("home_county_code", sa.String(6), nullable=False),
        sa.Column("location_code", sa.String(6), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("factors", sa.JSON, nullable=False),
        sa.Column("explanation_zh", sa.Text, nullable=False),
        sa.Column("explanation_en", sa.Text, nullable=False),
    )
    op.create_table(
        "run_unplaced",
        _run_fk(),
        sa.Column("worker_id", sa.String(64), primary_key=True),
        sa.Column("home_county_code", sa.String(6), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("hint_zh", sa.Text, nullable=False),
        sa.Column("hint_en", sa.Text, nullable=False),
        sa.Column("skill_gap", sa.JSON, nullable=True),
    )
    op.create_table(
        "job_fairs",
        sa.Column("fair_id", sa.String(64), primary_key=True),
        sa.Column("held_on", sa.Date, nullable=False),
        sa.Column("place", sa.Text, nullable=False),
        sa.Column("district_code", sa.String(6), nullable=True),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("n_enterprises", sa.Integer, nullable=False),
        sa.Column("n_jobs", sa.Integer, nullable=False),
        sa.Column("n_attendees", sa.Integer, nullable=False),
        sa.Column("n_hires", sa.Integer, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_job_fairs_held_on", "job_fairs", ["held_on"])
    op.create_table(
        "placement_outcomes",
        _run_fk(),
        sa.Column("worker_id", sa.String(64), primary_key=True),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("enterprise_id", sa.String(64), nullable=False),
        sa.Column("location_code", sa.String(6), nullable=False),
        sa.Column("started", sa.Boolean, nullable=False),
        sa.Column("started_on", sa.Date, nullable=True),
        sa.Column("left_after_days", sa.Integer, nullable=True),
        sa.Column("employed_3m", sa.Boolean, nullable=True),
        sa.Column("employed_6m", sa.Boolean, nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_placement_outcomes_enterprise_id", "placement_outcomes", ["enterprise_id"])


def downgrade() -> None:
    for table in ("placement_outcomes", "job_fairs", "run_unplaced", "run_assignments", "placement_runs"):
        op.drop_table(table)
