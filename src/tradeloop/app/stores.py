"""The stores, registries, notifier and clock a process works with, from Settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine as SqlEngine

from tradeloop.adapters.clock import WallClock
from tradeloop.adapters.instance_lock import InstanceLock
from tradeloop.adapters.notify.log_notifier import LogNotifier
from tradeloop.adapters.notify.remote import (
    Channel,
    RemoteAlerts,
    TelegramChannel,
    WebhookChannel,
)
from tradeloop.adapters.registry.champion_files import ChampionFiles
from tradeloop.adapters.store import database
from tradeloop.adapters.store.candle_store import CandleStore
from tradeloop.adapters.store.control_store import ControlChannel
from tradeloop.ports import Clock
from tradeloop.settings import Settings

if TYPE_CHECKING:
    from tradeloop.adapters.registry.mlflow_registry import MlflowRegistry


@dataclass
class StoreHandle:
    """The opened database: its engine and the candle store on it (the StoreHandle port)."""

    engine: SqlEngine
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
    from tradeloop.adapters.exchange.ccxt_client import make_exchange  # ccxt: ~75 MB

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


def notifier_for(settings: Settings, engine: SqlEngine, clock: Clock,
                 deployment_id: int | None = None) -> LogNotifier:
    """Alerts to the log and the ``alerts`` table, plus the webhook (ALERT_WEBHOOK_URL) and
    Telegram (TELEGRAM_BOT_TOKEN + alerts.telegram_chat_id) when configured."""
    channels: list[Channel] = []
    sec, cfg = settings.secrets, settings.alerts
    if sec.alert_webhook_url is not None:
        channels.append(WebhookChannel(sec.alert_webhook_url.get_secret_value()))
    if sec.telegram_bot_token is not None and cfg.telegram_chat_id:
        channels.append(TelegramChannel(sec.telegram_bot_token.get_secret_value(),
                                        cfg.telegram_chat_id, cfg.telegram_api_url))
    remote = RemoteAlerts(channels, min_level=cfg.min_level,
                          timeout_seconds=cfg.timeout_seconds) if channels else None
    return LogNotifier(engine, clock, remote, deployment_id)


def wall_clock() -> Clock:
    return WallClock()


def engine_lock(settings: Settings) -> InstanceLock:
    """The data folder's single-instance lock (one running engine per folder)."""
    return InstanceLock(settings.path(settings.paths.data_dir) / "engine.lock")


def control_channel(handle: StoreHandle) -> ControlChannel:
    """The operators' control channel on the store (commands to the running engine)."""
    return ControlChannel(handle.engine)
