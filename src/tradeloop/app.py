"""Composition root: turns Settings into wired components. The only place adapters are chosen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine as SqlEngine

from tradeloop.adapters.clock import WallClock
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
from tradeloop.domain.gate import Gate
from tradeloop.domain.risk import RiskLimits, RiskManager
from tradeloop.domain.signals import Aggregator
from tradeloop.domain.timeframes import Timeframe
from tradeloop.engine.candle_book import CandleBook
from tradeloop.engine.engine import Engine, EngineConfig
from tradeloop.engine.learning import LearningController, RetrainRunner
from tradeloop.ml.features import LOOKBACK
from tradeloop.ports import Broker, Clock, Notifier, Predictor, Store
from tradeloop.settings import Settings
from tradeloop.strategies.base import Strategy
from tradeloop.strategies.breakout import BreakoutParams
from tradeloop.strategies.catalog import make_strategy

HOUR_MS = 3_600_000

if TYPE_CHECKING:
    from tradeloop.adapters.registry.mlflow_registry import MlflowRegistry


@dataclass
class StoreHandle:
    """The opened database: its engine and the candle store on it."""

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


def risk_limits(settings: Settings) -> RiskLimits:
    r = settings.risk
    return RiskLimits(
        max_drawdown=r.max_drawdown_percent / 100, daily_loss_limit=r.daily_loss_limit,
        max_position_fraction=r.max_position_size_percent, risk_per_trade=r.risk_per_trade,
        max_open_positions=r.max_open_positions, stop_loss=r.stop_loss_percent / 100,
        take_profit=r.take_profit_percent / 100,
        max_consecutive_losses=r.max_consecutive_losses,
        loss_pause_ms=int(r.loss_pause_minutes * 60_000), blacklist=frozenset(r.blacklist),
        blocked_hours=frozenset(r.blocked_hours))


def engine_window(settings: Settings) -> int:
    """Candles handed to the predictor per decision."""
    return LOOKBACK + max(settings.model.sequence_length, 1)


def strategy_for(settings: Settings, name: str) -> Strategy:
    """The named strategy with the configured rule parameters."""
    b = settings.trading.breakout
    return make_strategy(name, BreakoutParams(b.range_bars, b.min_breakout_percent, b.rsi_lower,
                                              b.rsi_upper, b.volume_ratio, b.exit_bars))


def wire_engine(settings: Settings, symbols: list[str], *, book: CandleBook,
                predictor: Predictor, broker: Broker, store: Store, runner: RetrainRunner,
                run_id: str, schedule_ms: int | None = None, notifier: Notifier | None = None,
                equity_sample_ms: int | None = None, strategy: str | None = None
                ) -> tuple[Engine, LearningController]:
    """The engine and its learning controller for ``symbols`` on every configured timeframe.
    Replay, paper and live differ only in the book's feed, the broker and the runner."""
    tfs = settings.timeframes.names
    weights = {i.interval: i.weight for i in settings.timeframes.intervals}
    conf = settings.continuous_learning.confidence
    gate = Gate(conf.trading_threshold, conf.hysteresis, int(conf.min_dwell_minutes * 60_000))
    finest = min(Timeframe.parse(t) for t in tfs)
    engine = Engine(
        EngineConfig(symbols, tfs, weights, settings.exchange.name, conf.trading_threshold,
                     conf.hysteresis, engine_window(settings), run_id,
                     equity_sample_ms=equity_sample_ms or max(finest.ms, HOUR_MS)),
        book, predictor, broker,
        RiskManager(risk_limits(settings), broker.equity()), gate,
        Aggregator(weights, settings.trading.stale_after_bars), store, notifier=notifier,
        strategy=strategy_for(settings, strategy or settings.trading.strategy))
    rt = settings.continuous_learning.retraining
    learning = LearningController(
        symbols=symbols, timeframes=tfs, weights=weights, exchange=settings.exchange.name,
        on_loss=rt.on_loss, min_interval_ms=int(rt.min_interval_hours * HOUR_MS),
        schedule_ms=schedule_ms or (int(rt.schedule_hours * HOUR_MS) or None),
        drift_threshold=rt.drift_threshold, horizon=settings.model.horizon_bars, gate=gate,
        store=store, book=book, runner=runner, on_transition=engine.record_transition)
    engine.learning = learning
    return engine, learning
