"""The websocket feed: candles pushed by the (fake) Binance kline stream through ccxt.pro;
when the stream drops, the feed falls back to REST polling without a gap, and takes the
stream again once it is back. Time runs 60x faster than the wall (a 1m candle a second)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import RecordingFeedHooks
from tests.support.fake_exchange import FakeExchange
from tests.support.fake_stream import FakeStream
from tests.support.kill_child import ScaledClock
from tradeloop.adapters.market_data.exchange_feed import ExchangeMarketData
from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.app import open_store
from tradeloop.app.exchange import live_parts
from tradeloop.domain.candles import SeriesKey
from tradeloop.engine.candle_book import CandleBook
from tradeloop.ports import CandleClose
from tradeloop.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SPEED = 60.0
KEY = SeriesKey("binance", "BTC/USDT", "1m")
CONFIG = """
symbols: [BTC/USDT]
timeframes: {{intervals: [{{interval: 1m, weight: 1.0}}]}}
exchange: {{name: binance, base_url: '{url}', websocket: true, websocket_url: '{ws}',
           timeout_seconds: 2}}
"""


@pytest.fixture
def exchange() -> Iterator[tuple[FakeExchange, FakeStream]]:
    with FakeExchange() as fx, FakeStream(fx, push_seconds=0.01) as ws:
        yield fx, ws


def klines(fx: FakeExchange) -> int:
    return sum(p.endswith("/klines") for p in fx.requests)


def test_stream_first_rest_while_it_is_down(tmp_path: Path,
                                            exchange: tuple[FakeExchange, FakeStream]) -> None:
    fx, ws = exchange
    t0 = 1_735_689_600_000
    candles, _ = synth_market(1.0, timeframe="1m", seed=4, start_ms=t0 - 43_200_000,
                              start_price=30_000.0)
    fx.add_candles("BTC/USDT", "1m", candles)
    wall0 = time.time()
    clock = ScaledClock(t0, wall0, SPEED)
    fx.clock = clock.now_ms
    (tmp_path / "config.yaml").write_text(CONFIG.format(url=fx.url, ws=ws.url))
    settings = load_settings(tmp_path / "config.yaml", env={})
    store = open_store(settings)
    parts = live_parts(settings, store, clock, "paper")
    feed = parts.feed([KEY], RecordingFeedHooks())
    assert isinstance(feed, ExchangeMarketData) and feed.stream is not None
    book = CandleBook()
    events: list[CandleClose] = []
    closes = feed.closes()

    def collect(n: int) -> None:
        deadline = time.monotonic() + 30
        got = 0
        while got < n:
            assert time.monotonic() < deadline, "the feed stopped delivering candles"
            event = next(closes)
            if event is not None:
                events.append(event)
                got += 1

    try:
        feed.open(book)
        collect(2)  # the stream connects
        rest_before, streamed_before = klines(fx), feed.from_stream
        collect(5)
        assert feed.from_stream - streamed_before >= 3  # most came through the websocket
        assert klines(fx) - rest_before <= 2
        ws.drop()
        rest_before = klines(fx)
        collect(5)
        assert klines(fx) - rest_before >= 4  # REST took over
        assert not feed.stream.connected
        ws.restore()
        deadline = time.monotonic() + 15
        while not feed.stream.connected:  # reconnects with backoff
            assert time.monotonic() < deadline, "the websocket did not reconnect"
            collect(1)
        streamed_before, rest_before = feed.from_stream, klines(fx)
        collect(5)
        assert feed.from_stream - streamed_before >= 3
        assert klines(fx) - rest_before <= 2
    finally:
        feed.close()
        store.close()
    times = [e.close_ms for e in events]
    assert times == list(range(times[0], times[0] + 60_000 * len(times), 60_000))  # no gap
    snap = parts.gateway.snapshot()
    assert snap.ws_uptime is not None and 0.3 < snap.ws_uptime < 1.0
    assert ws.connections >= 2
