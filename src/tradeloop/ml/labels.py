"""Labels: direction of the forward return over a horizon, with a fee-aware dead band."""

from __future__ import annotations

import numpy as np

DOWN, FLAT, UP = 0, 1, 2  # indices into CLASS_NAMES
UNKNOWN = -1


def dead_band(fee_bps: float, slippage_bps: float) -> float:
    """Smallest log return that beats a round trip (two fees and two slippages)."""
    return 2.0 * (fee_bps + slippage_bps) / 10_000.0


def forward_returns(close: np.ndarray, horizon: int) -> np.ndarray:
    """log(close[t + horizon] / close[t]); NaN where the future is not known yet."""
    out = np.full(len(close), np.nan)
    if horizon < len(close):
        out[:-horizon] = np.log(close[horizon:] / close[:-horizon])
    return out


def make_labels(close: np.ndarray, horizon: int, band: float) -> tuple[np.ndarray, np.ndarray]:
    """(labels, forward returns): UP above ``band``, DOWN below ``-band``, else FLAT;
    ``UNKNOWN`` for the last ``horizon`` candles."""
    fwd = forward_returns(close, horizon)
    labels = np.full(len(close), UNKNOWN, dtype=np.int64)
    known = ~np.isnan(fwd)
    labels[known] = FLAT
    labels[known & (fwd > band)] = UP
    labels[known & (fwd < -band)] = DOWN
    return labels, fwd
