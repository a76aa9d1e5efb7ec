"""News composition: sources through one HTTP edge, the sentiment scorer, the features the
models read, and the operations behind ``tradeloop news`` and a session's news job."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradeloop.adapters.exchange.rate_limit import RateLimiter
from tradeloop.adapters.news.csv_import import read_news_csv
from tradeloop.adapters.news.http_client import NewsHttp
from tradeloop.adapters.news.scorer import TransformersScorer
from tradeloop.adapters.news.sources import NewsSources
from tradeloop.adapters.news.stored_features import StoredSentiment
from tradeloop.adapters.store.news_store import NewsStore
from tradeloop.domain.errors import SentimentModelError
from tradeloop.domain.news import aliases, fresh
from tradeloop.ports import Clock, StoreHandle
from tradeloop.settings import Settings

log = logging.getLogger("tradeloop.news")
BATCH = 256  # headlines scored per database round trip


def words(settings: Settings) -> dict[str, tuple[str, ...]]:
    return aliases(settings.symbols, settings.news.aliases)


def news_sources(settings: Settings, clock: Clock) -> NewsSources:
    n = settings.news
    http = NewsHttp(clock, timeout_seconds=n.timeout_seconds,
                    limiter=RateLimiter(n.rate_limit_per_minute, clock, burst=2),
                    breaker_failures=n.circuit_breaker_failures,
                    breaker_cooldown_seconds=n.circuit_breaker_cooldown_seconds,
                    max_retries=n.max_retries)
    token = settings.secrets.cryptopanic_token
    currencies = n.cryptopanic.currencies or sorted({s.split("/")[0] for s in settings.symbols})
    return NewsSources(http, n.feeds, words(settings),
                       cryptopanic_url=n.cryptopanic.base_url if n.cryptopanic.enabled else None,
                       token=token.get_secret_value() if token else None,
                       currencies=currencies)


def sentiment_scorer(settings: Settings) -> TransformersScorer:
    s = settings.news.sentiment
    return TransformersScorer(s.model, s.revision, batch_size=s.batch_size,
                              max_length=s.max_length, local_files_only=s.local_files_only)


def news_features(settings: Settings, handle: StoreHandle) -> StoredSentiment | None:
    """The sentiment features of the stored news (None: news is neither configured nor
    used by the models)."""
    if not (settings.model.features.sentiment or settings.news.configured):
        return None
    return StoredSentiment(NewsStore(handle.engine), settings.news)


@dataclass
class NewsRound:
    """What one fetch or import did."""

    items: int = 0
    added: int = 0
    duplicates: int = 0
    scored: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # by source
    rejected: list[str] = field(default_factory=list)  # import: "line N: why"
    score_error: str | None = None  # the sentiment model could not score
    requests: str = ""  # the HTTP edge's counters (a fetch)


def score_pending(settings: Settings, handle: StoreHandle, clock: Clock,
                  scorer: TransformersScorer | None = None) -> tuple[int, str | None]:
    """Score every stored item the configured model has not scored; (scored, error)."""
    store = NewsStore(handle.engine)
    scorer = scorer or sentiment_scorer(settings)
    done = 0
    try:
        while batch := store.unscored(BATCH, scorer.model):
            scores = scorer.score([text for _, text in batch])
            store.score([(nid, s) for (nid, _), s in zip(batch, scores, strict=True)],
                        scorer.model, scorer.revision, clock.now_ms())
            done += len(batch)
    except SentimentModelError as exc:
        log.warning("news: %s", exc)
        return done, str(exc)
    return done, None


def fetch_news(settings: Settings, handle: StoreHandle, clock: Clock, *, score: bool = True,
               scorer: TransformersScorer | None = None, sources: NewsSources | None = None
               ) -> NewsRound:
    """One round over every configured source, stored once each, then scored (``sources``:
    a session's, kept across rounds so its rate limit and circuit breakers span them)."""
    sources = sources or news_sources(settings, clock)
    fetched = sources.fetch()
    added, dup = NewsStore(handle.engine).add(fetched.items)
    m = sources.http.snapshot()
    out = NewsRound(len(fetched.items), added, dup, errors=fetched.errors,
                    requests=f"{m.requests} requests, {m.errors} failed, {m.retries} retried, "
                             f"circuit {m.circuit_state}")
    if score:
        out.scored, out.score_error = score_pending(settings, handle, clock, scorer)
    return out


def import_news(settings: Settings, handle: StoreHandle, path: Path, clock: Clock, *,
                score: bool = True, scorer: TransformersScorer | None = None) -> NewsRound:
    items, rejected = read_news_csv(path, words(settings), clock.now_ms())
    added, dup = NewsStore(handle.engine).add(items, historical=True)
    out = NewsRound(len(items), added, dup, rejected=rejected)
    if score:
        out.scored, out.score_error = score_pending(settings, handle, clock, scorer)
    return out


def headlines(handle: StoreHandle, symbol: str | None = None, limit: int = 50
              ) -> list[dict[str, Any]]:
    """The newest stored headlines (of ``symbol``) with their scores."""
    return NewsStore(handle.engine).headlines(symbol, limit)


def news_status(settings: Settings, handle: StoreHandle, now_ms: int) -> dict[str, Any]:
    """Sources, counts and freshness per symbol (the CLI, the checks, the reports)."""
    store = NewsStore(handle.engine)
    n = settings.news
    per_symbol = {}
    for s in settings.symbols:
        newest = store.newest(s, n.sentiment.model, now_ms)
        per_symbol[s] = {"newest_scored_ms": newest,
                         "fresh": fresh(newest, now_ms, n.fresh_hours)}
    return {"configured": settings.news.configured,
            "features_on": settings.model.features.sentiment,
            "model": settings.news.sentiment.model,
            "sources": [s.__dict__ for s in store.sources()],
            "items": store.count(), "undated": store.count(undated=True),
            "unscored": store.count(unscored_by=n.sentiment.model),
            "symbols": per_symbol, "fresh_hours": settings.news.fresh_hours}


@dataclass
class SentimentView:
    """A symbol's news for the dashboard: the newest headlines with their scores and the
    decayed sentiment at each candle close of the window beside the price."""

    headlines: list[dict[str, Any]]
    times_ms: list[int]
    price: list[float]
    decayed: list[float]
    count: list[float]
    model: str


def sentiment_view(settings: Settings, handle: StoreHandle, symbol: str, since_ms: int,
                   now_ms: int, limit: int = 30) -> SentimentView:
    import numpy as np

    from tradeloop.domain.candles import SeriesKey
    from tradeloop.domain.timeframes import Timeframe

    store = NewsStore(handle.engine)
    tf = max(settings.timeframes.names, key=lambda t: Timeframe.parse(t).ms)  # the coarsest
    step = Timeframe.parse(tf).ms
    candles = handle.candles.load(SeriesKey(settings.exchange.name, symbol, tf),
                                  since_ms, now_ms)
    closes = candles.open_time + step
    feats = StoredSentiment(store, settings.news).features(symbol, closes) if len(closes) \
        else np.zeros((0, 5))
    return SentimentView(store.headlines(symbol, limit), closes.tolist(),
                         candles.close.tolist(), feats[:, 2].tolist(),
                         np.expm1(feats[:, 0]).tolist(), settings.news.sentiment.model)
