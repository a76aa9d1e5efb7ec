"""Vectorised indicators of the rule strategies, each value of a candle computed from a
bounded window ending at it: the arrays a strategy precomputes for a whole series at preload
equal, value for value, the ones computed from the live window."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tradeloop.domain.candles import CandleArrays

EMA_SPANS = 2  # EMAs are truncated at this many spans (< 2 % of the weight dropped)


def ema(x: np.ndarray, span: int) -> np.ndarray:
    """EMA of ``span`` over the last ``EMA_SPANS * span`` values (weights renormalised); NaN
    until that many values exist."""
    w = EMA_SPANS * span
    out = np.full(len(x), np.nan)
    if len(x) >= w:
        r = 1.0 - 2.0 / (span + 1.0)
        weights = r ** np.arange(w)
        out[w - 1:] = np.convolve(x, weights / weights.sum(), mode="valid")
    return out


def rolling(x: np.ndarray, w: int, fn: str) -> np.ndarray:
    """Rolling ``mean``/``std`` (population)/``max``/``min`` over ``w`` values ending at each
    one (NaN before)."""
    out = np.full(len(x), np.nan)
    if len(x) >= w:
        view = sliding_window_view(np.asarray(x, dtype=np.float64), w)
        out[w - 1:] = getattr(view, fn)(axis=1)
    return out


def previous(x: np.ndarray, k: int = 1) -> np.ndarray:
    """``x`` shifted ``k`` values later (NaN for the first ``k``)."""
    out = np.full(len(x), np.nan)
    if len(x) > k:
        out[k:] = x[:-k]
    return out


def true_range(c: CandleArrays) -> np.ndarray:
    """True range per candle (the first candle's is its high - low)."""
    prev = previous(c.close.astype(float))
    tr = np.fmax(c.high - c.low, np.fmax(np.abs(c.high - prev), np.abs(c.low - prev)))
    if len(c):
        tr[0] = c.high[0] - c.low[0]
    return np.asarray(tr, dtype=np.float64)
