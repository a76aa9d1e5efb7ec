"""The engine and its learning controller assembled from Settings: the same for every mode
(replay, paper, testnet, live differ only in the parts the composition root passes in)."""

from __future__ import annotations

from tradeloop.domain.gate import Gate
from tradeloop.domain.horizon import label_plan
from tradeloop.domain.risk import AccountLimits, AccountRisk, RiskLimits, RiskManager
from tradeloop.domain.signals import Aggregator
from tradeloop.domain.timeframes import Timeframe
from tradeloop.engine.candle_book import CandleBook
from tradeloop.engine.engine import Engine, EngineConfig
from tradeloop.engine.learning import LearningController
from tradeloop.engine.runner import warmup_bars
from tradeloop.ml.features import LOOKBACK
from tradeloop.ports import Broker, Notifier, Predictor, RetrainRunner, Store, Strategy
from tradeloop.settings import Settings
from tradeloop.strategies.catalog import make_strategy, spec_of
from tradeloop.strategies.imported import imported
from tradeloop.strategies.strategy_file import risk_of

HOUR_MS = 3_600_000


def risk_limits(settings: Settings, strategy: str | None = None) -> RiskLimits:
    """The risk manager's limits while ``strategy`` (default: the configured one) trades:
    the account's drawdown halt, the strategy's own entry limits (``risk.strategies``, an
    imported file's ``risk_management``) where it has them."""
    name = strategy or settings.trading.strategy
    sf = imported(settings, name)
    r = settings.risk.for_strategy(sf.spec.name if sf is not None else name)
    if sf is not None:
        r = r.model_copy(update=risk_of(sf))
    return RiskLimits(
        max_drawdown=r.max_drawdown_percent / 100, daily_loss_limit=r.daily_loss_limit,
        max_position_fraction=r.max_position_size_percent, risk_per_trade=r.risk_per_trade,
        max_open_positions=r.max_open_positions, stop_loss=r.stop_loss_percent / 100,
        take_profit=r.take_profit_percent / 100,
        max_consecutive_losses=r.max_consecutive_losses,
        loss_pause_ms=int(r.loss_pause_minutes * 60_000), blacklist=frozenset(r.blacklist),
        blocked_hours=frozenset(r.blocked_hours), max_daily_trades=r.max_daily_trades)


def account_limits(settings: Settings) -> AccountLimits:
    """The account's limits across strategy instances (the per-symbol cap never below what
    one position may be, so that a single instance trades as its own limits say)."""
    r = settings.risk
    return AccountLimits(r.max_drawdown_percent / 100, r.daily_loss_limit,
                         max(r.max_symbol_exposure_percent, r.max_position_size_percent))


def engine_window(settings: Settings) -> int:
    """Candles handed to the predictor per decision."""
    return LOOKBACK + max(settings.model.sequence_length, 1)


def strategy_for(settings: Settings, name: str) -> Strategy:
    """The named strategy with the configured rule parameters, or an imported file's."""
    sf = imported(settings, name)
    if sf is not None:
        return make_strategy(sf.spec.name, sf.params)
    return make_strategy(name, settings.trading.params.get(spec_of(name).key))


def run_warmup(settings: Settings, strategy: str | None = None) -> int:
    """The one warm-up rule of every run (candles of history before its first event)."""
    history = max(strategy_for(settings, s).history
                  for s in {strategy or settings.trading.strategy, settings.trading.strategy})
    return warmup_bars(engine_window(settings), history)


def wire_engine(settings: Settings, symbols: list[str], *, book: CandleBook,
                predictor: Predictor | None, broker: Broker, store: Store,
                runner: RetrainRunner, run_id: str, schedule_ms: int | None = None,
                notifier: Notifier | None = None, equity_sample_ms: int | None = None,
                strategy: str | None = None, history_limit: int | None = None
                ) -> tuple[Engine, LearningController]:
    """The engine and its learning controller for ``symbols`` on every configured timeframe.
    Replay, paper and live differ only in the market data, the broker and the runner."""
    tfs = settings.timeframes.names
    weights = {i.interval: i.weight for i in settings.timeframes.intervals}
    conf = settings.continuous_learning.confidence
    gate = Gate(conf.trading_threshold, conf.hysteresis, int(conf.min_dwell_minutes * 60_000))
    finest = min(Timeframe.parse(t) for t in tfs)
    engine = Engine(
        EngineConfig(symbols, tfs, weights, settings.exchange.name, conf.trading_threshold,
                     conf.hysteresis, engine_window(settings), run_id,
                     equity_sample_ms=equity_sample_ms or max(finest.ms, HOUR_MS),
                     history_limit=history_limit),
        book, predictor, broker,
        RiskManager(risk_limits(settings, strategy), broker.equity()), gate,
        Aggregator(weights, settings.trading.stale_after_bars,
                   Timeframe.parse(settings.model.horizon).ms), store, notifier=notifier,
        strategy=strategy_for(settings, strategy or settings.trading.strategy),
        account=AccountRisk(account_limits(settings), broker.equity()))
    rt = settings.continuous_learning.retraining
    learning = LearningController(
        symbols=symbols, timeframes=tfs, weights=weights, exchange=settings.exchange.name,
        on_loss=rt.on_loss, min_interval_ms=int(rt.min_interval_hours * HOUR_MS),
        schedule_ms=schedule_ms or (int(rt.schedule_hours * HOUR_MS) or None),
        drift_threshold=rt.drift_threshold, drift_confirmations=rt.drift_confirmations,
        horizons={tf: label_plan(tf, settings.model.horizon, tfs).bars for tf in tfs},
        gate=gate, store=store, book=book, runner=runner,
        references=(predictor.drift_reference if predictor is not None
                    else lambda symbol, timeframe: None),
        on_transition=engine.record_transition,
        model_time=predictor.model_time if predictor is not None else None,
        max_age_ms=int(rt.max_model_age_hours * HOUR_MS) or None,
        capacity=settings.continuous_learning.executor.workers)
    engine.learning = learning
    return engine, learning
