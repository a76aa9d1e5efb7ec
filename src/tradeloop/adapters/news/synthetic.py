"""Synthetic news for the tests and the A/B benchmark: headlines' sentiment scores beside a
synthetic market. ``informative``: each item's score leans toward the direction the market
moves over the ``horizon`` bars after the candle it is published in (a planted edge, as news
that moves prices would); otherwise scores are independent of the market (no edge)."""

from __future__ import annotations

import numpy as np

from tradeloop.domain.candles import CandleArrays


def planted_news(candles: CandleArrays, step_ms: int, horizon: int, *, informative: bool,
                 rate: float = 0.5, strength: float = 0.6, seed: int = 0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(published ms ascending, scores in [-1, 1]): about ``rate`` items per candle, each
    published inside its candle (before the close)."""
    rng = np.random.default_rng(seed)
    n = len(candles)
    close = candles.close
    fwd = np.zeros(n)
    fwd[:-horizon] = np.sign(close[horizon:] - close[:-horizon])
    which = np.flatnonzero(rng.random(n) < rate)
    published = candles.open_time[which] + rng.integers(1, step_ms - 1, len(which))
    noise = rng.normal(0.0, 0.5, len(which))
    lean = strength * fwd[which] if informative else 0.0
    scores = np.clip(lean + noise, -1.0, 1.0)
    order = np.argsort(published, kind="stable")
    return published[order].astype(np.int64), scores[order]
