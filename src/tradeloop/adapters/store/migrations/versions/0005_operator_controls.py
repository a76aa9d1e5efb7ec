"""operator controls: command arguments, runtime state (strategy, pauses), drift checks

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("control_commands") as batch:
        batch.add_column(sa.Column("argument", sa.String(64), nullable=True))
    op.create_table(
        "runtime_state",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
    )
    op.create_table(
        "drift_checks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("timestamp", sa.DateTime(), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=True),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("timeframe", sa.String(8), nullable=False),
        sa.Column("feature_drift", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("error_drift", sa.Float(), nullable=True),
        sa.Column("triggered", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_drift_checks_symbol_ts", "drift_checks", ["symbol", "timestamp"])


def downgrade() -> None:
    op.drop_index("ix_drift_checks_symbol_ts", "drift_checks")
    op.drop_table("drift_checks")
    op.drop_table("runtime_state")
    with op.batch_alter_table("control_commands") as batch:
        batch.drop_column("argument")
