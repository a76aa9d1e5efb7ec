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
from tradeloop.domain.errors import EngineError, TradeloopError
from tradeloop.domain.gate import Gate, Mode, Transition
from tradeloop.domain.risk import AccountLimits, AccountRisk, RiskLimits, RiskManager
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
from tradeloop.engine.desks import MAIN, Desk
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
    the predictor's and the strategies' precomputed inputs. Without a predictor (a rule
    strategy's backtest) nothing is predicted.

    It trades one or more strategy instances (:class:`Desk`): the main desk (``broker``,
    ``risk``, ``strategy``) and those added with :meth:`add_desk`. Each desk's entries pass
    its own risk limits and then the account's (``account``: drawdown halt, daily loss,
    exposure per symbol across desks)."""

    def __init__(self, cfg: EngineConfig, book: CandleBook, predictor: Predictor | None,
                 broker: Broker, risk: RiskManager, gate: Gate, aggregator: Aggregator,
                 store: Store, learning: Learning | None = None,
                 notifier: Notifier | None = None, strategy: Strategy | None = None,
                 account: AccountRisk | None = None) -> None:
        self.cfg, self.book, self.predictor = cfg, book, predictor
        self.gate, self.aggregator, self.store = gate, aggregator, store
        self.learning = learning
        self.notifier = notifier
        self.main = Desk(MAIN, strategy or MlStrategy(), broker, risk, store)
        self.desks: list[Desk] = [self.main]
        self._others: list[Desk] = []  # the desks but the main one
        self._solo = True  # the main desk is the only one holding the account's capital
        # why trading is halted (the main desk's or the account's drawdown), or None; the
        # runner stops on it
        self.halted_reason: str | None = None
        # symbols no desk may enter (the stored blacklist, refreshed by the session) -> why
        self.blacklist: dict[str, str] = {}
        self.account = account or AccountRisk(
            AccountLimits(risk.limits.max_drawdown, risk.limits.daily_loss_limit, 1.0),
            broker.equity())
        self.stats = EngineStats()
        self.trades: deque[tuple[ClosedTrade, float]] = deque(maxlen=cfg.history_limit)
        self.equity_curve: deque[tuple[int, float]] = deque(maxlen=cfg.history_limit)
        self._seq = 0
        self._finest = {s: min(Timeframe.parse(t) for t in cfg.timeframes).name
                        for s in cfg.symbols}
        self._tf_ms = {t: Timeframe.parse(t).ms for t in cfg.timeframes}
        self._version: dict[str, str] = {}
        self._failing: set[str] = set()

    # the main desk's parts
    @property
    def broker(self) -> Broker:
        return self.main.broker

    @property
    def risk(self) -> RiskManager:
        return self.main.risk

    @property
    def strategy(self) -> Strategy:
        return self.main.strategy

    def account_equity(self) -> float:
        return sum(d.broker.equity() for d in self.desks if d.account)

    # -- the desks --------------------------------------------------------------------------
    def add_desk(self, desk: Desk) -> None:
        """Start trading another strategy instance (its indicators are precomputed on the
        book's series it trades)."""
        if any(d.instance == desk.instance for d in self.desks):
            raise EngineError(f"strategy instance {desk.instance} is already trading")
        for key in self.book.series():
            if desk.trades(key.symbol):
                desk.strategy.preload(key, self.book.all(key))
        before = self.account_equity()
        self.desks.append(desk)
        self._others.append(desk)
        if self._solo and desk.account:  # the account's own tracking starts now, from the
            self._solo = False            # main desk's history (it held the account alone)
            self.account.take_over(self.main.risk, desk.broker.equity())
        elif desk.account and desk.broker.equity() > 0:  # a book taken up with its money:
            self.account.rebase(before, desk.broker.equity())  # not a gain of the account

    def desk(self, instance: str) -> Desk | None:
        return next((d for d in self.desks if d.instance == instance), None)

    def move_cash(self, source: Desk, target: Desk, amount: float) -> float:
        """Fund ``target``'s book from ``source``'s (at most ``amount``, at most what
        ``source`` has free); their risk managers see a transfer, not a loss or a gain.
        Returns what moved (0 when ``source``'s broker cannot fund other instances)."""
        if amount <= 0 or not source.broker.funds_instances:
            return 0.0
        before = source.broker.equity(), target.broker.equity()
        moved = source.broker.transfer(amount)
        if moved > 0:
            target.broker.transfer(-moved)
            source.risk.rebase(before[0], -moved)
            target.risk.rebase(before[1], moved)
        return moved

    def remove_desk(self, instance: str, now_ms: int, reason: str) -> Desk | None:
        """Stop an instance: what it holds is sold (its trades recorded); a desk holding the
        account's capital gives its cash back to the main desk. A desk whose exit is not
        resolved yet (an exchange order) stays, ``closing`` (no new entries, its orders
        followed up), until a later call finds it flat; returns the removed desk or None."""
        desk = self.desk(instance)
        if desk is None or desk is self.main:
            raise EngineError(f"no strategy instance {instance} to stop")
        desk.closing = True
        self._handle(desk, desk.broker.close_all(now_ms, reason), now_ms)
        symbols = desk.symbols if desk.symbols is not None else self.cfg.symbols
        left = [s for s in symbols if s in desk.broker.positions or desk.broker.has_pending(s)]
        if left:
            log.warning("strategy %s: %s not flat yet (its exit is unresolved): it stays, "
                        "closing, until it is", instance, ", ".join(sorted(left)))
            return None
        if desk.account:
            self.move_cash(desk, self.main, desk.broker.cash)
        self.desks.remove(desk)
        self._others.remove(desk)
        self._solo = not any(d.account for d in self.desks if d is not self.main)
        return desk

    # -- the sink its market data fills ------------------------------------------------------
    def preload(self, key: SeriesKey, candles: CandleArrays) -> None:
        """Warm-up history (live) or the whole replayed window of a series."""
        self.book.preload(key, candles)
        if self.predictor is not None:
            self.predictor.preload(key, candles)
        for desk in self.desks:
            if desk.trades(key.symbol):
                desk.strategy.preload(key, candles)

    def append(self, key: SeriesKey, candle: Candle) -> int:
        return self.book.append(key, candle)

    def set_strategy(self, strategy: Strategy, limits: RiskLimits | None = None) -> None:
        """Switch the active strategy (it precomputes its indicators on the book) and, where
        given, the entry limits it trades under; the risk state (peak, losses) is kept."""
        for key in self.book.series():
            strategy.preload(key, self.book.all(key))
        self.main.strategy = strategy
        if limits is not None:
            self.main.risk.limits = limits

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
        finest_tf = self._finest[symbol]
        finest = tf == finest_tf
        # the main desk trades every symbol on its finest timeframe; the others their own
        main_equity = self._advance_desk(self.main, symbol, candle, now_ms) if finest else None
        for desk in self._others:
            if (desk.timeframe or finest_tf) == tf and (desk.symbols is None
                                                         or symbol in desk.symbols):
                try:
                    self._advance_desk(desk, symbol, candle, now_ms)
                except Exception as exc:  # another instance's failure is its own
                    self._desk_failed(desk, exc, key, now_ms)
        if finest:
            self._watch_account(symbol, now_ms, main_equity)
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
        if agg is not None or finest:  # the main desk also hears the ML signal's closes
            main = self.main
            book, history = self.book, main.strategy.history
            position = main.broker.positions.get(symbol)
            decision = main.strategy.decide(Context(
                symbol, tf, finest, self.gate.mode(symbol),
                self.gate.held(symbol, models=main.strategy.needs_models),
                position is not None, p_up, p_down, self.cfg.threshold,
                self.cfg.threshold - self.cfg.hysteresis,
                lambda: book.window(key, index, history), index, candle.open_time,
                None if position is None else position.entry_time_ms,
                None if position is None else position.entry_price))
            if decision is not None:
                if agg is not None and decision.action == "buy":
                    log.info("[%s] %d timeframe predictions aggregated", symbol,
                             agg.timeframes)
                self._act(main, symbol, decision,
                          p_up if decision.action == "buy" else p_down, candle.close, now_ms)
        for desk in self._others:  # on their own timeframe's closes only (their orders fill
            if (desk.timeframe or finest_tf) == tf and (  # at their next candle's open)
                    desk.symbols is None or symbol in desk.symbols):
                try:
                    self._decide(desk, key, index, candle, p_up, p_down, now_ms)
                except Exception as exc:
                    self._desk_failed(desk, exc, key, now_ms)
        if agg is not None:
            self.stats.decisions += 1
            self.stats.decision_ms.append((time.perf_counter() - started) * 1000)
        if self.learning is not None:
            self.learning.on_tick(now_ms)

    def _decide(self, desk: Desk, key: SeriesKey, index: int, candle: Candle,
                p_up: float | None, p_down: float | None, now_ms: int) -> None:
        """Another instance's decision on a close of its own timeframe."""
        if desk.closing:
            return
        symbol, strategy = key.symbol, desk.strategy
        position = desk.broker.positions.get(symbol)
        book = self.book
        decision = strategy.decide(Context(
            symbol, key.timeframe, True, self.gate.mode(symbol),
            self.gate.held(symbol, models=strategy.needs_models), position is not None,
            p_up, p_down, self.cfg.threshold, self.cfg.threshold - self.cfg.hysteresis,
            lambda: book.window(key, index, strategy.history), index, candle.open_time,
            None if position is None else position.entry_time_ms,
            None if position is None else position.entry_price))
        if decision is not None:
            self._act(desk, symbol, decision, p_up if decision.action == "buy" else p_down,
                      candle.close, now_ms)

    def _desk_failed(self, desk: Desk, exc: Exception, key: SeriesKey, now_ms: int) -> None:
        """An instance's error: recorded against it; the session and the other instances go
        on (the main desk's errors hold the symbol, as before)."""
        self.stats.errors += 1
        log.exception("[%s @ %s] error in instance %s", key.symbol, key.timeframe,
                      desk.instance)
        desk.store.error(now_ms, type(exc).__name__, f"{desk.instance}: {exc}"[:2000],
                         key.symbol, key.timeframe, "instance")

    def _advance_desk(self, desk: Desk, symbol: str, candle: Candle, now_ms: int) -> float:
        """Fills, stops and closed trades of one desk's book on a candle of its timeframe;
        its own drawdown halt (the main desk's holds every symbol and stops the run).
        Returns the desk's equity."""
        events = desk.broker.on_candle(symbol, candle, now_ms)
        if events.fills or events.closed:
            self._handle(desk, events, now_ms)
        equity = desk.broker.equity()
        halt = desk.risk.on_equity(now_ms, equity)
        if halt is None:
            return equity
        if desk is self.main:
            self._halt(halt, symbol, now_ms)
        else:
            log.warning("[%s] instance halted: %s", desk.instance, halt)
            desk.store.error(now_ms, "MaxDrawdown", f"{desk.instance}: {halt}", symbol, None,
                             "risk")
        return equity

    def _watch_account(self, symbol: str, now_ms: int, main_equity: float | None) -> None:
        """The account's halts over its desks. While the main desk alone holds the account,
        its own limits are the account's (the same halt, on the same equity) and nothing
        more is tracked: a replay pays nothing for the account."""
        if self._solo and main_equity is not None:
            equity = main_equity
        else:
            equity = self.account_equity()
            halt = self.account.on_equity(now_ms, equity)
            if halt is not None and self.main.risk.halted_reason is None:
                self._halt(halt, symbol, now_ms)
        if now_ms % self.cfg.equity_sample_ms == 0 and symbol == self.cfg.symbols[0]:
            self.equity_curve.append((now_ms, equity))

    def _halt(self, halt: str, symbol: str, now_ms: int) -> None:
        self.halted_reason = halt
        log.warning("🔴 CRITICAL: %s", halt)
        self.store.error(now_ms, "MaxDrawdown", halt, symbol, None, "risk")
        if self.notifier is not None:
            self.notifier.notify("critical", "Max drawdown halt", halt)
        for s in self.cfg.symbols:
            t = self.gate.hold(s, "max drawdown halt", now_ms)
            if t is not None:
                self.record_transition(t)

    def _handle(self, desk: Desk, events: BrokerEvents, now_ms: int) -> None:
        broker, store = desk.broker, desk.store
        for fill in events.fills:
            pos = broker.positions.get(fill.symbol)
            store.fill(fill, pos.stop_loss if pos else None, pos.take_profit if pos else None)
            if fill.side is Side.BUY:
                log.info("✓ %s trade executed: BUY %s @ $%.2f (qty %.6f)%s",
                         store.mode.capitalize(), fill.symbol, fill.price, fill.quantity,
                         self._tag(desk))
        for trade, risk_amount in events.closed:
            self.stats.trades += 1
            desk.risk.on_trade_closed(trade.won, now_ms)
            mark = "✓ WIN" if trade.won else "✗ LOSS"
            log.info("[%s] Trade closed: %s (%+.2f%%, $%.2f, %s)%s", trade.symbol, mark,
                     100 * trade.pnl_percent, trade.pnl, trade.exit_reason, self._tag(desk))
            if desk is not self.main:
                store.trade(trade, desk.timeframe, None, broker.equity())
                continue
            self.trades.append((trade, risk_amount))
            store.trade(trade, None, self._version.get(trade.symbol))
            if self.learning is not None:
                self.learning.on_trade_closed(trade.symbol, trade, now_ms)

    @staticmethod
    def _tag(desk: Desk) -> str:
        return "" if desk.instance == MAIN else f" [{desk.instance}]"

    def _act(self, desk: Desk, symbol: str, decision: Decision, confidence: float | None,
             price: float, now_ms: int) -> None:
        broker = desk.broker
        holding = symbol in broker.positions
        if broker.has_pending(symbol):
            return
        reason = f"signal ({decision.reason})"
        if decision.action == "buy" and not holding:
            refused = self.blacklist.get(symbol)
            entry = None
            if refused is None:
                entry = desk.risk.check_entry(symbol, price, now_ms, broker.equity(),
                                              broker.cash, set(broker.positions),
                                              broker.fee_rate)
                refused = None if entry.approved else entry.reason
            if refused is None and entry is not None and desk.account and not self._solo:
                refused = self.account.check_entry(
                    symbol, entry.quantity * price, self._held(symbol), self.account_equity())
                if refused is not None:
                    desk.risk.cancel_entry()
            if refused is not None:
                self.stats.refusals += 1
                if desk.last_refusal.get(symbol) != refused:
                    desk.last_refusal[symbol] = refused
                    self._seq += 1
                    desk.store.refusal(symbol, "buy", refused, now_ms, self._seq)
                    log.info("[%s] order refused: %s%s", symbol, refused, self._tag(desk))
                return
            desk.last_refusal.pop(symbol, None)
            assert entry is not None
            self._submit(desk, OrderRequest(self._client_id(symbol, now_ms), symbol, Side.BUY,
                                            entry.quantity, now_ms, "signal", entry.stop_loss,
                                            entry.take_profit, confidence or 0.0),
                         now_ms, reason)
            if desk is not self.main:
                log.info("[%s] BUY @ %.2f: %s (%s)%s", symbol, price, decision.reason,
                         desk.store.mode, self._tag(desk))
            elif confidence is not None and self.gate.mode(symbol) is Mode.TRADING:
                log.info("[%s] TRADING MODE: BUY @ %.2f%% (%s)", symbol, 100 * confidence,
                         self.store.mode)
            else:
                log.info("[%s] BUY @ %.2f: %s (%s)", symbol, price, decision.reason,
                         self.store.mode)
        elif decision.action == "sell" and holding:
            pos = broker.positions[symbol]
            self._submit(desk, OrderRequest(self._client_id(symbol, now_ms), symbol, Side.SELL,
                                            pos.quantity, now_ms, "signal",
                                            confidence=confidence or 0.0), now_ms, reason)
            log.info("[%s] SELL signal: closing the long (%s)%s", symbol, decision.reason,
                     self._tag(desk))

    def _held(self, symbol: str) -> float:
        """What the account's desks hold of ``symbol``, at entry prices."""
        return sum(p.quantity * p.entry_price for d in self.desks if d.account
                   for s, p in d.broker.positions.items() if s == symbol)

    def _submit(self, desk: Desk, order: OrderRequest, now_ms: int, reason: str) -> None:
        desk.store.order(order, "submitted", now_ms, reason)
        desk.broker.submit(order)
        desk.orders += 1
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
        for desk in self.desks:
            try:
                events = desk.broker.sync(now_ms)
            except TradeloopError as exc:
                log.warning("broker%s: %s", self._tag(desk), exc)
                desk.store.error(now_ms, type(exc).__name__, str(exc), None, None, "broker")
                continue
            if events.fills or events.closed:
                self._handle(desk, events, now_ms)

    def apply(self, events: BrokerEvents, now_ms: int, desk: Desk | None = None) -> None:
        """Record fills and closed trades that a desk's broker (the main one's by default)
        reports outside a candle (start-up recovery)."""
        if events.fills or events.closed:
            self._handle(desk or self.main, events, now_ms)

    def reset(self, now_ms: int, drop_holds: frozenset[str]) -> None:
        """Wipe Data: forget trades, equity, signals, refusals and risk state and stop the
        other strategy instances (their books are discarded); every symbol starts again in
        LEARNING (the main broker is reset by its owner)."""
        self.trades.clear()
        self.equity_curve.clear()
        self.desks, self._others, self._solo = [self.main], [], True
        self.main.last_refusal.clear()
        self._failing.clear()
        self.aggregator.clear()
        self.gate.reset(now_ms, drop_holds)
        self.main.risk.reset(self.broker.equity())
        self.halted_reason = None
        self.account.reset(self.account_equity())

    def record_transition(self, t: Transition) -> None:
        self.store.transition(t)
        conf = f" (confidence: {t.confidence:.2%})" if t.confidence is not None else ""
        log.info("✓ [%s] Transitioned to %s mode%s: %s", t.symbol, t.mode, conf, t.reason)

    def finish(self, now_ms: int, reason: str = "end_of_run", close: bool = True) -> None:
        """End of a run: close what is open (unless ``close`` is false: an exchange account
        keeps its positions for the next run) and flush the buffers."""
        for desk in self.desks:
            if close or (desk is not self.main and desk.broker.close_on_stop):
                self._handle(desk, desk.broker.close_all(now_ms, reason), now_ms)
        self.equity_curve.append((now_ms, self.account_equity()))
        self.store.flush()

    def decision_percentiles(self) -> tuple[float, float]:
        if not self.stats.decision_ms:
            return float("nan"), float("nan")
        d = np.asarray(self.stats.decision_ms)
        return float(np.percentile(d, 50)), float(np.percentile(d, 99))
