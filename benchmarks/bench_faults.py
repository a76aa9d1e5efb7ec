"""Fault-injection benchmark -> benchmarks/results/bench_faults.json.

The real ccxt client and CcxtBroker (with its gateway: rate limiter, retries with backoff,
circuit breaker) trade two symbols against the loopback fake Binance until the fake has
answered 10,000 requests, 10 % of them with an injected fault (HTTP 429 with Retry-After,
500, 503, a timeout past the client's, a connection reset before the request is handled,
and an order accepted whose answer is lost). Orders are buys and sells of random sizes,
limit and market; between them the broker resolves outstanding orders, prices come through
the ticker cache and candles are fetched as the feed does. At the end (faults off) every
order is resolved and the database is compared with the exchange.

``lost_orders``: orders whose record disagrees with the exchange (on the exchange but not on
record, another outcome, recorded as filled but unknown, left unresolved); ``duplicate_orders``:
client order ids executed more than once; ``max_requests_per_min``: the most requests the
fake received in any 60 s window, against ``limit_per_min``, the client's configured limit.
Goal (issue 7): 0, 0, never above the limit.

ccxt's own throttle (20 requests/s for Binance) is switched off here so that the limit under
test is ours; in production both stay on. The first backoff is 50 ms instead of 0.5 s (a
loopback exchange), so the run takes minutes, not an hour.
Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_faults.py
"""

from __future__ import annotations

import logging
import os
import random
import sys
import tempfile
import time
from bisect import bisect_left
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from benchmarks.common import report
from tests.support.exchange_account import ExchangeAccount, disagreements
from tests.support.fake_exchange import FakeExchange
from tradeloop.adapters.broker.ccxt_broker import ExecutionConfig
from tradeloop.adapters.clock import WallClock
from tradeloop.adapters.exchange.circuit_breaker import CircuitBreaker
from tradeloop.adapters.exchange.rate_limit import RateLimiter
from tradeloop.adapters.market_data.ccxt_source import CcxtCandleSource
from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.adapters.store.schema import OrderRow
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.errors import TradeloopError
from tradeloop.domain.trading import Side

REQUESTS = int(os.environ.get("BENCH_FAULTS_REQUESTS", "10000"))
FAULT_RATE = 0.10
LIMIT_PER_MIN = 3_000  # low enough that the limiter, not the fake, sets the pace
SYMBOLS = ("BTC/USDT", "ETH/USDT")


def max_per_minute(times: list[float]) -> int:
    times = sorted(times)
    return max((i - bisect_left(times, t - 60.0) + 1 for i, t in enumerate(times)), default=0)


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    rng = random.Random(7)
    clock = WallClock()
    with tempfile.TemporaryDirectory() as tmp, FakeExchange(
            api_key="tlkey-0123456789", balances={"USDT": 1_000_000.0}, seed=11) as fx:
        t0 = clock.now_ms()
        for i, s in enumerate(SYMBOLS):
            candles, _ = synth_market(2.0, timeframe="1m", seed=i, start_ms=t0 - 86_400_000,
                                      start_price=30_000.0 / (i * 14 + 1))
            fx.add_candles(s, "1m", candles)
        fx.timeout_delay = 0.5  # past the client's 0.4 s timeout: the answer is lost
        acct = ExchangeAccount(
            fx, f"sqlite:///{Path(tmp) / 'trading.db'}", clock, 1,
            ExecutionConfig("limit", 0.005, 2_000, 1_000), symbols=SYMBOLS,
            timeout_seconds=0.4, limiter=RateLimiter(LIMIT_PER_MIN, clock),
            breaker=CircuitBreaker(clock, threshold=6, cooldown_seconds=1.0), max_retries=3)
        acct.gateway.exchange.enableRateLimit = False
        acct.gateway.base_delay = 0.05  # loopback: backoff from 50 ms (0.5 s in production)
        source = CcxtCandleSource(acct.gateway)
        acct.broker.reconcile(clock.now_ms())
        fx.fault_rate = FAULT_RATE
        started, submitted, errors, shown = time.perf_counter(), 0, 0, 0
        while len(fx.requests) < REQUESTS:
            if len(fx.requests) >= shown + 1000:
                shown = len(fx.requests) // 1000 * 1000
                print(f"{shown:,} requests, {submitted} orders, "
                      f"{time.perf_counter() - started:.0f}s", flush=True)
            symbol = rng.choice(SYMBOLS)
            market_id = symbol.replace("/", "")
            fx.prices[market_id] = fx.price(market_id) * (1 + rng.gauss(0, 0.001))
            try:
                if not acct.broker.has_pending(symbol):
                    acct.broker.cfg.order_type = rng.choice(("limit", "market"))
                    if symbol in acct.broker.positions:
                        acct.order(Side.SELL, acct.broker.positions[symbol].quantity, symbol)
                    else:
                        notional = rng.uniform(20.0, 500.0)
                        acct.order(Side.BUY, notional / fx.prices[market_id], symbol)
                    submitted += 1
                acct.record(acct.broker.sync(clock.now_ms()))
                if rng.random() < 0.2:
                    source.fetch(SeriesKey("binance", symbol, "1m"), t0 - 3_600_000, 60)
            except TradeloopError:
                errors += 1  # a read that failed for good (circuit open, retries spent)
        seconds = time.perf_counter() - started
        requests = len(fx.requests)
        request_times = list(fx.request_times)
        injected = dict(fx.injected)
        fx.fault_rate = 0.0
        deadline = time.monotonic() + 30
        while acct.broker.pending and time.monotonic() < deadline:
            time.sleep(0.2)
            acct.record(acct.broker.sync(clock.now_ms()))
        rows = acct.rows(OrderRow)
        lost = disagreements(fx, rows)
        held = {s: fx.balances.get(s.split("/")[0], 0.0) for s in SYMBOLS}
        book = {s: p.quantity for s, p in acct.broker.positions.items()}
        positions_agree = all(abs(held[s] - book.get(s, 0.0)) < 1e-9 for s in SYMBOLS)
    report("bench_faults", {
        "requests": requests,
        "fault_rate": round(sum(injected.values()) / requests, 4),
        "faults_injected": injected,
        "orders_submitted": submitted,
        "orders_on_exchange": len(fx.orders),
        "lost_orders": len(lost),
        "lost_order_examples": lost[:5],
        "duplicate_orders": len(fx.duplicate_client_ids()),
        "positions_agree_with_exchange": positions_agree,
        "max_requests_per_min": max_per_minute(request_times),
        "limit_per_min": LIMIT_PER_MIN,
        "calls_failed_for_good": errors,
        "retries": acct.gateway.metrics.retries,
        "circuit_opens": acct.gateway.breaker.opens,
        "seconds": round(seconds, 1),
        "goal": "lost_orders 0, duplicate_orders 0, max_requests_per_min <= limit_per_min",
    })


if __name__ == "__main__":
    main()
