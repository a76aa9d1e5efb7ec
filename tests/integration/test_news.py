"""News in, end to end against the loopback feeds: RSS, Atom and CryptoPanic through the one
HTTP edge (a 503 retried, a 401 reported without its token), stored once each (by URL and by
normalised title), symbols matched by their aliases, scored by a tiny local transformers
model through the real ``from_pretrained`` path with its id and revision; CSV imports with
bad rows rejected with reasons; a model that cannot be loaded leaves the items unscored and
says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support.fake_news import FakeNews
from tests.support.tiny_sentiment import build
from tradeloop.adapters.store.schema import ErrorLogRow, NewsRow
from tradeloop.app import open_store
from tradeloop.app.news import news_features
from tradeloop.cli import main as cli
from tradeloop.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
TOKEN = "cp-secret-token-424242"
T1, T2, T3 = 1_717_200_000_000, 1_717_203_600_000, 1_717_207_200_000  # 2024-06-01 00:00 ..
CONFIG = """
symbols: [BTC/USDT, ETH/USDT]
timeframes: {{intervals: [{{interval: 1h, weight: 1.0}}]}}
news:
  feeds: ['{url}/feed.xml', '{url}/atom.xml']
  cryptopanic: {{enabled: true, base_url: '{url}'}}
  aliases: {{ETH/USDT: [eth]}}
  max_retries: 2
  sentiment: {{model: '{model}', local_files_only: true}}
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("tiny-sentiment"))


@pytest.fixture
def news() -> Iterator[FakeNews]:
    with FakeNews(TOKEN) as fake:
        fake.rss = [
            {"title": "Bitcoin surges to a record high", "link": "https://n.test/a",
             "published": T1, "summary": "<p>demand</p>"},
            {"title": "Ether plunges after hack", "link": "https://n.test/b",
             "published": T2},
            {"title": "Crypto exchange publishes report", "link": "https://n.test/c"},
        ]
        fake.atom = [
            {"title": "BITCOIN surges to a record high!", "link": "https://other.test/a",
             "published": T1},  # the same story elsewhere: a duplicate
            {"title": "Solana foundation names director", "link": "https://other.test/s",
             "published": T2},
        ]
        fake.posts = [{"id": 7, "title": "Buyers return as rally grows", "url":
                       "https://cp.test/7", "published": T3, "currencies": ["ETH"]}]
        yield fake


def config(tmp_path: Path, news: FakeNews, model: Path) -> Path:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(CONFIG.format(url=news.url, model=model))
    return cfg


def rows(cfg: Path) -> dict[str, NewsRow]:
    store = open_store(load_settings(cfg, env={}))
    try:
        with store.engine.connect() as conn:
            return {r.title: r for r in conn.execute(select(NewsRow)).all()}
    finally:
        store.close()


