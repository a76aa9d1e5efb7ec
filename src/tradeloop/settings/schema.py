"""The schema of ``config.yaml``: one pydantic model with every key, its type, range and
default, and the secrets read from the environment / ``.env``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from tradeloop.domain.errors import TradeloopError
from tradeloop.domain.horizon import label_plan
from tradeloop.domain.symbols import parse_symbol
from tradeloop.settings.fields import Fraction, TimeframeName, _Section
from tradeloop.settings.graduation import (
    BacktestStageSettings,
    CapitalBand,
    GraduationSettings,
    LiveCandidateStageSettings,
    LiveStageSettings,
    PaperStageSettings,
    ReviewSettings,
)
from tradeloop.settings.news import NewsSettings

__all__ = ["BacktestStageSettings", "CapitalBand", "GraduationSettings",
           "LiveCandidateStageSettings", "LiveStageSettings", "PaperStageSettings",
           "ReviewSettings"]

SECRET_ENV_VARS = (
    "EXCHANGE_API_KEY",
    "EXCHANGE_API_SECRET",
    "EXCHANGE_API_PASSWORD",
    "TELEGRAM_BOT_TOKEN",
    "ALERT_WEBHOOK_URL",
    "TRADELOOP_DATABASE_URL",
    "CRYPTOPANIC_TOKEN",
)



class LiveTradingSettings(_Section):
    """Which engine mode ``deploy_production.py`` and ``tradeloop run`` start in."""

    mode: Literal["replay", "paper", "testnet", "live"] = "paper"
    enabled: bool = True


class ConfidenceSettings(_Section):
    """Confidence gate: LEARNING -> TRADING at ``trading_threshold``, back below
    ``trading_threshold - hysteresis``."""

    trading_threshold: Fraction = 0.55
    hysteresis: Fraction = 0.03
    min_dwell_minutes: Annotated[float, Field(ge=0)] = 15.0

    @model_validator(mode="after")
    def _band(self) -> ConfidenceSettings:
        if self.hysteresis >= self.trading_threshold:
            raise ValueError(
                f"hysteresis ({self.hysteresis}) must be smaller than trading_threshold "
                f"({self.trading_threshold})"
            )
        return self


class RetrainingSettings(_Section):
    """When and how models are retrained."""

    on_loss: bool = True
    max_epochs: Annotated[int, Field(ge=1, le=10_000)] = 50
    target_confidence: Fraction = 0.80
    patience: Annotated[int, Field(ge=1)] = 5
    min_interval_hours: Annotated[float, Field(ge=0)] = 1.0
    drift_threshold: Fraction = 0.35  # share of features beyond their calibrated PSI threshold
    drift_confirmations: Annotated[int, Field(ge=1)] = 2  # consecutive checks over it to fire
    schedule_hours: Annotated[float, Field(ge=0)] = 0.0  # scheduled retraining; 0 = off
    # the model-age budget: every series' model retrained (or confirmed by a retrain's
    # paired test) within this many hours, oldest first, within the executor's capacity;
    # 0 = off
    max_model_age_hours: Annotated[float, Field(ge=0)] = 0.0


class PromotionSettings(_Section):
    """When a challenger replaces the champion: a paired test on the same fresh labels."""

    min_samples: Annotated[int, Field(ge=20)] = 100  # fresh samples both models are scored on
    min_improvement: Annotated[float, Field(ge=0)] = 0.002  # log loss, nats per sample
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.025  # one-sided significance level


class ExecutorSettings(_Section):
    """Where retraining jobs run: worker processes here (``process``) or a Ray cluster."""

    kind: Literal["process", "ray"] = "process"
    workers: Annotated[int, Field(ge=1, le=1024)] = 1  # jobs at once
    ray_address: str | None = None  # a running cluster ("ray://host:10001", "auto"); None:
    # a local Ray started for the run
    cpus_per_job: Annotated[float, Field(gt=0, le=256)] = 1.0


class ContinuousLearningSettings(_Section):
    enabled: bool = True
    confidence: ConfidenceSettings = ConfidenceSettings()
    retraining: RetrainingSettings = RetrainingSettings()
    promotion: PromotionSettings = PromotionSettings()
    executor: ExecutorSettings = ExecutorSettings()


class StrategyRisk(_Section):
    """One strategy's own entry limits (``risk.strategies.<name>``); a key left out keeps the
    ``risk`` section's value. A strategy file's ``risk_management`` lands here."""

    daily_loss_limit: Annotated[float, Field(gt=0, le=1)] | None = None
    max_position_size_percent: Annotated[float, Field(gt=0, le=1)] | None = None
    risk_per_trade: Annotated[float, Field(gt=0, le=1)] | None = None
    max_open_positions: Annotated[int, Field(ge=1)] | None = None
    stop_loss_percent: Annotated[float, Field(gt=0, lt=100)] | None = None
    take_profit_percent: Annotated[float, Field(gt=0)] | None = None
    max_daily_trades: Annotated[int, Field(ge=0)] | None = None


class AutoBlacklistSettings(_Section):
    """Seed 003's symbol filtering: a symbol is blacklisted for ``hours`` when, over the last
    ``window_days``, at least ``min_strategies`` instances traded it ``min_trades`` times in
    all, every one of them lost on it, and the mean return per trade is below zero at level
    ``alpha`` (one-sided t-test, Bonferroni-corrected for the symbols screened)."""

    enabled: bool = True
    window_days: Annotated[float, Field(gt=0)] = 14.0
    min_strategies: Annotated[int, Field(ge=1)] = 2
    min_trades: Annotated[int, Field(ge=2)] = 20
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05
    hours: Annotated[float, Field(gt=0)] = 72.0


class RiskSettings(_Section):
    """Risk limits applied to every order (fractions of equity unless named percent); the
    drawdown halt is the account's, the entry limits may differ per strategy."""

    max_drawdown_percent: Annotated[float, Field(gt=0, le=100)] = 15.0
    daily_loss_limit: Annotated[float, Field(gt=0, le=1)] = 0.05
    max_position_size_percent: Annotated[float, Field(gt=0, le=1)] = 0.10
    # what all strategy instances together may hold of one symbol (fraction of the account)
    max_symbol_exposure_percent: Annotated[float, Field(gt=0, le=1)] = 0.25
    risk_per_trade: Annotated[float, Field(gt=0, le=1)] = 0.01  # equity lost if the stop hits
    max_open_positions: Annotated[int, Field(ge=1)] = 4
    stop_loss_percent: Annotated[float, Field(gt=0, lt=100)] = 2.0
    take_profit_percent: Annotated[float, Field(gt=0)] = 4.0
    max_consecutive_losses: Annotated[int, Field(ge=1)] = 3
    max_daily_trades: Annotated[int, Field(ge=0)] = 0  # entries per UTC day; 0 = no limit
    loss_pause_minutes: Annotated[float, Field(ge=0)] = 60.0
    blacklist: list[str] = Field(default_factory=list)
    blocked_hours: list[Annotated[int, Field(ge=0, le=23)]] = Field(default_factory=list)
    strategies: dict[str, StrategyRisk] = Field(default_factory=dict)
    auto_blacklist: AutoBlacklistSettings = AutoBlacklistSettings()

    @model_validator(mode="after")
    def _known_strategies(self) -> RiskSettings:
        from tradeloop.strategies.catalog import spec_of

        for name in self.strategies:
            try:
                spec_of(name)
            except TradeloopError as exc:
                raise ValueError(f"risk.strategies.{name}: {exc}") from None
        return self

    def for_strategy(self, name: str) -> RiskSettings:
        """The limits ``name`` trades under: its own where it has them, else these."""
        own = self.strategies.get(name)
        if own is None:
            return self
        return self.model_copy(update=own.model_dump(exclude_none=True))


