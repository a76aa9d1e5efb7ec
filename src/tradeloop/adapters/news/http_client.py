"""NewsHttp: GET requests to news sources behind a rate limiter, retries with backoff and full
jitter (``Retry-After`` honoured), a circuit breaker and request metrics, with errors mapped
onto the one tree: a timeout, a dropped connection, 429 or 5xx is
:class:`NewsUnavailableError` (retried), any other refusal :class:`NewsError`. Messages name
the source without its query string, so a token in it never reaches a log."""

from __future__ import annotations

import random
import urllib.error
import urllib.request
from urllib.parse import urlencode, urlsplit

from tradeloop.adapters.exchange.circuit_breaker import CircuitBreaker
from tradeloop.adapters.exchange.metrics import ExchangeMetrics, MetricsSnapshot
from tradeloop.adapters.exchange.rate_limit import RateLimiter
from tradeloop.domain.errors import CircuitOpenError, NewsError, NewsUnavailableError
from tradeloop.ports import Clock

AGENT = "tradeloop-news/1 (+https://github.com/)"
TRANSIENT_STATUS = (408, 425, 429, 500, 502, 503, 504)


class NewsHttp:
    """One client for every news source (the limit holds across them)."""

    def __init__(self, clock: Clock, *, timeout_seconds: float = 10.0,
                 limiter: RateLimiter | None = None, breaker: CircuitBreaker | None = None,
                 max_retries: int = 3, base_delay: float = 0.5, max_delay: float = 30.0,
                 rng: random.Random | None = None) -> None:
        self.clock, self.timeout = clock, timeout_seconds
        self.limiter, self.max_retries = limiter, max_retries
        self.breaker = breaker or CircuitBreaker(clock, name="news")
        self.metrics = ExchangeMetrics()
        self.base_delay, self.max_delay = base_delay, max_delay
        self.rng = rng or random.Random()  # noqa: S311 - backoff jitter, not a secret

    def get(self, url: str, params: dict[str, str] | None = None) -> bytes:
        """The body of ``url`` (with ``params``); retried while the source is unavailable."""
        full = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}" if params else url
        where = safe_url(url)
        attempt = 0
        while True:
            try:
                self.breaker.before_call()
            except CircuitOpenError as exc:
                raise NewsUnavailableError(f"{where}: {exc}") from None
            if self.limiter is not None:
                self.limiter.acquire()
            self.metrics.request(self.clock.now_ms())
            retry_after: float | None = None
            try:
                body = self._fetch(full)
            except urllib.error.HTTPError as exc:
                retry_after = _seconds(exc.headers.get("Retry-After") if exc.headers else None)
                error: NewsError = (NewsUnavailableError if exc.code in TRANSIENT_STATUS
                                    else NewsError)(f"{where}: HTTP {exc.code} {exc.reason}")
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                error = NewsUnavailableError(f"{where}: {type(reason).__name__}: {reason}")
            else:
                self.breaker.success()
                return body
            self.metrics.error(self.clock.now_ms())
            if not isinstance(error, NewsUnavailableError):
                self.breaker.success()  # the source answered: the connection is fine
                raise error
            self.breaker.failure()
            if attempt >= self.max_retries:
                raise NewsUnavailableError(f"{error} (gave up after {attempt + 1} attempts)")
            delay = retry_after if retry_after is not None else self.rng.uniform(
                0, min(self.max_delay, self.base_delay * 2**attempt))
            attempt += 1
            self.metrics.retry()
            self.clock.sleep(delay)

    def _fetch(self, url: str) -> bytes:
        request = urllib.request.Request(url, headers={"User-Agent": AGENT})  # noqa: S310
        with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
            return bytes(answer.read())

    def snapshot(self) -> MetricsSnapshot:
        return self.metrics.snapshot(self.clock.now_ms(), self.breaker.state,
                                     self.breaker.opens)


def safe_url(url: str) -> str:
    """``url`` without its query string or credentials (safe to log)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme != "file" else url


def _seconds(value: str | None) -> float | None:
    try:
        return min(float(value), 300.0) if value else None
    except ValueError:
        return None
