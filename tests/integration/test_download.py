"""`tradeloop data download` with the real ccxt client against a loopback fake Binance."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.support.fake_exchange import FakeExchange
from tradeloop.adapters.clock import SimClock, WallClock
from tradeloop.adapters.exchange.ccxt_client import make_exchange
from tradeloop.adapters.exchange.rate_limit import RateLimiter
from tradeloop.adapters.market_data.downloader import download
from tradeloop.adapters.market_data.synthetic import DEFAULT_START_MS, synth_market
from tradeloop.adapters.store.candle_store import CandleStore
from tradeloop.cli import main
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.errors import TransientExchangeError, UnknownSymbolError
from tradeloop.settings import ExchangeSettings

DAY = 86_400_000
KEY = SeriesKey("binance", "BTC/USDT", "1m")
CANDLES, _ = synth_market(4, seed=11)


@pytest.fixture
def fx() -> Iterator[FakeExchange]:
    with FakeExchange() as fake:
        fake.add_candles("BTC/USDT", "1m", CANDLES)
        yield fake


def client(fx: FakeExchange) -> object:
    return make_exchange(ExchangeSettings(base_url=fx.url, timeout_seconds=1))


def test_cli_download_pages_and_resumes(project: Path, fx: FakeExchange,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = project / "config.yaml"
    cfg.write_text(cfg.read_text().replace("exchange: {", f"exchange: {{base_url: '{fx.url}', "))
    args = ["--config", str(cfg), "data", "download", "--exchange", "binance", "--symbol",
            "BTC/USDT", "--timeframe", "1m", "--since", "2024-01-01", "--until", "2024-01-03"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "2,880 candles fetched in 3 pages" in out and "2,880 new or changed" in out
    klines = fx.requests.count("/api/v3/klines")
    args[-1] = "2024-01-04"
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "resumed after the last stored candle: from 2024-01-03 00:00" in out
    assert "1,440 candles fetched in 2 pages" in out
    assert fx.requests.count("/api/v3/klines") - klines == 2
    main(["--config", str(cfg), "data", "status"])
    assert "2024-01-01 00:00" in capsys.readouterr().out


@pytest.mark.parametrize("fault", ["429", "500", "503", "reset", "timeout", "shuffle",
                                   "duplicate"])
def test_faults_are_retried_and_nothing_is_lost_or_doubled(
    sqlite_store: CandleStore, fx: FakeExchange, fault: str
) -> None:
    fx.faults.extend([fault, "ok", fault])
    clock = SimClock(DEFAULT_START_MS + 10 * DAY)
    res = download(client(fx), sqlite_store, KEY, since_ms=DEFAULT_START_MS,
                   until_ms=DEFAULT_START_MS + 3 * DAY, clock=clock, max_retries=3)
    back = sqlite_store.load(KEY)
    np.testing.assert_array_equal(back.open_time, CANDLES.open_time[: 3 * 1440])
    np.testing.assert_array_equal(back.close, CANDLES.close[: 3 * 1440])
    if fault in ("shuffle", "duplicate"):
        assert res.retries == 0
    else:
        assert res.retries == 2
    if fault == "duplicate":
        assert res.report.counts == {"duplicate_timestamp": 2}


def test_persistent_failure_gives_up_clearly_and_keeps_earlier_pages(
    sqlite_store: CandleStore, fx: FakeExchange
) -> None:
    fx.faults.extend(["ok", "500", "500", "500"])
    with pytest.raises(TransientExchangeError, match="gave up after 3 attempts"):
        download(client(fx), sqlite_store, KEY, since_ms=DEFAULT_START_MS,
                 until_ms=DEFAULT_START_MS + 3 * DAY, clock=SimClock(DEFAULT_START_MS + 9 * DAY),
                 max_retries=2)
    assert sqlite_store.count(KEY) == 1000  # the first page was committed
    res = download(client(fx), sqlite_store, KEY, since_ms=DEFAULT_START_MS,
                   until_ms=DEFAULT_START_MS + 3 * DAY, clock=SimClock(DEFAULT_START_MS + 9 * DAY))
    assert res.resumed_from == DEFAULT_START_MS + 1000 * 60_000
    assert sqlite_store.count(KEY) == 3 * 1440


def test_unclosed_candle_is_never_stored(sqlite_store: CandleStore, fx: FakeExchange) -> None:
    now = DEFAULT_START_MS + DAY + 30_000  # half-way through a 1m candle
    fx.now_ms = now
    download(client(fx), sqlite_store, KEY, since_ms=DEFAULT_START_MS, until_ms=None,
             clock=SimClock(now))
    assert sqlite_store.last_open_time(KEY) == DEFAULT_START_MS + DAY - 60_000


def test_unknown_symbol_and_timeframe(sqlite_store: CandleStore, fx: FakeExchange) -> None:
    with pytest.raises(UnknownSymbolError, match="DOGE/EUR is not listed on binance"):
        download(client(fx), sqlite_store, SeriesKey("binance", "DOGE/EUR", "1m"),
                 since_ms=DEFAULT_START_MS, until_ms=None, clock=SimClock(DEFAULT_START_MS))


def test_requests_respect_the_configured_rate_limit(sqlite_store: CandleStore,
                                                    fx: FakeExchange) -> None:
    limiter = RateLimiter(600, WallClock())
    download(client(fx), sqlite_store, KEY, since_ms=DEFAULT_START_MS,
             until_ms=DEFAULT_START_MS + 4 * DAY, clock=SimClock(DEFAULT_START_MS + 9 * DAY),
             page_limit=500, limiter=limiter)
    gaps = np.diff(fx.request_times[1:])  # after exchangeInfo: 12 klines requests
    assert len(gaps) >= 10
    assert gaps.min() >= 0.09  # 600/min = one request per 100 ms