class TradingSettings(_Section):
    """The simulated account (replay, paper), how signals are combined and which strategy
    trades them (the operator can switch it at run time from the dashboard)."""

    # a name of the strategy library (tradeloop strategy list), or file:NAME of an imported
    # strategy file (its strategy, parameters and risk limits on these symbols and account)
    strategy: str = "ml"
    # per strategy, its parameters (checked against its schema; after loading every strategy
    # with parameters is here, defaults filled in)
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    initial_balance: Annotated[float, Field(gt=0)] = 10_000.0
    fee_bps: Annotated[float, Field(ge=0, le=500)] = 10.0
    slippage_bps: Annotated[float, Field(ge=0, le=500)] = 2.0
    stale_after_bars: Annotated[float, Field(ge=0)] = 1.0  # a forecast expires after this

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: Any) -> Any:
        for old in ("breakout", "ma_cross"):
            if isinstance(data, dict) and old in data:
                raise ValueError(f"trading.{old} moved to trading.params.{old} (every "
                                 "strategy's parameters live under trading.params)")
        return data

    @model_validator(mode="after")
    def _known(self) -> TradingSettings:
        from tradeloop.strategies.catalog import CATALOGUE, spec_of

        try:
            if not self.strategy.startswith("file:"):  # an imported file: checked by Settings
                spec_of(self.strategy)
            for name in self.params:
                if spec_of(name).key != name:
                    raise ValueError(f"trading.params.{name}: {name} reads "
                                     f"trading.params.{spec_of(name).key}")
            self.params = {s.key: s.schema.resolve(self.params.get(s.key), f"trading.params."
                                                   f"{s.key}")
                           for s in CATALOGUE.values() if s.schema.params}
        except TradeloopError as exc:
            raise ValueError(str(exc)) from None
        return self




