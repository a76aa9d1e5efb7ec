"""strategy instances in one account: orders, positions and trades carry the instance id;
the symbol blacklist (automatic and the operator's, with expiry); the latest prices

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("orders", "positions", "trade_outcomes")


def upgrade() -> None:
    for table in TABLES:
        # rows written before: the session's own strategy ("main")
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("instance", sa.String(120), nullable=False,
                                       server_default="main"))
            batch.create_index(f"ix_{table}_instance", ["instance"])
    with op.batch_alter_table("trade_outcomes") as batch:
        batch.add_column(sa.Column("book_equity", sa.Float(), nullable=True))
    op.create_table(
        "symbol_blacklist",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("lifted_at", sa.DateTime(), nullable=True),
        sa.Column("lifted_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_symbol_blacklist_symbol", "symbol_blacklist", ["symbol"])
    op.create_table(
        "latest_prices",
        sa.Column("symbol", sa.String(32), primary_key=True),
        sa.Column("price", sa.Float(), nullable=False),
        sa.Column("time", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("latest_prices")
    with op.batch_alter_table("trade_outcomes") as batch:
        batch.drop_column("book_equity")
    op.drop_index("ix_symbol_blacklist_symbol", "symbol_blacklist")
    op.drop_table("symbol_blacklist")
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_instance")
            batch.drop_column("instance")
