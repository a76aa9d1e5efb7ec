"""CcxtBroker: orders on a real exchange (testnet or live) that are never lost nor sent twice.

Every order has a client order id and a database row before it is sent. An order is sent
once: when its answer is lost (timeout, dropped connection, 5xx) it stays ``sent`` and is
looked up by its client order id until the exchange says what became of it; only when the
exchange has never heard of it after ``unknown_grace_seconds`` (longer than the exchange's
receive window, after which a late copy would be refused) is it given up as "never reached
the exchange". Nothing is ever re-sent blindly.

Entries are marketable limit orders (price = reference x (1 + slippage tolerance), so a fill is
never worse than the tolerance) or market orders; a limit order not filled within
``order_timeout_seconds`` is canceled and keeps what it filled. Exits are market orders for
the whole position. Amounts and prices are rounded to the market's precision, and an order
under the market's minimum amount or notional is refused before it is sent. Stop-loss and
take-profit are watched on every closed candle of the finest timeframe (software stops).

At start-up :meth:`reconcile` matches the database with the exchange: open positions are
restored, unresolved orders are resolved by client order id, unknown open orders with our
prefix are adopted and others reported, and holdings that disagree are reported.

Several strategy instances can trade one account: the main desk's broker and one per funded
instance, each with its own orders, positions and exits, sharing the gateway and an
:class:`InstanceLedger`. An instance's cash is its sub-ledger's (what it was given plus what
its fills brought, from its records); the main desk's is the exchange's free balance less
the instances' cash. :meth:`transfer` moves cash between them, as a recorded row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from tradeloop.adapters.broker.market_rules import check_limits, net_of_fees
from tradeloop.adapters.broker.order_tracker import ExecutionConfig, PendingOrder
from tradeloop.adapters.exchange.gateway import ExchangeGateway
from tradeloop.adapters.exchange.tickers import TickerCache
from tradeloop.adapters.store.instance_ledger import InstanceLedger
from tradeloop.adapters.store.order_journal import OrderJournal
from tradeloop.domain.candles import Candle
from tradeloop.domain.errors import (
    CircuitOpenError,
    ExchangeError,
    ExchangeRejectedError,
    OrderNotFoundError,
    TransientExchangeError,
    UnknownSymbolError,
)
from tradeloop.domain.trading import (
    MAIN_INSTANCE,
    BrokerEvents,
    ClosedTrade,
    Fill,
    OrderRequest,
    Position,
    Side,
    client_order_id,
    close_position,
)

log = logging.getLogger("tradeloop.broker")
BALANCE_REFRESH_MS = 60_000


class CcxtBroker:
    """The Broker port on an exchange account (spot, long only): the main desk's share of it
    or, with ``journal.instance`` another, that instance's sub-ledger. A stop keeps the
    positions open: they are restored and reconciled at the next start. Without a ``ledger``
    the account is the main desk's alone (``funds_instances`` false)."""

    _balance: dict[str, Any]
    close_on_stop = False

    def __init__(self, gateway: ExchangeGateway, journal: OrderJournal, tickers: TickerCache,
                 symbols: list[str], config: ExecutionConfig, *, run_tag: str,
                 on_error: Callable[[str, str, str | None], None] | None = None,
                 ledger: InstanceLedger | None = None) -> None:
        self.gateway, self.journal, self.tickers = gateway, journal, tickers
        self.instance, self.ledger = journal.instance, ledger
        self.funds_instances = ledger is not None
        self.ex = gateway.exchange
        self.clock = gateway.clock
        self.symbols, self.cfg = symbols, config
        self.run_tag = run_tag
        self.on_error = on_error
        self.fee_rate = 0.001
        self.cash = 0.0
        self.positions: dict[str, Position] = {}
        self.pending: dict[str, PendingOrder] = {}
        self.last_price: dict[str, float] = {}
        self.markets: dict[str, Any] = {}
        self.quote = ""
        self._risk: dict[str, float] = {}
        self._fills: list[Fill] = []
        self._closed: list[tuple[ClosedTrade, float]] = []
        self._seq = 0
        self._balance_at = 0

    # -- the Broker port ----------------------------------------------------------------
    def has_pending(self, symbol: str) -> bool:
        return symbol in self.pending

    def equity(self) -> float:
        return self.cash + sum(p.quantity * self.last_price.get(s, p.entry_price)
                               for s, p in self.positions.items())

    def submit(self, order: OrderRequest) -> None:
        now = self.clock.now_ms()
        if order.symbol in self.pending:
            self._refuse(order, "another order of this symbol is still open", now)
            return
        try:
            self._submit(order, now)
        except ExchangeError as exc:  # the reference price could not be had: not sent
            self._refuse(order, f"not sent: {exc}", now)

    def on_candle(self, symbol: str, candle: Candle, time_ms: int) -> BrokerEvents:
        self.last_price[symbol] = candle.close
        self.tickers.put(symbol, candle.close)  # the newest price there is
        pos = self.positions.get(symbol)
        if pos is not None and symbol not in self.pending:
            if pos.stop_loss is not None and candle.low <= pos.stop_loss:
                self.exit(symbol, "stop_loss", time_ms)
            elif pos.take_profit is not None and candle.high >= pos.take_profit:
                self.exit(symbol, "take_profit", time_ms)
        return self.drain()

    def sync(self, now_ms: int) -> BrokerEvents:
        """Resolve orders whose answer is outstanding, cancel limit orders past their timeout
        and refresh the balance now and then; returns the fills that came of it."""
        for p in list(self.pending.values()):
            try:
                self._resolve(p, now_ms)
            except TransientExchangeError as exc:
                log.warning("[%s] order %s still unresolved: %s", p.order.symbol,
                            p.order.client_order_id, exc)
        if self.main and now_ms - self._balance_at >= BALANCE_REFRESH_MS:
            try:
                self.refresh_balance(now_ms)
            except TransientExchangeError as exc:
                self.report("BalanceRefresh", f"balance refresh failed: {exc}", None)
        return self.drain()

    def close_all(self, time_ms: int, reason: str) -> BrokerEvents:
        """Cancel open entries and sell every position at market (rollback, drawdown halt)."""
        for p in list(self.pending.values()):
            if p.status == "open" and p.order.side is Side.BUY:
                self._cancel(p, time_ms)
        for symbol in list(self.positions):
            if symbol not in self.pending:
                self.exit(symbol, reason, time_ms)
        deadline = self.clock.now_ms() + self.cfg.unknown_grace_ms
        while self.pending and self.clock.now_ms() < deadline:
            self.sync(self.clock.now_ms())
            if self.pending:
                self.clock.sleep(0.5)
        for symbol in self.pending:
            self.report("OrderUnresolved", f"order {self.pending[symbol].order.client_order_id}"
                         f" still unresolved at {reason}", symbol)
        return self.drain()

    def transfer(self, amount: float) -> float:
        """Cash out of (> 0, at most the free cash) or into (< 0) this share of the account;
        an instance's sub-ledger records it (the main desk's cash follows from it)."""
        if self.ledger is None:
            return 0.0
        moved = min(amount, max(self.cash, 0.0)) if amount > 0 else amount
        if moved == 0:
            return 0.0
        if not self.main:  # on record first: a failed write moves nothing
            self.ledger.transfer(self.instance, -moved, self.clock.now_ms(),
                                 "allocation" if moved < 0 else "returned to the main desk")
        self.cash -= moved
        return moved

    @property
    def main(self) -> bool:
        """Whether this is the main desk's share (the free balance less the instances')."""
        return self.instance == MAIN_INSTANCE

    def reset(self) -> None:
        """Wipe Data on an exchange account: only allowed flat (nothing held, nothing open)."""
        if self.positions or self.pending:
            whose = "" if self.main else f"strategy {self.instance}: "
            raise ExchangeRejectedError(
                f"{whose}cannot wipe while {len(self.positions)} position(s) are open and "
                f"{len(self.pending)} order(s) pending on the exchange; close them first")
        self.refresh_balance(self.clock.now_ms())

    # -- orders ---------------------------------------------------------------------------
    def exit(self, symbol: str, reason: str, now_ms: int) -> None:
        """Sell the whole position of ``symbol`` at market (an order of the broker's own)."""
        pos = self.positions[symbol]
        order = OrderRequest(self.client_id(now_ms, "x"), symbol, Side.SELL, pos.quantity,
                             now_ms, reason, confidence=pos.confidence)
        self.journal.create(order.client_order_id, symbol, "sell", pos.quantity, now_ms, reason)
        self.submit(order)

    def client_id(self, now_ms: int, kind: str = "") -> str:
        self._seq += 1
        return client_order_id(self.run_tag, now_ms, self._seq, kind)

    def _submit(self, order: OrderRequest, now: int) -> None:
        symbol = order.symbol
        market = self.market(symbol)
        ref = self._reference(symbol)
        price: float | None = None
        if order.side is Side.BUY:
            kind = self.cfg.order_type
            qty = self._amount(symbol, order.quantity)
            if kind == "limit":
                price = float(self.ex.price_to_precision(
                    symbol, ref * (1 + self.cfg.slippage_tolerance)))
        else:
            kind = "market"
            pos = self.positions.get(symbol)
            if pos is None:
                self._refuse(order, "no position to sell", now)
                return
            qty = self._amount(symbol, pos.quantity)
        problem = check_limits(market, qty, price or ref)
        if problem:
            self._refuse(order, problem, now)
            return
        p = PendingOrder(order, kind, price, ref, now, "sent")
        self.journal.update(order.client_order_id, now, status="sent", quantity=qty,
                            price=price, order_type=kind)
        self.pending[symbol] = p
        params = {"clientOrderId": order.client_order_id}
        try:
            answer = self.gateway.call(
                partial(self.ex.create_order, symbol, kind, str(order.side), qty, price, params),
                f"{self.ex.id}: {order.side} {qty} {symbol} ({order.client_order_id})",
                retry=False)
        except CircuitOpenError as exc:  # refused before it was sent
            del self.pending[symbol]
            self.journal.update(order.client_order_id, now, status="canceled",
                                reason=f"not sent: {exc}")
            self.report("CircuitOpen", f"{order.client_order_id} not sent: {exc}", symbol)
            return
        except TransientExchangeError as exc:  # the answer is lost: look it up later
            self.report("OrderAnswerLost", f"order {order.client_order_id} sent, answer lost "
                         f"({exc}): resolving by its client id", symbol)
            return
        except ExchangeRejectedError as exc:
            del self.pending[symbol]
            self.journal.update(order.client_order_id, now, status="rejected",
                                reason=str(exc))
            self.report(type(exc).__name__, f"{order.client_order_id}: {exc}", symbol)
            return
        self._apply(p, answer)

    def _resolve(self, p: PendingOrder, now: int) -> None:
        symbol, cid = p.order.symbol, p.order.client_order_id
        try:
            answer = self.gateway.call(
                partial(self.ex.fetch_order, p.exchange_id, symbol, {"clientOrderId": cid}),
                f"{self.ex.id}: order {cid}")
        except OrderNotFoundError:
            if p.status == "open":  # the exchange listed it before: expired and purged
                self._give_up(p, now, "no longer known to the exchange")
            elif now - p.sent_ms >= self.cfg.unknown_grace_ms:
                self._give_up(p, now, "never reached the exchange")
            return
        self._apply(p, answer)
        if p.order.symbol in self.pending and p.status == "open" and \
                now - p.sent_ms >= self.cfg.order_timeout_ms:
            self._cancel(p, now)

    def _cancel(self, p: PendingOrder, now: int) -> None:
        symbol, cid = p.order.symbol, p.order.client_order_id
        try:
            answer = self.gateway.call(
                partial(self.ex.cancel_order, p.exchange_id, symbol, {"clientOrderId": cid}),
                f"{self.ex.id}: cancel {cid}")
        except OrderNotFoundError:  # filled or gone meanwhile: the next lookup tells
            return
        log.info("[%s] order %s canceled after %.0fs (timeout)", symbol, cid,
                 (now - p.sent_ms) / 1000)
        if answer.get("status") in (None, "open"):  # some exchanges answer before it is final
            answer = self.gateway.call(
                partial(self.ex.fetch_order, p.exchange_id, symbol, {"clientOrderId": cid}),
                f"{self.ex.id}: order {cid}")
        self._apply(p, answer)

    def _give_up(self, p: PendingOrder, now: int, why: str) -> None:
        del self.pending[p.order.symbol]
        self.journal.update(p.order.client_order_id, now, status="canceled", reason=why)
        log.warning("[%s] order %s %s: given up", p.order.symbol, p.order.client_order_id, why)

    def _apply(self, p: PendingOrder, o: dict[str, Any]) -> None:
        """Take the exchange's view of an order: still open, or final with what it filled."""
        symbol, cid = p.order.symbol, p.order.client_order_id
        now = self.clock.now_ms()
        status = o.get("status")
        filled = float(o.get("filled") or 0.0)
        p.exchange_id = str(o["id"]) if o.get("id") is not None else p.exchange_id
        if status == "open":
            if p.status != "open":
                p.status = "open"
                self.journal.update(cid, now, status="open", exchange_order_id=p.exchange_id,
                                    filled_quantity=filled)
            return
        del self.pending[symbol]
        if filled <= 0:
            self.journal.update(cid, now, status="rejected" if status == "rejected"
                                else "canceled", exchange_order_id=p.exchange_id,
                                reason=f"{status} by the exchange, nothing filled")
            return
        average = float(o.get("average") or o.get("price") or p.reference)
        quantity, fee = self._net_of_fees(p, o, filled, average)
        final: dict[str, Any] = {"exchange_order_id": p.exchange_id}
        if status != "closed":  # canceled / expired after a partial fill
            final.update(status="canceled", filled_quantity=quantity, average_price=average,
                         fee=fee)  # as received (net of a fee in the base asset), as a fill
        self.journal.update(cid, now, **final)
        when = int(o.get("lastTradeTimestamp") or o.get("timestamp") or now)
        self._filled(p, quantity, average, fee, when)
        self._check_slippage(p, average)

    def _filled(self, p: PendingOrder, quantity: float, price: float, fee: float, when: int
                ) -> None:
        order, symbol = p.order, p.order.symbol
        self.last_price[symbol] = price
        if order.side is Side.BUY:
            self.cash -= quantity * price + fee  # this fill's cost (before any merge)
            if symbol in self.positions:  # a second entry can only come from reconciliation
                self.report("DuplicateEntry", f"{order.client_order_id} filled while a "
                             f"position is open; quantities merged", symbol)
                old = self.positions.pop(symbol)
                price = (old.quantity * old.entry_price + quantity * price) / \
                    (old.quantity + quantity)
                quantity, fee = old.quantity + quantity, old.entry_fee + fee
            stop = order.stop_loss * price / p.reference if order.stop_loss else None
            take = order.take_profit * price / p.reference if order.take_profit else None
            self.positions[symbol] = Position(symbol, quantity, price, when, fee, stop, take,
                                              order.confidence, order.client_order_id)
            self._risk[symbol] = quantity * (price - stop) if stop is not None else 0.0
            self._fills.append(Fill(order.client_order_id, symbol, Side.BUY, quantity, price,
                                    fee, when))
            log.info("[%s] bought %.8f @ %.2f (fee %.4f %s)", symbol, quantity, price, fee,
                     self.quote)
            return
        pos = self.positions.pop(symbol, None)
        self.cash += quantity * price - fee
        if pos is None:
            self.report("UnknownExit", f"{order.client_order_id} sold {quantity} without "
                         f"a known position", symbol)
            return
        if quantity < pos.quantity:
            log.info("[%s] %.8f left as dust after the exit", symbol, pos.quantity - quantity)
        reason = "signal" if order.reason.startswith("signal") else order.reason
        self._fills.append(Fill(order.client_order_id, symbol, Side.SELL, quantity, price, fee,
                                when))
        self._closed.append((close_position(pos, quantity, price, when, fee, reason),
                             self._risk.pop(symbol, 0.0)))

    def _net_of_fees(self, p: PendingOrder, o: dict[str, Any], filled: float, average: float
                     ) -> tuple[float, float]:
        """(quantity received, fee in the quote currency)."""
        fees = [f for f in (o.get("fees") or ([o["fee"]] if o.get("fee") else [])) if f]
        if not fees and o.get("id") is not None:
            try:
                trades = self.gateway.call(
                    partial(self.ex.fetch_order_trades, str(o["id"]), p.order.symbol),
                    f"{self.ex.id}: trades of {p.order.client_order_id}")
                fees = [t["fee"] for t in trades if t.get("fee")]
            except ExchangeError as exc:
                log.warning("fees of %s unknown (%s): estimated", p.order.client_order_id, exc)
        return net_of_fees(fees, str(p.order.side), self.markets[p.order.symbol]["base"],
                           self.quote, filled, average, self.fee_rate)

    def _check_slippage(self, p: PendingOrder, average: float) -> None:
        sign = 1 if p.order.side is Side.BUY else -1
        slip = sign * (average - p.reference) / p.reference
        if slip > self.cfg.slippage_tolerance + 1e-9:
            self.report("Slippage", f"{p.order.client_order_id} filled at {average:.8g}, "
                         f"{100 * slip:.2f}% worse than {p.reference:.8g} (tolerance "
                         f"{100 * self.cfg.slippage_tolerance:.2f}%)", p.order.symbol)

    def _refuse(self, order: OrderRequest, reason: str, now: int) -> None:
        self.journal.update(order.client_order_id, now, status="rejected", reason=reason)
        self.report("OrderRefused", f"{order.side} {order.symbol} "
                     f"({order.client_order_id}): {reason}", order.symbol)

    # -- market rules, prices, balance --------------------------------------------------------
    def market(self, symbol: str) -> dict[str, Any]:
        if not self.markets:
            self.markets = self.gateway.markets()
        market = self.markets.get(symbol)
        if market is None:
            raise UnknownSymbolError(f"{symbol} is not listed on {self.ex.id}")
        return market

    def _amount(self, symbol: str, quantity: float) -> float:
        """Rounded down to the market's amount step (never more than asked)."""
        try:
            return float(self.ex.amount_to_precision(symbol, quantity))
        except Exception:  # ccxt raises when the amount rounds to below the minimum
            return 0.0

    def _reference(self, symbol: str) -> float:
        try:
            price = self.tickers.price(symbol)
        except TransientExchangeError:
            if symbol not in self.last_price:
                raise
            price = self.last_price[symbol]
        self.last_price.setdefault(symbol, price)
        return price

    def refresh_balance(self, now: int) -> None:
        """Read the account's balance; the main desk's cash is its free quote currency less
        the instances' cash (an instance's own cash is its sub-ledger's: :meth:`load_cash`)."""
        balance = self.gateway.call(self.ex.fetch_balance, f"{self.ex.id}: balance")
        self._balance = balance
        self._balance_at = now
        if self.main:
            free = float((balance.get("free") or {}).get(self.quote) or 0.0)
            self.cash = free - (self.ledger.reserved() if self.ledger is not None else 0.0)

    def load_cash(self) -> None:
        """An instance's cash from its records (at start-up, before its orders resolve)."""
        if not self.main and self.ledger is not None:
            self.cash = self.ledger.cash(self.instance)

    def held_elsewhere(self, symbol: str) -> float:
        """What the account's other instances hold of ``symbol`` (their open positions)."""
        return self.ledger.held(symbol, self.instance) if self.ledger is not None else 0.0

    def unresolved_elsewhere(self, symbol: str) -> int:
        """The account's other instances' orders of ``symbol`` whose fate is not known."""
        return self.ledger.unresolved(symbol, self.instance) if self.ledger is not None else 0

    def holding(self, symbol: str) -> float:
        """The account's total of ``symbol``'s base asset (at the last balance read)."""
        base = self.markets[symbol]["base"]
        return float((self._balance.get("total") or {}).get(base) or 0.0)

    # -- start-up (see adapters/broker/reconciliation.py) ------------------------------------
    def restore(self, pos: Position) -> None:
        """Hold a position on record again (after a restart)."""
        self.positions[pos.symbol] = pos
        self._risk[pos.symbol] = pos.quantity * (pos.entry_price - pos.stop_loss) \
            if pos.stop_loss is not None else 0.0
        self.last_price[pos.symbol] = pos.entry_price

    def write_off(self, symbol: str, now: int, reason: str) -> None:
        """Close a position on record that the account no longer holds (at the last price)."""
        pos = self.positions.pop(symbol)
        price = self.last_price.get(symbol, pos.entry_price)
        self._closed.append((close_position(pos, pos.quantity, price, now, 0.0, reason),
                             self._risk.pop(symbol, 0.0)))

    # -- plumbing ---------------------------------------------------------------------------
    def drain(self) -> BrokerEvents:
        events = BrokerEvents(self._fills, self._closed)
        self._fills, self._closed = [], []
        return events

    def report(self, kind: str, message: str, symbol: str | None) -> None:
        log.warning("[%s] %s", symbol or "-", message)
        if self.on_error is not None:
            self.on_error(kind, message, symbol)