def test_fetch_stores_each_story_once_with_its_symbols_and_scores(
        tmp_path: Path, news: FakeNews, model: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, news, model)
    monkeypatch.setenv("CRYPTOPANIC_TOKEN", TOKEN)
    news.fault("/feed.xml", 503)  # unavailable once: retried
    assert cli(["--config", str(cfg), "news", "fetch"]) == 0
    out = capsys.readouterr().out
    assert "6 items, 5 new, 1 duplicates" in out and "scored 5 headlines" in out
    assert news.requests.count("/feed.xml") == 2
    assert "4 requests, 1 failed, 1 retried, circuit closed" in out
    got = rows(cfg)
    assert set(got) == {"Bitcoin surges to a record high", "Ether plunges after hack",
                        "Crypto exchange publishes report", "Solana foundation names director",
                        "Buyers return as rally grows"}
    assert got["Bitcoin surges to a record high"].symbols == ",BTC/USDT,"
    assert got["Ether plunges after hack"].symbols == ",ETH/USDT,"  # the common name
    assert got["Buyers return as rally grows"].symbols == ",ETH/USDT,"  # tagged by the API
    assert got["Solana foundation names director"].symbols == ","  # not a configured symbol
    assert got["Crypto exchange publishes report"].published_at is None  # kept, undated
    assert got["Bitcoin surges to a record high"].summary == "demand"
    assert all(r.model == str(model) and r.model_revision == "local" for r in got.values())
    assert got["Bitcoin surges to a record high"].sentiment > 0.3
    assert got["Ether plunges after hack"].sentiment < -0.3
    assert cli(["--config", str(cfg), "news", "fetch"]) == 0  # nothing new the second time
    assert "6 items, 0 new, 6 duplicates" in capsys.readouterr().out
    # the features read dated, scored items from when they were available here (fetched
    # and scored: a live session could not have known them earlier)
    settings = load_settings(cfg, env={})
    store = open_store(settings)
    feats = news_features(settings, store)
    assert feats is not None
    import numpy as np

    from tradeloop.domain.timestamps import ms_of

    btc = got["Bitcoin surges to a record high"]
    assert btc.historical is False and btc.available_at >= btc.scored_at >= btc.fetched_at
    known = ms_of(btc.available_at)
    f = feats.features("BTC/USDT", np.array([T1 + 3_600_000, known, known + 1]))
    assert f[0, 0] == 0.0 and f[1, 0] == 0.0  # published then, but not yet known here
    assert f[2, 0] == pytest.approx(np.log(2)) and f[2, 1] > 0.3
    assert not feats.features("BTC/USDT", np.array([known - 1]))[0].any()
    # the pre-deployment check: scored headlines of every symbol within news.fresh_hours
    from tradeloop.app.rollout import sentiment_check

    ok = sentiment_check(settings, store, ["BTC/USDT", "ETH/USDT"], known + 3_600_000)
    assert ok.passed and "fresh for BTC/USDT, ETH/USDT" in ok.detail
    late = sentiment_check(settings, store, ["BTC/USDT", "ETH/USDT"], known + 7 * 3_600_000)
    assert not late.passed and "in the last 6 h for BTC/USDT" in late.detail
    early = sentiment_check(settings, store, ["BTC/USDT"], known - 60_000)
    assert not early.passed  # a replay starting before the news was known: not fresh
    # the monitor's JSON report: what the models read in the last 24 h
    from tradeloop.adapters.store.monitor_queries import news_summary
    from tradeloop.domain.timestamps import ts

    summary = news_summary(store.engine, settings, ["BTC/USDT", "ETH/USDT"],
                           ts(known + 60_000))
    assert summary is not None and summary["symbols"]["ETH/USDT"]["items"] == 2
    assert summary["symbols"]["BTC/USDT"]["mean"] > 0.3
    store.close()
    assert cli(["--config", str(cfg), "news", "status"]) == 0
    status = capsys.readouterr().out
    assert "5 headlines stored (1 without a trustworthy time)" in status
    assert "Fake Coin News" in status and "cryptopanic" in status


