"""retraining runs record the promotion's paired test: effect, interval, p-value, samples

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("promotion_effect", "promotion_ci_low", "promotion_ci_high", "promotion_p_value")


def upgrade() -> None:
    with op.batch_alter_table("retraining_history") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))
        batch.add_column(sa.Column("promotion_samples", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("retraining_history") as batch:
        batch.drop_column("promotion_samples")
        for name in reversed(COLUMNS):
            batch.drop_column(name)
