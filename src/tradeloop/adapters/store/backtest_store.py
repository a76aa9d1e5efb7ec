"""The engine's store in a backtest: the same rows as a deployment's, kept in memory and
written in bulk, a few statements per flush instead of a transaction per order.

Nothing acts on a backtest's rows while it runs and a crashed backtest is simply run again,
so the per-order transactions a live account needs (``TradingStore``) would only cost time:
an order's row is written once with its final state, a position with its exit when it closed
before the flush, and a trade with the id of the position it closed.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, bindparam, insert, select, update

from tradeloop.adapters.store.schema import (
    ErrorLogRow,
    LearningStateRow,
    OrderRow,
    PositionRow,
    RetrainingHistoryRow,
    TradeOutcomeRow,
)
from tradeloop.adapters.store.trading_store import FLUSH_ROWS, TradingStore
from tradeloop.domain.gate import Transition
from tradeloop.domain.redaction import redact
from tradeloop.domain.timestamps import ts
from tradeloop.domain.trading import ClosedTrade, Fill, OrderRequest

_ORDERS = cast(Table, OrderRow.__table__)
_POSITIONS = cast(Table, PositionRow.__table__)
_FILL_WRITTEN_ORDER = (update(_ORDERS)
                       .where(_ORDERS.c.client_order_id == bindparam("cid"),
                              _ORDERS.c.status != "canceled")
                       .values(status="filled", filled_quantity=bindparam("qty"),
                               average_price=bindparam("px"), fee=bindparam("paid"),
                               updated_at=bindparam("at")))
_CLOSE_WRITTEN_POSITION = (update(_POSITIONS).where(_POSITIONS.c.id == bindparam("pid"))
                           .values(status="closed", exit_price=bindparam("px"),
                                   exit_time=bindparam("at"), pnl=bindparam("result"),
                                   fees=bindparam("paid")))


class BacktestStore(TradingStore):
    """TradingStore whose every write waits for the next flush (bulk)."""

    def __init__(self, engine: Engine, mode: str, deployment_id: int | None = None) -> None:
        super().__init__(engine, mode, deployment_id)
        self._orders: dict[str, dict[str, Any]] = {}  # client id -> row, not written yet
        self._order_fills: list[dict[str, Any]] = []  # fills of orders already written
        self._positions: dict[str, dict[str, Any]] = {}  # entry client id -> row
        self._position_closes: list[dict[str, Any]] = []  # of positions already written
        self._open: dict[str, str] = {}  # symbol -> entry client id of its open position
        self._pids: dict[str, int] = {}  # entry client id -> id of a written position
        self._trades: list[tuple[dict[str, Any], str | None]] = []
        self._rows: dict[Any, list[dict[str, Any]]] = {
            LearningStateRow: [], ErrorLogRow: [], RetrainingHistoryRow: []}
        self._pending = 0

    def _count(self) -> None:
        self._pending += 1
        if self._pending >= FLUSH_ROWS:
            self.flush()

    # -- the Store port -------------------------------------------------------------------
    def transition(self, t: Transition) -> None:
        self._rows[LearningStateRow].append({
            "timestamp": ts(t.time_ms), "symbol": t.symbol, "mode": str(t.mode),
            "previous_mode": str(t.previous), "reason": t.reason[:200],
            "confidence": t.confidence, "deployment_id": self.deployment_id})
        self._count()

    def order(self, order: OrderRequest, status: str, now_ms: int, reason: str | None = None
              ) -> None:
        self._orders[order.client_order_id] = {
            "client_order_id": order.client_order_id, "deployment_id": self.deployment_id,
            "symbol": order.symbol, "mode": self.mode, "side": str(order.side),
            "order_type": "market", "quantity": order.quantity, "status": status,
            "stop_loss": order.stop_loss, "take_profit": order.take_profit,
            "reason": (reason or order.reason)[:200], "created_at": ts(now_ms),
            "updated_at": ts(now_ms), "filled_quantity": 0.0, "average_price": None,
            "fee": 0.0}
        self._count()

    def refusal(self, symbol: str, side: str, reason: str, now_ms: int, seq: int) -> None:
        cid = f"refused-{self.deployment_id or 0}-{now_ms}-{seq}"
        self._orders[cid] = {
            "client_order_id": cid, "deployment_id": self.deployment_id, "symbol": symbol,
            "mode": self.mode, "side": side, "order_type": "market", "quantity": 0.0,
            "status": "refused", "stop_loss": None, "take_profit": None,
            "reason": reason[:200], "created_at": ts(now_ms), "updated_at": ts(now_ms),
            "filled_quantity": 0.0, "average_price": None, "fee": 0.0}
        self._count()

    def _filled(self, fill: Fill) -> None:
        row = self._orders.get(fill.client_order_id)
        if row is None:
            self._order_fills.append({"cid": fill.client_order_id, "qty": fill.quantity,
                                      "px": fill.price, "paid": fill.fee,
                                      "at": ts(fill.time_ms)})
        elif row["status"] != "canceled":
            row.update(status="filled", filled_quantity=fill.quantity,
                       average_price=fill.price, fee=fill.fee, updated_at=ts(fill.time_ms))

    def fill(self, fill: Fill, stop: float | None, take: float | None) -> None:
        if str(fill.side) != "buy":
            self._exit_fills[fill.symbol] = fill
            return
        self._filled(fill)
        self._positions[fill.client_order_id] = {
            "deployment_id": self.deployment_id, "symbol": fill.symbol, "mode": self.mode,
            "side": "long", "quantity": fill.quantity, "entry_price": fill.price,
            "entry_time": ts(fill.time_ms), "stop_loss": stop, "take_profit": take,
            "status": "open", "fees": fill.fee, "entry_client_order_id": fill.client_order_id,
            "exit_price": None, "exit_time": None, "pnl": None}
        self._open[fill.symbol] = fill.client_order_id
        self._count()

    def trade(self, trade: ClosedTrade, timeframe: str | None, version: str | None,
              book: float | None = None) -> None:
        exit_fill = self._exit_fills.pop(trade.symbol, None)
        if exit_fill is not None:
            self._filled(exit_fill)
        entry = self._open.pop(trade.symbol, None)
        closed = {"status": "closed", "exit_price": trade.exit_price,
                  "exit_time": ts(trade.exit_time_ms), "pnl": trade.pnl, "fees": trade.fees}
        if entry is not None and entry in self._positions:
            self._positions[entry].update(closed)
        elif entry is not None and entry in self._pids:
            self._position_closes.append({"pid": self._pids[entry], "px": trade.exit_price,
                                          "at": closed["exit_time"], "result": trade.pnl,
                                          "paid": trade.fees})
        self._trades.append(({
            "deployment_id": self.deployment_id, "symbol": trade.symbol,
            "timeframe": timeframe, "mode": self.mode, "side": "long",
            "predicted_direction": "up", "confidence": trade.confidence,
            "entry_time": ts(trade.entry_time_ms), "exit_time": ts(trade.exit_time_ms),
            "entry_price": trade.entry_price, "exit_price": trade.exit_price,
            "quantity": trade.quantity, "fees": trade.fees, "pnl_absolute": trade.pnl,
            "pnl_percent": 100 * trade.pnl_percent,
            "outcome": "win" if trade.won else "loss", "exit_reason": trade.exit_reason,
            "model_version": version}, entry))
        self._count()

    def retraining(self, row: dict[str, object]) -> None:
        times = {k: ts(int(v)) for k in ("triggered_at", "finished_at")  # type: ignore[call-overload]
                 if (v := row.get(k)) is not None}
        self._rows[RetrainingHistoryRow].append({**row, **times,
                                                 "deployment_id": self.deployment_id})
        self._count()

    def error(self, now_ms: int, error_type: str, message: str, symbol: str | None = None,
              timeframe: str | None = None, component: str | None = None) -> None:
        self._rows[ErrorLogRow].append({
            "timestamp": ts(now_ms), "error_type": error_type[:64], "message": redact(message),
            "symbol": symbol, "timeframe": timeframe, "component": component,
            "deployment_id": self.deployment_id})
        self._count()

    def forget(self) -> None:
        super().forget()
        for rows in (self._order_fills, self._position_closes, *self._rows.values()):
            rows.clear()
        self._trades.clear()
        self._orders.clear()
        self._positions.clear()
        self._open.clear()

    # -- writing ---------------------------------------------------------------------------
    def flush(self) -> None:
        with self.engine.begin() as conn:
            self._write_trading(conn)
            for table, rows in self._rows.items():
                if rows:
                    conn.execute(insert(table), rows)
                    rows.clear()
            for table, rows in self._buffers.items():
                if rows:
                    conn.execute(insert(table), rows)
                    rows.clear()
        self._pending = 0

    def _write_trading(self, conn: Connection) -> None:
        if self._orders:
            conn.execute(insert(_ORDERS), list(self._orders.values()))
            self._orders.clear()
        if self._order_fills:
            conn.execute(_FILL_WRITTEN_ORDER, self._order_fills)
            self._order_fills.clear()
        if self._positions:
            conn.execute(insert(_POSITIONS), list(self._positions.values()))
            entries = list(self._positions)
            for i in range(0, len(entries), 500):  # under every database's variable limit
                written = conn.execute(
                    select(_POSITIONS.c.entry_client_order_id, _POSITIONS.c.id)
                    .where(_POSITIONS.c.deployment_id == self.deployment_id,
                           _POSITIONS.c.entry_client_order_id.in_(entries[i:i + 500]))).all()
                self._pids.update({str(cid): int(pid) for cid, pid in written})
            self._positions.clear()
        if self._position_closes:
            conn.execute(_CLOSE_WRITTEN_POSITION, self._position_closes)
            self._position_closes.clear()
        if self._trades:
            conn.execute(insert(TradeOutcomeRow),
                         [{**row, "position_id": self._pids.pop(entry, None)
                           if entry is not None else None} for row, entry in self._trades])
            self._trades.clear()
