"""In-memory fakes of every port in ``tradeloop.ports``, for fast tests without mock.patch.

The assignments at the bottom make mypy check that each fake satisfies its Protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tradeloop.domain.candles import Candle, CandleArrays, SeriesKey
from tradeloop.domain.decisions import Context, Decision
from tradeloop.domain.errors import TradeloopError
from tradeloop.domain.gate import Transition
from tradeloop.domain.signals import CLASS_NAMES, Prediction
from tradeloop.domain.timeframes import Timeframe
from tradeloop.domain.trading import (
    BrokerEvents,
    ClosedTrade,
    Fill,
    OrderRequest,
    Position,
    Side,
)
from tradeloop.ports import (
    Broker,
    CandleClose,
    CandleReader,
    CandleSink,
    CandleSource,
    Clock,
    DriftReference,
    FeedHooks,
    Learning,
    MarketData,
    ModelRecorder,
    ModelRef,
    NewsFeatures,
    Notifier,
    Predictor,
    Store,
)


class FakeClock:
    """Time that moves only when slept through or set."""

    def __init__(self, now_ms: int = 0) -> None:
        self.now = now_ms
        self.slept: list[float] = []

    def now_ms(self) -> int:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += int(seconds * 1000)


class MemoryCandles:
    """CandleReader and CandleSource over in-memory arrays."""

    def __init__(self, series: dict[SeriesKey, CandleArrays] | None = None) -> None:
        self.series = dict(series or {})

    def load(self, key: SeriesKey, start_ms: int | None = None, end_ms: int | None = None
             ) -> CandleArrays:
        c = self.series.get(key, CandleArrays.empty())
        keep = (c.open_time >= (start_ms if start_ms is not None else -2**62)) & \
            (c.open_time < (end_ms if end_ms is not None else 2**62))
        return c.take(keep)

    def count(self, key: SeriesKey | None = None) -> int:
        return sum(len(v) for k, v in self.series.items() if key is None or k == key)

    def fetch(self, key: SeriesKey, since_ms: int, limit: int) -> CandleArrays:
        c = self.load(key, since_ms)
        return c.take(slice(0, limit))


class ListMarketData:
    """Warm-up history, then the given closed candles as events, in the order given."""

    def __init__(self, history: dict[SeriesKey, CandleArrays],
                 events: list[tuple[SeriesKey, Candle]]) -> None:
        self.history, self.events = history, events
        self.sink: CandleSink | None = None
        self.closed = False

    def open(self, sink: CandleSink) -> None:
        self.sink = sink
        for key, candles in self.history.items():
            sink.preload(key, candles)

    def closes(self) -> Iterator[CandleClose | None]:
        assert self.sink is not None, "open() first"
        for key, candle in self.events:
            index = self.sink.append(key, candle)
            yield CandleClose(key, index, candle.open_time + Timeframe.parse(key.timeframe).ms)

    def close(self) -> None:
        self.closed = True

    def prices(self) -> dict[str, tuple[int, float]]:
        return {}


class FakeBroker:
    """Market orders fill at the next candle's open of their symbol; no fees, no slippage."""

    close_on_stop = True
    funds_instances = True

    def __init__(self, cash: float = 10_000.0) -> None:
        self.fee_rate = 0.0
        self.initial_cash = cash
        self.cash = cash
        self.positions: dict[str, Position] = {}
        self.submitted: list[OrderRequest] = []
        self._pending: dict[str, list[OrderRequest]] = {}
        self._last: dict[str, float] = {}

    def submit(self, order: OrderRequest) -> None:
        self.submitted.append(order)
        self._pending.setdefault(order.symbol, []).append(order)

    def has_pending(self, symbol: str) -> bool:
        return bool(self._pending.get(symbol))

    def equity(self) -> float:
        return self.cash + sum(p.quantity * self._last.get(s, p.entry_price)
                               for s, p in self.positions.items())

    def on_candle(self, symbol: str, candle: Candle, time_ms: int) -> BrokerEvents:
        events = BrokerEvents([], [])
        for order in self._pending.pop(symbol, []):
            if order.side is Side.BUY:
                self.cash -= order.quantity * candle.open
                self.positions[symbol] = Position(symbol, order.quantity, candle.open,
                                                  candle.open_time, 0.0, order.stop_loss,
                                                  order.take_profit, order.confidence,
                                                  order.client_order_id)
                events.fills.append(Fill(order.client_order_id, symbol, Side.BUY,
                                         order.quantity, candle.open, 0.0, candle.open_time))
            elif symbol in self.positions:
                self._close(self.positions[symbol], candle.open, time_ms, order.reason, events,
                            order.client_order_id)
        self._last[symbol] = candle.close
        return events

    def _close(self, pos: Position, price: float, time_ms: int, reason: str,
               events: BrokerEvents, client_id: str) -> None:
        del self.positions[pos.symbol]
        self.cash += pos.quantity * price
        pnl = pos.quantity * (price - pos.entry_price)
        events.fills.append(Fill(client_id, pos.symbol, Side.SELL, pos.quantity, price, 0.0,
                                 time_ms))
        events.closed.append((ClosedTrade(pos.symbol, pos.quantity, pos.entry_price, price,
                                          pos.entry_time_ms, time_ms, 0.0, pnl,
                                          pnl / (pos.quantity * pos.entry_price), reason,
                                          pos.confidence), 0.0))

    def sync(self, now_ms: int) -> BrokerEvents:
        return BrokerEvents([], [])

    def transfer(self, amount: float) -> float:
        moved = min(amount, max(self.cash, 0.0)) if amount > 0 else amount
        self.cash -= moved
        return moved

    def reset(self) -> None:
        self.cash = self.initial_cash
        self.positions.clear()
        self._pending.clear()

    def close_all(self, time_ms: int, reason: str) -> BrokerEvents:
        events = BrokerEvents([], [])
        for pos in list(self.positions.values()):
            self._close(pos, self._last.get(pos.symbol, pos.entry_price), time_ms, reason, events,
                        f"{pos.client_order_id}-x")
        self._pending.clear()
        return events


