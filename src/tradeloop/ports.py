"""Ports: the interfaces the engine and services depend on. Adapters implement them;
``tests/fakes.py`` has an in-memory fake of each."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tradeloop.domain.candles import Candle, CandleArrays, SeriesKey
from tradeloop.domain.gate import Transition
from tradeloop.domain.signals import Prediction
from tradeloop.domain.trading import BrokerEvents, ClosedTrade, Fill, OrderRequest, Position


class Clock(Protocol):
    """The only source of 'now' (milliseconds since the epoch, UTC)."""

    def now_ms(self) -> int: ...

    def sleep(self, seconds: float) -> None: ...


class CandleSource(Protocol):
    """Fetches closed candles of one series from a market (an exchange, a file)."""

    def fetch(self, key: SeriesKey, since_ms: int, limit: int) -> CandleArrays: ...


@dataclass(frozen=True)
class ModelRef:
    """Where the model in service for one (symbol, timeframe) lives."""

    symbol: str
    timeframe: str
    version: str
    path: Path
    run_id: str | None = None


class ModelRegistry(Protocol):
    """Resolves the champion (model in service) of a (symbol, timeframe)."""

    def champion(self, symbol: str, timeframe: str) -> ModelRef | None: ...


class CandleReader(Protocol):
    """Read access to stored candles."""

    def load(self, key: SeriesKey, start_ms: int | None = None, end_ms: int | None = None
             ) -> CandleArrays: ...

    def count(self, key: SeriesKey | None = None) -> int: ...


class CandleWriter(CandleReader, Protocol):
    """Read and write access to stored candles."""

    def write(self, key: SeriesKey, candles: CandleArrays, *, refresh_gaps: bool = True
              ) -> int: ...

    def last_open_time(self, key: SeriesKey) -> int | None: ...


class ModelRecorder(ModelRegistry, Protocol):
    """Records training runs and moves the champion (MLflow in production)."""

    def log_training(self, symbol: str, timeframe: str, *, model_path: Path,
                     params: dict[str, Any], history: list[dict[str, float]],
                     metrics: dict[str, float], tags: dict[str, str],
                     artifacts: dict[str, str]) -> tuple[str, str]: ...

    def champion_version(self, symbol: str, timeframe: str) -> str | None: ...

    def set_champion(self, symbol: str, timeframe: str, version: str, local_file: Path
                     ) -> None: ...


# -- the engine's ports ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CandleClose:
    """Candle ``index`` of ``key`` (an index into the engine's candle book) closed at
    ``close_ms``."""

    key: SeriesKey
    index: int
    close_ms: int


class CandleSink(Protocol):
    """Where market data puts closed candles for the engine to read (the candle book)."""

    def preload(self, key: SeriesKey, candles: CandleArrays) -> None: ...

    def append(self, key: SeriesKey, candle: Candle) -> int: ...


class MarketData(Protocol):
    """Closed candles of the traded series, as events in time order.

    :meth:`open` puts each series' warm-up history into the sink; :meth:`closes` then adds
    each newly closed candle to the sink and yields its event. A live feed also yields
    ``None`` as a heartbeat while it waits, so the loop can do its housekeeping.
    """

    def open(self, sink: CandleSink) -> None: ...

    def closes(self) -> Iterator[CandleClose | None]: ...


class Broker(Protocol):
    """Executes orders and keeps the account: cash, positions, pending orders."""

    fee_rate: float
    cash: float
    positions: dict[str, Position]

    def submit(self, order: OrderRequest) -> None: ...

    def has_pending(self, symbol: str) -> bool: ...

    def equity(self) -> float: ...

    def on_candle(self, symbol: str, candle: Candle, time_ms: int) -> BrokerEvents: ...

    def close_all(self, time_ms: int, reason: str) -> BrokerEvents: ...

    def sync(self, now_ms: int) -> BrokerEvents: ...


class Predictor(Protocol):
    """Calibrated forecasts from the champion of each series; never raises — a series
    without a prediction has its reason in ``errors``."""

    errors: dict[tuple[str, str], str]

    def predict(self, symbol: str, timeframe: str, candles: CandleArrays
                ) -> Prediction | None: ...


class Store(Protocol):
    """What the engine records: the operator tables."""

    mode: str

    def prediction(self, now_ms: int, symbol: str, timeframe: str, candle_time: int,
                   direction: str, probs: tuple[float, float, float], confidence: float,
                   version: str, mode: str) -> None: ...

    def confidence(self, now_ms: int, symbol: str, score: float, direction: str, mode: str,
                   threshold: float) -> None: ...

    def transition(self, t: Transition) -> None: ...

    def order(self, order: OrderRequest, status: str, now_ms: int, reason: str | None = None
              ) -> None: ...

    def refusal(self, symbol: str, side: str, reason: str, now_ms: int, seq: int) -> None: ...

    def fill(self, fill: Fill, stop: float | None, take: float | None) -> None: ...

    def trade(self, trade: ClosedTrade, timeframe: str | None, version: str | None) -> None: ...

    def retraining(self, row: dict[str, object]) -> None: ...

    def drift(self, now_ms: int, symbol: str, timeframe: str, feature_drift: float,
              threshold: float, error_drift: float, triggered: bool) -> None: ...

    def error(self, now_ms: int, error_type: str, message: str, symbol: str | None = None,
              timeframe: str | None = None, component: str | None = None) -> None: ...

    def flush(self) -> None: ...


class Notifier(Protocol):
    """Sends an operator alert (log, webhook, Telegram ...). Never raises."""

    def notify(self, level: str, title: str, message: str, symbol: str | None = None
               ) -> None: ...


class Learning(Protocol):
    """The continuous-learning controller as the engine sees it."""

    def on_trade_closed(self, symbol: str, trade: ClosedTrade, now_ms: int) -> None: ...

    def on_prediction(self, key: SeriesKey, index: int, prediction: Prediction) -> None: ...

    def on_tick(self, now_ms: int) -> None: ...
