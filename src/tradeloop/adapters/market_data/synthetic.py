"""A seeded synthetic market for offline demos and tests.

Regime switches (bull / bear / range, Markov chain), volatility clustering (GARCH(1,1)),
an intraday volatility cycle and volume that rises with absolute returns. The same seed gives
the same candles, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tradeloop.domain.candles import CandleArrays
from tradeloop.domain.timeframes import Timeframe

DAY_MS = 86_400_000
DEFAULT_START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z


@dataclass(frozen=True)
class Regime:
    name: str
    drift_per_day: float  # log-return drift per day
    vol_per_day: float  # baseline daily volatility


REGIMES = (
    Regime("bull", 0.010, 0.030),
    Regime("bear", -0.012, 0.045),
    Regime("range", 0.0, 0.020),
)
MEAN_REGIME_DAYS = 4.0


def synth_market(
    days: float,
    *,
    timeframe: str = "1m",
    seed: int = 0,
    start_ms: int = DEFAULT_START_MS,
    start_price: float = 100.0,
    base_volume: float = 50.0,
) -> tuple[CandleArrays, np.ndarray]:
    """Candles of ``days`` length and the regime index of each candle."""
    tf = Timeframe.parse(timeframe)
    n = int(days * DAY_MS // tf.ms)
    if n <= 0:
        return CandleArrays.empty(), np.empty(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    bars_per_day = DAY_MS / tf.ms
    open_time = tf.floor(start_ms) + np.arange(n, dtype=np.int64) * tf.ms

    # Regime path: geometric durations, then a uniformly chosen different regime.
    stay = 1.0 - 1.0 / (MEAN_REGIME_DAYS * bars_per_day)
    regime = np.empty(n, dtype=np.int64)
    state = int(rng.integers(len(REGIMES)))
    switches = rng.random(n) > stay
    hops = rng.integers(1, len(REGIMES), size=n)
    for i in range(n):
        if switches[i]:
            state = (state + int(hops[i])) % len(REGIMES)
        regime[i] = state
    drift = np.array([r.drift_per_day for r in REGIMES])[regime] / bars_per_day
    base_var = (np.array([r.vol_per_day for r in REGIMES])[regime] ** 2) / bars_per_day

    # Intraday cycle: busier around 14:00 UTC, quieter at night.
    hour = (open_time % DAY_MS) / 3_600_000
    season = 1.0 + 0.35 * np.cos((hour - 14.0) / 24.0 * 2 * np.pi)

    # GARCH(1,1) with unit long-run multiplier; t(5) shocks for fat tails.
    alpha, beta = 0.08, 0.90
    shocks = rng.standard_t(5, size=n) / np.sqrt(5 / 3)
    returns = np.empty(n)
    h = 1.0
    for i in range(n):
        sigma = np.sqrt(h * base_var[i]) * season[i]
        returns[i] = drift[i] + sigma * shocks[i]
        h = (1 - alpha - beta) + alpha * shocks[i] ** 2 + beta * h

    close = start_price * np.exp(np.cumsum(returns))
    open_ = np.concatenate(([start_price], close[:-1]))
    sigma_bar = np.sqrt(base_var) * season
    up = np.abs(rng.normal(0.0, 0.6, size=n)) * sigma_bar
    down = np.abs(rng.normal(0.0, 0.6, size=n)) * sigma_bar
    high = np.maximum(open_, close) * np.exp(up)
    low = np.minimum(open_, close) * np.exp(-down)
    activity = 1.0 + 3.0 * np.abs(returns) / sigma_bar
    volume = base_volume * (tf.ms / 60_000) * season * activity * rng.lognormal(0.0, 0.4, size=n)
    candles = CandleArrays(open_time, np.round(open_, 8), np.round(high, 8), np.round(low, 8),
                           np.round(close, 8), np.round(volume, 6))
    # Rounding may push open/close a hair outside [low, high]; widen the range to contain them.
    hi = np.maximum(candles.high, np.maximum(candles.open, candles.close))
    lo = np.minimum(candles.low, np.minimum(candles.open, candles.close))
    return CandleArrays(open_time, candles.open, hi, lo, candles.close, candles.volume), regime


def random_walk(n: int, *, timeframe: str = "1h", seed: int = 0, start_ms: int = DEFAULT_START_MS,
                vol: float = 0.01) -> CandleArrays:
    """Driftless Gaussian random walk candles: there is nothing to learn in them."""
    tf = Timeframe.parse(timeframe)
    rng = np.random.default_rng(seed)
    return _candles_from_returns(rng.normal(0.0, vol, size=n), rng, tf, start_ms, vol)


def _candles_from_returns(r: np.ndarray, rng: np.random.Generator, tf: Timeframe,
                          start_ms: int, vol: float) -> CandleArrays:
    """Candles whose closes follow the log returns ``r`` from 100, with wicks and volume."""
    n = len(r)
    close = 100.0 * np.exp(np.cumsum(r))
    open_ = np.concatenate(([100.0], close[:-1]))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, vol / 2, size=n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, vol / 2, size=n)))
    volume = rng.lognormal(3.0, 0.5, size=n)
    open_time = tf.floor(start_ms) + np.arange(n, dtype=np.int64) * tf.ms
    return CandleArrays(open_time, open_, high, low, close, volume)


def planted_signal(n: int, *, lag: int = 3, strength: float = 0.7, timeframe: str = "1h",
                   seed: int = 0, start_ms: int = DEFAULT_START_MS, vol: float = 0.01
                   ) -> CandleArrays:
    """Candles whose log return repeats ``strength`` x the return ``lag`` bars earlier, plus
    noise: a known, learnable signal (corr(r_t, r_{t-lag}) = strength)."""
    tf = Timeframe.parse(timeframe)
    rng = np.random.default_rng(seed)
    eps = rng.normal(0.0, vol * np.sqrt(1 - strength**2), size=n)
    r = np.zeros(n)
    for i in range(n):
        r[i] = (strength * r[i - lag] if i >= lag else 0.0) + eps[i]
    return _candles_from_returns(r, rng, tf, start_ms, vol)


def planted_interaction(n: int, *, share: float = 0.15, hit: float = 0.8, timeframe: str = "1h",
                        seed: int = 0, start_ms: int = DEFAULT_START_MS, vol: float = 0.01
                        ) -> tuple[CandleArrays, np.ndarray]:
    """Random-walk candles in which, on about ``share`` of the bars, a volume spike with the
    close near the high (or the low) makes the *next* bar move that way with probability
    ``hit`` (a move of the usual size). Returns the candles and the planted bars' side
    (+1 near the high, -1 near the low, 0 elsewhere): the planting rule a learner should find.
    """
    tf = Timeframe.parse(timeframe)
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0, vol, size=n)
    side = np.where(rng.random(n) < share, rng.choice([-1, 1], size=n), 0)
    side[-1] = 0
    follow = np.flatnonzero(side)
    r[follow] = side[follow] * np.abs(r[follow])  # a strong close: up into the high (down ...)
    sign = np.where(rng.random(len(follow)) < hit, side[follow], -side[follow])
    r[follow + 1] = sign * np.abs(r[follow + 1])
    close = 100.0 * np.exp(np.cumsum(r))
    open_ = np.concatenate(([100.0], close[:-1]))
    wick_up = np.abs(rng.normal(0, vol / 2, size=n))
    wick_down = np.abs(rng.normal(0, vol / 2, size=n))
    wick_up[side > 0] *= 0.05  # the close sits near the high ...
    wick_down[side < 0] *= 0.05  # ... or near the low
    high = np.maximum(open_, close) * np.exp(wick_up)
    low = np.minimum(open_, close) * np.exp(-wick_down)
    volume = rng.lognormal(3.0, 0.5, size=n)
    volume[side != 0] *= 3.0  # the spike
    open_time = tf.floor(start_ms) + np.arange(n, dtype=np.int64) * tf.ms
    return CandleArrays(open_time, open_, high, low, close, volume), side
