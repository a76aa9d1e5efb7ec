"""The exchange edge without a network: circuit breaker states, error mapping with secrets
masked, request metrics, and the rules for testnet/live start-up."""

from __future__ import annotations

import re
from pathlib import Path

import ccxt
import pytest

from tests.fakes import FakeClock
from tradeloop.adapters.broker.market_rules import check_limits, net_of_fees
from tradeloop.adapters.exchange.ccxt_client import call_with_retry, map_error
from tradeloop.adapters.exchange.circuit_breaker import CircuitBreaker
from tradeloop.adapters.exchange.metrics import ExchangeMetrics
from tradeloop.app.exchange import check_trading_mode
from tradeloop.domain.errors import (
    CircuitOpenError,
    ConfigError,
    EngineError,
    ExchangeAuthError,
    InsufficientFundsError,
    OrderNotFoundError,
    TransientExchangeError,
)
from tradeloop.domain.redaction import redact, register_secrets
from tradeloop.domain.trading import client_order_id
from tradeloop.settings import load_settings


def test_breaker_opens_probes_once_and_closes() -> None:
    clock = FakeClock(0)
    b = CircuitBreaker(clock, threshold=3, cooldown_seconds=10)
    for _ in range(2):
        b.before_call()
        b.failure()
    assert b.state == "closed"
    b.failure()
    assert b.state == "open" and b.opens == 1
    with pytest.raises(CircuitOpenError, match="next attempt in 10s"):
        b.before_call()
    clock.now += 10_000
    assert b.state == "half-open"
    b.before_call()  # the one probe
    with pytest.raises(CircuitOpenError):
        b.before_call()  # a second caller while the probe is out
    b.failure()  # the probe failed: open again for a full cooldown
    assert b.state == "open" and b.opens == 2
    clock.now += 10_000
    b.before_call()
    b.success()
    assert b.state == "closed" and b.failures == 0


def test_retries_back_off_and_the_circuit_stops_them() -> None:
    clock = FakeClock(0)
    metrics = ExchangeMetrics()
    calls = []

    def flaky() -> str:
        calls.append(clock.now)
        if len(calls) < 3:
            raise ccxt.RequestTimeout("timed out")
        return "ok"

    assert call_with_retry(flaky, what="x", clock=clock, max_retries=5, metrics=metrics,
                           base_delay=1.0) == "ok"
    assert len(calls) == 3 and metrics.retries == 2 and metrics.errors == 2
    assert clock.slept[0] <= 1.0 and clock.slept[1] <= 2.0  # full jitter, doubling caps

    breaker = CircuitBreaker(clock, threshold=2, cooldown_seconds=30)
    with pytest.raises(TransientExchangeError, match="circuit now open"):
        call_with_retry(lambda: (_ for _ in ()).throw(ccxt.ExchangeNotAvailable("503")),
                        what="x", clock=clock, max_retries=10, breaker=breaker)
    with pytest.raises(CircuitOpenError):  # fails fast without calling
        call_with_retry(lambda: "never", what="x", clock=clock, max_retries=10,
                        breaker=breaker)


def test_ccxt_errors_map_to_our_tree_with_secrets_masked() -> None:
    register_secrets(["supersecret-key-123"])
    err = map_error(ccxt.AuthenticationError("bad key supersecret-key-123"), "binance: order")
    assert isinstance(err, ExchangeAuthError) and "supersecret" not in str(err)
    assert "***" in str(err)
    assert isinstance(map_error(ccxt.InsufficientFunds("x"), "o"), InsufficientFundsError)
    assert isinstance(map_error(ccxt.OrderNotFound("x"), "o"), OrderNotFoundError)
    assert isinstance(map_error(ccxt.DDoSProtection("429"), "o"), TransientExchangeError)
    assert redact("a supersecret-key-123 b") == "a *** b"


def test_metrics_rates_and_websocket_uptime() -> None:
    m = ExchangeMetrics()
    for t in range(0, 120_000, 1000):
        m.request(t)
    m.error(119_000)
    m.websocket(True, 0)
    m.websocket(False, 30_000)
    m.websocket(True, 60_000)
    snap = m.snapshot(120_000)
    assert snap.requests == 120 and snap.requests_last_minute == 59
    assert snap.max_requests_per_minute == 60 and snap.errors_last_minute == 1
    assert snap.ws_uptime == pytest.approx(0.75)


def test_testnet_and_live_need_keys_and_live_needs_the_config(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("live_trading: {mode: paper}\n")
    keys = {"EXCHANGE_API_KEY": "k" * 16, "EXCHANGE_API_SECRET": "s" * 16}
    check_trading_mode(load_settings(tmp_path / "config.yaml", env={}), "paper")
    with pytest.raises(ConfigError, match="EXCHANGE_API_KEY"):
        check_trading_mode(load_settings(tmp_path / "config.yaml", env={}), "testnet")
    check_trading_mode(load_settings(tmp_path / "config.yaml", env=keys), "testnet")
    with pytest.raises(EngineError, match=r"live_trading\.mode: live"):
        check_trading_mode(load_settings(tmp_path / "config.yaml", env=keys), "live")
    (tmp_path / "config.yaml").write_text("live_trading: {mode: live}\n")
    check_trading_mode(load_settings(tmp_path / "config.yaml", env=keys), "live")


def test_client_order_ids_fit_binance_and_differ_between_runs() -> None:
    long_run = "bt-0123456789abcdef-d12345"
    ids = {client_order_id(run, 1_735_689_600_000 + i, i, kind)
           for run in ("live-d1", "live-d2", long_run, long_run + "6")
           for i in range(50) for kind in ("", "x")}
    assert len(ids) == 4 * 50 * 2
    assert all(len(i) <= 36 and re.fullmatch(r"[.A-Z:/a-z0-9_-]{1,36}", i) for i in ids)
    assert all(i.startswith("tl-") for i in ids)


def test_fees_in_any_asset_and_market_minimums() -> None:
    market = {"limits": {"amount": {"min": 0.001}, "cost": {"min": 5.0}}}
    assert check_limits(market, 0.01, 1000.0) == ""
    assert "amount" in check_limits(market, 0.0005, 1e6)
    assert "notional 4.00" in check_limits(market, 0.004, 1000.0)
    # a buy whose fee is taken in the base asset receives less of it
    assert net_of_fees([{"currency": "BTC", "cost": 0.00001}], "buy", "BTC", "USDT", 0.01,
                       30_000.0, 0.001) == pytest.approx((0.00999, 0.3))
    assert net_of_fees([{"currency": "USDT", "cost": 0.3}], "sell", "BTC", "USDT", 0.01,
                       30_000.0, 0.001) == pytest.approx((0.01, 0.3))
    bnb = net_of_fees([{"currency": "BNB", "cost": 0.0005}], "buy", "BTC", "USDT", 0.01,
                      30_000.0, 0.00075)  # valued at the fee rate
    assert bnb == pytest.approx((0.01, 0.225))
    assert net_of_fees([], "buy", "BTC", "USDT", 0.01, 30_000.0, 0.001)[1] == pytest.approx(0.3)
