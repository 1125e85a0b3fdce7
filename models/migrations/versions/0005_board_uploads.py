"""board uploads: a proposal file kept between the board's preview and its registration

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "board_upload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("programme", sa.String(length=100), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_upload")),
        sa.UniqueConstraint("token", name=op.f("uq_board_upload_token")),
    )
    with op.batch_alter_table("board_upload", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_board_upload_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_board_upload_session_hash"), ["session_hash"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("board_upload", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_board_upload_session_hash"))
        batch_op.drop_index(batch_op.f("ix_board_upload_created_at"))
    op.drop_table("board_upload")