Script = Callable[[str, str, int], tuple[float, float, float] | None]


class ScriptedPredictor:
    """Returns the probabilities ``script(symbol, timeframe, candle_time)`` gives (None:
    no prediction, with a recorded reason)."""

    def __init__(self, script: Script, version: str = "1",
                 drift: DriftReference | None = None) -> None:
        self.script, self.version, self.drift = script, version, drift
        self.errors: dict[tuple[str, str], str] = {}
        self.preloaded: list[SeriesKey] = []
        self.trained: dict[tuple[str, str], int] = {}

    def drift_reference(self, symbol: str, timeframe: str) -> DriftReference | None:
        return self.drift

    def model_time(self, symbol: str, timeframe: str) -> int | None:
        """Where each series' model's data ends (``trained``; None: unknown)."""
        return self.trained.get((symbol, timeframe))

    def preload(self, key: SeriesKey, candles: CandleArrays) -> None:
        self.preloaded.append(key)

    def predict(self, symbol: str, timeframe: str, candles: CandleArrays
                ) -> Prediction | None:
        t = int(candles.open_time[-1])
        probs = self.script(symbol, timeframe, t)
        if probs is None:
            self.errors[(symbol, timeframe)] = "scripted: no prediction"
            return None
        self.errors.pop((symbol, timeframe), None)
        best = max(range(3), key=probs.__getitem__)
        return Prediction(symbol, timeframe, t, CLASS_NAMES[best], probs, probs[best],
                          self.version)


