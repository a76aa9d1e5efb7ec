"""Typed table models. Table and column names are an operator interface (seed 002's SQL)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tradeloop.domain.trading import MAIN_INSTANCE


class Base(DeclarativeBase):
    """Declarative base of every tradeloop table."""


class CandleSeriesRow(Base):
    """One candle series: (exchange, symbol, timeframe) -> a small integer id."""

    __tablename__ = "candle_series"
    __table_args__ = (UniqueConstraint("exchange", "symbol", "timeframe", name="uq_candle_series"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    exchange: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(32))
    timeframe: Mapped[str] = mapped_column(String(8))
    # Bumped in the same transaction as every write that changes candles (cache validity).
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class CandleDataRow(Base):
    """One closed candle, upserted on (series, open_time).

    Operators query the ``candles`` view, which joins in exchange, symbol and timeframe; the
    narrow integer key here keeps bulk writes and range reads fast.
    """

    __tablename__ = "candle_data"
    __table_args__ = ({"sqlite_with_rowid": False},)

    series_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    open_time: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # ms since epoch, UTC
    open: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    close: Mapped[float] = mapped_column(Float)
    volume: Mapped[float] = mapped_column(Float)


class CandleGapRow(Base):
    """Missing candles in a stored series (recorded, never filled)."""

    __tablename__ = "candle_gaps"
    __table_args__ = (Index("ix_candle_gaps_series", "series_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    series_id: Mapped[int] = mapped_column(Integer)
    first_missing: Mapped[int] = mapped_column(BigInteger)
    last_missing: Mapped[int] = mapped_column(BigInteger)
    missing: Mapped[int] = mapped_column(Integer)


class TradeOutcomeRow(Base):
    """A closed trade and how it turned out."""

    __tablename__ = "trade_outcomes"
    __table_args__ = (Index("ix_trade_outcomes_symbol_exit", "symbol", "exit_time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[int | None] = mapped_column(Integer)
    position_id: Mapped[int | None] = mapped_column(Integer)
    symbol: Mapped[str] = mapped_column(String(32))
    timeframe: Mapped[str | None] = mapped_column(String(8))
    mode: Mapped[str] = mapped_column(String(16))
    # the strategy instance whose order/position/trade it is ("main": the session's own)
    instance: Mapped[str] = mapped_column(String(120), default=MAIN_INSTANCE,
                                          server_default=MAIN_INSTANCE,
                                          index=True)
    side: Mapped[str] = mapped_column(String(8))
    predicted_direction: Mapped[str] = mapped_column(String(8))
    confidence: Mapped[float | None] = mapped_column(Float)
    entry_time: Mapped[datetime] = mapped_column()
    exit_time: Mapped[datetime] = mapped_column()
    entry_price: Mapped[float] = mapped_column(Float)
    exit_price: Mapped[float] = mapped_column(Float)
    quantity: Mapped[float] = mapped_column(Float)
    fees: Mapped[float] = mapped_column(Float, default=0.0)
    pnl_absolute: Mapped[float] = mapped_column(Float)
    pnl_percent: Mapped[float] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(8))  # win | loss
    exit_reason: Mapped[str | None] = mapped_column(String(32))
    model_version: Mapped[str | None] = mapped_column(String(64))
    # an instance's book equity after the trade (its returns' base; None: the main's)
    book_equity: Mapped[float | None] = mapped_column(Float, nullable=True)


class RetrainingHistoryRow(Base):
    """One retraining run, whatever its outcome."""

    __tablename__ = "retraining_history"
    __table_args__ = (Index("ix_retraining_history_triggered", "triggered_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    symbol: Mapped[str] = mapped_column(String(32))
    timeframe: Mapped[str] = mapped_column(String(8))
    trigger_reason: Mapped[str] = mapped_column(String(32))  # loss_immediate|drift|scheduled|manual
    triggered_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="running")
    validation_confidence: Mapped[float | None] = mapped_column(Float)
    validation_accuracy: Mapped[float | None] = mapped_column(Float)
    promoted: Mapped[bool] = mapped_column(Boolean, default=False)
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64))
    model_version: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)  # why the challenger was (not) promoted
    deployment_id: Mapped[int | None] = mapped_column(Integer)
    # the paired test against the champion (domain/retraining.py)
    promotion_effect: Mapped[float | None] = mapped_column(Float)
    promotion_ci_low: Mapped[float | None] = mapped_column(Float)
    promotion_ci_high: Mapped[float | None] = mapped_column(Float)
    promotion_p_value: Mapped[float | None] = mapped_column(Float)
    promotion_samples: Mapped[int | None] = mapped_column(Integer)


class LearningStateRow(Base):
    """A TRADING/LEARNING transition of one symbol, with its reason."""

    __tablename__ = "learning_states"
    __table_args__ = (Index("ix_learning_states_symbol_ts", "symbol", "timestamp"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    timestamp: Mapped[datetime] = mapped_column()
    symbol: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16))
    previous_mode: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    confidence: Mapped[float | None] = mapped_column(Float)
    deployment_id: Mapped[int | None] = mapped_column(Integer)


class ConfidenceHistoryRow(Base):
    """The aggregated confidence of one symbol at each decision."""

    __tablename__ = "confidence_history"
    __table_args__ = (Index("ix_confidence_history_symbol_ts", "symbol", "timestamp"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    timestamp: Mapped[datetime] = mapped_column()
    symbol: Mapped[str] = mapped_column(String(32))
    confidence_score: Mapped[float] = mapped_column(Float)
    direction: Mapped[str] = mapped_column(String(8))
    mode: Mapped[str] = mapped_column(String(16))
    threshold: Mapped[float | None] = mapped_column(Float)


class ErrorLogRow(Base):
    """Every caught error."""

    __tablename__ = "error_log"
    __table_args__ = (Index("ix_error_log_ts", "timestamp"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    timestamp: Mapped[datetime] = mapped_column()
    error_type: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    symbol: Mapped[str | None] = mapped_column(String(32))
    timeframe: Mapped[str | None] = mapped_column(String(8))
    component: Mapped[str | None] = mapped_column(String(64))
    deployment_id: Mapped[int | None] = mapped_column(Integer)


class PositionRow(Base):
    """An open or closed position."""

    __tablename__ = "positions"
    __table_args__ = (Index("ix_positions_status", "status", "symbol"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[int | None] = mapped_column(Integer)
    symbol: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16))
    # the strategy instance whose order/position/trade it is ("main": the session's own)
    instance: Mapped[str] = mapped_column(String(120), default=MAIN_INSTANCE,
                                          server_default=MAIN_INSTANCE,
                                          index=True)
    side: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[float] = mapped_column(Float)
    entry_price: Mapped[float] = mapped_column(Float)
    entry_time: Mapped[datetime] = mapped_column()
    stop_loss: Mapped[float | None] = mapped_column(Float)
    take_profit: Mapped[float | None] = mapped_column(Float)
    exit_price: Mapped[float | None] = mapped_column(Float)
    exit_time: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    pnl: Mapped[float | None] = mapped_column(Float)
    fees: Mapped[float] = mapped_column(Float, default=0.0)
    entry_client_order_id: Mapped[str | None] = mapped_column(String(64))


class OrderRow(Base):
    """An order; the client order id is made and stored before the order is sent."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("client_order_id", name="uq_orders_client_order_id"),
        Index("ix_orders_status", "status", "symbol"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_order_id: Mapped[str] = mapped_column(String(64))
    exchange_order_id: Mapped[str | None] = mapped_column(String(64))
    deployment_id: Mapped[int | None] = mapped_column(Integer)
    position_id: Mapped[int | None] = mapped_column(Integer)
    symbol: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16))
    # the strategy instance whose order/position/trade it is ("main": the session's own)
    instance: Mapped[str] = mapped_column(String(120), default=MAIN_INSTANCE,
                                          server_default=MAIN_INSTANCE,
                                          index=True)
    side: Mapped[str] = mapped_column(String(8))
    order_type: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[float] = mapped_column(Float)
    price: Mapped[float | None] = mapped_column(Float)  # limit price
    stop_loss: Mapped[float | None] = mapped_column(Float)  # of the position a buy opens
    take_profit: Mapped[float | None] = mapped_column(Float)
    # submitted | sent | open | filled | canceled | rejected | refused
    status: Mapped[str] = mapped_column(String(16))
    filled_quantity: Mapped[float] = mapped_column(Float, default=0.0)
    average_price: Mapped[float | None] = mapped_column(Float)
    fee: Mapped[float] = mapped_column(Float, default=0.0)
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class PredictionRow(Base):
    """One model prediction for a closed candle, scored once its horizon has passed."""

    __tablename__ = "predictions"
    __table_args__ = (Index("ix_predictions_series", "symbol", "timeframe", "candle_time"),
                      Index("ix_predictions_deployment", "deployment_id", "symbol",
                            "timeframe", "candle_time"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    timestamp: Mapped[datetime] = mapped_column()
    symbol: Mapped[str] = mapped_column(String(32))
    timeframe: Mapped[str] = mapped_column(String(8))
    candle_time: Mapped[int] = mapped_column(BigInteger)
    direction: Mapped[str] = mapped_column(String(8))
    p_down: Mapped[float] = mapped_column(Float)
    p_flat: Mapped[float] = mapped_column(Float)
    p_up: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str | None] = mapped_column(String(64))
    mode: Mapped[str | None] = mapped_column(String(16))
    hit: Mapped[bool | None] = mapped_column(Boolean)
    deployment_id: Mapped[int | None] = mapped_column(Integer)


class HealthCheckRow(Base):
    """One health-check result of a deployment."""

    __tablename__ = "health_checks"
    __table_args__ = (Index("ix_health_checks_ts", "timestamp"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    timestamp: Mapped[datetime] = mapped_column()
    deployment_id: Mapped[int | None] = mapped_column(Integer)
    check_name: Mapped[str] = mapped_column(String(64))
    passed: Mapped[bool] = mapped_column(Boolean)
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(16), default="info")
    message: Mapped[str | None] = mapped_column(Text)
    health_score: Mapped[float | None] = mapped_column(Float)


class DeploymentRow(Base):
    """A rollout phase run and its verdict."""

    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    phase: Mapped[int] = mapped_column(Integer)
    symbols: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # running|completed|rolled_back|failed
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    duration_hours: Mapped[float | None] = mapped_column(Float)
    verdict: Mapped[str | None] = mapped_column(String(16))  # APPROVED | REJECTED
    criteria_met: Mapped[int | None] = mapped_column(Integer)
    report_path: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    health_score: Mapped[float | None] = mapped_column(Float)  # the last health check's


class EquityHistoryRow(Base):
    """A snapshot of a deployment's account and loop, taken on a fixed cadence of its clock:
    the drawdown, error rate and uptime of a deployment are computed from these rows."""

    __tablename__ = "equity_history"
    __table_args__ = (Index("ix_equity_history_deployment_ts", "deployment_id", "timestamp"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[datetime] = mapped_column()
    equity: Mapped[float] = mapped_column(Float)
    cash: Mapped[float] = mapped_column(Float)
    open_positions: Mapped[int] = mapped_column(Integer)
    events: Mapped[int] = mapped_column(Integer)  # candle closes handled so far
    errors: Mapped[int] = mapped_column(Integer)  # errors caught so far


class ExchangeMetricsRow(Base):
    """The exchange edge of a deployment, sampled with the equity snapshots: totals since
    the start and the request/error counts of the last minute."""

    __tablename__ = "exchange_metrics"
    __table_args__ = (Index("ix_exchange_metrics_deployment_ts", "deployment_id", "timestamp"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[datetime] = mapped_column()
    requests: Mapped[int] = mapped_column(Integer)
    errors: Mapped[int] = mapped_column(Integer)
    retries: Mapped[int] = mapped_column(Integer)
    requests_last_minute: Mapped[int] = mapped_column(Integer)
    errors_last_minute: Mapped[int] = mapped_column(Integer)
    max_requests_per_minute: Mapped[int] = mapped_column(Integer)
    limit_per_minute: Mapped[int] = mapped_column(Integer)
    cache_hit_rate: Mapped[float | None] = mapped_column(Float)
    ws_uptime: Mapped[float | None] = mapped_column(Float)
    circuit_state: Mapped[str] = mapped_column(String(16))


class ParityReportRow(Base):
    """A live-vs-replay comparison of a deployment (``tradeloop parity``)."""

    __tablename__ = "parity_reports"
    __table_args__ = (Index("ix_parity_reports_deployment", "deployment_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column()
    predictions: Mapped[int] = mapped_column(Integer)
    predictions_matched: Mapped[int] = mapped_column(Integer)
    orders: Mapped[int] = mapped_column(Integer)
    orders_matched: Mapped[int] = mapped_column(Integer)
    identical: Mapped[bool] = mapped_column(Boolean)
    first_divergence: Mapped[str | None] = mapped_column(Text)
    report_path: Mapped[str | None] = mapped_column(Text)


class AlertRow(Base):
    """An alert raised by a health check or a component."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_ts", "timestamp"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    timestamp: Mapped[datetime] = mapped_column()
    severity: Mapped[str] = mapped_column(String(16))  # info|warning|critical
    symbol: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    channels: Mapped[str | None] = mapped_column(String(100))
    acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    deployment_id: Mapped[int | None] = mapped_column(Integer)


class ControlCommandRow(Base):
    """An operator's request (retrain, stop, rollback, pause, resume, strategy, wipe): picked
    up by the running engine's loop within a few seconds, or applied at once when nothing
    runs, and answered in ``status``/``result``."""

    __tablename__ = "control_commands"
    __table_args__ = (Index("ix_control_commands_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column()
    command: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str | None] = mapped_column(String(32))
    timeframe: Mapped[str | None] = mapped_column(String(8))
    argument: Mapped[str | None] = mapped_column(String(64))  # e.g. the strategy to switch to
    requested_by: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|done|rejected
    handled_at: Mapped[datetime | None] = mapped_column()
    result: Mapped[str | None] = mapped_column(Text)


class RuntimeStateRow(Base):
    """Operator choices that outlive a deployment: the active strategy, paused symbols."""

    __tablename__ = "runtime_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # JSON
    updated_at: Mapped[datetime] = mapped_column()
    updated_by: Mapped[str | None] = mapped_column(String(64))


class DriftCheckRow(Base):
    """One drift check of a series: the share of features whose PSI is over its calibrated
    threshold, and the Page-Hinkley statistic of the prediction misses."""

    __tablename__ = "drift_checks"
    __table_args__ = (Index("ix_drift_checks_symbol_ts", "symbol", "timestamp"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    timestamp: Mapped[datetime] = mapped_column()
    deployment_id: Mapped[int | None] = mapped_column(Integer)
    symbol: Mapped[str] = mapped_column(String(32))
    timeframe: Mapped[str] = mapped_column(String(8))
    feature_drift: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    error_drift: Mapped[float | None] = mapped_column(Float)
    triggered: Mapped[bool] = mapped_column(Boolean)


OPERATOR_TABLES = (
    "candles", "trade_outcomes", "retraining_history", "learning_states",
    "confidence_history", "error_log", "positions",
)


class StrategyInstanceRow(Base):
    """A strategy instance of a graduation pipeline (``live``, or a rehearsal's id): strategy +
    parameters + symbol + timeframe, and the stage it is in."""

    __tablename__ = "strategy_instances"
    __table_args__ = (UniqueConstraint("pipeline", "instance",
                                       name="uq_strategy_instances_pipeline_instance"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pipeline: Mapped[str] = mapped_column(String(64))
    instance: Mapped[str] = mapped_column(String(120))
    strategy: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(32))
    timeframe: Mapped[str] = mapped_column(String(8))
    params: Mapped[str] = mapped_column(Text)  # JSON
    source: Mapped[str] = mapped_column(String(120))
    stage: Mapped[str] = mapped_column(String(16))
    stage_since: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    judged_at: Mapped[datetime | None] = mapped_column()  # its last judgement ...
    verdict: Mapped[str | None] = mapped_column(Text)  # ... JSON: reason and criteria


class StrategyTransitionRow(Base):
    """One stage change of an instance, with the criteria that decided it and the reason."""

    __tablename__ = "strategy_transitions"
    __table_args__ = (Index("ix_strategy_transitions_pipeline_ts", "pipeline", "timestamp"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pipeline: Mapped[str] = mapped_column(String(64))
    instance: Mapped[str] = mapped_column(String(120))
    from_stage: Mapped[str] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    timestamp: Mapped[datetime] = mapped_column()
    criteria: Mapped[str] = mapped_column(Text)  # JSON: name -> value, threshold, op, passed
    reason: Mapped[str] = mapped_column(Text)


class StrategyAllocationRow(Base):
    """The share of the account an instance was given at a rebalance, and why."""

    __tablename__ = "strategy_allocations"
    __table_args__ = (Index("ix_strategy_allocations_pipeline_ts", "pipeline", "timestamp"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pipeline: Mapped[str] = mapped_column(String(64))
    instance: Mapped[str] = mapped_column(String(120))
    timestamp: Mapped[datetime] = mapped_column()
    stage: Mapped[str] = mapped_column(String(16))
    fraction: Mapped[float] = mapped_column(Float)
    capital: Mapped[float] = mapped_column(Float)  # quote currency at the rebalance
    score: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)


class SymbolBlacklistRow(Base):
    """A symbol no instance may enter, with why, until when, and who lifted it early."""

    __tablename__ = "symbol_blacklist"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    symbol: Mapped[str] = mapped_column(String(32), index=True)
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))  # "auto" or "operator"
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    lifted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    lifted_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class LatestPriceRow(Base):
    """The running session's latest price of each symbol (written every second)."""

    __tablename__ = "latest_prices"

    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    price: Mapped[float] = mapped_column(Float)
    time: Mapped[datetime] = mapped_column()  # of the price (the exchange's)
    updated_at: Mapped[datetime] = mapped_column()  # when the session wrote it


class InstanceTransferRow(Base):
    """Cash the main desk moved into (``amount`` > 0) or out of a strategy instance's
    sub-ledger of an exchange account; with the instance's fills it gives its cash."""

    __tablename__ = "instance_transfers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance: Mapped[str] = mapped_column(String(120), index=True)
    mode: Mapped[str] = mapped_column(String(16))
    amount: Mapped[float] = mapped_column(Float)
    timestamp: Mapped[datetime] = mapped_column()
    reason: Mapped[str] = mapped_column(String(200))


class NewsRow(Base):
    """A headline: its source, the symbols it mentions (``,BTC/USDT,ETH/USDT,``), when it
    was published (None: no trustworthy time, never a feature), when it was available with
    its score (a fetched one: the latest of published, fetched and scored; an imported,
    ``historical`` one: published) and its sentiment with the model id and revision that
    scored it."""

    __tablename__ = "news"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    uid: Mapped[str] = mapped_column(String(500), unique=True)
    url: Mapped[str] = mapped_column(String(1000))
    title: Mapped[str] = mapped_column(String(500))
    title_key: Mapped[str] = mapped_column(String(500), unique=True)  # normalised title
    summary: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    fetched_at: Mapped[datetime] = mapped_column()
    available_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    historical: Mapped[bool] = mapped_column(Boolean)
    symbols: Mapped[str] = mapped_column(String(500))
    sentiment: Mapped[float | None] = mapped_column(Float, nullable=True)  # positive - negative
    sentiment_label: Mapped[str | None] = mapped_column(String(16), nullable=True)
    p_positive: Mapped[float | None] = mapped_column(Float, nullable=True)
    p_negative: Mapped[float | None] = mapped_column(Float, nullable=True)
    p_neutral: Mapped[float | None] = mapped_column(Float, nullable=True)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    model_revision: Mapped[str | None] = mapped_column(String(64), nullable=True)
    scored_at: Mapped[datetime | None] = mapped_column(nullable=True)
