"""NewsHttp: GET requests to news sources behind a rate limiter, retries with backoff and full
jitter (``Retry-After`` honoured), a circuit breaker and request metrics, with errors mapped
onto the one tree: a timeout, a dropped connection, 429 or 5xx is
:class:`NewsUnavailableError` (retried), any other refusal :class:`NewsError`. Messages name
the source without its query string, so a token in it never reaches a log."""

from __future__ import annotations

import http.client
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
    """One client for every news source (the rate limit holds across them; a circuit
    breaker per host, so a dead feed does not stop the others). Kept for a whole session:
    the limit and the breakers' cooldowns span its rounds."""

    def __init__(self, clock: Clock, *, timeout_seconds: float = 10.0,
                 limiter: RateLimiter | None = None, breaker_failures: int = 5,
                 breaker_cooldown_seconds: float = 60.0, max_retries: int = 3,
                 base_delay: float = 0.5, max_delay: float = 30.0,
                 rng: random.Random | None = None) -> None:
        self.clock, self.timeout = clock, timeout_seconds
        self.limiter, self.max_retries = limiter, max_retries
        self.breaker_failures, self.breaker_cooldown = breaker_failures, breaker_cooldown_seconds
        self.breakers: dict[str, CircuitBreaker] = {}
        self.metrics = ExchangeMetrics()
        self.base_delay, self.max_delay = base_delay, max_delay
        self.rng = rng or random.Random()  # noqa: S311 - backoff jitter, not a secret

    def get(self, url: str, params: dict[str, str] | None = None) -> bytes:
        """The body of ``url`` (with ``params``); retried while the source is unavailable."""
        full = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}" if params else url
        where = safe_url(url)
        breaker = self.breaker(url)
        attempt = 0
        while True:
            try:
                breaker.before_call()
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
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError,
                    http.client.HTTPException) as exc:
                reason = getattr(exc, "reason", exc)
                error = NewsUnavailableError(f"{where}: {type(reason).__name__}"
                                             + _plain_reason(reason, full))
            except Exception as exc:  # e.g. a malformed URL: its text may hold a token
                raise NewsError(f"{where}: {type(exc).__name__} (the request could not be "
                                f"made)") from None
            else:
                breaker.success()
                return body
            self.metrics.error(self.clock.now_ms())
            if not isinstance(error, NewsUnavailableError):
                breaker.success()  # the source answered: the connection is fine
                raise error
            breaker.failure()
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

    def breaker(self, url: str) -> CircuitBreaker:
        """The circuit breaker of ``url``'s host."""
        host = urlsplit(url).netloc or url
        if host not in self.breakers:
            self.breakers[host] = CircuitBreaker(self.clock, threshold=self.breaker_failures,
                                                 cooldown_seconds=self.breaker_cooldown,
                                                 name=f"news {safe_url(url)}")
        return self.breakers[host]

    def snapshot(self) -> MetricsSnapshot:
        states = [b.state for b in self.breakers.values()]
        worst = "open" if "open" in states else "half-open" if "half-open" in states \
            else "closed"
        return self.metrics.snapshot(self.clock.now_ms(), worst,
                                     sum(b.opens for b in self.breakers.values()))


def _plain_reason(reason: object, url: str) -> str:
    """``: reason`` unless its text could carry the request's query (a token)."""
    text = str(reason)
    query = urlsplit(url).query
    return "" if query and query in text else f": {text}"


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
