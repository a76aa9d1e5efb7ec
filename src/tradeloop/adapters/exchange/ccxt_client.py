"""ccxt exchange construction, error mapping and retry with backoff behind a circuit breaker.

Every ccxt error is mapped here onto tradeloop's exception tree; callers never see ccxt types.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any, TypeVar

import ccxt

from tradeloop.adapters.exchange.circuit_breaker import CLOSED, CircuitBreaker
from tradeloop.adapters.exchange.metrics import ExchangeMetrics
from tradeloop.adapters.exchange.rate_limit import RateLimiter
from tradeloop.domain.errors import (
    ExchangeAuthError,
    ExchangeError,
    ExchangeRejectedError,
    InsufficientFundsError,
    InvalidOrderError,
    OrderNotFoundError,
    TransientExchangeError,
)
from tradeloop.domain.redaction import redact
from tradeloop.ports import Clock
from tradeloop.settings import ExchangeSettings, Secrets

T = TypeVar("T")
_HOST = re.compile(r"^https?://[^/]+")


def make_exchange(settings: ExchangeSettings, secrets: Secrets | None = None, *,
                  module: Any = ccxt) -> Any:
    """A ccxt exchange configured from settings; credentials only from ``secrets``.
    ``module`` is ``ccxt`` (REST) or ``ccxt.pro`` (websockets, same configuration)."""
    cls = getattr(module, settings.name, None)
    if cls is None or not isinstance(cls, type):
        raise ExchangeError(f"unknown exchange {settings.name!r}: not a ccxt exchange id")
    # ccxt's own limiter stays on: it knows each endpoint's weight at this exchange. Our
    # RateLimiter caps the request rate at the configured rate_limit_per_minute on top.
    params: dict[str, Any] = {
        "enableRateLimit": True,
        "timeout": int(settings.timeout_seconds * 1000),
    }
    if secrets is not None:
        for field, name in (("exchange_api_key", "apiKey"), ("exchange_api_secret", "secret"),
                            ("exchange_api_password", "password")):
            value = getattr(secrets, field)
            if value is not None:
                params[name] = value.get_secret_value()
    exchange = cls(params)
    if settings.sandbox:
        exchange.set_sandbox_mode(True)
    options = exchange.options
    if isinstance(options.get("fetchMarkets"), dict):
        options["fetchMarkets"]["types"] = ["spot"]  # tradeloop trades spot markets
    if "fetchMargins" in options:
        options["fetchMargins"] = False  # spot only: no margin pairs endpoint
    if "fetchCurrencies" in options or exchange.has.get("fetchCurrencies"):
        options["fetchCurrencies"] = False
    if settings.base_url:
        point_at(exchange, settings.base_url)
    return exchange


def point_at(exchange: Any, base_url: str) -> None:
    """Send every REST call of ``exchange`` to ``base_url`` (keeping each endpoint's path)."""
    base = base_url.rstrip("/")

    def rewrite(node: Any) -> Any:
        if isinstance(node, str):
            return _HOST.sub(base, node)
        if isinstance(node, dict):
            return {k: rewrite(v) for k, v in node.items()}
        return node

    exchange.urls["api"] = rewrite(exchange.urls["api"])


def map_error(exc: Exception, what: str) -> ExchangeError:
    """Translate a ccxt exception into tradeloop's tree (secrets masked in the message)."""
    text = redact(f"{what}: {exc.__class__.__name__}: {str(exc)[:300]}")
    if isinstance(exc, ccxt.OperationFailed):  # timeouts, 5xx, rate limits, resets: retry
        return TransientExchangeError(text)
    for ccxt_type, ours in ((ccxt.OrderNotFound, OrderNotFoundError),
                            (ccxt.InsufficientFunds, InsufficientFundsError),
                            (ccxt.InvalidOrder, InvalidOrderError),
                            (ccxt.AuthenticationError, ExchangeAuthError),
                            (ccxt.PermissionDenied, ExchangeAuthError)):
        if isinstance(exc, ccxt_type):
            return ours(text)
    if isinstance(exc, ccxt.BaseError):
        return ExchangeRejectedError(text)
    return ExchangeError(text)


def call_with_retry(
    fn: Callable[[], T],
    *,
    what: str,
    clock: Clock,
    max_retries: int,
    exchange: Any = None,
    base_delay: float = 0.5,
    max_delay: float = 30.0,
    rng: random.Random | None = None,
    limiter: RateLimiter | None = None,
    breaker: CircuitBreaker | None = None,
    metrics: ExchangeMetrics | None = None,
    on_retry: Callable[[int, float, ExchangeError], None] | None = None,
) -> T:
    """Run ``fn``; retry transient failures with exponential backoff and full jitter.

    A ``Retry-After`` header on the failed response sets the wait instead. Permanent errors
    (bad symbol, bad request, auth) are raised at once. Each attempt takes a token from
    ``limiter`` and passes ``breaker``: an open circuit fails the call at once.
    """
    rng = rng or random.Random()  # noqa: S311 - backoff jitter, not a secret
    attempt = 0
    while True:
        if breaker is not None:
            breaker.before_call()
        if limiter is not None:
            limiter.acquire()
        if metrics is not None:
            metrics.request(clock.now_ms())
        try:
            result = fn()
        except Exception as exc:
            if isinstance(exc, ExchangeError):
                mapped: ExchangeError = exc
            elif isinstance(exc, ccxt.BaseError):
                mapped = map_error(exc, what)
            else:
                raise
            transient = isinstance(mapped, TransientExchangeError)
            if metrics is not None:
                metrics.error(clock.now_ms())
            if breaker is not None:
                if transient:
                    breaker.failure()
                else:  # the exchange answered: the connection is fine
                    breaker.success()
            if transient and breaker is not None and breaker.state != CLOSED:
                # this request failed (its effect unknown); the next ones fail fast
                raise TransientExchangeError(f"{mapped} (circuit now {breaker.state} after "
                                             f"{breaker.failures} failures in a row)") from None
            if not transient or attempt >= max_retries:
                if transient:
                    raise TransientExchangeError(
                        f"{mapped} (gave up after {attempt + 1} attempts)") from None
                raise mapped from None
            delay = _retry_after(exchange)
            if delay is None:
                delay = rng.uniform(0, min(max_delay, base_delay * 2**attempt))
            attempt += 1
            if metrics is not None:
                metrics.retry()
            if on_retry is not None:
                on_retry(attempt, delay, mapped)
            clock.sleep(delay)
        else:
            if breaker is not None:
                breaker.success()
            return result


def _retry_after(exchange: Any) -> float | None:
    headers = getattr(exchange, "last_response_headers", None) or {}
    for name, value in dict(headers).items():
        if str(name).lower() == "retry-after":
            try:
                return min(60.0, max(0.0, float(value)))
            except (TypeError, ValueError):
                return None
    return None
