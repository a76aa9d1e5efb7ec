"""Start-up reconciliation of an exchange account with the database (CcxtBroker).

Open positions on record are restored; orders that were not final are resolved by their
client order id (a fill that happened while the engine was down is recorded with the position
it opens or closes); open orders on the exchange that the database does not know are adopted
when their client order id is ours and reported otherwise; holdings that disagree with the
positions on record are reported (a position the exchange no longer holds is closed on
record).

A funded strategy instance's broker is reconciled the same way on its own rows: its cash comes
from its sub-ledger, its holdings are checked against what the account holds less the other
instances' positions (left to the last book to reconcile while another's orders of the symbol
are unresolved), and only the main desk adopts unknown open orders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from tradeloop.adapters.broker.order_tracker import PendingOrder
from tradeloop.adapters.store.order_journal import JournalOrder
from tradeloop.domain.errors import ExchangeError, ExchangeRejectedError
from tradeloop.domain.trading import CLIENT_ID_PREFIX, BrokerEvents, OrderRequest, Position, Side

if TYPE_CHECKING:
    from tradeloop.adapters.broker.ccxt_broker import CcxtBroker


@dataclass
class Reconciliation:
    """What start-up reconciliation found and did."""

    events: BrokerEvents
    position_ids: dict[str, int]
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def reconcile(b: CcxtBroker, now: int) -> Reconciliation:
    """Match ``b``'s journal with its exchange account before trading starts."""
    for symbol in b.symbols:
        b.market(symbol)
    quotes = {b.markets[s]["quote"] for s in b.symbols}
    if len(quotes) != 1:
        raise ExchangeRejectedError(f"symbols must share one quote currency, got {quotes}")
    b.quote = quotes.pop()
    b.fee_rate = float(b.markets[b.symbols[0]].get("taker") or b.fee_rate)
    b.refresh_balance(now)
    b.load_cash()
    rec = Reconciliation(BrokerEvents([], []), {})
    for jp in b.journal.open_positions():
        if jp.symbol not in b.symbols:
            rec.lines.append(f"open position {jp.symbol} (id {jp.id}) is not traded by this "
                             f"session: left as it is")
            continue
        if jp.symbol in b.positions:
            rec.problems.append(f"{jp.symbol}: more than one open position row (id {jp.id} "
                                f"ignored)")
            continue
        b.restore(Position(jp.symbol, jp.quantity, jp.entry_price, jp.entry_ms, jp.fees,
                           jp.stop_loss, jp.take_profit, 0.0, jp.client_order_id or ""))
        rec.position_ids[jp.symbol] = jp.id
        rec.lines.append(f"restored open position {jp.symbol}: {jp.quantity:.8g} @ "
                         f"{jp.entry_price:.8g}")
    for jo in b.journal.unresolved():
        if jo.symbol not in b.symbols:
            rec.lines.append(f"order {jo.client_order_id} ({jo.symbol}) is not traded by this "
                             f"session: left unresolved")
            continue
        _track(b, jo)
        rec.lines.append(f"order {jo.client_order_id} ({jo.side} {jo.symbol}) was "
                         f"{jo.status}: resolving by its client order id")
    resolved = b.sync(now)
    if resolved.fills:
        b.refresh_balance(now)
    if b.main:
        _adopt_open_orders(b, now, rec)
    for symbol in b.symbols:
        if symbol not in b.pending:
            _check_holding(b, symbol, now, rec)
    later = b.drain()
    rec.events = BrokerEvents(resolved.fills + later.fills, resolved.closed + later.closed)
    for fill in rec.events.fills:
        rec.lines.append(f"resolved {fill.client_order_id}: {fill.side} {fill.quantity:.8g} "
                         f"{fill.symbol} @ {fill.price:.8g}")
    return rec


def _track(b: CcxtBroker, jo: JournalOrder) -> None:
    """Watch an order on record whose fate is not known yet."""
    order = OrderRequest(jo.client_order_id, jo.symbol, Side(jo.side), jo.quantity,
                         jo.created_ms, jo.reason, jo.stop_loss, jo.take_profit)
    ref = jo.price or b.last_price.get(jo.symbol) or 0.0
    if not ref:
        try:
            ref = b.tickers.price(jo.symbol)
        except ExchangeError:
            ref = 1.0
    # an order never sent has no answer to wait for beyond the grace period
    status = "sent" if jo.status == "submitted" else jo.status
    b.pending[jo.symbol] = PendingOrder(order, jo.order_type, jo.price, ref, jo.created_ms,
                                        status, jo.exchange_order_id)


def _adopt_open_orders(b: CcxtBroker, now: int, rec: Reconciliation) -> None:
    for symbol in b.symbols:
        orders = b.gateway.call(partial(b.ex.fetch_open_orders, symbol),
                                f"{b.ex.id}: open orders {symbol}")
        ids = [str(o.get("clientOrderId") or "") for o in orders]
        known = b.journal.known([i for i in ids if i])
        for o, cid in zip(orders, ids, strict=True):
            if cid in known:
                continue
            if not cid.startswith(CLIENT_ID_PREFIX) or symbol in b.pending:
                rec.problems.append(f"unknown open order {o.get('id')} ({cid or 'no id'}, "
                                    f"{o.get('side')} {o.get('amount')} {symbol}) on the "
                                    f"exchange: left untouched")
                continue
            side, amount, price = str(o.get("side")), float(o.get("amount") or 0), \
                o.get("price")
            kind = str(o.get("type") or "limit")
            b.journal.create(cid, symbol, side, amount, now,
                             "adopted at start-up (not in the database)", order_type=kind,
                             price=price, status="open", exchange_order_id=str(o.get("id")))
            ref = float(price or b.last_price.get(symbol) or 1.0)
            b.pending[symbol] = PendingOrder(
                OrderRequest(cid, symbol, Side(side), amount, now, "adopted"), kind, price,
                ref, now, "open", str(o.get("id")))
            rec.lines.append(f"adopted open order {cid} ({side} {amount} {symbol})")


def _check_holding(b: CcxtBroker, symbol: str, now: int, rec: Reconciliation) -> None:
    if b.unresolved_elsewhere(symbol):  # the book that resolves them checks the account
        rec.lines.append(f"{symbol}: holdings checked once the other instances' orders "
                         f"resolve")
        return
    others = b.held_elsewhere(symbol)
    held = max(b.holding(symbol) - others, 0.0)  # the account's, less the other instances'
    whose = f"strategy {b.instance}: " if not b.main else ""
    of_it = f" (less {others:.8g} of the other instances)" if others else ""
    market = b.markets[symbol]
    step = (market.get("precision") or {}).get("amount") or 0.0
    min_amount = ((market.get("limits") or {}).get("amount") or {}).get("min") or 0.0
    pos = b.positions.get(symbol)
    mine = pos.quantity if pos is not None else 0.0
    tolerance = max(float(step), mine * 1e-6)
    if pos is not None and held + tolerance < mine:
        rec.problems.append(f"{whose}{symbol}: the database holds {mine:.8g} but the "
                            f"exchange {held:.8g}{of_it}: sold outside tradeloop?")
        if others:  # which book lost it cannot be told: reported, nothing written off
            return
        if held < min_amount:  # nothing left: close the position on record
            b.write_off(symbol, now, "not held on the exchange")
        else:
            pos.quantity = held
    elif held - mine > max(min_amount, tolerance) and \
            not math.isclose(held, mine, rel_tol=1e-9):
        rec.lines.append(f"{symbol}: {held - mine:.8g} {market['base']} held outside "
                         f"tradeloop (not managed)")
