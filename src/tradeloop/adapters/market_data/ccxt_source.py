"""CcxtCandleSource: the CandleSource port over an exchange gateway (rate-limited, retried,
behind the circuit breaker)."""

from __future__ import annotations

from functools import partial

import numpy as np

from tradeloop.adapters.exchange.gateway import ExchangeGateway
from tradeloop.adapters.market_data.downloader import rows_to_arrays
from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.errors import UnknownSymbolError


class CcxtCandleSource:
    """Closed-candle pages from ``fetch_ohlcv``, sorted by open time."""

    def __init__(self, gateway: ExchangeGateway) -> None:
        self.gateway = gateway

    def fetch(self, key: SeriesKey, since_ms: int, limit: int) -> CandleArrays:
        if key.symbol not in self.gateway.markets():
            raise UnknownSymbolError(f"{key.symbol} is not listed on {key.exchange}")
        ex = self.gateway.exchange
        rows = self.gateway.call(partial(ex.fetch_ohlcv, key.symbol, key.timeframe,
                                         since=since_ms, limit=limit),
                                 f"{key.exchange}: fetching {key.symbol} {key.timeframe} candles")
        page = rows_to_arrays(rows)
        return page.take(np.argsort(page.open_time, kind="stable"))
