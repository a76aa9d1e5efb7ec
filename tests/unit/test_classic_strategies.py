"""Seed 000's candidates (momentum breakout, mean reversion, volatility breakout, range
trading, ML trend following) on hand-made candles, and every rule strategy of the library
deciding exactly as its live window when its indicators were precomputed."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.strategy_driver import run
from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.domain.candles import CandleArrays
from tradeloop.domain.gate import Mode
from tradeloop.strategies.catalog import CATALOGUE, make_strategy
from tradeloop.strategies.ml_trend import MlTrendStrategy

H = 3_600_000
T0 = 1_700_000_000_000 // H * H


def candles(close: np.ndarray, spread: float = 0.001) -> CandleArrays:
    c = np.asarray(close, dtype=float)
    o = np.concatenate([[c[0]], c[:-1]])
    return CandleArrays.from_columns(
        open_time=T0 + np.arange(len(c), dtype=np.int64) * H, open=o, close=c,
        high=np.maximum(o, c) * (1 + spread), low=np.minimum(o, c) * (1 - spread),
        volume=np.full(len(c), 10.0))



def wiggle(n: int, seed: int = 1, scale: float = 0.05) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, scale, n)


def test_momentum_breakout_buys_a_new_high_and_sells_when_momentum_fades() -> None:
    close = np.concatenate([100 + wiggle(60), np.linspace(100, 110, 20),
                            np.linspace(110, 104, 10)])
    s = make_strategy("momentum_breakout", {"lookback": 24, "roc_bars": 6,
                                            "min_roc_percent": 1.0})
    (i_buy, buy), (i_sell, sell) = run(s, candles(close))
    assert 60 < i_buy < 80 and buy.reason == "momentum_breakout: new high with momentum"
    assert i_sell > 80 and sell.reason == "momentum_breakout: momentum turned negative"


def test_mean_reversion_buys_the_stretch_and_sells_at_the_mean() -> None:
    close = np.concatenate([100 + wiggle(60), [99.0, 97.5, 97.0], np.linspace(97.5, 100.5, 6)])
    s = make_strategy("mean_reversion", {"window": 30, "entry_z": 2.0, "exit_z": 0.0})
    (i_buy, _), (i_sell, sell) = run(s, candles(close))
    assert i_buy == 60 and i_sell >= 63 and "back to its mean" in sell.reason


def test_volatility_breakout_rides_a_range_expansion() -> None:
    close = np.concatenate([100 + wiggle(40, scale=0.2), [103.0, 103.5, 104.0, 101.0, 101.2]])
    s = make_strategy("volatility_breakout", {"atr_window": 20, "k": 1.5, "k_exit": 1.0})
    (i_buy, _), (i_sell, _) = run(s, candles(close))
    assert (i_buy, i_sell) == (40, 43)


def test_range_trading_only_in_a_quiet_market() -> None:
    quiet = 100 + 0.3 * np.sin(np.arange(120) / 3)
    loud = 100 + 3.0 * np.sin(np.arange(120) / 3)
    params = {"window": 20, "band_z": 1.2, "fast": 10, "slow": 60, "max_vol_ratio": 1.5}
    calm = run(make_strategy("range_trading", params), candles(np.concatenate(
        [loud[:60], quiet])))
    assert calm and all(i >= 60 for i, _ in calm)  # nothing while it swings widely
    assert calm[0][1].action == "buy" and calm[1][1].reason.startswith("range_trading: back")


def test_ml_trend_follows_the_forecast_only_with_the_trend() -> None:
    up = candles(np.linspace(100, 130, 120))
    down = candles(np.linspace(130, 100, 120))
    s = MlTrendStrategy({"ema_fast": 5, "ema_slow": 20})
    buys = run(s, up, p_up=0.7, mode=Mode.TRADING)
    assert buys and buys[0][1].reason == "ml_trend: P(up) 70.0% in an uptrend"
    assert run(MlTrendStrategy({"ema_fast": 5, "ema_slow": 20}), down, p_up=0.7,
               mode=Mode.TRADING) == []
    turn = candles(np.concatenate([np.linspace(100, 130, 60), np.linspace(130, 110, 60)]))
    decisions = run(MlTrendStrategy({"ema_fast": 5, "ema_slow": 20}), turn, p_up=0.7,
                    mode=Mode.TRADING)
    sells = [d for _, d in decisions if d.action == "sell"]
    assert sells and sells[0].reason == "ml_trend: the uptrend ended (EMA fast <= slow)"


RULES = [name for name, spec in CATALOGUE.items() if not spec.needs_models]


@pytest.mark.parametrize("name", RULES)
def test_precomputed_indicators_decide_exactly_as_the_live_window(name: str) -> None:
    c, _ = synth_market(60, timeframe="1h", seed=12)
    loose = {"seller_exhaustion": {"ema_fast": 8, "ema_slow": 48, "z_window": 96,
                                   "atr_window": 14, "vol_z": 1.0, "tr_z": 0.5,
                                   "cloc_min": 0.5, "use_stop_loss": True,
                                   "fib_swing_lookback": 48, "fib_swing_lookahead": 3,
                                   "max_hold": 24},
             "breakout": {"min_breakout_percent": 0.05, "volume_ratio": 0.8, "rsi_upper": 95},
             "range_trading": {"slow": 120, "max_vol_ratio": 1.2}}.get(name, {})
    pre = run(make_strategy(name, loose), c)
    live = run(make_strategy(name, loose), c, preload=False)
    assert pre == live
    assert sum(d.action == "buy" for _, d in pre) >= 2, pre
