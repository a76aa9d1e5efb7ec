"""The one event loop: the same code for replay, paper and live.

Per closed candle of (symbol, timeframe): the book moves on the symbol's finest timeframe
(fills, stops, closed trades, equity, drawdown halt); the champion predicts; the aggregator
combines the timeframes; the gate decides the mode; the active strategy (the ML strategy by
default: in TRADING an up signal is an entry, a down signal closes the long) asks for a buy or
a sell, which the risk manager checks (spot, long-only). Everything is recorded.
Nothing here reads the wall clock or the network: time comes with the events.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from tradeloop.domain.candles import Candle, CandleArrays, SeriesKey
from tradeloop.domain.decisions import Context, Decision
from tradeloop.domain.errors import TradeloopError
from tradeloop.domain.gate import Gate, Mode, Transition
from tradeloop.domain.risk import RiskLimits, RiskManager
from tradeloop.domain.signals import Aggregator, TimeframeSignal
from tradeloop.domain.timeframes import Timeframe
from tradeloop.domain.trading import (
    BrokerEvents,
    ClosedTrade,
    OrderRequest,
    Side,
    client_order_id,
)
from tradeloop.engine.candle_book import CandleBook
from tradeloop.ports import Broker, Learning, Notifier, Predictor, Store, Strategy
from tradeloop.strategies.ml import MlStrategy

log = logging.getLogger("tradeloop.engine")


@dataclass
class EngineConfig:
    symbols: list[str]
    timeframes: list[str]
    weights: dict[str, float]
    exchange: str
    threshold: float
    hysteresis: float
    window: int  # candles handed to the predictor
    run_id: str = "run"
    equity_sample_ms: int = 3_600_000
    # closed trades and equity samples kept in memory: None keeps all (a backtest, whose
    # report needs them); a session keeps the newest (the store has the whole history)
    history_limit: int | None = None


DECISION_SAMPLES = 10_000  # decision latencies kept for the percentiles


@dataclass
class EngineStats:
    events: int = 0
    predictions: int = 0
    decisions: int = 0
    orders: int = 0
    refusals: int = 0
    errors: int = 0
    trades: int = 0
    decision_ms: deque[float] = field(default_factory=lambda: deque(maxlen=DECISION_SAMPLES))


class Engine:
    """Turns candle closes into predictions, mode changes and risk-checked orders.

    It is the sink its market data fills (:meth:`preload`, :meth:`append`): the candle book,
    the predictor's and the strategy's precomputed inputs. Without a predictor (a rule
    strategy's backtest) nothing is predicted."""

    def __init__(self, cfg: EngineConfig, book: CandleBook, predictor: Predictor | None,
                 broker: Broker, risk: RiskManager, gate: Gate, aggregator: Aggregator,
                 store: Store, learning: Learning | None = None,
                 notifier: Notifier | None = None, strategy: Strategy | None = None) -> None:
        self.cfg, self.book, self.predictor, self.broker = cfg, book, predictor, broker
        self.risk, self.gate, self.aggregator, self.store = risk, gate, aggregator, store
        self.learning = learning
        self.notifier = notifier
        self.strategy: Strategy = strategy or MlStrategy()
        self.stats = EngineStats()
        self.trades: deque[tuple[ClosedTrade, float]] = deque(maxlen=cfg.history_limit)
        self.equity_curve: deque[tuple[int, float]] = deque(maxlen=cfg.history_limit)
        self._seq = 0
        self._last_refusal: dict[str, str] = {}
        self._finest = {s: min(Timeframe.parse(t) for t in cfg.timeframes).name
                        for s in cfg.symbols}
        self._tf_ms = {t: Timeframe.parse(t).ms for t in cfg.timeframes}
        self._version: dict[str, str] = {}
        self._failing: set[str] = set()

    # -- the sink its market data fills ------------------------------------------------------
    def preload(self, key: SeriesKey, candles: CandleArrays) -> None:
        """Warm-up history (live) or the whole replayed window of a series."""
        self.book.preload(key, candles)
        if self.predictor is not None:
            self.predictor.preload(key, candles)
        self.strategy.preload(key, candles)

    def append(self, key: SeriesKey, candle: Candle) -> int:
        return self.book.append(key, candle)

    def set_strategy(self, strategy: Strategy, limits: RiskLimits | None = None) -> None:
        """Switch the active strategy (it precomputes its indicators on the book) and, where
        given, the entry limits it trades under; the risk state (peak, losses) is kept."""
        for key in self.book.series():
            strategy.preload(key, self.book.all(key))
        self.strategy = strategy
        if limits is not None:
            self.risk.limits = limits

    # -- the loop -------------------------------------------------------------------------
    def on_close(self, key: SeriesKey, index: int, now_ms: int) -> None:
        """Candle ``index`` of ``key`` has closed at ``now_ms``.

        An unexpected error while handling one symbol is recorded in ``error_log`` and holds
        that symbol in LEARNING until one of its candles is handled cleanly again; the loop
        and the other symbols go on."""
        symbol = key.symbol
        try:
            self._on_close(key, index, now_ms)
        except Exception as exc:
            self.stats.errors += 1
            log.exception("[%s @ %s] error while handling a candle close", symbol,
                          key.timeframe)
            self.store.error(now_ms, type(exc).__name__, str(exc)[:2000], symbol,
                             key.timeframe, "engine")
            self._failing.add(symbol)
            t = self.gate.hold(symbol, "error", now_ms)
            if t is not None:
                self.record_transition(t)
            return
        if symbol in self._failing:
            self._failing.discard(symbol)
            self.gate.release(symbol, "error")

    def _on_close(self, key: SeriesKey, index: int, now_ms: int) -> None:
        started = time.perf_counter()
        self.stats.events += 1
        symbol, tf = key.symbol, key.timeframe
        candle = self.book.candle(key, index)
        log.info("[%s @ %s] Candle closed: O=%.2f C=%.2f", symbol, tf, candle.open, candle.close)
        finest = tf == self._finest[symbol]
        if finest:
            self._advance_book(symbol, candle, now_ms)
        prediction = None
        if self.predictor is not None:
            window = self.book.window(key, index, self.cfg.window)
            prediction = self.predictor.predict(symbol, tf, window)
            if prediction is None:
                err = self.predictor.errors.get((symbol, tf))
                if err and self.stats.events % 10_000 == 1:
                    log.debug("[%s @ %s] no prediction: %s", symbol, tf, err)
        if prediction is not None:
            self.stats.predictions += 1
            self._version[symbol] = prediction.model_version
            self.aggregator.update(symbol, TimeframeSignal(
                tf, self._tf_ms[tf], prediction.candle_time, prediction.probabilities,
                prediction.model_version))
            self.store.prediction(now_ms, symbol, tf, prediction.candle_time,
                                  prediction.direction, prediction.probabilities,
                                  prediction.confidence, prediction.model_version,
                                  str(self.gate.mode(symbol)))
            if self.learning is not None:
                self.learning.on_prediction(key, index, prediction)
        agg = self.aggregator.aggregate(symbol, now_ms) if self.predictor is not None else None
        p_up: float | None = None
        p_down: float | None = None
        if agg is not None:
            p_down, _, p_up = agg.probabilities
            # the gate watches the traded direction: this account buys spot, so "up"
            transition = self.gate.observe(symbol, p_up, now_ms)
            if transition is not None:
                self.record_transition(transition)
            direction = "up" if p_up > p_down else "down" if p_down > p_up else "flat"
            self.store.confidence(now_ms, symbol, p_up, direction,
                                  str(self.gate.mode(symbol)), self.cfg.threshold)
        if agg is not None or finest:
            book, history = self.book, self.strategy.history
            position = self.broker.positions.get(symbol)
            decision = self.strategy.decide(Context(
                symbol, tf, finest, self.gate.mode(symbol),
                self.gate.held(symbol, models=self.strategy.needs_models),
                position is not None, p_up, p_down, self.cfg.threshold,
                self.cfg.threshold - self.cfg.hysteresis,
                lambda: book.window(key, index, history), index, candle.open_time,
                None if position is None else position.entry_time_ms,
                None if position is None else position.entry_price))
            if decision is not None:
                if agg is not None and decision.action == "buy":
                    log.info("[%s] %d timeframe predictions aggregated", symbol,
                             agg.timeframes)
                self._act(symbol, decision, p_up if decision.action == "buy" else p_down,
                          candle.close, now_ms)
        if agg is not None:
            self.stats.decisions += 1
            self.stats.decision_ms.append((time.perf_counter() - started) * 1000)
        if self.learning is not None:
            self.learning.on_tick(now_ms)

    def _advance_book(self, symbol: str, candle: Candle, now_ms: int) -> None:
        events = self.broker.on_candle(symbol, candle, now_ms)
        if events.fills or events.closed:
            self._handle(events, now_ms)
        equity = self.broker.equity()
        halt = self.risk.on_equity(now_ms, equity)
        if halt is not None:
            log.warning("🔴 CRITICAL: %s", halt)
            self.store.error(now_ms, "MaxDrawdown", halt, symbol, None, "risk")
            if self.notifier is not None:
                self.notifier.notify("critical", "Max drawdown halt", halt)
            for s in self.cfg.symbols:
                t = self.gate.hold(s, "max drawdown halt", now_ms)
                if t is not None:
                    self.record_transition(t)
        if now_ms % self.cfg.equity_sample_ms == 0 and symbol == self.cfg.symbols[0]:
            self.equity_curve.append((now_ms, equity))

    def _handle(self, events: BrokerEvents, now_ms: int) -> None:
        for fill in events.fills:
            pos = self.broker.positions.get(fill.symbol)
            self.store.fill(fill, pos.stop_loss if pos else None, pos.take_profit if pos else None)
            if fill.side is Side.BUY:
                log.info("✓ %s trade executed: BUY %s @ $%.2f (qty %.6f)",
                         self.store.mode.capitalize(), fill.symbol, fill.price, fill.quantity)
        for trade, risk_amount in events.closed:
            self.trades.append((trade, risk_amount))
            self.stats.trades += 1
            self.risk.on_trade_closed(trade.won, now_ms)
            self.store.trade(trade, None, self._version.get(trade.symbol))
            mark = "✓ WIN" if trade.won else "✗ LOSS"
            log.info("[%s] Trade closed: %s (%+.2f%%, $%.2f, %s)", trade.symbol, mark,
                     100 * trade.pnl_percent, trade.pnl, trade.exit_reason)
            if self.learning is not None:
                self.learning.on_trade_closed(trade.symbol, trade, now_ms)

    def _act(self, symbol: str, decision: Decision, confidence: float | None, price: float,
             now_ms: int) -> None:
        holding = symbol in self.broker.positions
        if self.broker.has_pending(symbol):
            return
        reason = f"signal ({decision.reason})"
        if decision.action == "buy" and not holding:
            entry = self.risk.check_entry(symbol, price, now_ms, self.broker.equity(),
                                          self.broker.cash, set(self.broker.positions),
                                          self.broker.fee_rate)
            if not entry.approved:
                self.stats.refusals += 1
                if self._last_refusal.get(symbol) != entry.reason:
                    self._last_refusal[symbol] = entry.reason
                    self._seq += 1
                    self.store.refusal(symbol, "buy", entry.reason, now_ms, self._seq)
                    log.info("[%s] order refused: %s", symbol, entry.reason)
                return
            self._last_refusal.pop(symbol, None)
            self._submit(OrderRequest(self._client_id(symbol, now_ms), symbol, Side.BUY,
                                      entry.quantity, now_ms, "signal", entry.stop_loss,
                                      entry.take_profit, confidence or 0.0), now_ms, reason)
            if confidence is not None and self.gate.mode(symbol) is Mode.TRADING:
                log.info("[%s] TRADING MODE: BUY @ %.2f%% (%s)", symbol, 100 * confidence,
                         self.store.mode)
            else:
                log.info("[%s] BUY @ %.2f: %s (%s)", symbol, price, decision.reason,
                         self.store.mode)
        elif decision.action == "sell" and holding:
            pos = self.broker.positions[symbol]
            self._submit(OrderRequest(self._client_id(symbol, now_ms), symbol, Side.SELL,
                                      pos.quantity, now_ms, "signal", confidence=confidence or 0.0),
                         now_ms, reason)
            log.info("[%s] SELL signal: closing the long (%s)", symbol, decision.reason)

    def _submit(self, order: OrderRequest, now_ms: int, reason: str) -> None:
        self.store.order(order, "submitted", now_ms, reason)
        self.broker.submit(order)
        self.stats.orders += 1

    def _client_id(self, symbol: str, now_ms: int) -> str:
        """``tl-<run>-<time>-<n>``: unique across runs, at most 36 characters (Binance's
        limit), and recognisable as ours when found on the exchange."""
        self._seq += 1
        return client_order_id(self.cfg.run_id, now_ms, self._seq)

    def heartbeat(self, now_ms: int) -> None:
        """Between candles: record finished retrains, let the broker resolve outstanding
        orders and report fills (a broker error is recorded, never raised)."""
        if self.learning is not None:
            self.learning.poll(now_ms)
        try:
            self.apply(self.broker.sync(now_ms), now_ms)
        except TradeloopError as exc:
            log.warning("broker: %s", exc)
            self.store.error(now_ms, type(exc).__name__, str(exc), None, None, "broker")

    def apply(self, events: BrokerEvents, now_ms: int) -> None:
        """Record fills and closed trades that the broker reports outside a candle."""
        if events.fills or events.closed:
            self._handle(events, now_ms)

    def reset(self, now_ms: int, drop_holds: frozenset[str]) -> None:
        """Wipe Data: forget trades, equity, signals, refusals and risk state; every symbol
        starts again in LEARNING (the broker is reset by its owner)."""
        self.trades.clear()
        self.equity_curve.clear()
        self._last_refusal.clear()
        self._failing.clear()
        self.aggregator.clear()
        self.gate.reset(now_ms, drop_holds)
        self.risk.reset(self.broker.equity())

    def record_transition(self, t: Transition) -> None:
        self.store.transition(t)
        conf = f" (confidence: {t.confidence:.2%})" if t.confidence is not None else ""
        log.info("✓ [%s] Transitioned to %s mode%s: %s", t.symbol, t.mode, conf, t.reason)

    def finish(self, now_ms: int, reason: str = "end_of_run", close: bool = True) -> None:
        """End of a run: close what is open (unless ``close`` is false: an exchange account
        keeps its positions for the next run) and flush the buffers."""
        if close:
            self._handle(self.broker.close_all(now_ms, reason), now_ms)
        self.equity_curve.append((now_ms, self.broker.equity()))
        self.store.flush()

    def decision_percentiles(self) -> tuple[float, float]:
        if not self.stats.decision_ms:
            return float("nan"), float("nan")
        d = np.asarray(self.stats.decision_ms)
        return float(np.percentile(d, 50)), float(np.percentile(d, 99))
