"""exchange metrics (request/error rates, cache hit rate, websocket uptime); orders keep
the stop-loss and take-profit of the position they open (for recovery after a restart)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("stop_loss", sa.Float(), nullable=True))
        batch.add_column(sa.Column("take_profit", sa.Float(), nullable=True))
    op.create_table(
        "exchange_metrics",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.DateTime(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("requests_last_minute", sa.Integer(), nullable=False),
        sa.Column("errors_last_minute", sa.Integer(), nullable=False),
        sa.Column("max_requests_per_minute", sa.Integer(), nullable=False),
        sa.Column("limit_per_minute", sa.Integer(), nullable=False),
        sa.Column("cache_hit_rate", sa.Float(), nullable=True),
        sa.Column("ws_uptime", sa.Float(), nullable=True),
        sa.Column("circuit_state", sa.String(16), nullable=False),
    )
    op.create_index("ix_exchange_metrics_deployment_ts", "exchange_metrics",
                    ["deployment_id", "timestamp"])


def downgrade() -> None:
    op.drop_index("ix_exchange_metrics_deployment_ts", "exchange_metrics")
    op.drop_table("exchange_metrics")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("take_profit")
        batch.drop_column("stop_loss")
