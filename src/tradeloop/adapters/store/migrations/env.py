"""Alembic environment: migrations run on the engine handed in by tradeloop."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from tradeloop.adapters.store.schema import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        url = config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("no engine or sqlalchemy.url given to the migrations")
        engine = create_engine(url)
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline migrations are not supported; run `tradeloop db upgrade`")
run_migrations_online()
