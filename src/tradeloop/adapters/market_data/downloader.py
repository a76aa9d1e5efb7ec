"""Download closed candles from an exchange through ccxt into the store.

Pages through ``fetch_ohlcv`` from the last stored candle (resume), respects the exchange's
rate limit (ccxt's limiter), retries transient errors with backoff, validates every page and
commits it, so an interrupted download loses nothing and continues where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from tradeloop.adapters.exchange.ccxt_client import call_with_retry
from tradeloop.adapters.exchange.rate_limit import RateLimiter
from tradeloop.adapters.store.candle_store import CandleStore
from tradeloop.domain.candle_checks import RejectReport, validate_candles
from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.errors import DataError, UnknownSymbolError, UnknownTimeframeError
from tradeloop.domain.series import Gap
from tradeloop.domain.timeframes import Timeframe
from tradeloop.ports import Clock

PAGE_LIMIT = 1000


@dataclass
class DownloadResult:
    key: SeriesKey
    start_ms: int
    end_ms: int
    fetched: int = 0
    written: int = 0
    pages: int = 0
    retries: int = 0
    resumed_from: int | None = None
    report: RejectReport = field(default_factory=RejectReport)
    gaps: list[Gap] = field(default_factory=list)


def rows_to_arrays(rows: list[list[Any]]) -> CandleArrays:
    """ccxt OHLCV rows ``[ts, o, h, l, c, v]`` -> arrays (None becomes NaN, rejected later)."""
    if not rows:
        return CandleArrays.empty()
    table = np.array([[np.nan if x is None else x for x in r[:6]] for r in rows], dtype=np.float64)
    ts = np.nan_to_num(table[:, 0], nan=0.0).astype(np.int64)
    return CandleArrays(ts, table[:, 1], table[:, 2], table[:, 3], table[:, 4], table[:, 5])


def download(
    exchange: Any,
    store: CandleStore,
    key: SeriesKey,
    *,
    since_ms: int,
    until_ms: int | None,
    clock: Clock,
    max_retries: int = 5,
    page_limit: int = PAGE_LIMIT,
    limiter: RateLimiter | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> DownloadResult:
    """Fetch ``[since_ms, until_ms)`` (or up to now) of ``key`` and store it.

    ``progress(done_ms, total_ms, rows)`` is called after each page; ``limiter`` spaces the
    requests (its own clock, so replayed data time and real request time stay separate).
    """
    tf = Timeframe.parse(key.timeframe)
    retries = 0

    def on_retry(attempt: int, delay: float, err: Exception) -> None:
        nonlocal retries
        retries += 1

    def retry(fn: Callable[[], Any], what: str) -> Any:
        return call_with_retry(fn, what=what, clock=clock, max_retries=max_retries,
                               exchange=exchange, limiter=limiter, on_retry=on_retry)

    retry(exchange.load_markets, f"{key.exchange}: loading markets")
    if key.symbol not in exchange.markets:
        raise UnknownSymbolError(f"{key.symbol} is not listed on {key.exchange}")
    timeframes = getattr(exchange, "timeframes", None) or {}
    if timeframes and key.timeframe not in timeframes:
        raise UnknownTimeframeError(
            f"{key.exchange} has no {key.timeframe} candles; it offers {', '.join(timeframes)}")

    now = clock.now_ms()
    end = tf.floor(now) if until_ms is None else min(tf.floor(int(until_ms)), tf.floor(now))
    start = tf.floor(int(since_ms) + tf.ms - 1)  # first open time at or after since
    last = store.last_open_time(key)
    result = DownloadResult(key, start, end)
    if last is not None and last + tf.ms > start:
        start = last + tf.ms
        result.resumed_from = start
    if start >= end:
        result.start_ms = start
        result.gaps = store.gaps(key)
        return result
    result.start_ms = start

    cursor = start
    while cursor < end:
        rows = retry(partial(exchange.fetch_ohlcv, key.symbol, key.timeframe, since=cursor,
                             limit=page_limit, params={"until": end - 1}),
                     f"{key.exchange}: fetching {key.symbol} {key.timeframe} candles")
        result.pages += 1
        page = rows_to_arrays(rows)
        if len(page) == 0:
            break
        result.fetched += len(page)
        # Exchanges may answer out of order: sort first; repeated candles in a page are then
        # rejected as duplicates, and candles stored before are re-upserted idempotently.
        order = np.argsort(page.open_time, kind="stable")
        page = page.take(order)
        in_window = (page.open_time >= cursor) & (page.open_time < end)
        valid, _ = validate_candles(page.take(in_window), tf, now_ms=clock.now_ms(),
                                    report=result.report)
        result.written += store.write(key, valid, refresh_gaps=False)
        newest = int(page.open_time.max())
        if newest < cursor:
            raise DataError(f"{key}: exchange returned candles before {cursor} only; stopping")
        cursor = newest + tf.ms
        if progress is not None:
            progress(min(cursor, end) - start, end - start, result.written)
    result.retries = retries
    result.gaps = store.refresh_gaps(key)
    return result