class IntervalSettings(_Section):
    interval: TimeframeName
    weight: Annotated[float, Field(gt=0)]


class TimeframeSettings(_Section):
    intervals: list[IntervalSettings] = Field(
        default_factory=lambda: [
            IntervalSettings(interval=i, weight=w)
            for i, w in (("1m", 0.05), ("5m", 0.10), ("15m", 0.15),
                         ("1h", 0.30), ("4h", 0.25), ("1d", 0.15))
        ],
        min_length=1,
    )

    @field_validator("intervals")
    @classmethod
    def _unique(cls, value: list[IntervalSettings]) -> list[IntervalSettings]:
        names = [i.interval for i in value]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"interval listed more than once: {', '.join(dup)}")
        return value

    @property
    def names(self) -> list[str]:
        return [i.interval for i in self.intervals]


class ModelFeatureSettings(_Section):
    """Inputs beside the candle features (recorded with each model; serving refuses a model
    whose inputs it cannot compute)."""

    sentiment: bool = False  # the news sentiment features (``news.features``)


class ModelSettings(_Section):
    """The per-(symbol, timeframe) classifier: architecture, labels, data window, training."""

    architecture: Literal["mlp", "gru"] = "mlp"
    hidden_size: Annotated[int, Field(ge=4, le=1024)] = 64
    num_layers: Annotated[int, Field(ge=1, le=8)] = 2
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.1
    sequence_length: Annotated[int, Field(ge=2, le=256)] = 16  # GRU: feature rows per sample
    learning_rate: Annotated[float, Field(gt=0, le=1)] = 1e-3
    weight_decay: Annotated[float, Field(ge=0, le=1)] = 1e-4
    batch_size: Annotated[int, Field(ge=8, le=65536)] = 256
    # the traded event, shared by every timeframe: the direction of the move over this long
    # after a candle's close (beyond the fee band)
    horizon: TimeframeName = "4h"
    fee_bps: Annotated[float, Field(ge=0, le=500)] = 10.0  # per side; sets the flat dead band
    slippage_bps: Annotated[float, Field(ge=0, le=500)] = 2.0
    max_train_candles: Annotated[int, Field(ge=1000)] = 20_000  # most recent candles per run
    min_samples: Annotated[int, Field(ge=100)] = 1_000
    val_fraction: Annotated[float, Field(gt=0, lt=0.5)] = 0.15
    test_fraction: Annotated[float, Field(gt=0, lt=0.5)] = 0.15
    embargo_bars: Annotated[int, Field(ge=0)] = 0  # extra gap on top of the label purge
    # weight of the horizon heads' losses (a quarter, a half, three quarters and all of the
    # horizon; own series only; the traded logits are stacked on them; 0: one plain head;
    # training targets, not traded): the same move seen with less of the later bars' noise
    aux_weight: Annotated[float, Field(ge=0, le=10)] = 1.0
    features: ModelFeatureSettings = ModelFeatureSettings()
    seed: int = 42

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if isinstance(data, dict) and "horizon_bars" in data:
            raise ValueError("model.horizon_bars was replaced by model.horizon, one wall-clock "
                             "horizon shared by every timeframe (e.g. 4h): the aggregated "
                             "confidence is then the probability of one event")
        return data


class ExchangeSettings(_Section):
    """Exchange reached through ccxt. ``base_url`` points REST calls elsewhere (a proxy, or a
    loopback fake exchange in tests)."""

    name: str = "binance"
    sandbox: bool = False
    base_url: str | None = None
    rate_limit_per_minute: Annotated[int, Field(gt=0)] = 600
    timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    max_retries: Annotated[int, Field(ge=0, le=20)] = 5
    circuit_breaker_failures: Annotated[int, Field(ge=1, le=100)] = 5
    circuit_breaker_cooldown_seconds: Annotated[float, Field(gt=0)] = 30.0
    ticker_ttl_seconds: Annotated[float, Field(ge=0)] = 2.0
    websocket: bool = False  # candles through ccxt.pro; REST polling whenever it is down
    websocket_url: str | None = None  # where the websocket connects (a proxy, a fake)
    max_missing_bars: Annotated[int, Field(ge=1)] = 3  # then stale: alert + LEARNING

    @field_validator("name")
    @classmethod
    def _lower(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9_]+", value.strip().lower()):
            raise ValueError("expected a ccxt exchange id such as 'binance'")
        return value.strip().lower()


