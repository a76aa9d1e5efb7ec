"""deployment health: equity_history snapshots; error_log and alerts tied to a deployment

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "equity_history",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.DateTime(), nullable=False),
        sa.Column("equity", sa.Float(), nullable=False),
        sa.Column("cash", sa.Float(), nullable=False),
        sa.Column("open_positions", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
    )
    op.create_index("ix_equity_history_deployment_ts", "equity_history",
                    ["deployment_id", "timestamp"])
    with op.batch_alter_table("error_log") as batch:
        batch.add_column(sa.Column("deployment_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("deployment_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("health_score", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("health_score")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("deployment_id")
    with op.batch_alter_table("error_log") as batch:
        batch.drop_column("deployment_id")
    op.drop_index("ix_equity_history_deployment_ts", "equity_history")
    op.drop_table("equity_history")