@dataclass
class MemoryStore:
    """Every row the engine records, kept in lists."""

    mode: str = "replay"
    instance: str = "main"
    views: dict[str, MemoryStore] = field(default_factory=dict)
    predictions: list[dict[str, Any]] = field(default_factory=list)
    confidences: list[dict[str, Any]] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    orders: list[tuple[OrderRequest, str]] = field(default_factory=list)
    refusals: list[tuple[str, str]] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    trades: list[ClosedTrade] = field(default_factory=list)
    retrains: list[dict[str, object]] = field(default_factory=list)
    drifts: list[tuple[str, str, float, bool]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    flushes: int = 0

    def for_instance(self, instance: str, mode: str | None = None) -> MemoryStore:
        """Another instance's rows, kept in their own lists (``views``)."""
        return self.views.setdefault(instance, MemoryStore(mode or self.mode, instance))

    def prediction(self, now_ms: int, symbol: str, timeframe: str, candle_time: int,
                   direction: str, probs: tuple[float, float, float], confidence: float,
                   version: str, mode: str) -> None:
        self.predictions.append({"symbol": symbol, "timeframe": timeframe,
                                 "direction": direction, "confidence": confidence,
                                 "mode": mode})

    def confidence(self, now_ms: int, symbol: str, score: float, direction: str, mode: str,
                   threshold: float) -> None:
        self.confidences.append({"symbol": symbol, "score": score, "direction": direction,
                                 "mode": mode, "time": now_ms})

    def transition(self, t: Transition) -> None:
        self.transitions.append(t)

    def order(self, order: OrderRequest, status: str, now_ms: int, reason: str | None = None
              ) -> None:
        self.orders.append((order, status))

    def refusal(self, symbol: str, side: str, reason: str, now_ms: int, seq: int) -> None:
        self.refusals.append((symbol, reason))

    def fill(self, fill: Fill, stop: float | None, take: float | None) -> None:
        self.fills.append(fill)

    def trade(self, trade: ClosedTrade, timeframe: str | None, version: str | None,
              book: float | None = None) -> None:
        self.trades.append(trade)

    def retraining(self, row: dict[str, object]) -> None:
        self.retrains.append(row)

    def drift(self, now_ms: int, symbol: str, timeframe: str, feature_drift: float,
              threshold: float, error_drift: float, triggered: bool) -> None:
        self.drifts.append((symbol, timeframe, feature_drift, triggered))

    def error(self, now_ms: int, error_type: str, message: str, symbol: str | None = None,
              timeframe: str | None = None, component: str | None = None) -> None:
        self.errors.append((error_type, message))

    def flush(self) -> None:
        self.flushes += 1


class MemoryRegistry:
    """Champions and training runs in a dict."""

    def __init__(self) -> None:
        self.refs: dict[tuple[str, str], ModelRef] = {}
        self.runs: list[dict[str, Any]] = []
        self.promotions: list[tuple[str, dict[str, float]]] = []

    def log_promotion(self, run_id: str, metrics: dict[str, float]) -> None:
        self.promotions.append((run_id, metrics))

    def champion(self, symbol: str, timeframe: str) -> ModelRef | None:
        return self.refs.get((symbol, timeframe))

    def champion_version(self, symbol: str, timeframe: str) -> str | None:
        ref = self.refs.get((symbol, timeframe))
        return None if ref is None else ref.version

    def log_training(self, symbol: str, timeframe: str, *, model_path: Path,
                     params: dict[str, Any], history: list[dict[str, float]],
                     metrics: dict[str, float], tags: dict[str, str],
                     artifacts: dict[str, str]) -> tuple[str, str]:
        self.runs.append({"series": (symbol, timeframe), "params": params, "metrics": metrics})
        version = sum(1 for r in self.runs if r["series"] == (symbol, timeframe))
        return f"run-{len(self.runs)}", str(version)

    def set_champion(self, symbol: str, timeframe: str, version: str, local_file: Path
                     ) -> None:
        self.refs[(symbol, timeframe)] = ModelRef(symbol, timeframe, version, local_file)


@dataclass
class MemoryNotifier:
    alerts: list[tuple[str, str, str, str | None]] = field(default_factory=list)

    def notify(self, level: str, title: str, message: str, symbol: str | None = None) -> None:
        self.alerts.append((level, title, message, symbol))


@dataclass
class RecordingLearning:
    """The Learning port: records what the engine tells it."""

    closed: list[ClosedTrade] = field(default_factory=list)
    predictions: int = 0
    ticks: int = 0
    polls: int = 0

    def on_trade_closed(self, symbol: str, trade: ClosedTrade, now_ms: int) -> None:
        self.closed.append(trade)

    def on_prediction(self, key: SeriesKey, index: int, prediction: Prediction) -> None:
        self.predictions += 1

    def on_tick(self, now_ms: int) -> None:
        self.ticks += 1

    def poll(self, now_ms: int) -> None:
        self.polls += 1


@dataclass
class RecordingFeedHooks:
    """The FeedHooks port: records what a live feed reports."""

    errors: list[tuple[SeriesKey, str]] = field(default_factory=list)
    stale: list[tuple[SeriesKey, bool, int]] = field(default_factory=list)

    def on_error(self, key: SeriesKey, exc: TradeloopError) -> None:
        self.errors.append((key, str(exc)))

    def on_stale(self, key: SeriesKey, stale: bool, missing: int) -> None:
        self.stale.append((key, stale, missing))


# Static conformance: mypy checks each fake against its port.
_clock: Clock = FakeClock()
_reader: CandleReader = MemoryCandles()
_source: CandleSource = MemoryCandles()
_market: MarketData = ListMarketData({}, [])
_broker: Broker = FakeBroker()
_predictor: Predictor = ScriptedPredictor(lambda s, t, c: None)
_store: Store = MemoryStore()
_registry: ModelRecorder = MemoryRegistry()
_notifier: Notifier = MemoryNotifier()
_learning: Learning = RecordingLearning()
_hooks: FeedHooks = RecordingFeedHooks()


class MemoryNews:
    """Scored headlines per symbol in memory (the NewsFeatures port)."""

    def __init__(self, model: str, window_ms: int = 24 * 3_600_000,
                 half_life_ms: int = 6 * 3_600_000) -> None:
        self.model, self.window_ms, self.half_life_ms = model, window_ms, half_life_ms
        self.items: dict[str, list[tuple[int, float]]] = {}

    def add(self, symbol: str, published_ms: int, score: float) -> None:
        self.items.setdefault(symbol, []).append((published_ms, score))
        self.items[symbol].sort()

    def features(self, symbol: str, close_ms: np.ndarray) -> np.ndarray:
        from tradeloop.ml.sentiment_features import sentiment_features

        rows = self.items.get(symbol, [])
        return sentiment_features(close_ms, np.array([t for t, _ in rows], dtype=np.int64),
                                  np.array([v for _, v in rows]), window_ms=self.window_ms,
                                  half_life_ms=self.half_life_ms)


_news: NewsFeatures = MemoryNews("fake")


class ScriptedStrategy:
    """A rule strategy that buys on the closes of its timeframe at the given candle open
    times and sells at others (the Strategy port)."""

    history = 1
    needs_models = False

    def __init__(self, buys: set[int], sells: set[int] | None = None, name: str = "scripted"
                 ) -> None:
        self.buys, self.sells, self.name = buys, sells or set(), name
        self.preloaded: list[SeriesKey] = []

    def preload(self, key: SeriesKey, candles: CandleArrays) -> None:
        self.preloaded.append(key)

    def decide(self, ctx: Context) -> Decision | None:
        if not ctx.finest or ctx.held:
            return None
        if not ctx.holding and ctx.open_time in self.buys:
            return Decision("buy", "scripted entry")
        if ctx.holding and ctx.open_time in self.sells:
            return Decision("sell", "scripted exit")
        return None
