"""News in the domain and the feature path: duplicates by normalised title, symbols by their
aliases, and sentiment features from items published strictly before each close, unchanged
when later news arrives (no lookahead)."""

from __future__ import annotations

import numpy as np
import pytest

from tradeloop.domain.news import Sentiment, aliases, mentions, normalise_title
from tradeloop.ml.sentiment_features import SENTIMENT_FEATURES, sentiment_features

H = 3_600_000


def test_titles_compare_without_case_accents_or_punctuation() -> None:
    assert normalise_title("Bitcoin  Surges — to a RECORD high!") == \
        normalise_title("bitcoin surges to a record high")
    assert normalise_title("Éther rallies") == "ether rallies"


def test_symbols_are_found_by_ticker_common_name_and_configured_words() -> None:
    words = aliases(["BTC/USDT", "ETH/USDT", "PEPE/USDT"], {"PEPE/USDT": ["frog coin"]})
    assert words["BTC/USDT"] == ("btc", "bitcoin")
    assert mentions("Bitcoin ETF inflows grow", words) == ("BTC/USDT",)
    assert mentions("ETH and the frog coin rally", words) == ("ETH/USDT", "PEPE/USDT")
    assert mentions("Bitcoiners meet; ethereal prices", words) == ()  # whole words only


def test_sentiment_reads_positive_minus_negative() -> None:
    s = Sentiment(0.7, 0.2, 0.1)
    assert s.score == pytest.approx(0.5) and s.label == "positive"


def test_features_use_only_items_published_before_the_close() -> None:
    closes = np.array([10 * H, 11 * H, 40 * H])
    pub = np.array([9 * H, 10 * H, 10 * H + 1])  # one exactly at the first close
    scores = np.array([0.8, -0.6, 0.4])
    f = sentiment_features(closes, pub, scores, window_ms=24 * H, half_life_ms=6 * H)
    assert f.shape == (3, len(SENTIMENT_FEATURES))
    assert f[0, 0] == pytest.approx(np.log1p(1)) and f[0, 1] == pytest.approx(0.8)
    assert f[1, 0] == pytest.approx(np.log1p(3))
    assert f[1, 1] == pytest.approx((0.8 - 0.6 + 0.4) / 3)
    assert f[1, 3] == pytest.approx(2 / 3) and f[1, 4] == pytest.approx(1 / 3)
    # the decayed mean weighs the newest most: between the oldest's and the newest's
    w = np.exp(-np.log(2) / (6 * H) * (11 * H - pub))
    assert f[1, 2] == pytest.approx(float(np.dot(w, scores) / w.sum()))
    assert (f[2] == 0.0).all()  # nothing in the last 24 h: no news, not neutral news


def test_features_at_t_do_not_change_when_later_news_is_added() -> None:
    rng = np.random.default_rng(3)
    closes = np.arange(1, 500) * H
    pub = np.sort(rng.integers(0, 400 * H, 300))
    scores = rng.uniform(-1, 1, 300)
    before = sentiment_features(closes, pub, scores, window_ms=24 * H, half_life_ms=6 * H)
    later = np.sort(rng.integers(300 * H, 600 * H, 200))
    allpub = np.concatenate([pub, later])
    order = np.argsort(allpub, kind="stable")
    after = sentiment_features(closes, allpub[order],
                               np.concatenate([scores, rng.uniform(-1, 1, 200)])[order],
                               window_ms=24 * H, half_life_ms=6 * H)
    cut = int(np.searchsorted(closes, later.min(), side="right"))
    assert cut > 200
    np.testing.assert_array_equal(before[:cut], after[:cut])
    assert not np.array_equal(before[cut:], after[cut:])


def test_the_session_news_job_runs_off_the_loop_and_a_failed_round_is_recorded() -> None:
    import threading

    from tests.fakes import MemoryStore
    from tradeloop.deploy.news_job import NewsJob

    calls: list[str] = []
    release = threading.Event()

    def fetch() -> str:
        calls.append(threading.current_thread().name)
        release.wait(5)
        if len(calls) == 2:
            raise RuntimeError("feed down")
        return "3 items, 1 new, 1 scored"

    store = MemoryStore()
    job = NewsJob(fetch, 15 * 60_000, store)
    job.step(0)  # the first round starts at once, on the job's thread
    job.step(1000)  # still running: the loop goes on, no second round
    release.set()
    for _ in range(500):
        job.step(2000)
        if job.rounds:
            break
        threading.Event().wait(0.01)
    assert job.rounds == 1 and calls == [calls[0]] and calls[0].startswith("news")
    job.step(15 * 60_000)  # due again: a round that fails
    for _ in range(500):
        job.step(15 * 60_000 + 1)
        if job.rounds == 2:
            break
        threading.Event().wait(0.01)
    assert store.errors == [("RuntimeError", "news: feed down")]
    job.close()


def test_a_model_reads_sentiment_only_when_configured_and_never_without_news() -> None:
    from tests.fakes import MemoryNews
    from tradeloop.domain.errors import ModelError
    from tradeloop.ml.features import FEATURE_NAMES
    from tradeloop.ml.training_job import inputs
    from tradeloop.settings import Settings

    off = Settings()
    on = off.rebuilt({**off.model_dump(), "model": {**off.model.model_dump(),
                                                    "features": {"sentiment": True}}})
    news = MemoryNews("tiny")
    news.add("BTC/USDT", 5 * H, 0.9)
    closes = np.array([5 * H, 6 * H])
    assert inputs(off, news, "BTC/USDT", closes) == (list(FEATURE_NAMES), None)
    names, extra = inputs(on, news, "BTC/USDT", closes)
    assert names[-5:] == list(SENTIMENT_FEATURES) and extra is not None
    assert extra[0, 0] == 0.0 and extra[1, 1] == pytest.approx(0.9)
    with pytest.raises(ModelError, match="no news sentiment is available"):
        inputs(on, None, "BTC/USDT", closes)
