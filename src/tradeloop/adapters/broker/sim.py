"""SimBroker: fills on the simulated book, for replay and for paper trading on live prices.

Market orders fill at the next price seen for their symbol (the next candle's open) with
slippage against the taker, and pay fees on the notional. Stop-loss and take-profit are checked
against each candle's high and low; when both are inside one candle the stop is assumed to
have hit first (the conservative rule). A gap through a level fills at the open.
"""

from __future__ import annotations

from tradeloop.domain.candles import Candle
from tradeloop.domain.trading import (
    BrokerEvents,
    ClosedTrade,
    Fill,
    OrderRequest,
    Position,
    Side,
    close_position,
)


class SimBroker:
    """Cash, long positions and pending market orders of one simulated account. A run that
    ends sells what it holds at the last price, so the account's result is on record."""

    close_on_stop = True
    funds_instances = True

    def __init__(self, initial_cash: float, fee_bps: float, slippage_bps: float) -> None:
        self.initial_cash = initial_cash
        self.cash = initial_cash
        self.fee_rate = fee_bps / 10_000.0
        self.slippage = slippage_bps / 10_000.0
        self.positions: dict[str, Position] = {}
        self.pending: dict[str, list[OrderRequest]] = {}
        self.last_price: dict[str, float] = {}
        self._risk: dict[str, float] = {}

    def submit(self, order: OrderRequest) -> None:
        self.pending.setdefault(order.symbol, []).append(order)

    def has_pending(self, symbol: str) -> bool:
        return bool(self.pending.get(symbol))

    def equity(self) -> float:
        if not self.positions:
            return self.cash
        return self.cash + sum(p.quantity * self.last_price.get(s, p.entry_price)
                               for s, p in self.positions.items())

    def on_candle(self, symbol: str, candle: Candle, time_ms: int) -> BrokerEvents:
        """Advance the book for one closed candle of ``symbol`` (opened at candle.open_time)."""
        fills: list[Fill] = []
        closed: list[tuple[ClosedTrade, float]] = []
        if symbol in self.pending:
            for order in self.pending.pop(symbol):
                self._fill(order, candle.open, candle.open_time, fills, closed)
        pos = self.positions.get(symbol)
        if pos is not None:
            hit_stop = pos.stop_loss is not None and candle.low <= pos.stop_loss
            hit_take = pos.take_profit is not None and candle.high >= pos.take_profit
            if hit_stop:
                assert pos.stop_loss is not None
                price = min(candle.open, pos.stop_loss)
                self._exit(pos, price, time_ms, "stop_loss", fills, closed)
            elif hit_take:
                assert pos.take_profit is not None
                price = max(candle.open, pos.take_profit)
                self._exit(pos, price, time_ms, "take_profit", fills, closed)
        self.last_price[symbol] = candle.close
        return BrokerEvents(fills, closed)

    def sync(self, now_ms: int) -> BrokerEvents:
        """Nothing happens between candles on the simulated book."""
        return BrokerEvents([], [])

    def adopt(self, position: Position) -> None:
        """A position carried over from a run that ended without closing it (a crash): held
        again, paid for from this account's cash."""
        self.positions[position.symbol] = position
        self.cash -= position.quantity * position.entry_price + position.entry_fee
        self.last_price.setdefault(position.symbol, position.entry_price)
        self._risk[position.symbol] = position.quantity * (
            position.entry_price - position.stop_loss) if position.stop_loss else 0.0

    def transfer(self, amount: float) -> float:
        """Cash out of (> 0, at most what is free) or into (< 0) this account."""
        moved = min(amount, max(self.cash, 0.0)) if amount > 0 else amount
        self.cash -= moved
        return moved

    def reset(self) -> None:
        """Wipe Data: back to the initial cash, no positions, no pending orders."""
        self.cash = self.initial_cash
        self.positions.clear()
        self.pending.clear()
        self._risk.clear()

    def close_all(self, time_ms: int, reason: str) -> BrokerEvents:
        """Close every position at its last price (rollback, end of a replay)."""
        fills: list[Fill] = []
        closed: list[tuple[ClosedTrade, float]] = []
        for pos in list(self.positions.values()):
            self._exit(pos, self.last_price.get(pos.symbol, pos.entry_price), time_ms, reason,
                       fills, closed)
        self.pending.clear()
        return BrokerEvents(fills, closed)

    def _fill(self, order: OrderRequest, price: float, time_ms: int, fills: list[Fill],
              closed: list[tuple[ClosedTrade, float]]) -> None:
        if order.side is Side.BUY:
            if order.symbol in self.positions:
                return  # one position per symbol: a duplicate entry is dropped
            px = price * (1.0 + self.slippage)
            qty = min(order.quantity, self.cash / (px * (1.0 + self.fee_rate)))
            if qty <= 0:
                return
            fee = qty * px * self.fee_rate
            self.cash -= qty * px + fee
            # Keep the risk-sized distances to the stop and target, re-anchored on the fill.
            stop = take = None
            if order.stop_loss is not None:
                stop = px * (order.stop_loss / price)
            if order.take_profit is not None:
                take = px * (order.take_profit / price)
            self.positions[order.symbol] = Position(order.symbol, qty, px, time_ms, fee, stop,
                                                    take, order.confidence,
                                                    order.client_order_id)
            self._risk[order.symbol] = qty * (px - stop) if stop is not None else 0.0
            fills.append(Fill(order.client_order_id, order.symbol, Side.BUY, qty, px, fee,
                              time_ms))
        else:
            pos = self.positions.get(order.symbol)
            if pos is not None:
                self._exit(pos, price, time_ms, order.reason, fills, closed,
                           order.client_order_id)

    def _exit(self, pos: Position, price: float, time_ms: int, reason: str, fills: list[Fill],
              closed: list[tuple[ClosedTrade, float]], client_id: str | None = None) -> None:
        px = price * (1.0 - self.slippage)
        fee = pos.quantity * px * self.fee_rate
        self.cash += pos.quantity * px - fee
        del self.positions[pos.symbol]
        trade = close_position(pos, pos.quantity, px, time_ms, fee, reason)
        fills.append(Fill(client_id or f"{pos.client_order_id}-x", pos.symbol, Side.SELL,
                          pos.quantity, px, fee, time_ms))
        closed.append((trade, self._risk.pop(pos.symbol, 0.0)))
