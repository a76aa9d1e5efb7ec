"""Sentiment features per (symbol, candle), from news items published strictly before the
candle closed (so a feature at ``t`` never changes when later news arrives): in the last
``window`` the number of items (log1p), their mean score, the exponentially decayed score
(half-life ``half_life``; 0 without items), and the shares of positive and negative items
(score beyond +/- ``POLARITY``)."""

from __future__ import annotations

import numpy as np

from tradeloop.ports import NewsFeatures

SENTIMENT_FEATURES: tuple[str, ...] = ("news_count", "news_mean", "news_decayed",
                                       "news_pos_share", "news_neg_share")
POLARITY = 0.2  # a score beyond this counts as positive / negative
MIN_COVERAGE = 0.25  # of a training window's candles with news before them


def mismatch(trained: tuple[str, int, int], here: NewsFeatures | None) -> str | None:
    """Why a model whose sentiment features were computed with ``trained`` (model,
    window, half-life) cannot be served with ``here``'s features (None: it can)."""
    model, window, half_life = trained
    if here is None:
        return "no news sentiment is configured here"
    if here.model != model:
        return f"trained on scores of {model!r}, the news here is scored by {here.model!r}"
    if (here.window_ms, here.half_life_ms) != (window, half_life):
        return (f"trained with a {window / 3.6e6:g} h window and a {half_life / 3.6e6:g} h "
                f"half-life, configured here: {here.window_ms / 3.6e6:g} h and "
                f"{here.half_life_ms / 3.6e6:g} h")
    return None


def sentiment_features(close_ms: np.ndarray, published_ms: np.ndarray, scores: np.ndarray,
                       *, window_ms: int, half_life_ms: int) -> np.ndarray:
    """(n candles, 5) features; ``published_ms`` sorted ascending with ``scores``."""
    n = len(close_ms)
    out = np.zeros((n, len(SENTIMENT_FEATURES)), dtype=np.float64)
    if n == 0 or len(published_ms) == 0:
        return out
    pub = np.asarray(published_ms, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    close = np.asarray(close_ms, dtype=np.int64)
    hi = np.searchsorted(pub, close, side="left")  # strictly before the close
    lo = np.searchsorted(pub, close - window_ms, side="left")
    csum = np.concatenate([[0.0], np.cumsum(s)])
    cpos = np.concatenate([[0], np.cumsum(s > POLARITY)])
    cneg = np.concatenate([[0], np.cumsum(s < -POLARITY)])
    count = (hi - lo).astype(np.float64)
    has = count > 0
    safe = np.where(has, count, 1.0)
    out[:, 0] = np.log1p(count)
    out[:, 1] = np.where(has, (csum[hi] - csum[lo]) / safe, 0.0)
    out[:, 3] = np.where(has, (cpos[hi] - cpos[lo]) / safe, 0.0)
    out[:, 4] = np.where(has, (cneg[hi] - cneg[lo]) / safe, 0.0)
    rate = np.log(2.0) / half_life_ms
    for i in np.flatnonzero(has):  # items in the window only: bounded work per candle
        w = np.exp(-rate * (close[i] - pub[lo[i]:hi[i]]))
        out[i, 2] = float(np.dot(w, s[lo[i]:hi[i]]) / w.sum())
    return out
