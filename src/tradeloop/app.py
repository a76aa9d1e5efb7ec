"""Composition root: turns Settings into wired components. The only place adapters are chosen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from tradeloop.adapters.clock import WallClock
from tradeloop.adapters.registry.champion_files import ChampionFiles
from tradeloop.adapters.store import database
from tradeloop.adapters.store.candle_store import CandleStore
from tradeloop.ports import Clock
from tradeloop.settings import Settings

if TYPE_CHECKING:
    from tradeloop.adapters.registry.mlflow_registry import MlflowRegistry


@dataclass
class StoreHandle:
    """The opened database: its engine and the candle store on it."""

    engine: Engine
    candles: CandleStore

    def close(self) -> None:
        self.engine.dispose()


def open_store(settings: Settings, *, migrate: bool = True) -> StoreHandle:
    """Open the configured database, bringing its schema up to date first."""
    engine = database.make_engine(settings.database_url)
    if migrate:
        database.upgrade(engine)
    return StoreHandle(
        engine, CandleStore(engine, settings.path(settings.paths.data_dir) / "cache" / "candles")
    )


def exchange_for(settings: Settings, name: str | None = None) -> Any:
    """A ccxt client for the configured exchange (or ``name``), credentials from the env."""
    from tradeloop.adapters.market_data.ccxt_client import make_exchange  # ccxt: ~75 MB

    cfg = settings.exchange if name is None else settings.exchange.model_copy(update={"name": name})
    return make_exchange(cfg, settings.secrets)


def model_registry(settings: Settings) -> MlflowRegistry:
    """The MLflow registry of the configured store (imports MLflow: training side only)."""
    from tradeloop.adapters.registry.mlflow_registry import MlflowRegistry

    settings.path(settings.paths.data_dir).mkdir(parents=True, exist_ok=True)
    return MlflowRegistry(settings.mlflow_tracking_uri, settings.mlflow_artifact_location,
                          settings.path(settings.paths.models_dir))


def champion_files(settings: Settings) -> ChampionFiles:
    """The serving-side view of the champions (no MLflow import)."""
    return ChampionFiles(settings.path(settings.paths.models_dir))


def wall_clock() -> Clock:
    return WallClock()
