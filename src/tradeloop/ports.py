"""Ports: the interfaces the engine and services depend on. Adapters implement them;
``tests/fakes.py`` has an in-memory fake of each."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from tradeloop.domain.candles import Candle, CandleArrays, SeriesKey
from tradeloop.domain.decisions import Context, Decision
from tradeloop.domain.errors import TradeloopError
from tradeloop.domain.gate import Transition
from tradeloop.domain.retraining import RetrainJob, RetrainResult
from tradeloop.domain.signals import Prediction
from tradeloop.domain.trading import BrokerEvents, ClosedTrade, Fill, OrderRequest, Position

if TYPE_CHECKING:
    import numpy as np
    from sqlalchemy import Engine as SqlEngine


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


class StoreHandle(Protocol):
    """The opened database: its SQLAlchemy engine and the candle store on it."""

    @property
    def engine(self) -> SqlEngine: ...

    @property
    def candles(self) -> CandleWriter: ...

    def close(self) -> None: ...


class ModelRecorder(ModelRegistry, Protocol):
    """Records training runs and moves the champion (MLflow in production)."""

    def log_training(self, symbol: str, timeframe: str, *, model_path: Path,
                     params: dict[str, Any], history: list[dict[str, float]],
                     metrics: dict[str, float], tags: dict[str, str],
                     artifacts: dict[str, str]) -> tuple[str, str]: ...

    def log_promotion(self, run_id: str, metrics: dict[str, float]) -> None:
        """Add the promotion decision (paired test) to a challenger's training run."""

    def champion_version(self, symbol: str, timeframe: str) -> str | None: ...

    def set_champion(self, symbol: str, timeframe: str, version: str, local_file: Path
                     ) -> None: ...


# -- the engine's ports ------------------------------------------------------------------------
class CandleClose(NamedTuple):
    """Candle ``index`` of ``key`` (an index into the engine's candle book) closed at
    ``close_ms`` (a tuple: one is made per candle close)."""

    key: SeriesKey
    index: int  # type: ignore[assignment]  # shadows tuple.index, which nothing here uses
    close_ms: int


class CandleSink(Protocol):
    """Where market data puts closed candles for the engine to read (the candle book)."""

    def preload(self, key: SeriesKey, candles: CandleArrays) -> None: ...

    def append(self, key: SeriesKey, candle: Candle) -> int: ...


class MarketData(Protocol):
    """Closed candles of the traded series, as events in time order.

    :meth:`open` puts each series' warm-up history into the sink; :meth:`closes` then adds
    each newly closed candle to the sink and yields its event. A live feed also yields
    ``None`` as a heartbeat while it waits, so the loop can do its housekeeping (a replay
    yields heartbeats on simulated time when asked to). :meth:`close` releases what the feed
    holds (connections, threads); it is safe to call more than once.
    """

    def open(self, sink: CandleSink) -> None: ...

    def closes(self) -> Iterator[CandleClose | None]: ...

    def close(self) -> None: ...

    def prices(self) -> dict[str, tuple[int, float]]:
        """The latest price seen of each symbol and when (ms): the forming candle's close
        where a stream gives it, else the last closed candle's."""


class FeedHooks(Protocol):
    """What a live feed reports besides candles."""

    def on_error(self, key: SeriesKey, exc: TradeloopError) -> None: ...

    def on_stale(self, key: SeriesKey, stale: bool, missing: int) -> None: ...


# the market data of a run: (series, what the feed reports) -> the feed
FeedFactory = Callable[[list[SeriesKey], FeedHooks], MarketData]


class Broker(Protocol):
    """Executes orders and keeps the account: cash, positions, pending orders.

    ``close_on_stop``: whether a run that ends (not rolled back) sells what it holds — a
    simulated account does, so its result is on record; an exchange account keeps its
    positions for the next run. :meth:`reset` is Wipe Data (an exchange account refuses unless
    it is flat). ``funds_instances``: whether :meth:`transfer` can move its cash to other
    strategy instances' books of the same account (a simulated account's books, an exchange
    account's sub-ledgers)."""

    fee_rate: float
    cash: float
    positions: dict[str, Position]
    close_on_stop: bool
    funds_instances: bool

    def transfer(self, amount: float) -> float:
        """Cash out of (``amount`` > 0, at most the free cash) or into (< 0) this book;
        returns what moved (0 where ``funds_instances`` is false)."""

    def submit(self, order: OrderRequest) -> None: ...

    def has_pending(self, symbol: str) -> bool: ...

    def equity(self) -> float: ...

    def on_candle(self, symbol: str, candle: Candle, time_ms: int) -> BrokerEvents: ...

    def close_all(self, time_ms: int, reason: str) -> BrokerEvents: ...

    def sync(self, now_ms: int) -> BrokerEvents: ...

    def reset(self) -> None: ...


