"""OrderJournal: the exchange broker's record of its orders and positions in the database.

Every order has a row (with its client order id) before it is sent; its status then moves
``submitted`` -> ``sent`` (on its way: its fate is unknown until the exchange answers or is
asked) -> ``open`` (resting on the book) -> ``filled`` | ``canceled`` | ``rejected``.
At start-up the rows that are not final and the open positions of the mode are what the
broker reconciles with the exchange.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update

from tradeloop.adapters.store.schema import OrderRow, PositionRow
from tradeloop.domain.timestamps import ms_of, ts
from tradeloop.domain.trading import MAIN_INSTANCE

UNRESOLVED = ("submitted", "sent", "open")


@dataclass(frozen=True)
class JournalOrder:
    """An order row that is not final yet."""

    client_order_id: str
    symbol: str
    side: str
    order_type: str
    quantity: float
    price: float | None
    stop_loss: float | None
    take_profit: float | None
    status: str
    reason: str
    created_ms: int
    updated_ms: int
    exchange_order_id: str | None


@dataclass(frozen=True)
class JournalPosition:
    """An open position row."""

    id: int
    symbol: str
    quantity: float
    entry_price: float
    entry_ms: int
    fees: float
    stop_loss: float | None
    take_profit: float | None
    client_order_id: str | None
    deployment_id: int | None


class OrderJournal:
    """Order and position rows of one mode (``testnet`` or ``live``) and strategy instance
    (the main desk's, or a funded instance's on its sub-ledger of the account)."""

    def __init__(self, engine: Engine, mode: str, deployment_id: int | None = None,
                 instance: str = MAIN_INSTANCE) -> None:
        self.engine, self.mode, self.deployment_id = engine, mode, deployment_id
        self.instance = instance

    def create(self, client_order_id: str, symbol: str, side: str, quantity: float,
               now_ms: int, reason: str, *, order_type: str = "market",
               price: float | None = None, status: str = "submitted",
               exchange_order_id: str | None = None) -> None:
        """A new order row (a no-op when the engine has written it already)."""
        with self.engine.begin() as conn:
            exists = conn.execute(select(OrderRow.id).where(
                OrderRow.client_order_id == client_order_id)).first()
            if exists is None:
                conn.execute(insert(OrderRow).values(
                    client_order_id=client_order_id, deployment_id=self.deployment_id,
                    symbol=symbol, mode=self.mode, instance=self.instance, side=side,
                    order_type=order_type,
                    quantity=quantity, price=price, status=status, reason=reason[:200],
                    exchange_order_id=exchange_order_id,
                    created_at=ts(now_ms), updated_at=ts(now_ms)))

    def update(self, client_order_id: str, now_ms: int, **values: Any) -> None:
        """Set columns of an order row (``status``, ``exchange_order_id``, ``quantity``,
        ``price``, ``order_type``, ``filled_quantity``, ``average_price``, ``fee``,
        ``reason``)."""
        if "reason" in values and values["reason"] is not None:
            values["reason"] = str(values["reason"])[:200]
        with self.engine.begin() as conn:
            conn.execute(update(OrderRow).where(OrderRow.client_order_id == client_order_id)
                         .values(updated_at=ts(now_ms), **values))

    def unresolved(self) -> list[JournalOrder]:
        """This instance's orders whose fate is not final, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(OrderRow.__table__).where(
                OrderRow.mode == self.mode, OrderRow.status.in_(UNRESOLVED),
                OrderRow.instance == self.instance)
                .order_by(OrderRow.id)).all()
        return [JournalOrder(r.client_order_id, r.symbol, r.side, r.order_type, r.quantity,
                             r.price, r.stop_loss, r.take_profit, r.status, r.reason or "",
                             ms_of(r.created_at), ms_of(r.updated_at), r.exchange_order_id)
                for r in rows]

    def known(self, client_order_ids: list[str]) -> set[str]:
        if not client_order_ids:
            return set()
        with self.engine.connect() as conn:
            return set(conn.execute(select(OrderRow.client_order_id).where(
                OrderRow.client_order_id.in_(client_order_ids))).scalars())

    def open_positions(self) -> list[JournalPosition]:
        """This instance's open positions, from any deployment."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(PositionRow.__table__).where(
                PositionRow.mode == self.mode, PositionRow.status == "open",
                PositionRow.instance == self.instance)
                .order_by(PositionRow.id)).all()
        return [JournalPosition(r.id, r.symbol, r.quantity, r.entry_price, ms_of(r.entry_time),
                                r.fees, r.stop_loss, r.take_profit, r.entry_client_order_id,
                                r.deployment_id) for r in rows]
