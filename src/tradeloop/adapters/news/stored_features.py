"""StoredSentiment: the NewsFeatures port on the ``news`` table (the scores of the configured
sentiment model only; items without a trustworthy publication time never count)."""

from __future__ import annotations

import numpy as np

from tradeloop.adapters.store.news_store import NewsStore
from tradeloop.ml.sentiment_features import SENTIMENT_FEATURES, sentiment_features
from tradeloop.settings.news import NewsSettings

HOUR_MS = 3_600_000


class StoredSentiment:
    """Sentiment features of a symbol's candles from the stored, scored headlines."""

    def __init__(self, store: NewsStore, cfg: NewsSettings) -> None:
        self.store, self.model = store, cfg.sentiment.model
        self.window_ms = int(cfg.features.window_hours * HOUR_MS)
        self.half_life_ms = int(cfg.features.half_life_hours * HOUR_MS)

    def features(self, symbol: str, close_ms: np.ndarray) -> np.ndarray:
        if len(close_ms) == 0:
            return np.zeros((0, len(SENTIMENT_FEATURES)))
        published, scores = self.store.series(symbol, self.model,
                                              int(close_ms.min()) - self.window_ms,
                                              int(close_ms.max()))
        return sentiment_features(close_ms, published, scores, window_ms=self.window_ms,
                                  half_life_ms=self.half_life_ms)
