"""Console sessions kept server-side, key expiry, audit rows without a key (CLI commands).

Revision ID: 0004_sessions
Revises: 0003_auth
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_sessions"
down_revision = "0003_auth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    # SQLite cannot drop NOT NULL in place: batch mode copies the table (PostgreSQL alters it).
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("key_id", existing_type=sa.Integer, nullable=True)
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column(
            "key_id",
            sa.Integer,
            sa.ForeignKey("api_keys.id", name="fk_web_sessions_key_id_api_keys"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("token_sha256", name="uq_web_sessions_token_sha256"),
    )
    op.create_index("ix_web_sessions_key_id", "web_sessions", ["key_id"])
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_table("web_sessions")
    op.execute("DELETE FROM audit_log WHERE key_id IS NULL")
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("key_id", existing_type=sa.Integer, nullable=False)
    # in place, not batch mode: copying api_keys would drop a table audit_log's foreign key points at
    op.drop_column("api_keys", "expires_at")