def test_a_refused_token_and_a_page_that_is_no_feed_are_reported_without_secrets(
        tmp_path: Path, news: FakeNews, model: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(CONFIG.format(url=news.url, model=model).replace(
        f"'{news.url}/atom.xml'", f"'{news.url}/not-a-feed'"))
    monkeypatch.setenv("CRYPTOPANIC_TOKEN", "cp-wrong-token-000000")
    assert cli(["--config", str(cfg), "news", "fetch"]) == 3  # partial: the others stored
    err = capsys.readouterr().err
    assert "cryptopanic" in err and "HTTP 401" in err and "cp-wrong-token" not in err
    assert "not an RSS/Atom feed" in err
    assert len(rows(cfg)) == 3  # the RSS feed's items


def test_import_rejects_bad_rows_with_reasons_and_keeps_the_good_ones(
        tmp_path: Path, news: FakeNews, model: Path, capsys: pytest.CaptureFixture[str]
        ) -> None:
    cfg = config(tmp_path, news, model)
    csv = tmp_path / "headlines.csv"
    csv.write_text("published_at,title,url,symbols\n"
                   "2024-03-01T12:30:00Z,Bitcoin rallies as buyers return,https://h.test/1,\n"
                   "2024-03-01 12:30:00,No zone here,https://h.test/2,\n"
                   "1709296200000,Ether slides on bearish outlook,,ETH/USDT\n"
                   "2024-03-02T00:00:00+00:00,Doge moons,https://h.test/4,DOGE/USDT\n"
                   ",Undated headline about bitcoin,https://h.test/5,\n"
                   "2024-03-03T00:00:00Z,,https://h.test/6,\n")
    assert cli(["--config", str(cfg), "news", "import", str(csv)]) == 3
    captured = capsys.readouterr()
    assert "6 items" not in captured.out and "3 items, 3 new" in captured.out
    assert "line 3: published_at '2024-03-01 12:30:00' has no time zone" in captured.err
    assert "line 5: symbol(s) DOGE/USDT not configured" in captured.err
    assert "line 7: empty title" in captured.err
    got = rows(cfg)
    assert got["Ether slides on bearish outlook"].symbols == ",ETH/USDT,"
    # history: available from when it was published (not from the import)
    assert got["Ether slides on bearish outlook"].historical
    assert got["Ether slides on bearish outlook"].available_at == \
        got["Ether slides on bearish outlook"].published_at
    assert got["Bitcoin rallies as buyers return"].source == "headlines"
    assert got["Undated headline about bitcoin"].published_at is None
    assert cli(["--config", str(cfg), "news", "import", str(csv)]) == 3
    assert "0 new, 3 duplicates" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli(["news", "import", "-h"])
    assert "published_at (ISO-8601 with a time zone" in capsys.readouterr().out


def test_a_model_that_cannot_be_loaded_leaves_items_unscored_and_says_why(
        tmp_path: Path, news: FakeNews, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, news, tmp_path / "no-such-model")
    monkeypatch.setenv("CRYPTOPANIC_TOKEN", TOKEN)
    assert cli(["--config", str(cfg), "news", "fetch"]) == 3
    err = capsys.readouterr().err
    assert "not scored: sentiment model" in err and "cannot be loaded" in err
    assert "sentiment features are off" in err
    got = rows(cfg)
    assert len(got) == 5 and all(r.sentiment is None for r in got.values())  # never neutral
    store = open_store(load_settings(cfg, env={}))
    with store.engine.connect() as conn:
        assert not conn.execute(select(ErrorLogRow)).all()
    store.close()


def test_a_model_whose_classes_are_not_sentiments_is_refused(tmp_path: Path) -> None:
    from tradeloop.adapters.news.scorer import TransformersScorer
    from tradeloop.domain.errors import SentimentModelError

    generic = build(tmp_path / "generic", steps=1,
                    labels={0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"})
    with pytest.raises(SentimentModelError, match="each must read as positive, negative"):
        TransformersScorer(str(generic), local_files_only=True).score(["bitcoin rallies"])


def test_the_news_store_on_sqlite_and_postgresql(db_url: str) -> None:
    """Duplicates skipped by the database itself (also beside another writer), scores with
    their model, and the feature series by availability, on both databases."""
    import numpy as np

    from tradeloop.adapters.news.stored_features import StoredSentiment
    from tradeloop.adapters.store import database
    from tradeloop.adapters.store.news_store import NewsStore
    from tradeloop.domain.news import NewsItem, Sentiment
    from tradeloop.settings.news import NewsSettings

    engine = database.make_engine(db_url)
    database.upgrade(engine)
    a, b = NewsStore(engine), NewsStore(engine)  # two writers
    item = NewsItem("wire", "https://n.test/1", "https://n.test/1", "Bitcoin rallies", "",
                    T1, T1 + 60_000, ("BTC/USDT",))
    assert a.add([item]) == (1, 0)
    assert b.add([item, NewsItem("other", "https://o.test/9", "", "BITCOIN rallies!", "",
                                 T2, T2, ("BTC/USDT",))]) == (0, 2)
    assert a.add([NewsItem("wire", "u2", "", "Ether slides", "", T2, T2, ("ETH/USDT",))],
                 historical=True) == (1, 0)
    pending = a.unscored()
    a.score([(nid, Sentiment(0.9, 0.05, 0.05)) for nid, _ in pending], "m", "r", T1 + 120_000)
    feats = StoredSentiment(a, NewsSettings.model_validate(
        {"sentiment": {"model": "m"}})).features("BTC/USDT", np.array([T1 + 120_000,
                                                                     T1 + 120_001]))
    assert feats[0, 0] == 0.0 and feats[1, 1] == pytest.approx(0.85)  # known once scored
    pub, _ = a.series("ETH/USDT", "m")
    assert pub.tolist() == [T2]  # an import: from its publication
    engine.dispose()
