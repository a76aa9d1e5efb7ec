"""news headlines with the symbols they mention and their sentiment (model id + revision)

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "news",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("uid", sa.String(500), nullable=False, unique=True),
        sa.Column("url", sa.String(1000), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("title_key", sa.String(500), nullable=False, unique=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.Column("available_at", sa.DateTime(), nullable=True),
        sa.Column("historical", sa.Boolean(), nullable=False),
        sa.Column("symbols", sa.String(500), nullable=False),
        sa.Column("sentiment", sa.Float(), nullable=True),
        sa.Column("sentiment_label", sa.String(16), nullable=True),
        sa.Column("p_positive", sa.Float(), nullable=True),
        sa.Column("p_negative", sa.Float(), nullable=True),
        sa.Column("p_neutral", sa.Float(), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("model_revision", sa.String(64), nullable=True),
        sa.Column("scored_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_news_published_at", "news", ["published_at"])
    op.create_index("ix_news_available_at", "news", ["available_at"])


def downgrade() -> None:
    op.drop_index("ix_news_available_at", "news")
    op.drop_index("ix_news_published_at", "news")
    op.drop_table("news")
