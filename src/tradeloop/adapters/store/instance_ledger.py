"""InstanceLedger: the strategy instances' shares of one exchange account (sub-ledgers).

An instance in a real-money stage trades the exchange balance through a sub-ledger of its
own. Its cash is what the main desk moved to it (``instance_transfers``) plus what its sells
brought in, less what its buys cost, both read from its order rows; so a restart, or a crash
between a fill and anything after it, rebuilds the same figure from what is recorded. The
main desk's cash is the exchange's free balance less every other instance's cash; the
account's holdings of a symbol are split by the open position rows of each instance.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Engine, case, func, insert, select

from tradeloop.adapters.store.order_journal import UNRESOLVED
from tradeloop.adapters.store.schema import InstanceTransferRow, OrderRow, PositionRow
from tradeloop.domain.timestamps import ts
from tradeloop.domain.trading import MAIN_INSTANCE

FINAL = ("filled", "canceled")  # a canceled order keeps what it filled


class InstanceLedger:
    """The sub-ledgers of one mode's exchange account (``testnet`` or ``live``)."""

    def __init__(self, engine: Engine, mode: str) -> None:
        self.engine, self.mode = engine, mode

    def transfer(self, instance: str, amount: float, now_ms: int, reason: str) -> None:
        """Record cash moved into (``amount`` > 0) or out of ``instance``'s sub-ledger."""
        with self.engine.begin() as conn:
            conn.execute(insert(InstanceTransferRow).values(
                instance=instance, mode=self.mode, amount=amount, timestamp=ts(now_ms),
                reason=reason[:200]))

    def cash(self, instance: str) -> float:
        """``instance``'s cash: its transfers and its fills."""
        return self._cash(InstanceTransferRow.instance == instance,
                          OrderRow.instance == instance)

    def reserved(self) -> float:
        """The cash of every instance but the main desk (what is not the main desk's)."""
        return self._cash(InstanceTransferRow.instance != MAIN_INSTANCE,
                          OrderRow.instance != MAIN_INSTANCE)

    def held(self, symbol: str, besides: str) -> float:
        """What the open positions of every instance but ``besides`` hold of ``symbol``."""
        with self.engine.connect() as conn:
            return float(conn.execute(select(func.coalesce(func.sum(PositionRow.quantity), 0.0))
                                      .where(PositionRow.mode == self.mode,
                                             PositionRow.status == "open",
                                             PositionRow.symbol == symbol,
                                             PositionRow.instance != besides)).scalar_one())

    def unresolved(self, symbol: str, besides: str) -> int:
        """How many orders of ``symbol`` of the other instances are not final yet (what
        the account holds is uncertain until they resolve)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(OrderRow).where(
                OrderRow.mode == self.mode, OrderRow.symbol == symbol,
                OrderRow.instance != besides, OrderRow.status.in_(UNRESOLVED))).scalar_one())

    def _cash(self, transfers: ColumnElement[bool], orders: ColumnElement[bool]) -> float:
        value = OrderRow.filled_quantity * func.coalesce(OrderRow.average_price, 0.0)
        flow = case((OrderRow.side == "buy", -value - OrderRow.fee), else_=value - OrderRow.fee)
        with self.engine.connect() as conn:
            moved = conn.execute(select(func.coalesce(func.sum(InstanceTransferRow.amount), 0.0))
                                 .where(InstanceTransferRow.mode == self.mode, transfers)
                                 ).scalar_one()
            filled = conn.execute(select(func.coalesce(func.sum(flow), 0.0)).where(
                OrderRow.mode == self.mode, orders, OrderRow.status.in_(FINAL),
                OrderRow.filled_quantity > 0)).scalar_one()
        return float(moved) + float(filled)
