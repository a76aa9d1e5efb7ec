"""Features from closed candles only, with a bounded lookback.

Every feature of candle ``t`` is computed from candles ``t - LOOKBACK + 1 .. t`` and nothing
else: EMAs use truncated weights, RSI and ATR simple averages. Window sums are accumulated in
a fixed order over shifted arrays, so the value of row ``t`` does not depend on how many
candles came before the window. :func:`latest_features` (the live, incremental path) therefore
returns exactly the last row of :func:`compute_features` on the full history.
"""

from __future__ import annotations

import numpy as np

from tradeloop.domain.candles import CandleArrays

LOOKBACK = 112
RETURN_LAGS = (1, 2, 3, 5, 10, 20)
EMA_FAST, EMA_SLOW = 12, 26
EMA_WINDOW = {EMA_FAST: 48, EMA_SLOW: 104}  # truncated at ~4 spans (weights < 2 % dropped)
DAY_MS, WEEK_MS = 86_400_000, 7 * 86_400_000

FEATURE_NAMES: tuple[str, ...] = (
    *(f"logret_{k}" for k in RETURN_LAGS),
    "realized_vol_10",
    "realized_vol_30",
    "atr_14",
    "rsi_14",
    "ema_fast_dist",
    "ema_slow_dist",
    "ema_fast_slow",
    "volume_z_20",
    "close_location",
    "true_range_z_20",
    "hour_sin",
    "hour_cos",
    "weekday_sin",
    "weekday_cos",
)


def _lag(x: np.ndarray, k: int) -> np.ndarray:
    out = np.full_like(x, np.nan, dtype=np.float64)
    if k < len(x):
        out[k:] = x[: len(x) - k]
    return out


def _window_sum(x: np.ndarray, w: int, weights: np.ndarray | None = None) -> np.ndarray:
    """sum_{i<w} weights[i] * x[t-i], accumulated in order i = 0..w-1 (NaN before row w-1)."""
    out = np.zeros(len(x))
    for i in range(w):
        term = _lag(x, i)
        out += term if weights is None else weights[i] * term
    out[: w - 1] = np.nan
    return out


def _window_mean(x: np.ndarray, w: int) -> np.ndarray:
    return _window_sum(x, w) / w


def _window_std(x: np.ndarray, w: int) -> np.ndarray:
    mean = _window_mean(x, w)
    acc = np.zeros(len(x))
    for i in range(w):
        acc += (_lag(x, i) - mean) ** 2
    return np.sqrt(acc / w)


def _ema(x: np.ndarray, span: int) -> np.ndarray:
    alpha = 2.0 / (span + 1.0)
    w = EMA_WINDOW[span]
    weights = alpha * (1.0 - alpha) ** np.arange(w)
    return _window_sum(x, w, weights / weights.sum())


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), 0.0)


def compute_features(candles: CandleArrays) -> np.ndarray:
    """Feature matrix ``(n, len(FEATURE_NAMES))``; rows without a full lookback are NaN."""
    c, h, lo, v = candles.close, candles.high, candles.low, candles.volume
    n = len(candles)
    with np.errstate(divide="ignore", invalid="ignore"):
        logc = np.log(c)
        ret1 = logc - _lag(logc, 1)
        cols: list[np.ndarray] = [logc - _lag(logc, k) for k in RETURN_LAGS]
        cols.append(_window_std(ret1, 10))
        cols.append(_window_std(ret1, 30))
        prev_close = _lag(c, 1)
        tr = np.maximum(h - lo, np.maximum(np.abs(h - prev_close), np.abs(lo - prev_close)))
        cols.append(_window_mean(tr, 14) / c)
        gains = _window_mean(np.maximum(ret1, 0.0), 14)
        losses = _window_mean(np.maximum(-ret1, 0.0), 14)
        cols.append(_safe_div(gains, gains + losses) - 0.5)
        fast, slow = _ema(c, EMA_FAST), _ema(c, EMA_SLOW)
        cols.extend([c / fast - 1.0, c / slow - 1.0, fast / slow - 1.0])
        logv = np.log1p(v)
        cols.append(_safe_div(logv - _window_mean(logv, 20), _window_std(logv, 20)))
        cols.append(_safe_div(c - lo, h - lo) - 0.5)
        cols.append(_safe_div(tr - _window_mean(tr, 20), _window_std(tr, 20)))
    t = candles.open_time
    day = 2 * np.pi * (t % DAY_MS) / DAY_MS
    week = 2 * np.pi * ((t + 3 * DAY_MS) % WEEK_MS) / WEEK_MS  # Monday 00:00 UTC = 0
    cols.extend([np.sin(day), np.cos(day), np.sin(week), np.cos(week)])
    out = np.column_stack(cols) if n else np.empty((0, len(FEATURE_NAMES)))
    out[: LOOKBACK - 1] = np.nan
    return out


def latest_features(candles: CandleArrays) -> np.ndarray:
    """Features of the newest candle from the last ``LOOKBACK`` candles (the live path)."""
    if len(candles) < LOOKBACK:
        raise ValueError(f"need {LOOKBACK} candles for features, got {len(candles)}")
    return compute_features(candles.take(slice(len(candles) - LOOKBACK, None)))[-1]
