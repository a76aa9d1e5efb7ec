"""CcxtBroker on the real ccxt client against the loopback fake Binance: orders with client
ids stored before sending, precision and minimum notional, lost answers resolved by client id
(never re-sent), limit-order timeout and cancel, software stops, and start-up reconciliation
after a crash."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import FakeClock
from tests.support.exchange_account import KEY, ExchangeAccount, disagreements
from tests.support.fake_exchange import FakeExchange
from tradeloop.adapters.broker.reconciliation import reconcile
from tradeloop.adapters.store.schema import ErrorLogRow, OrderRow, PositionRow, TradeOutcomeRow
from tradeloop.domain.candles import Candle
from tradeloop.domain.errors import (
    CircuitOpenError,
    ExchangeRejectedError,
    TransientExchangeError,
)
from tradeloop.domain.trading import OrderRequest, Side

T0 = 1_700_000_000_000


def Account(fx: FakeExchange, db_url: str, clock: FakeClock, deployment: int
            ) -> ExchangeAccount:
    return ExchangeAccount(fx, db_url, clock, deployment)


@pytest.fixture
def fx() -> Iterator[FakeExchange]:
    with FakeExchange(api_key=KEY, balances={"USDT": 10_000.0}) as ex:
        ex.prices["BTCUSDT"] = 30_000.0
        yield ex


def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'trading.db'}"


def test_orders_fill_rounded_to_the_market_and_tiny_ones_are_refused(
        tmp_path: Path, fx: FakeExchange) -> None:
    acct = Account(fx, url(tmp_path), FakeClock(T0), 1)
    reconcile(acct.broker, T0)
    assert acct.broker.cash == pytest.approx(10_000.0)
    buy = acct.order(Side.BUY, 0.0123456789, stop=29_400.0, take=31_200.0)
    events = acct.record(acct.broker.sync(T0))
    assert [f.quantity for f in events.fills] == [pytest.approx(0.01234)]  # step 0.00001
    pos = acct.broker.positions["BTC/USDT"]
    assert pos.entry_price == pytest.approx(30_000.0) and pos.stop_loss == pytest.approx(29_400)
    assert acct.broker.cash == pytest.approx(10_000 - 0.01234 * 30_000 * 1.001)
    sent = [o for o in fx.orders.values() if o["clientOrderId"] == buy.client_order_id]
    assert len(sent) == 1 and sent[0]["type"] == "LIMIT"
    assert float(sent[0]["price"]) == pytest.approx(30_150.0)  # reference + 0.5 % tolerance
    (row,) = [r for r in acct.rows(OrderRow) if r["client_order_id"] == buy.client_order_id]
    assert row["status"] == "filled" and row["exchange_order_id"] == str(sent[0]["orderId"])
    assert [p["status"] for p in acct.rows(PositionRow)] == ["open"]

    tiny = acct.order(Side.BUY, 0.0001)  # $3 < the $5 minimum notional: never sent
    assert not acct.broker.has_pending("BTC/USDT")
    assert all(o["clientOrderId"] != tiny.client_order_id for o in fx.orders.values())
    (row,) = [r for r in acct.rows(OrderRow) if r["client_order_id"] == tiny.client_order_id]
    assert row["status"] == "rejected" and "notional" in row["reason"]

    fx.set_price("BTCUSDT", 29_000.0)  # through the stop: a market exit of the whole position
    events = acct.record(acct.broker.on_candle(
        "BTC/USDT", Candle(T0, 30_000, 30_010, 28_990, 29_000, 5), T0 + 60_000))
    (trade, risk), = events.closed
    assert trade.exit_reason == "stop_loss" and trade.pnl < 0 and risk > 0
    assert fx.balances["BTC"] == pytest.approx(0.0)
    assert [p["status"] for p in acct.rows(PositionRow)] == ["closed"]
    assert [t["exit_reason"] for t in acct.rows(TradeOutcomeRow)] == ["stop_loss"]
    assert not [e for e in acct.errors if "Slippage" in e]  # the candle's close is the reference


def test_a_lost_answer_is_resolved_by_client_id_and_never_sent_twice(
        tmp_path: Path, fx: FakeExchange) -> None:
    clock = FakeClock(T0)
    acct = Account(fx, url(tmp_path), clock, 1)
    reconcile(acct.broker, T0)
    fx.order_faults.append("lost")  # accepted by the exchange, the answer dropped
    buy = acct.order(Side.BUY, 0.01)
    assert acct.broker.has_pending("BTC/USDT")
    (row,) = [r for r in acct.rows(OrderRow) if r["client_order_id"] == buy.client_order_id]
    assert row["status"] == "sent"
    acct.order(Side.BUY, 0.01)  # the engine may ask again: refused while one is pending
    events = acct.record(acct.broker.sync(T0 + 1000))
    assert len(events.fills) == 1 and "BTC/USDT" in acct.broker.positions
    assert not fx.duplicate_client_ids() and len(fx.orders) == 1

    fx.order_faults.append("reset")  # dropped before the exchange saw it
    sell = acct.order(Side.SELL, 0.01)
    assert acct.record(acct.broker.sync(T0 + 2000)).fills == []  # unknown: wait, no resend
    assert acct.broker.has_pending("BTC/USDT") and len(fx.orders) == 1
    acct.broker.sync(T0 + 20_000)  # past the grace period: it never arrived
    assert not acct.broker.has_pending("BTC/USDT") and len(fx.orders) == 1
    (row,) = [r for r in acct.rows(OrderRow) if r["client_order_id"] == sell.client_order_id]
    assert row["status"] == "canceled" and "never reached" in row["reason"]
    assert "BTC/USDT" in acct.broker.positions  # still held: the next signal sells it


def test_limit_order_times_out_and_is_canceled(tmp_path: Path, fx: FakeExchange) -> None:
    clock = FakeClock(T0)
    acct = Account(fx, url(tmp_path), clock, 1)
    reconcile(acct.broker, T0)
    acct.broker.tickers.put("BTC/USDT", 30_000.0)  # the cached reference ...
    fx.prices["BTCUSDT"] = 31_000.0  # ... but the market ran away: the limit rests
    buy = acct.order(Side.BUY, 0.01)
    acct.broker.sync(T0 + 5_000)
    (row,) = [r for r in acct.rows(OrderRow) if r["client_order_id"] == buy.client_order_id]
    assert row["status"] == "open" and fx.locked["USDT"] > 0
    assert acct.record(acct.broker.sync(T0 + 31_000)).fills == []  # timeout: canceled
    (row,) = [r for r in acct.rows(OrderRow) if r["client_order_id"] == buy.client_order_id]
    assert row["status"] == "canceled" and fx.locked["USDT"] == pytest.approx(0.0)
    assert not acct.broker.has_pending("BTC/USDT") and not acct.broker.positions


def test_transient_errors_are_retried_and_the_circuit_opens(
        tmp_path: Path, fx: FakeExchange) -> None:
    clock = FakeClock(T0)
    acct = Account(fx, url(tmp_path), clock, 1)
    reconcile(acct.broker, T0)
    fx.any_faults.extend(["429", "503"])  # then the ticker answers
    assert acct.broker.tickers.price("BTC/USDT") == pytest.approx(30_000.0)
    assert acct.gateway.metrics.retries == 2 and acct.gateway.breaker.state == "closed"
    clock.now += 10_000
    fx.any_faults.extend(["500"] * 3)  # three failures in a row open the circuit
    with pytest.raises(TransientExchangeError):
        acct.broker.tickers.price("BTC/USDT")
    assert acct.gateway.breaker.state == "open"
    seen = len(fx.requests)
    with pytest.raises(CircuitOpenError, match="circuit open"):
        acct.broker.tickers.price("BTC/USDT")
    assert len(fx.requests) == seen  # failed fast, nothing sent
    buy = acct.order(Side.BUY, 0.01)  # an order while open is not sent either
    (row,) = [r for r in acct.rows(OrderRow) if r["client_order_id"] == buy.client_order_id]
    assert row["status"] in ("rejected", "canceled") and len(fx.requests) == seen
    clock.now += 10_000  # cooldown over: one probe, it succeeds, the circuit closes
    acct.broker.tickers._cache.clear()
    assert acct.broker.tickers.price("BTC/USDT") == pytest.approx(30_000.0)
    assert acct.gateway.breaker.state == "closed"
    snap = acct.gateway.snapshot()
    assert snap.errors == 5 and snap.circuit_opens == 1 and 0 < snap.error_rate < 1


def test_restart_reconciles_with_the_exchange(tmp_path: Path, fx: FakeExchange) -> None:
    clock = FakeClock(T0)
    first = Account(fx, url(tmp_path), clock, 1)
    reconcile(first.broker, T0)
    first.order(Side.BUY, 0.01, stop=29_000.0, take=32_000.0)
    first.record(first.broker.sync(T0))  # an open position
    fx.prices["ETHUSDT"] = 2000.0
    fx.order_faults.append("lost")
    second_symbol = OrderRequest("tl-testnet-d1-zz-1", "BTC/USDT", Side.SELL, 0.01, T0,
                                 "signal")  # the exit: sent, then the process dies
    first.store.order(second_symbol, "submitted", T0, "signal (down)")
    first.broker.submit(second_symbol)
    # orders on the exchange the database does not know: ours (adopt) and someone else's
    first.gateway.exchange.create_order("BTC/USDT", "limit", "buy", 0.001, 10_000.0,
                                        {"clientOrderId": "tl-testnet-d1-lost-9"})
    first.gateway.exchange.create_order("BTC/USDT", "limit", "buy", 0.001, 9_000.0,
                                        {"clientOrderId": "manual-by-hand"})
    del first  # crash: no sync, nothing recorded after the send

    second = Account(fx, url(tmp_path), clock, 2)
    rec = reconcile(second.broker, T0 + 1000)
    second.store.adopt_positions(rec.position_ids)
    second.record(rec.events)
    assert any("restored open position BTC/USDT" in line for line in rec.lines)
    assert [(t.exit_reason, t.quantity) for t, _ in rec.events.closed] == [("signal", 0.01)]
    assert not second.broker.positions  # the lost exit had filled: the position is closed
    assert [p["status"] for p in second.rows(PositionRow)] == ["closed"]
    assert any("adopted open order tl-testnet-d1-lost-9" in line for line in rec.lines)
    assert any("manual-by-hand" in p and "untouched" in p for p in rec.problems)
    orders = {r["client_order_id"]: r for r in second.rows(OrderRow)}
    assert orders["tl-testnet-d1-zz-1"]["status"] == "filled"
    assert orders["tl-testnet-d1-lost-9"]["status"] == "open"
    assert "manual-by-hand" not in orders
    assert not fx.duplicate_client_ids()
    assert disagreements(fx, second.rows(OrderRow)) == [  # only the foreign order
        "manual-by-hand: on the exchange, not on record"]


def test_holdings_that_disagree_are_reported(tmp_path: Path, fx: FakeExchange) -> None:
    clock = FakeClock(T0)
    first = Account(fx, url(tmp_path), clock, 1)
    reconcile(first.broker, T0)
    first.order(Side.BUY, 0.01)
    first.record(first.broker.sync(T0))
    fx.balances["BTC"] = 0.0  # sold by hand on the exchange while tradeloop was down
    second = Account(fx, url(tmp_path), clock, 2)
    rec = reconcile(second.broker, T0 + 1000)
    second.store.adopt_positions(rec.position_ids)
    second.record(rec.events)
    assert any("sold outside tradeloop" in p for p in rec.problems)
    assert [t.exit_reason for t, _ in rec.events.closed] == ["not held on the exchange"]
    assert [p["status"] for p in second.rows(PositionRow)] == ["closed"]
    fx.balances["BTC"] = 0.5  # bought by hand: reported, not managed
    third = Account(fx, url(tmp_path), clock, 3)
    rec = reconcile(third.broker, T0 + 2000)
    assert any("held outside tradeloop" in line for line in rec.lines)
    assert not third.broker.positions
    assert not [r for r in third.rows(ErrorLogRow)]  # problems are the session's to record


def test_wipe_refuses_unless_flat_and_tickers_are_cached(tmp_path: Path,
                                                         fx: FakeExchange) -> None:
    clock = FakeClock(T0)
    acct = Account(fx, url(tmp_path), clock, 1)
    reconcile(acct.broker, T0)
    acct.broker.tickers._cache.clear()
    for _ in range(3):  # within the TTL: one request, two hits
        acct.broker.tickers.price("BTC/USDT")
    snap = acct.gateway.snapshot()
    assert (snap.cache_hits, snap.cache_misses) == (2, 1)
    clock.now += 2_000  # expired: asked again
    acct.broker.tickers.price("BTC/USDT")
    assert acct.gateway.snapshot().cache_misses == 2
    acct.order(Side.BUY, 0.01)
    acct.record(acct.broker.sync(clock.now))
    with pytest.raises(ExchangeRejectedError, match="cannot wipe while 1 position"):
        acct.broker.reset()
    acct.order(Side.SELL, 0.01)
    acct.record(acct.broker.sync(clock.now))
    acct.broker.reset()  # flat: allowed, the balance is read again
    assert acct.broker.cash == pytest.approx(fx.balances["USDT"])


def test_strategy_instances_split_one_exchange_account_and_a_restart_takes_it_up(
        db_url: str, fx: FakeExchange) -> None:
    """The main desk and a funded instance on one account: each its own orders, positions,
    exits and cash (the instance's from its transfers and fills on record); a crash between
    an instance's fill and its record, then a restart, loses nothing and confuses nothing."""
    clock = FakeClock(T0)
    main = ExchangeAccount(fx, db_url, clock, 1, ledger=True)
    inst = main.book("ma_cross:BTCUSDT:1h:abc")
    reconcile(main.broker, T0)
    reconcile(inst.broker, T0)
    assert (main.broker.cash, inst.broker.cash) == (pytest.approx(10_000.0), 0.0)
    assert main.broker.funds_instances
    moved = main.broker.transfer(500.0)  # the pipeline's allocation, as Engine.move_cash
    inst.broker.transfer(-moved)
    assert moved == 500.0 and inst.broker.cash == 500.0
    assert main.ledger is not None and main.ledger.cash(inst.broker.instance) == 500.0
    main.broker.refresh_balance(T0)  # the exchange's free balance less the instance's cash
    assert main.broker.cash == pytest.approx(9_500.0)

    inst.order(Side.BUY, 0.01, stop=29_000.0)  # the instance's entry: $300 of its $500
    inst.record(inst.broker.sync(T0))
    main.order(Side.BUY, 0.1)  # the main desk's own: $3,000
    main.record(main.broker.sync(T0))
    cost = 0.01 * 30_000 * 1.001
    assert inst.broker.cash == pytest.approx(500.0 - cost)
    assert main.ledger.cash(inst.broker.instance) == pytest.approx(500.0 - cost)
    main.broker.refresh_balance(T0)
    assert main.broker.cash == pytest.approx(9_500.0 - 3_000 * 1.001)
    rows = {r["client_order_id"]: r["instance"] for r in main.rows(OrderRow)}
    assert sorted(rows.values()) == ["ma_cross:BTCUSDT:1h:abc", "main"]
    assert len(set(rows)) == 2  # client ids never collide between the books

    fx.order_faults.append("lost")  # the instance's exit is sent, then the process dies
    exit_order = OrderRequest(inst.broker.client_id(T0, "x"), "BTC/USDT", Side.SELL, 0.01,
                              T0, "signal")
    inst.store.order(exit_order, "submitted", T0, "signal (down)")
    inst.broker.submit(exit_order)
    del main, inst

    main = ExchangeAccount(fx, db_url, clock, 2, ledger=True)
    inst = main.book("ma_cross:BTCUSDT:1h:abc")
    rec = reconcile(main.broker, T0 + 1000)
    main.store.adopt_positions(rec.position_ids)
    main.record(rec.events)
    # the main desk restores its own position only; the instance's BTC is not "outside"
    assert list(main.broker.positions) == ["BTC/USDT"]
    assert main.broker.positions["BTC/USDT"].quantity == pytest.approx(0.1)
    assert not rec.problems and not any("outside" in line for line in rec.lines)
    assert not rec.events.fills  # the instance's lost exit is the instance's to resolve
    assert "BTC/USDT: holdings checked once the other instances' orders resolve" in rec.lines
    rec = reconcile(inst.broker, T0 + 1000)
    inst.store.adopt_positions(rec.position_ids)
    inst.record(rec.events)
    assert [(t.exit_reason, t.quantity) for t, _ in rec.events.closed] == [("signal", 0.01)]
    assert not rec.problems  # the account's 0.1 BTC is the main desk's: it agrees
    proceeds = 0.01 * fx.prices["BTCUSDT"] * 0.999
    assert inst.broker.cash == pytest.approx(500.0 - cost + proceeds)
    assert main.ledger is not None
    assert main.ledger.cash(inst.broker.instance) == pytest.approx(inst.broker.cash)
    assert fx.balances["BTC"] == pytest.approx(0.1)  # the main desk's position is intact
    assert not inst.broker.positions and not fx.duplicate_client_ids()
    assert disagreements(fx, main.rows(OrderRow)) == []

    with pytest.raises(ExchangeRejectedError, match="cannot wipe while 1 position"):
        main.broker.reset()
    # retired: what it has goes back to the main desk; its sub-ledger is empty
    back = inst.broker.transfer(inst.broker.cash)
    main.broker.transfer(-back)
    main.broker.refresh_balance(T0 + 2000)
    assert main.ledger.cash(inst.broker.instance) == pytest.approx(0.0, abs=1e-9)
    assert main.broker.cash == pytest.approx(fx.balances["USDT"])