# start-up recovery of a broker: what earlier runs left (positions, unresolved orders)
# brought up to date at ``now``; returns the fills and closed trades found on the way
Recovery = Callable[["Broker", int], BrokerEvents]


@dataclass
class BrokerSetup:
    """A run's broker and how it recovers what earlier runs left; ``books``: another
    strategy instance's book of the same account (None: the account has one book)."""

    broker: Broker
    recover: Recovery
    books: Books | None = None


# a strategy instance's book of a run's account: (instance, its symbols, its store view) ->
# its broker (empty, or as an earlier run left it) and its recovery; funded by transfers
Books = Callable[[str, list[str], "Store"], BrokerSetup]


# a run's broker: (symbols, deployment id, run id, the run's store) -> broker and recovery
BrokerFactory = Callable[[list[str], int, str, "Store"], BrokerSetup]


class DriftReference(Protocol):
    """A feature-drift detector fitted on a model's training window."""

    window: int

    def score(self, recent: np.ndarray) -> float: ...


class NewsFeatures(Protocol):
    """Sentiment features of a symbol's candles (``ml/sentiment_features.py``) from the news
    on record scored by sentiment model ``model``: one row per close time, from the items
    available strictly before it, over ``window_ms`` with a ``half_life_ms`` decay."""

    model: str
    window_ms: int
    half_life_ms: int

    def features(self, symbol: str, close_ms: np.ndarray) -> np.ndarray: ...


class Predictor(Protocol):
    """Calibrated forecasts from the champion of each series; never raises — a series
    without a prediction has its reason in ``errors``. :meth:`preload` may precompute a whole
    series' inputs (replay); predictions must not change because of it."""

    errors: dict[tuple[str, str], str]

    def preload(self, key: SeriesKey, candles: CandleArrays) -> None: ...

    def predict(self, symbol: str, timeframe: str, candles: CandleArrays
                ) -> Prediction | None: ...

    def drift_reference(self, symbol: str, timeframe: str) -> DriftReference | None:
        """The feature-drift detector of the model that serves the series (None: none)."""

    def model_time(self, symbol: str, timeframe: str) -> int | None:
        """Where the data the serving model was fitted on ends (ms; None: no model)."""


class Store(Protocol):
    """What the engine records: the operator tables. Orders, positions and trades belong to
    the store's strategy ``instance``; :meth:`for_instance` is the view of another one
    (``mode``: its rows' mode where it differs, e.g. a paper desk in a live session)."""

    mode: str
    instance: str

    def for_instance(self, instance: str, mode: str | None = None) -> Store: ...

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

    def trade(self, trade: ClosedTrade, timeframe: str | None, version: str | None,
              book: float | None = None) -> None:
        """A closed trade; ``book``: the instance's book equity after it (its returns' base)."""

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

    def poll(self, now_ms: int) -> None: ...


class RetrainRunner(Protocol):
    """Executes retraining jobs off the engine's hot path: :meth:`submit` and
    :meth:`poll` for the learning loop (a replay runner waits in ``submit``), :meth:`run` for
    one job waited for (initial walk-forward models)."""

    def submit(self, job: RetrainJob) -> None: ...

    def poll(self) -> list[tuple[RetrainJob, RetrainResult]]: ...

    def run(self, job: RetrainJob) -> RetrainResult: ...

    def close(self, *, wait: bool = True) -> None: ...


class Strategy(Protocol):
    """Turns a candle close into a buy (open a long), a sell (close it) or nothing. The
    engine still applies the risk checks, the pending-order rule and the position sizing.

    ``history``: candles of the series the strategy needs in ``Context.candles``;
    ``needs_models``: whether it reads the ML signal (a backtest of a rule that does not
    trains no model). :meth:`preload` may precompute vectorised indicators of a whole series,
    read back by ``Context.index``; decisions must not change because of it."""

    name: str
    history: int
    needs_models: bool

    def preload(self, key: SeriesKey, candles: CandleArrays) -> None: ...

    def decide(self, ctx: Context) -> Decision | None: ...
