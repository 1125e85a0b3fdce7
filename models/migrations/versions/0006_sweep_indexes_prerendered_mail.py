"""the sweep's date bounds indexed behind the placement's state; an outbox row keeps the
message as first rendered while it waits for a retry

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_placement_state_start": ["state", "start_date"],
    "ix_placement_state_end": ["state", "end_date"],
    "ix_placement_state_evaluation_due": ["state", "evaluation_due_on"],
}
# The first and last day added as day numbers (``models.placement.period_days``), per dialect.
PERIOD_INDEXES = {
    "sqlite": ("ix_placement_state_period_sqlite", "julianday(start_date) + julianday(end_date)"),
    "postgresql": (
        "ix_placement_state_period_pg",
        "(start_date - DATE '2000-01-01') + (end_date - DATE '2000-01-01')",
    ),
}


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("rendered", sa.LargeBinary(), nullable=True))
    for name, columns in INDEXES.items():
        op.create_index(name, "placement", columns)
    period = PERIOD_INDEXES.get(op.get_bind().dialect.name)
    if period is not None:
        name, expression = period
        op.create_index(name, "placement", [sa.text("state"), sa.text(f"({expression})")])


def downgrade() -> None:
    period = PERIOD_INDEXES.get(op.get_bind().dialect.name)
    if period is not None:
        op.drop_index(period[0], table_name="placement")
    for name in INDEXES:
        op.drop_index(name, table_name="placement")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("rendered")