class ExecutionSettings(_Section):
    """How testnet and live orders are placed (paper and replay fill on the simulated book)."""

    order_type: Literal["limit", "market"] = "limit"  # entries; exits are always market
    slippage_tolerance_percent: Annotated[float, Field(ge=0, le=10)] = 0.5
    order_timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    unknown_order_grace_seconds: Annotated[float, Field(gt=0)] = 15.0


class DatabaseSettings(_Section):
    """SQLAlchemy URL; SQLite (WAL) by default, PostgreSQL by URL. A URL with a password
    belongs in TRADELOOP_DATABASE_URL, not here."""

    url: str = "sqlite:///data/trading.db"

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError("expected a sqlite:/// or postgresql:// URL")
        return value


class MlflowSettings(_Section):
    tracking_uri: str = "sqlite:///data/mlflow.db"
    artifact_location: str = "mlruns"


class PathSettings(_Section):
    data_dir: str = "data"
    models_dir: str = "models"
    reports_dir: str = "production_reports"
    validation_dir: str = "validation_results"  # run_paper_trading_validation.py
    logs_dir: str = "logs"
    backups_dir: str = "data/backups"


class ValidationSettings(_Section):
    """End-of-phase criteria (seed 002): APPROVED when ``min_criteria`` of the five are met."""

    min_win_rate: Fraction = 0.50
    max_drawdown_percent: Annotated[float, Field(gt=0, le=100)] = 15.0
    max_error_rate: Fraction = 0.05
    min_profit: float = 0.0  # quote currency; the phase's closed-trade P&L must exceed it
    max_transitions_per_hour: Annotated[float, Field(gt=0)] = 2.0
    min_criteria: Annotated[int, Field(ge=1, le=5)] = 4


class HealthSettings(_Section):
    """Scheduled health checks of a running deployment; max drawdown is ``risk``'s."""

    interval_minutes: Annotated[float, Field(gt=0, le=1440)] = 5.0
    min_win_rate: Fraction = 0.40
    min_trades_for_win_rate: Annotated[int, Field(ge=1)] = 20
    max_error_rate: Fraction = 0.05
    max_transitions_per_hour: Annotated[float, Field(gt=0)] = 2.0
    min_uptime: Fraction = 0.95
    max_api_error_rate: Fraction = 0.20  # failed exchange requests (before retries), last hour
    # live calibration: directional ECE of each gate's P(up) over the forecasts of the last
    # calibration_window_hours whose outcome is known, judged from this many on
    max_calibration_gap: Fraction = 0.10
    min_calibration_samples: Annotated[int, Field(ge=10)] = 200
    calibration_window_hours: Annotated[float, Field(gt=0)] = 24.0


class DeploymentSettings(_Section):
    """The phased rollout: phase 1 on one symbol, validation, phase 3 on every symbol."""

    phase1_symbol: str = "BTC/USDT"
    duration_hours: Annotated[float, Field(gt=0)] = 24.0
    rollout_pause_seconds: Annotated[float, Field(ge=0)] = 30.0
    snapshot_seconds: Annotated[float, Field(ge=1, le=3600)] = 60.0  # equity/heartbeat rows
    # the guide's prerequisite: a passed paper-trading validation of at least this many hours
    paper_validation_hours: Annotated[float, Field(gt=0)] = 48.0
    require_paper_validation: bool = False  # True: a failed check refuses phase 1 and 3
    validation: ValidationSettings = ValidationSettings()
    health: HealthSettings = HealthSettings()

    @field_validator("phase1_symbol")
    @classmethod
    def _symbol(cls, value: str) -> str:
        try:
            return parse_symbol(value)
        except TradeloopError as exc:
            raise ValueError(str(exc)) from None


class AlertSettings(_Section):
    """Where alerts go besides the log and the ``alerts`` table. The webhook URL
    (ALERT_WEBHOOK_URL) and the Telegram bot token (TELEGRAM_BOT_TOKEN) are secrets."""

    min_level: Literal["info", "warning", "critical"] = "warning"
    telegram_chat_id: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0


