"""Seller Exhaustion on hand-made candles: the capitulation entry, each exit, a swing high
used only once it is known, and preloaded indicators that decide as the live window."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.strategy_driver import run
from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.domain.candles import CandleArrays
from tradeloop.domain.errors import ConfigError
from tradeloop.strategies.catalog import make_strategy
from tradeloop.strategies.seller_exhaustion import (
    SellerExhaustionParams,
    SellerExhaustionStrategy,
    _fib_targets,
    indicators,
)

H = 3_600_000
T0 = 1_700_000_000_000 // H * H
SMALL = dict(ema_fast=4, ema_slow=12, z_window=30, atr_window=5, fib_swing_lookback=60,
             fib_swing_lookahead=2, max_hold=10)


def capitulation(after: int = 14) -> tuple[CandleArrays, int, int]:
    """Up to a swing high at candle 62, a steady decline, a capitulation candle at 100 (10x
    volume, 10x range, close in the top tenth), then a bounce. Returns the candles, the
    signal candle and the swing-high candle."""
    close = np.concatenate([np.linspace(100, 111, 63), np.linspace(110.8, 90, 37),
                            [89.5], np.linspace(91, 104, after)])
    n = len(close)
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) + 0.25
    low = np.minimum(open_, close) - 0.25
    volume = np.full(n, 10.0) + np.arange(n) % 3  # some spread for the z-scores
    open_[100], high[100], low[100], volume[100] = 90.0, 90.0, 85.0, 100.0
    return CandleArrays.from_columns(
        open_time=T0 + np.arange(n, dtype=np.int64) * H, open=open_, high=high, low=low,
        close=close, volume=volume), 100, 62



def test_the_capitulation_candle_is_bought_and_sold_at_the_fibonacci_target() -> None:
    c, signal, swing = capitulation()
    p = SellerExhaustionParams(**SMALL)
    ind = indicators(c, p)
    assert np.flatnonzero(ind.signal).tolist() == [signal]
    target = c.low[signal] + 0.618 * (c.high[swing] - c.low[signal])
    assert ind.target[signal] == pytest.approx(target)
    decisions = run(SellerExhaustionStrategy(p), c)
    (i_buy, buy), (i_sell, sell) = decisions
    assert i_buy == signal and buy.action == "buy" and "downtrend" in buy.reason
    assert i_sell == int(np.argmax(c.close[signal:] >= target)) + signal
    assert sell.action == "sell" and sell.reason.startswith(
        f"seller_exhaustion: Fibonacci target {target:,.4g} reached")


def test_each_switchable_exit() -> None:
    c, signal, _ = capitulation()
    flat, _, _ = capitulation(after=50)
    flat.close[signal + 1:] = 89.0  # no bounce: only the time exit ends it
    flat.high[signal + 1:] = 89.2
    flat.low[signal + 1:] = 88.8
    timed = SellerExhaustionStrategy(SellerExhaustionParams(**{**SMALL, "use_time_exit": True}))
    (_, _), (i_sell, sell) = run(timed, flat)
    assert i_sell == signal + 10 and sell.reason == "seller_exhaustion: time exit after 10 candles"

    crash, _, _ = capitulation()
    crash.close[signal + 1:] = 80.0  # straight through the ATR stop
    stopped = SellerExhaustionStrategy(SellerExhaustionParams(**{**SMALL, "use_stop_loss": True}))
    (_, _), (i_sell, sell) = run(stopped, crash)
    assert i_sell == signal + 1 and "ATR stop" in sell.reason

    tp = SellerExhaustionStrategy(SellerExhaustionParams(**{
        **SMALL, "use_fib_exits": False, "use_stop_loss": True, "use_traditional_tp": True,
        "reward_r": 0.5}))
    (i_buy, _), (i_sell, sell) = run(tp, c)
    assert i_buy == signal and "0.5R take-profit" in sell.reason

    held = SellerExhaustionStrategy(SellerExhaustionParams(**SMALL))  # target never reached
    (_, _), (i_sell, sell) = run(held, flat)
    assert i_sell == signal + 40 and "hold limit (40 candles)" in sell.reason


def test_a_swing_high_is_used_only_once_it_is_known() -> None:
    high = np.array([1.0, 2, 3, 10, 3, 2, 1, 1, 1, 1])
    low = np.zeros(10)
    p = SellerExhaustionParams(**{**SMALL, "fib_swing_lookahead": 2, "fib_swing_lookback": 5})
    t = _fib_targets(high, low, p)
    assert np.isnan(t[:5]).all()  # the peak at candle 3 is confirmed by candle 5
    assert t[5] == pytest.approx(0.618 * 10) and t[8] == pytest.approx(0.618 * 10)
    assert np.isnan(t[9])  # more than fib_swing_lookback candles after it


def test_indicators_of_a_candle_depend_on_its_past_only() -> None:
    c, _ = synth_market(3, timeframe="1h", seed=4)
    c = c.take(slice(0, 400))
    p = SellerExhaustionParams(**{**SMALL, "vol_z": 0.5, "tr_z": 0.2, "cloc_min": 0.4})
    full = indicators(c, p)
    for t in range(30, len(c), 7):
        part = indicators(c.take(slice(0, t + 1)), p)
        assert part.signal[t] == full.signal[t]
        np.testing.assert_array_equal(part.target[t], full.target[t])
        np.testing.assert_array_equal(part.stop[t], full.stop[t])


def test_preloaded_indicators_decide_exactly_as_the_window() -> None:
    c, _ = synth_market(30, timeframe="1h", seed=8)
    p = SellerExhaustionParams(**{**SMALL, "vol_z": 1.0, "tr_z": 0.5, "cloc_min": 0.5,
                                  "use_stop_loss": True})
    pre = run(SellerExhaustionStrategy(p), c)
    live = run(SellerExhaustionStrategy(p), c, preload=False)
    assert pre == live
    assert sum(d.action == "buy" for _, d in pre) >= 5


def test_the_schema_refuses_a_strategy_that_cannot_exit() -> None:
    with pytest.raises(ConfigError, match="no exit: enable use_fib_exits"):
        make_strategy("seller_exhaustion", {"use_fib_exits": False})
    with pytest.raises(ConfigError, match="use_traditional_tp measures the reward"):
        make_strategy("seller_exhaustion", {"use_traditional_tp": True})
    with pytest.raises(ConfigError, match="ema_fast must be below ema_slow"):
        make_strategy("seller_exhaustion", {"ema_fast": 700})
    s = make_strategy("seller_exhaustion")
    assert isinstance(s, SellerExhaustionStrategy) and s.p == SellerExhaustionParams()
