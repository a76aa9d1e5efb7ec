"""Features from closed candles only, with a bounded lookback.

Every feature of candle ``t`` is computed from candles ``t - LOOKBACK + 1 .. t`` and nothing
else. Rolling windows have power-of-two lengths and are summed by doubling
(``S_2m[t] = S_m[t] + r^m * S_m[t - m]``; ``r = 1`` for plain sums, ``r = 1 - alpha`` for the
truncated EMAs): log2(w) array operations per window, and each row's value comes out of the
same sequence of operations whatever the array's length. :func:`latest_features` (the live,
incremental path) therefore returns exactly the last row of :func:`compute_features` on the
full history, bit for bit.
"""

from __future__ import annotations

import numpy as np

from tradeloop.domain.candles import CandleArrays

RETURN_LAGS = (1, 2, 3, 5, 10, 20)
EMA_FAST, EMA_SLOW = 12, 26  # spans
EMA_FAST_WINDOW, EMA_SLOW_WINDOW = 32, 64  # truncation: < 1 % of the weight dropped
LOOKBACK = EMA_SLOW_WINDOW
DAY_MS, WEEK_MS = 86_400_000, 7 * 86_400_000

FEATURE_NAMES: tuple[str, ...] = (
    *(f"logret_{k}" for k in RETURN_LAGS),
    "realized_vol_8",
    "realized_vol_32",
    "atr_16",
    "rsi_16",
    "ema_fast_dist",
    "ema_slow_dist",
    "ema_fast_slow",
    "volume_z_16",
    "close_location",
    "true_range_z_16",
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


def _window_sums(X: np.ndarray, w: int, ratio: float = 1.0) -> np.ndarray:
    """out[t] = sum_{i<w} ratio^i * X[t - i] per column, by doubling (w a power of two);
    NaN until the window is full."""
    assert w & (w - 1) == 0, "window must be a power of two"
    s = X.astype(np.float64, copy=True)
    m = 1
    while m < w:
        nxt = np.full_like(s, np.nan)
        shifted = s[:-m] if ratio == 1.0 else ratio**m * s[:-m]
        nxt[m:] = s[m:] + shifted
        s, m = nxt, 2 * m
    return s


def _mean_std(X: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Rolling mean and population standard deviation of each column over ``w`` rows."""
    sums = _window_sums(np.concatenate([X, X * X], axis=1), w) / w
    k = X.shape[1]
    mean = sums[:, :k]
    return mean, np.sqrt(np.maximum(sums[:, k:] - mean * mean, 0.0))


def _ema(x: np.ndarray, span: int, w: int) -> np.ndarray:
    """EMA of ``span`` truncated to the last ``w`` values (weights renormalised)."""
    r = 1.0 - 2.0 / (span + 1.0)
    return _window_sums(x[:, None], w, r)[:, 0] * ((1.0 - r) / (1.0 - r**w))


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
        prev_close = _lag(c, 1)
        tr = np.maximum(h - lo, np.maximum(np.abs(h - prev_close), np.abs(lo - prev_close)))
        logv = np.log1p(v)
        _, vol8 = _mean_std(ret1[:, None], 8)
        _, vol32 = _mean_std(ret1[:, None], 32)
        cols.extend([vol8[:, 0], vol32[:, 0]])
        m16, s16 = _mean_std(np.column_stack(
            [tr, np.maximum(ret1, 0.0), np.maximum(-ret1, 0.0), logv]), 16)
        cols.append(m16[:, 0] / c)
        cols.append(_safe_div(m16[:, 1], m16[:, 1] + m16[:, 2]) - 0.5)
        fast, slow = _ema(c, EMA_FAST, EMA_FAST_WINDOW), _ema(c, EMA_SLOW, EMA_SLOW_WINDOW)
        cols.extend([c / fast - 1.0, c / slow - 1.0, fast / slow - 1.0])
        cols.append(_safe_div(logv - m16[:, 3], s16[:, 3]))
        cols.append(_safe_div(c - lo, h - lo) - 0.5)
        cols.append(_safe_div(tr - m16[:, 0], s16[:, 0]))
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
