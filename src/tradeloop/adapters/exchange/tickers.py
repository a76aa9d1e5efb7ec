"""TickerCache: last prices from the exchange, kept for ``ttl_seconds`` so that the many
price reads of a decision (sizing, limit price, equity) cost at most one request."""

from __future__ import annotations

from functools import partial

from tradeloop.adapters.exchange.gateway import ExchangeGateway
from tradeloop.domain.errors import ExchangeError


class TickerCache:
    """``price(symbol)``: the ticker's last price, fetched at most once per TTL."""

    def __init__(self, gateway: ExchangeGateway, ttl_seconds: float = 2.0) -> None:
        self.gateway = gateway
        self.ttl_ms = int(ttl_seconds * 1000)
        self._cache: dict[str, tuple[int, float]] = {}

    def price(self, symbol: str) -> float:
        now = self.gateway.clock.now_ms()
        hit = self._cache.get(symbol)
        if hit is not None and now - hit[0] < self.ttl_ms:
            self.gateway.metrics.cache(True)
            return hit[1]
        self.gateway.metrics.cache(False)
        ticker = self.gateway.call(partial(self.gateway.exchange.fetch_ticker, symbol),
                                   f"{self.gateway.exchange.id}: ticker {symbol}")
        last = ticker.get("last") or ticker.get("close")
        if last is None or not float(last) > 0:
            raise ExchangeError(f"{symbol}: the exchange sent a ticker without a price")
        self._cache[symbol] = (now, float(last))
        return float(last)

    def put(self, symbol: str, price: float) -> None:
        """A price seen elsewhere (a fill, a closed candle) refreshes the cache."""
        self._cache[symbol] = (self.gateway.clock.now_ms(), price)
