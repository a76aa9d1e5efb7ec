"""ExchangeGateway: one exchange's ccxt client behind our rate limiter, retries with backoff,
a circuit breaker and request metrics. Every adapter that talks to the exchange (candles,
tickers, orders, balances) goes through one gateway, so the limit holds across all of them."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, TypeVar

from tradeloop.adapters.exchange.ccxt_client import call_with_retry
from tradeloop.adapters.exchange.circuit_breaker import CircuitBreaker
from tradeloop.adapters.exchange.metrics import ExchangeMetrics, MetricsSnapshot
from tradeloop.adapters.exchange.rate_limit import RateLimiter
from tradeloop.ports import Clock

T = TypeVar("T")


class ExchangeGateway:
    """Calls into ``exchange`` (a ccxt client), rate-limited, retried and metered."""

    def __init__(self, exchange: Any, clock: Clock, *, limiter: RateLimiter | None = None,
                 breaker: CircuitBreaker | None = None, max_retries: int = 5,
                 metrics: ExchangeMetrics | None = None, rng: random.Random | None = None,
                 base_delay: float = 0.5) -> None:
        self.exchange, self.clock = exchange, clock
        self.limiter, self.max_retries = limiter, max_retries
        self.breaker = breaker or CircuitBreaker(clock, name=getattr(exchange, "id", "exchange"))
        self.metrics = metrics or ExchangeMetrics()
        self.rng = rng or random.Random()  # noqa: S311 - backoff jitter, not a secret
        self.base_delay = base_delay  # first backoff (doubles per retry, full jitter)
        self._markets_loaded = False

    def call(self, fn: Callable[[], T], what: str, *, retry: bool = True) -> T:
        """``fn()`` through the limiter and breaker; transient errors retried unless
        ``retry`` is false (an order must not be sent twice blindly)."""
        return call_with_retry(fn, what=what, clock=self.clock,
                               max_retries=self.max_retries if retry else 0,
                               exchange=self.exchange, limiter=self.limiter,
                               breaker=self.breaker, metrics=self.metrics, rng=self.rng,
                               base_delay=self.base_delay)

    def markets(self) -> dict[str, Any]:
        """The exchange's markets, loaded once."""
        if not self._markets_loaded:
            self.call(self.exchange.load_markets, f"{self.exchange.id}: loading markets")
            self._markets_loaded = True
        return dict(self.exchange.markets)

    def snapshot(self) -> MetricsSnapshot:
        return self.metrics.snapshot(self.clock.now_ms(), self.breaker.state,
                                     self.breaker.opens)
