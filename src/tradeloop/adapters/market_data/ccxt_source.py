"""CcxtCandleSource: the CandleSource port over a ccxt exchange, rate-limited and retried."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from tradeloop.adapters.market_data.ccxt_client import call_with_retry
from tradeloop.adapters.market_data.downloader import rows_to_arrays
from tradeloop.adapters.market_data.rate_limit import RateLimiter
from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.errors import UnknownSymbolError
from tradeloop.ports import Clock


class CcxtCandleSource:
    """Closed-candle pages from ``fetch_ohlcv``: sorted by open time; transient errors
    retried with backoff; our rate limit on top of ccxt's own."""

    def __init__(self, exchange: Any, clock: Clock, *, max_retries: int = 5,
                 limiter: RateLimiter | None = None) -> None:
        self.exchange, self.clock = exchange, clock
        self.max_retries, self.limiter = max_retries, limiter
        self._markets_loaded = False

    def _call(self, fn: Any, what: str) -> Any:
        return call_with_retry(fn, what=what, clock=self.clock, max_retries=self.max_retries,
                               exchange=self.exchange, limiter=self.limiter)

    def fetch(self, key: SeriesKey, since_ms: int, limit: int) -> CandleArrays:
        if not self._markets_loaded:
            self._call(self.exchange.load_markets, f"{key.exchange}: loading markets")
            self._markets_loaded = True
            if key.symbol not in self.exchange.markets:
                raise UnknownSymbolError(f"{key.symbol} is not listed on {key.exchange}")
        rows = self._call(partial(self.exchange.fetch_ohlcv, key.symbol, key.timeframe,
                                  since=since_ms, limit=limit),
                          f"{key.exchange}: fetching {key.symbol} {key.timeframe} candles")
        page = rows_to_arrays(rows)
        return page.take(np.argsort(page.open_time, kind="stable"))
