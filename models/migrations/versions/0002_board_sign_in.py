"""board sign-in: who coordinates a programme, and server-side board sessions

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("programme", schema=None) as batch_op:
        # Existing programmes: only their coordinator, as before.
        batch_op.add_column(
            sa.Column("coordinator_emails", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column("coordinator_groups", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("programme", schema=None) as batch_op:
        batch_op.alter_column("coordinator_emails", server_default=None)
        batch_op.alter_column("coordinator_groups", server_default=None)

    op.create_table(
        "board_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=True),
        sa.Column("sign_in", sa.JSON(), nullable=False),
        sa.Column("id_token", sa.Text(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("expires_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("ended_at", models.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_session")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_board_session_secret_hash")),
    )
    with op.batch_alter_table("board_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_board_session_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("board_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_board_session_expires_at"))
    op.drop_table("board_session")
    with op.batch_alter_table("programme", schema=None) as batch_op:
        batch_op.drop_column("coordinator_groups")
        batch_op.drop_column("coordinator_emails")
