"""The engine loop on in-memory fakes of its ports: gate, orders, refusals, exits, halts."""

from __future__ import annotations

import numpy as np

from tests.fakes import (
    FakeBroker,
    FakeClock,
    ListMarketData,
    MemoryNotifier,
    MemoryStore,
    RecordingLearning,
    Script,
    ScriptedPredictor,
)
from tradeloop.domain.candles import Candle, CandleArrays, SeriesKey
from tradeloop.domain.gate import Gate, Mode
from tradeloop.domain.risk import RiskLimits, RiskManager
from tradeloop.domain.signals import Aggregator
from tradeloop.engine.candle_book import CandleBook
from tradeloop.engine.engine import Engine, EngineConfig
from tradeloop.engine.runner import Runner

H = 3_600_000
T0 = 1_700_000_000_000 // H * H
KEY = SeriesKey("fake", "AAA/USDT", "1h")
UP = (0.05, 0.10, 0.85)
DOWN = (0.85, 0.10, 0.05)
UNSURE = (0.30, 0.40, 0.30)


def limits(**kw: object) -> RiskLimits:
    base: dict[str, object] = dict(
        max_drawdown=0.15, daily_loss_limit=0.5, max_position_fraction=0.5, risk_per_trade=0.02,
        max_open_positions=3, stop_loss=0.05, take_profit=0.10, max_consecutive_losses=3,
        loss_pause_ms=H, blacklist=frozenset(), blocked_hours=frozenset())
    base.update(kw)
    return RiskLimits(**base)  # type: ignore[arg-type]


def candles(prices: list[float], start: int) -> list[Candle]:
    return [Candle(start + i * H, p, p * 1.001, p * 0.999, p, 1.0) for i, p in enumerate(prices)]


def run(script: Script, prices: list[float], risk: RiskLimits | None = None,
        broker: FakeBroker | None = None) -> tuple[MemoryStore, FakeBroker, RecordingLearning,
                                                   MemoryNotifier, Engine]:
    history = candles([100.0] * 10, T0 - 10 * H)
    arrays = CandleArrays(*(np.array([getattr(c, f) for c in history]) for f in
                            ("open_time", "open", "high", "low", "close", "volume")))
    market = ListMarketData({KEY: arrays}, [(KEY, c) for c in candles(prices, T0)])
    store, learning, notifier = MemoryStore(), RecordingLearning(), MemoryNotifier()
    broker = broker or FakeBroker()
    book = CandleBook()
    engine = Engine(EngineConfig(["AAA/USDT"], ["1h"], {"1h": 1.0}, "fake", 0.7, 0.1, 8),
                    book, ScriptedPredictor(script), broker,
                    RiskManager(risk or limits(), broker.cash), Gate(0.7, 0.1, 0),
                    Aggregator({"1h": 1.0}), store, learning, notifier)
    Runner(engine, market, FakeClock(T0)).run()
    return store, broker, learning, notifier, engine


def test_gate_opens_buys_then_a_down_signal_closes_the_long() -> None:
    signals = [UNSURE, UP, UP, UP, DOWN, UNSURE, UNSURE]
    store, broker, learning, _, engine = run(
        lambda s, t, c: signals[(c - T0) // H], [100, 100, 101, 102, 103, 101, 100])
    modes = [(t.mode, t.reason) for t in store.transitions]
    assert modes[0] == (Mode.TRADING, "P(up) 85.00% >= 70.00%")
    # the gate watches the traded direction: a confident *down* forecast closes it (and
    # the long: P(down) 85 % >= the exit floor)
    assert modes[1] == (Mode.LEARNING, "P(up) 5.00% < 60.00%")
    buys = [o for o, _ in store.orders if str(o.side) == "buy"]
    sells = [o for o, _ in store.orders if str(o.side) == "sell"]
    assert len(buys) == 1 and len(sells) == 1  # one position per symbol: no double entry
    assert buys[0].quantity > 0 and buys[0].stop_loss is not None
    assert len(store.trades) == 1 and store.trades[0].exit_reason == "signal"
    assert learning.closed == store.trades and learning.predictions == 7
    assert not broker.positions and engine.stats.decisions == 7
    assert [c["mode"] for c in store.confidences][:3] == ["LEARNING", "TRADING", "TRADING"]


def test_refusals_are_events_with_reasons_recorded_once_per_reason() -> None:
    store, broker, _, _, engine = run(lambda s, t, c: UP, [100.0] * 5,
                                      risk=limits(blacklist=frozenset({"AAA/USDT"})))
    assert not broker.submitted
    assert store.refusals == [("AAA/USDT", "AAA/USDT is blacklisted")]
    assert engine.stats.refusals == 5  # counted every time, recorded when the reason changes


def test_missing_predictions_never_stop_the_loop() -> None:
    store, broker, _, _, engine = run(lambda s, t, c: None, [100.0] * 4)
    assert engine.stats.events == 4 and engine.stats.decisions == 0
    assert not store.orders and not broker.submitted


def test_max_drawdown_halts_trading_and_alerts() -> None:
    prices = [100, 100, 100, 60, 60, 60]
    store, broker, _, notifier, _ = run(lambda s, t, c: UP, prices,
                                   risk=limits(stop_loss=0.5, max_position_fraction=1.0,
                                               risk_per_trade=1.0))
    assert notifier.alerts and notifier.alerts[0][0] == "critical"
    assert ("MaxDrawdown" in [e for e, _ in store.errors])
    assert store.transitions[-1].mode is Mode.LEARNING
    assert store.transitions[-1].reason == "max drawdown halt"
    assert len(broker.submitted) == 1  # no entry after the halt, though UP goes on
