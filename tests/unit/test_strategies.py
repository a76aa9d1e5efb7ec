"""Strategies: the ML strategy, the breakout rule (and its RSI), dual confirmation, the
catalog and settings, and the engine running a rule strategy without any model."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fakes import FakeBroker, FakeClock, ListMarketData, MemoryStore, ScriptedPredictor
from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.decisions import Context
from tradeloop.domain.errors import ConfigError
from tradeloop.domain.gate import Gate, Mode
from tradeloop.domain.risk import RiskLimits, RiskManager
from tradeloop.domain.signals import Aggregator
from tradeloop.engine.candle_book import CandleBook
from tradeloop.engine.engine import Engine, EngineConfig
from tradeloop.engine.runner import Runner
from tradeloop.settings import Settings
from tradeloop.strategies.breakout import BreakoutParams, BreakoutStrategy, DualStrategy, rsi
from tradeloop.strategies.catalog import STRATEGIES, make_strategy
from tradeloop.strategies.ma_cross import MaCrossParams, MaCrossStrategy, sma
from tradeloop.strategies.ml import MlStrategy

H = 3_600_000
T0 = 1_700_000_000_000 // H * H


def arrays(close: list[float], volume: list[float] | None = None, spread: float = 0.002
           ) -> CandleArrays:
    c = np.asarray(close, dtype=float)
    o = np.concatenate([[c[0]], c[:-1]])
    return CandleArrays.from_columns(
        open_time=T0 + np.arange(len(c), dtype=np.int64) * H, open=o, close=c,
        high=np.maximum(o, c) * (1 + spread), low=np.minimum(o, c) * (1 - spread),
        volume=np.asarray(volume if volume is not None else [10.0] * len(c), dtype=float))


def ctx(candles: CandleArrays, *, mode: Mode = Mode.LEARNING, held: bool = False,
        holding: bool = False, up: float | None = None, down: float | None = None,
        finest: bool = True) -> Context:
    """Entry floor 0.7 (the threshold), exit floor 0.6 (threshold - hysteresis)."""
    return Context("AAA/USDT", "1h", finest, mode, held, holding, up, down, 0.7, 0.6, candles)


def ranging(n: int = 120, seed: int = 5) -> list[float]:
    """A sideways market around 100 whose last candle sits just under its recent high."""
    rng = np.random.default_rng(seed)
    return list(100 + np.cumsum(rng.normal(0, 0.4, n)))


def breaking(base: list[float]) -> float:
    """A close 0.6 % above the 24-candle high (highs are 0.2 % above the bodies)."""
    return max(base[-25:]) * 1.002 * 1.006


def test_rsi_of_known_series() -> None:
    assert rsi(np.arange(1.0, 40.0)) == 100.0
    assert rsi(np.array([10.0, 11.0] * 20)) == pytest.approx(50.0, abs=3)
    assert np.isnan(rsi(np.arange(10.0)))
    falling = rsi(np.linspace(100, 80, 60))
    assert falling == 0.0


def test_ml_strategy_trades_the_gate() -> None:
    s, c = MlStrategy(), arrays([100.0] * 5)
    assert s.decide(ctx(c, mode=Mode.TRADING, up=0.8, down=0.1)).action == "buy"
    assert s.decide(ctx(c, mode=Mode.LEARNING, up=0.8, down=0.1)) is None
    # still TRADING inside the hysteresis band, but an entry needs P(up) >= the threshold
    assert s.decide(ctx(c, mode=Mode.TRADING, up=0.65, down=0.1)) is None
    # a confident *down* forecast never opens a long, whatever the mode
    assert s.decide(ctx(c, mode=Mode.TRADING, up=0.05, down=0.9)) is None
    assert s.decide(ctx(c, holding=True, up=0.1, down=0.65)).action == "sell"
    assert s.decide(ctx(c, holding=True, up=0.1, down=0.55)) is None  # < exit floor
    assert s.decide(ctx(c)) is None  # no forecast


def test_breakout_enters_on_a_confirmed_break_of_the_range() -> None:
    base = ranging()
    close = [*base, breaking(base)]
    volume = [10.0] * len(base) + [25.0]
    s = BreakoutStrategy()
    d = s.decide(ctx(arrays(close, volume)))
    assert d is not None and d.action == "buy" and "24-bar high" in d.reason
    assert s.decide(ctx(arrays(close, [10.0] * len(close)))) is None  # no volume behind it
    weak = [*base, max(base[-25:]) * 1.002 * 1.001]  # +0.1 % < min_breakout_percent 0.4
    assert s.decide(ctx(arrays(weak, volume))) is None
    assert s.decide(ctx(arrays(close, volume), held=True)) is None  # paused / halted
    assert s.decide(ctx(arrays(close, volume), finest=False)) is None
    assert s.decide(ctx(arrays(close[-30:], volume[-30:]))) is None  # too little history


def test_breakout_skips_an_overbought_move_and_exits_below_the_recent_low() -> None:
    run_up = list(np.linspace(100, 130, 120))
    close = [*run_up, run_up[-1] * 1.01]
    volume = [10.0] * 120 + [30.0]
    assert rsi(np.asarray(close)) > 70
    assert BreakoutStrategy().decide(ctx(arrays(close, volume))) is None
    loose = BreakoutStrategy(BreakoutParams(rsi_upper=100.0))
    assert loose.decide(ctx(arrays(close, volume))).action == "buy"
    base = ranging()
    low = min(arrays(base).low[-12:])
    exit_ = loose.decide(ctx(arrays([*base, low * 0.99]), holding=True))
    assert exit_ is not None and exit_.action == "sell" and "12-bar low" in exit_.reason
    assert loose.decide(ctx(arrays([*base, base[-1]]), holding=True)) is None


def test_dual_confirmation_needs_both() -> None:
    base = ranging()
    close = [*base, breaking(base)]
    volume = [10.0] * len(base) + [25.0]
    s = DualStrategy()
    c = arrays(close, volume)
    assert s.decide(ctx(c, mode=Mode.LEARNING, up=0.65, down=0.1)) is None
    assert s.decide(ctx(c, mode=Mode.TRADING, up=0.1, down=0.65)) is None
    both = s.decide(ctx(c, mode=Mode.TRADING, up=0.8, down=0.1))
    assert both is not None and both.action == "buy" and both.reason.startswith("ml+breakout:")
    flat = arrays([*base, base[-1]])
    assert s.decide(ctx(flat, mode=Mode.TRADING, up=0.8, down=0.1)) is None
    sell = s.decide(ctx(flat, holding=True, up=0.1, down=0.7))
    assert sell is not None and sell.action == "sell"


def test_catalog_and_settings_reject_unknown_strategies() -> None:
    assert {make_strategy(n).name for n in STRATEGIES} == set(STRATEGIES)
    with pytest.raises(ConfigError, match="unknown strategy 'momo'"):
        make_strategy("momo")
    with pytest.raises(ValueError, match="strategy"):
        Settings.model_validate({"trading": {"strategy": "momo"}})
    with pytest.raises(ValueError, match="rsi_lower"):
        Settings.model_validate({"trading": {"breakout": {"rsi_lower": 80, "rsi_upper": 70}}})


def test_engine_runs_a_rule_strategy_without_models_and_respects_holds() -> None:
    key = SeriesKey("fake", "AAA/USDT", "1h")
    base = ranging(130)
    prices = [breaking(base), breaking(base) * 1.001]
    history = arrays(base)
    later = arrays([*base, *prices], [10.0] * len(base) + [25.0, 25.0])

    def run(hold: bool) -> MemoryStore:
        closes = [(key, later.candle(len(base) + i)) for i in range(len(prices))]
        market = ListMarketData({key: history}, closes)
        store, broker, book = MemoryStore(), FakeBroker(), CandleBook()
        gate = Gate(0.7, 0.1, 0)
        limits = RiskLimits(0.5, 0.5, 0.5, 0.02, 3, 0.05, 0.1, 3, H, frozenset(), frozenset())
        engine = Engine(EngineConfig(["AAA/USDT"], ["1h"], {"1h": 1.0}, "fake", 0.7, 0.1, 8),
                        book, ScriptedPredictor(lambda s, tf, t: None), broker,
                        RiskManager(limits, broker.cash), gate, Aggregator({"1h": 1.0}),
                        store, strategy=BreakoutStrategy())
        if hold:
            gate.hold("AAA/USDT", "operator pause", T0)
        Runner(engine, market, FakeClock(T0)).run()
        return store

    free = run(hold=False)
    assert [o.side.value for o, _ in free.orders] == ["buy"]
    assert free.predictions == []  # no model took part
    assert run(hold=True).orders == []



def test_ma_cross_on_hand_made_candles() -> None:
    s = MaCrossStrategy(MaCrossParams(fast=2, slow=4))
    down_then_up = [10, 9, 8, 7, 6, 5, 7, 9]  # fast crosses above slow on the last candle
    assert s.decide(ctx(arrays(down_then_up[:-1]))) is None
    buy = s.decide(ctx(arrays(down_then_up)))
    assert buy is not None and buy.action == "buy" and "crossed above" in buy.reason
    assert s.decide(ctx(arrays(down_then_up), held=True)) is None  # a held symbol opens nothing
    up_then_down = [6, 7, 8, 9, 10, 11, 9, 7]
    sell = s.decide(ctx(arrays(up_then_down), holding=True))
    assert sell is not None and sell.action == "sell"
    assert s.decide(ctx(arrays(up_then_down))) is None  # nothing to sell, and no entry
    assert s.decide(ctx(arrays(down_then_up), finest=False)) is None
    with pytest.raises(ConfigError, match="fast < slow"):
        MaCrossParams(fast=5, slow=5)


def test_ma_cross_precomputed_indicators_decide_exactly_as_the_window() -> None:
    """Preloaded averages read by index give the decisions the per-candle window gives, at
    every candle (a live session computes from its window)."""
    close = ranging(400, seed=9)
    c = arrays(close)
    key = SeriesKey("fake", "AAA/USDT", "1h")
    pre, live = MaCrossStrategy(), MaCrossStrategy()
    pre.preload(key, c)
    decided = 0
    for i in range(1, len(c)):
        window = c.take(slice(max(0, i + 1 - live.history), i + 1))
        for holding in (False, True):
            a = pre.decide(Context("AAA/USDT", "1h", True, Mode.LEARNING, False, holding, None,
                                   None, 0.7, 0.6, window, i))
            b = live.decide(Context("AAA/USDT", "1h", True, Mode.LEARNING, False, holding,
                                    None, None, 0.7, 0.6, window))
            assert a == b, i
            decided += a is not None
    assert decided > 10
    assert sma(np.array([1.0, 2.0, 3.0, 4.0]), 2)[1:].tolist() == [1.5, 2.5, 3.5]
