"""Labels: direction of the forward return over a horizon, with a fee-aware dead band."""

from __future__ import annotations

import numpy as np

DOWN, FLAT, UP = 0, 1, 2  # indices into CLASS_NAMES
UNKNOWN = -1


def dead_band(fee_bps: float, slippage_bps: float) -> float:
    """Smallest log return that beats a round trip (two fees and two slippages)."""
    return 2.0 * (fee_bps + slippage_bps) / 10_000.0


def aux_horizons(horizon: int) -> tuple[int, ...]:
    """Shorter horizons (a quarter, a half and three quarters of ``horizon`` bars) whose labels
    are auxiliary training targets: the same move seen earlier, with less of the later bars'
    noise."""
    return tuple(sorted({k for k in (horizon // 4, horizon // 2, 3 * horizon // 4)
                         if 0 < k < horizon}))


def forward_returns(close: np.ndarray, horizon: int) -> np.ndarray:
    """log(close[t + horizon] / close[t]); NaN where the future is not known yet."""
    out = np.full(len(close), np.nan)
    if horizon < len(close):
        out[:-horizon] = np.log(close[horizon:] / close[:-horizon])
    return out


def make_labels(close: np.ndarray, horizon: int, band: float) -> tuple[np.ndarray, np.ndarray]:
    """(labels, forward returns): UP above ``band``, DOWN below ``-band``, else FLAT;
    ``UNKNOWN`` for the last ``horizon`` candles."""
    return labels_of(forward_returns(close, horizon), band)


def closes_at(open_time: np.ndarray, close: np.ndarray, step_ms: int, close_ms: np.ndarray
              ) -> np.ndarray:
    """The close of the candle (of a series with these columns) that closed at each of
    ``close_ms``; NaN where that candle is not there."""
    target = close_ms - step_ms
    out = np.full(len(close_ms), np.nan)
    if len(open_time):
        idx = np.clip(np.searchsorted(open_time, target), 0, len(open_time) - 1)
        found = open_time[idx] == target
        out[found] = close[idx[found]]
    return out


def returns_from(open_time: np.ndarray, close: np.ndarray, step_ms: int,
                 label_open_time: np.ndarray, label_close: np.ndarray, label_step_ms: int,
                 horizon_ms: int) -> np.ndarray:
    """log(close ``horizon_ms`` after each candle's close / its close), read from another
    series (the candle of it that closes then); NaN where that candle is not there."""
    later = closes_at(label_open_time, label_close, label_step_ms,
                      open_time + step_ms + horizon_ms)
    with np.errstate(invalid="ignore"):
        return np.log(later / close)


def labels_of(fwd: np.ndarray, band: float) -> tuple[np.ndarray, np.ndarray]:
    """Labels of forward log returns (NaN: ``UNKNOWN``) and the returns."""
    labels = np.full(len(fwd), UNKNOWN, dtype=np.int64)
    known = ~np.isnan(fwd)
    labels[known] = FLAT
    labels[known & (fwd > band)] = UP
    labels[known & (fwd < -band)] = DOWN
    return labels, fwd
