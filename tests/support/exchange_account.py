"""An exchange account as a session wires it (gateway, CcxtBroker, order journal, trading
store on one database) against the fake exchange, plus the engine's part: order rows written
before sending, fills and trades recorded. For the broker tests and bench_faults."""

from __future__ import annotations

import copy
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select

from tests.support.fake_exchange import FakeExchange
from tradeloop.adapters.broker.ccxt_broker import CcxtBroker
from tradeloop.adapters.broker.order_tracker import ExecutionConfig
from tradeloop.adapters.exchange.ccxt_client import make_exchange
from tradeloop.adapters.exchange.circuit_breaker import CircuitBreaker
from tradeloop.adapters.exchange.gateway import ExchangeGateway
from tradeloop.adapters.exchange.rate_limit import RateLimiter
from tradeloop.adapters.exchange.tickers import TickerCache
from tradeloop.adapters.store import database
from tradeloop.adapters.store.instance_ledger import InstanceLedger
from tradeloop.adapters.store.order_journal import OrderJournal
from tradeloop.adapters.store.trading_store import TradingStore
from tradeloop.domain.trading import MAIN_INSTANCE, BrokerEvents, OrderRequest, Side
from tradeloop.ports import Clock
from tradeloop.settings import ExchangeSettings, Secrets

KEY, SECRET = "tlkey-0123456789", "tlsecret-0123456789"


class ExchangeAccount:
    """A broker, its journal and store on one database: what a session wires (``ledger``:
    the account can be split between strategy instances, see :meth:`book`)."""

    def __init__(self, fx: FakeExchange, db_url: str, clock: Clock, deployment: int,
                 config: ExecutionConfig | None = None, *,
                 symbols: tuple[str, ...] = ("BTC/USDT",), timeout_seconds: float = 1.0,
                 limiter: RateLimiter | None = None, breaker: CircuitBreaker | None = None,
                 max_retries: int = 2, ledger: bool = False) -> None:
        self.db = database.make_engine(db_url)
        database.upgrade(self.db)
        exchange = make_exchange(ExchangeSettings(base_url=fx.url,
                                                  timeout_seconds=timeout_seconds),
                                 Secrets(exchange_api_key=SecretStr(KEY),
                                         exchange_api_secret=SecretStr(SECRET)))
        self.gateway = ExchangeGateway(
            exchange, clock, max_retries=max_retries, limiter=limiter,
            breaker=breaker or CircuitBreaker(clock, threshold=3, cooldown_seconds=10))
        self.store = TradingStore(self.db, "testnet", deployment)
        self.errors: list[str] = []
        self.ledger = InstanceLedger(self.db, "testnet") if ledger else None
        self.tickers, self.symbols = TickerCache(self.gateway, 2.0), list(symbols)
        self.config = config or ExecutionConfig("limit", 0.005, 30_000, 15_000)
        self.deployment, self.clock = deployment, clock
        self.broker = self._broker(MAIN_INSTANCE)

    def _broker(self, instance: str) -> CcxtBroker:
        tag = f"testnet-d{self.deployment}" + ("" if instance == MAIN_INSTANCE
                                               else f"-{instance}")
        return CcxtBroker(
            self.gateway, OrderJournal(self.db, "testnet", self.deployment, instance),
            self.tickers, self.symbols, self.config, run_tag=tag,
            on_error=lambda kind, msg, sym: self.errors.append(f"{kind}: {msg}"),
            ledger=self.ledger)

    def book(self, instance: str) -> ExchangeAccount:
        """Strategy instance ``instance``'s sub-ledger of the same account (its own broker
        and store view on the same gateway, database and ledger)."""
        other = copy.copy(self)
        other.store = self.store.for_instance(instance)
        other.broker = self._broker(instance)
        return other

    def order(self, side: Side, qty: float, symbol: str = "BTC/USDT", **kw: float
              ) -> OrderRequest:
        """An order as the engine makes it: its row is written before it is sent."""
        now = self.clock.now_ms()
        order = OrderRequest(self.broker.client_id(now, "t"), symbol, side, qty, now,
                             "signal", kw.get("stop"), kw.get("take"))
        self.store.order(order, "submitted", now, "signal (test)")
        self.broker.submit(order)
        return order

    def record(self, events: BrokerEvents) -> BrokerEvents:
        """What the engine does with broker events."""
        for fill in events.fills:
            pos = self.broker.positions.get(fill.symbol)
            self.store.fill(fill, pos.stop_loss if pos else None,
                            pos.take_profit if pos else None)
        for trade, _ in events.closed:
            self.store.trade(trade, "1h", "v1")
        return events

    def rows(self, table: Any) -> list[dict[str, Any]]:
        with self.db.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(table.__table__))]


def disagreements(fx: FakeExchange, rows: list[dict[str, Any]]) -> list[str]:
    """Orders whose record disagrees with the exchange (lost orders): on the exchange but not
    on record, on record with another outcome, on record as filled but unknown to the
    exchange, or still unresolved."""
    by_cid = {r["client_order_id"]: r for r in rows}
    out = []
    expected = {"FILLED": ("filled",), "CANCELED": ("canceled",), "NEW": ("open",)}
    on_exchange = set()
    for o in fx.orders.values():
        cid = o["clientOrderId"]
        on_exchange.add(cid)
        row = by_cid.get(cid)
        if row is None:
            out.append(f"{cid}: on the exchange, not on record")
        elif row["status"] not in expected[o["status"]]:
            out.append(f"{cid}: {o['status']} on the exchange, {row['status']} on record")
        elif o["status"] == "FILLED" and abs(row["filled_quantity"] -
                                             float(o["executedQty"])) > 1e-9:
            out.append(f"{cid}: filled {o['executedQty']}, recorded {row['filled_quantity']}")
    for cid, row in by_cid.items():
        if row["status"] == "filled" and cid not in on_exchange:
            out.append(f"{cid}: recorded as filled, unknown to the exchange")
        if row["status"] in ("submitted", "sent"):
            out.append(f"{cid}: left unresolved ({row['status']})")
    return out
