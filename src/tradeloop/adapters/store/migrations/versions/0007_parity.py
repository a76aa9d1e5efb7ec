"""predictions and retraining runs carry their deployment (parity replays compare them one
by one); parity reports (live-vs-replay comparisons of a deployment)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("deployment_id", sa.Integer(), nullable=True))
    op.create_index("ix_predictions_deployment", "predictions",
                    ["deployment_id", "symbol", "timeframe", "candle_time"])
    with op.batch_alter_table("retraining_history") as batch:
        batch.add_column(sa.Column("deployment_id", sa.Integer(), nullable=True))
    op.create_table(
        "parity_reports",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("predictions", sa.Integer(), nullable=False),
        sa.Column("predictions_matched", sa.Integer(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("orders_matched", sa.Integer(), nullable=False),
        sa.Column("identical", sa.Boolean(), nullable=False),
        sa.Column("first_divergence", sa.Text(), nullable=True),
        sa.Column("report_path", sa.Text(), nullable=True),
    )
    op.create_index("ix_parity_reports_deployment", "parity_reports", ["deployment_id"])


def downgrade() -> None:
    op.drop_index("ix_parity_reports_deployment", "parity_reports")
    op.drop_table("parity_reports")
    with op.batch_alter_table("retraining_history") as batch:
        batch.drop_column("deployment_id")
    op.drop_index("ix_predictions_deployment", "predictions")
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("deployment_id")
