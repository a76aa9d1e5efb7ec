"""strategy graduation: instances, their stage transitions and capital allocations

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "strategy_instances",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("pipeline", sa.String(64), nullable=False),
        sa.Column("instance", sa.String(120), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("timeframe", sa.String(8), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("source", sa.String(120), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("stage_since", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("judged_at", sa.DateTime(), nullable=True),
        sa.Column("verdict", sa.Text(), nullable=True),
        sa.UniqueConstraint("pipeline", "instance",
                            name="uq_strategy_instances_pipeline_instance"),
    )
    op.create_table(
        "strategy_transitions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("pipeline", sa.String(64), nullable=False),
        sa.Column("instance", sa.String(120), nullable=False),
        sa.Column("from_stage", sa.String(16), nullable=False),
        sa.Column("to_stage", sa.String(16), nullable=False),
        sa.Column("timestamp", sa.DateTime(), nullable=False),
        sa.Column("criteria", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
    )
    op.create_index("ix_strategy_transitions_pipeline_ts", "strategy_transitions",
                    ["pipeline", "timestamp"])
    op.create_table(
        "strategy_allocations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("pipeline", sa.String(64), nullable=False),
        sa.Column("instance", sa.String(120), nullable=False),
        sa.Column("timestamp", sa.DateTime(), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("fraction", sa.Float(), nullable=False),
        sa.Column("capital", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
    )
    op.create_index("ix_strategy_allocations_pipeline_ts", "strategy_allocations",
                    ["pipeline", "timestamp"])


def downgrade() -> None:
    op.drop_index("ix_strategy_allocations_pipeline_ts", "strategy_allocations")
    op.drop_table("strategy_allocations")
    op.drop_index("ix_strategy_transitions_pipeline_ts", "strategy_transitions")
    op.drop_table("strategy_transitions")
    op.drop_table("strategy_instances")
