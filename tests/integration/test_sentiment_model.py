"""Models with news sentiment inputs: trained from the scored news on record (the feature
list and the sentiment model recorded in the model file), served only with the same model's
scores, refused otherwise; training without news when the config asks for it is an error."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.adapters.news.stored_features import StoredSentiment
from tradeloop.adapters.news.synthetic import planted_news
from tradeloop.adapters.registry.local_registry import LocalRegistry
from tradeloop.adapters.store.candle_store import CandleStore
from tradeloop.adapters.store.news_store import NewsStore
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.errors import ModelError
from tradeloop.domain.news import NewsItem, Sentiment
from tradeloop.ml.model_file import ModelArtifact
from tradeloop.ml.predictor import ChampionPredictor
from tradeloop.ml.sentiment_features import SENTIMENT_FEATURES
from tradeloop.ml.training_job import train_series
from tradeloop.settings import Settings, load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
CONFIG = """
exchange: {name: synthetic}
symbols: [SYN/USDT]
timeframes: {intervals: [{interval: 1h, weight: 1.0}]}
continuous_learning: {retraining: {max_epochs: 3, patience: 2}}
model: {min_samples: 400, max_train_candles: 3000, features: {sentiment: true}}
news: {sentiment: {model: tiny-test-model}}
"""


def store_news(engine: Engine, published: list[int], scores: list[float], model: str) -> None:
    news = NewsStore(engine)
    news.add([NewsItem("synthetic", f"n{t}", "", f"headline {t}", "", int(t), int(t),
                       ("SYN/USDT",)) for i, t in enumerate(published)])
    ids = [nid for nid, _ in news.unscored(100_000)]
    news.score([(nid, Sentiment(max(s, 0), max(-s, 0), 1 - abs(s)))
                for nid, s in zip(ids, scores, strict=True)], model, "r1", 0)


def test_a_model_trained_on_sentiment_is_served_only_with_the_same_scores(
        tmp_path: Path, sqlite_store: CandleStore) -> None:
    (tmp_path / "config.yaml").write_text(CONFIG)
    settings: Settings = load_settings(tmp_path / "config.yaml", env={})
    candles, _ = synth_market(150, timeframe="1h", seed=5)
    sqlite_store.write(SeriesKey("synthetic", "SYN/USDT", "1h"), candles)
    pub, scores = planted_news(candles, 3_600_000, 4, informative=True, seed=1)
    store_news(sqlite_store.engine, pub.tolist(), scores.tolist(), "tiny-test-model")
    registry = LocalRegistry(tmp_path / "models")
    with pytest.raises(ModelError, match=r"model\.features\.sentiment is on"):
        train_series(settings, sqlite_store, registry, "SYN/USDT", "1h")
    news = StoredSentiment(NewsStore(sqlite_store.engine), settings.news)
    res = train_series(settings, sqlite_store, registry, "SYN/USDT", "1h", news=news)
    art = ModelArtifact.load(res.model_path)
    assert art.feature_names[-len(SENTIMENT_FEATURES):] == list(SENTIMENT_FEATURES)
    assert art.sentiment_model == "tiny-test-model" and art.uses_sentiment
    window = candles.take(slice(len(candles) - 200, None))
    served = ChampionPredictor(registry.files, news)
    before = served.predict("SYN/USDT", "1h", window)
    assert before is not None, served.errors
    # news published after the window's last close (even at that very millisecond) does not
    # change the prediction made at it: no lookahead through the news
    close = int(window.open_time[-1]) + 3_600_000
    store_news(sqlite_store.engine, [close, close + 60_000], [1.0, -1.0], "tiny-test-model")
    again = served.predict("SYN/USDT", "1h", window)
    assert again is not None and again.probabilities == before.probabilities
    blind = ChampionPredictor(registry.files)  # no news configured where it is served
    assert blind.predict("SYN/USDT", "1h", window) is None
    assert "uses news sentiment features" in blind.errors[("SYN/USDT", "1h")]
    other = StoredSentiment(NewsStore(sqlite_store.engine), settings.news.model_copy(
        update={"sentiment": settings.news.sentiment.model_copy(update={"model": "finbert"})}))
    wrong = ChampionPredictor(registry.files, other)
    assert wrong.predict("SYN/USDT", "1h", window) is None
    assert "trained on scores of 'tiny-test-model'" in wrong.errors[("SYN/USDT", "1h")]