class Settings(_Section):
    """The whole of ``config.yaml``. Relative paths are resolved against ``base_dir``."""

    live_trading: LiveTradingSettings = LiveTradingSettings()
    continuous_learning: ContinuousLearningSettings = ContinuousLearningSettings()
    risk: RiskSettings = RiskSettings()
    trading: TradingSettings = TradingSettings()
    symbols: list[str] = Field(default_factory=lambda: ["BTC/USDT", "ETH/USDT"], min_length=1)
    timeframes: TimeframeSettings = TimeframeSettings()
    model: ModelSettings = ModelSettings()
    exchange: ExchangeSettings = ExchangeSettings()
    execution: ExecutionSettings = ExecutionSettings()
    database: DatabaseSettings = DatabaseSettings()
    mlflow: MlflowSettings = MlflowSettings()
    paths: PathSettings = PathSettings()
    deployment: DeploymentSettings = DeploymentSettings()
    alerts: AlertSettings = AlertSettings()
    graduation: GraduationSettings = GraduationSettings()
    news: NewsSettings = NewsSettings()

    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)
    secrets: Secrets = Field(default_factory=lambda: Secrets(), exclude=True)

    @model_validator(mode="after")
    def _imported_strategy(self) -> Settings:
        from tradeloop.strategies.imported import imported

        try:
            imported(self, self.trading.strategy)
        except TradeloopError as exc:
            raise ValueError(f"trading.strategy: {exc}") from None
        return self

    @model_validator(mode="after")
    def _measurable_horizon(self) -> Settings:
        for tf in self.timeframes.names:
            try:
                label_plan(tf, self.model.horizon, self.timeframes.names)
            except TradeloopError as exc:
                raise ValueError(f"model.horizon: {exc} (labels are read from such a "
                                 f"series)") from None
        return self

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, value: list[str]) -> list[str]:
        try:
            out = [parse_symbol(s) for s in value]
        except TradeloopError as exc:
            raise ValueError(str(exc)) from None
        if len(set(out)) != len(out):
            raise ValueError("a symbol is listed more than once")
        return out

    def rebuilt(self, data: dict[str, Any]) -> Settings:
        """Settings validated afresh from ``data`` (a changed :meth:`model_dump`), keeping this
        one's ``base_dir`` and secrets."""
        return Settings.model_validate({**data, "base_dir": self.base_dir,
                                        "secrets": self.secrets})

    def path(self, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else self.base_dir / p

    @property
    def mlflow_tracking_uri(self) -> str:
        """Tracking URI with relative SQLite/file paths resolved against ``base_dir``."""
        uri = self.mlflow.tracking_uri
        if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
            return f"sqlite:///{self.path(uri.removeprefix('sqlite:///'))}"
        if "://" not in uri:
            return self.path(uri).resolve().as_uri()
        return uri

    @property
    def mlflow_artifact_location(self) -> str:
        """A URI as given (``s3://...``, a tracking server's ``mlflow-artifacts:/...``);
        a path resolved against ``base_dir``."""
        loc = self.mlflow.artifact_location
        return loc if re.match(r"^[a-z][a-z0-9+.-]+:/", loc) else \
            self.path(loc).resolve().as_uri()

    @property
    def database_url(self) -> str:
        """The effective database URL: TRADELOOP_DATABASE_URL wins; relative SQLite paths are
        resolved against ``base_dir``."""
        url = self.secrets.database_url.get_secret_value() if self.secrets.database_url else None
        url = url or self.database.url
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            rel = url.removeprefix("sqlite:///")
            if rel and rel != ":memory:":
                return f"sqlite:///{self.path(rel)}"
        return url


class Secrets(BaseModel):
    """Credentials, read only from the environment or ``.env``; never written anywhere."""

    model_config = ConfigDict(frozen=True)

    exchange_api_key: SecretStr | None = None
    exchange_api_secret: SecretStr | None = None
    exchange_api_password: SecretStr | None = None
    telegram_bot_token: SecretStr | None = None
    alert_webhook_url: SecretStr | None = None
    database_url: SecretStr | None = None
    cryptopanic_token: SecretStr | None = None

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Secrets:
        values: dict[str, Any] = {}
        for var in SECRET_ENV_VARS:
            key = var.lower().removeprefix("tradeloop_")
            if env.get(var):
                values[key] = SecretStr(env[var])
        return cls(**values)

    def values(self) -> list[str]:
        """Every secret value that is set (for redaction)."""
        out = []
        for name in type(self).model_fields:
            v = getattr(self, name)
            if v is not None and v.get_secret_value():
                out.append(v.get_secret_value())
        return out


Settings.model_rebuild()


