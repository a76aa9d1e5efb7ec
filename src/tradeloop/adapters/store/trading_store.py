"""What the engine records: predictions, confidence, mode changes, orders, positions, trades,
retraining runs and errors, in the operator tables. Frequent rows are buffered and written in
bulk; everything an operator acts on is written at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, delete, insert, update

from tradeloop.adapters.exchange.metrics import MetricsSnapshot
from tradeloop.adapters.store.runtime_state import MODEL_AGES, RuntimeState
from tradeloop.adapters.store.schema import (
    ConfidenceHistoryRow,
    DriftCheckRow,
    EquityHistoryRow,
    ErrorLogRow,
    ExchangeMetricsRow,
    LatestPriceRow,
    LearningStateRow,
    OrderRow,
    PositionRow,
    PredictionRow,
    RetrainingHistoryRow,
    TradeOutcomeRow,
)
from tradeloop.domain.gate import Transition
from tradeloop.domain.redaction import redact
from tradeloop.domain.timestamps import ts
from tradeloop.domain.trading import MAIN_INSTANCE, ClosedTrade, Fill, OrderRequest

FLUSH_ROWS = 5_000


class TradingStore:
    """Engine persistence on one SQLAlchemy engine; orders, positions and trades carry the
    strategy ``instance`` (:meth:`for_instance` gives another instance's view)."""

    def __init__(self, engine: Engine, mode: str, deployment_id: int | None = None,
                 instance: str = MAIN_INSTANCE) -> None:
        self.engine = engine
        self.mode = mode
        self.deployment_id = deployment_id
        self.instance = instance
        self._buffers: dict[Any, list[dict[str, Any]]] = {PredictionRow: [],
                                                          ConfidenceHistoryRow: [],
                                                          EquityHistoryRow: [],
                                                          DriftCheckRow: [],
                                                          ExchangeMetricsRow: []}
        self._position_ids: dict[str, int] = {}
        self._exit_fills: dict[str, Fill] = {}

    def for_instance(self, instance: str, mode: str | None = None) -> TradingStore:
        """The same store writing the rows of strategy instance ``instance`` in ``mode``
        (default: this store's; the buffers are shared: one flush writes both)."""
        view = TradingStore(self.engine, mode or self.mode, self.deployment_id, instance)
        view._buffers = self._buffers
        return view

    def forget(self) -> None:
        """Wipe Data: drop buffered rows and open-position ids."""
        for rows in self._buffers.values():
            rows.clear()
        self._position_ids.clear()
        self._exit_fills.clear()

    def _buffer(self, table: Any, row: dict[str, Any]) -> None:
        buf = self._buffers[table]
        buf.append(row)
        if len(buf) >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not any(self._buffers.values()):
            return
        with self.engine.begin() as conn:
            for table, rows in self._buffers.items():
                if rows:
                    conn.execute(insert(table), rows)
                    rows.clear()

    def prediction(self, now_ms: int, symbol: str, timeframe: str, candle_time: int,
                   direction: str, probs: tuple[float, float, float], confidence: float,
                   version: str, mode: str) -> None:
        self._buffer(PredictionRow, {
            "timestamp": ts(now_ms), "symbol": symbol, "timeframe": timeframe,
            "candle_time": candle_time, "direction": direction, "p_down": probs[0],
            "p_flat": probs[1], "p_up": probs[2], "confidence": confidence,
            "model_version": version, "mode": mode, "deployment_id": self.deployment_id})

    def confidence(self, now_ms: int, symbol: str, score: float, direction: str, mode: str,
                   threshold: float) -> None:
        self._buffer(ConfidenceHistoryRow, {
            "timestamp": ts(now_ms), "symbol": symbol, "confidence_score": score,
            "direction": direction, "mode": mode, "threshold": threshold})

    def _write(self, table: Any, row: dict[str, Any]) -> int:
        with self.engine.begin() as conn:
            key = conn.execute(insert(table).values(**row)).inserted_primary_key
        assert key is not None
        return int(key[0])

    def transition(self, t: Transition) -> None:
        self._write(LearningStateRow, {
            "timestamp": ts(t.time_ms), "symbol": t.symbol, "mode": str(t.mode),
            "previous_mode": str(t.previous), "reason": t.reason[:200],
            "confidence": t.confidence, "deployment_id": self.deployment_id})

    def order(self, order: OrderRequest, status: str, now_ms: int, reason: str | None = None
              ) -> None:
        self._write(OrderRow, {
            "client_order_id": order.client_order_id, "deployment_id": self.deployment_id,
            "symbol": order.symbol, "mode": self.mode, "instance": self.instance,
            "side": str(order.side),
            "order_type": "market", "quantity": order.quantity, "status": status,
            "stop_loss": order.stop_loss, "take_profit": order.take_profit,
            "reason": (reason or order.reason)[:200], "created_at": ts(now_ms),
            "updated_at": ts(now_ms)})

    def refusal(self, symbol: str, side: str, reason: str, now_ms: int, seq: int) -> None:
        """A refused order: kept as an order row with status ``refused`` and its reason."""
        self._write(OrderRow, {
            "client_order_id": f"refused-{self.deployment_id or 0}-{now_ms}-{seq}",
            "deployment_id": self.deployment_id, "symbol": symbol, "mode": self.mode,
            "instance": self.instance, "side": side, "order_type": "market", "quantity": 0.0,
            "status": "refused",
            "reason": reason[:200], "created_at": ts(now_ms), "updated_at": ts(now_ms)})

    def fill(self, fill: Fill, stop: float | None, take: float | None) -> None:
        """A buy fill opens a position in the same transaction as its order row is marked
        filled; a sell fill is written with the trade it closes (:meth:`trade`), so a crash
        never leaves an order filled without its position change."""
        if str(fill.side) != "buy":
            self._exit_fills[fill.symbol] = fill
            return
        with self.engine.begin() as conn:
            self._order_filled(conn, fill)
            key = conn.execute(insert(PositionRow).values(
                deployment_id=self.deployment_id, symbol=fill.symbol, mode=self.mode,
                instance=self.instance, side="long", quantity=fill.quantity, entry_price=fill.price,
                entry_time=ts(fill.time_ms), stop_loss=stop, take_profit=take, status="open",
                fees=fill.fee, entry_client_order_id=fill.client_order_id)).inserted_primary_key
        assert key is not None
        self._position_ids[fill.symbol] = int(key[0])

    @staticmethod
    def _order_filled(conn: Any, fill: Fill) -> None:
        # a limit order canceled after a partial fill keeps its status
        conn.execute(update(OrderRow).where(OrderRow.client_order_id == fill.client_order_id,
                                            OrderRow.status != "canceled")
                     .values(status="filled", filled_quantity=fill.quantity,
                             average_price=fill.price, fee=fill.fee,
                             updated_at=ts(fill.time_ms)))

    def adopt_positions(self, ids: dict[str, int]) -> None:
        """Open position rows (by symbol) carried over from an earlier run: a later exit
        closes them."""
        self._position_ids.update(ids)

    def trade(self, trade: ClosedTrade, timeframe: str | None, version: str | None,
              book: float | None = None) -> None:
        pid = self._position_ids.pop(trade.symbol, None)
        exit_fill = self._exit_fills.pop(trade.symbol, None)
        with self.engine.begin() as conn:
            if exit_fill is not None:
                self._order_filled(conn, exit_fill)
            if pid is not None:
                conn.execute(update(PositionRow).where(PositionRow.id == pid).values(
                    status="closed", exit_price=trade.exit_price, exit_time=ts(trade.exit_time_ms),
                    pnl=trade.pnl, fees=trade.fees))
            conn.execute(insert(TradeOutcomeRow).values(
                deployment_id=self.deployment_id, position_id=pid, symbol=trade.symbol,
                timeframe=timeframe, mode=self.mode, instance=self.instance, side="long",
                predicted_direction="up",
                confidence=trade.confidence, entry_time=ts(trade.entry_time_ms),
                exit_time=ts(trade.exit_time_ms), entry_price=trade.entry_price,
                exit_price=trade.exit_price, quantity=trade.quantity, fees=trade.fees,
                pnl_absolute=trade.pnl, pnl_percent=100 * trade.pnl_percent,
                outcome="win" if trade.won else "loss", exit_reason=trade.exit_reason,
                model_version=version, book_equity=book))

    def retraining(self, row: dict[str, object]) -> None:
        """A ``retraining_history`` row; ``triggered_at``/``finished_at`` in ms."""
        times = {k: ts(int(v)) for k in ("triggered_at", "finished_at")  # type: ignore[call-overload]
                 if (v := row.get(k)) is not None}
        self._write(RetrainingHistoryRow, {**row, **times, "deployment_id": self.deployment_id})

    def drift(self, now_ms: int, symbol: str, timeframe: str, feature_drift: float,
              threshold: float, error_drift: float, triggered: bool) -> None:
        self._buffer(DriftCheckRow, {
            "timestamp": ts(now_ms), "deployment_id": self.deployment_id, "symbol": symbol,
            "timeframe": timeframe, "feature_drift": feature_drift, "threshold": threshold,
            "error_drift": error_drift, "triggered": triggered})

    def error(self, now_ms: int, error_type: str, message: str, symbol: str | None = None,
              timeframe: str | None = None, component: str | None = None) -> None:
        self._write(ErrorLogRow, {
            "timestamp": ts(now_ms), "error_type": error_type[:64], "message": redact(message),
            "symbol": symbol, "timeframe": timeframe, "component": component,
            "deployment_id": self.deployment_id})

    def exchange_metrics(self, now_ms: int, m: MetricsSnapshot, limit_per_minute: int
                         ) -> None:
        """An ``exchange_metrics`` row of this deployment (buffered)."""
        self._buffer(ExchangeMetricsRow, {
            "deployment_id": self.deployment_id or 0, "timestamp": ts(now_ms),
            "requests": m.requests, "errors": m.errors, "retries": m.retries,
            "requests_last_minute": m.requests_last_minute,
            "errors_last_minute": m.errors_last_minute,
            "max_requests_per_minute": m.max_requests_per_minute,
            "limit_per_minute": limit_per_minute, "cache_hit_rate": m.cache_hit_rate,
            "ws_uptime": m.ws_uptime, "circuit_state": m.circuit_state})

    def prices(self, now_ms: int, prices: dict[str, tuple[int, float]]) -> None:
        """The latest price of each symbol (one row per symbol, replaced)."""
        if not prices:
            return
        with self.engine.begin() as conn:
            conn.execute(delete(LatestPriceRow).where(LatestPriceRow.symbol.in_(list(prices))))
            conn.execute(insert(LatestPriceRow), [
                {"symbol": s, "price": p, "time": ts(t), "updated_at": ts(now_ms)}
                for s, (t, p) in prices.items()])

    def model_ages(self, now_ms: int, ages_ms: dict[tuple[str, str], int],
                   budget_hours: float | None) -> None:
        """The session's model age per series (``runtime_state``: the health check, the
        monitor and the dashboard read it)."""
        RuntimeState(self.engine).put(MODEL_AGES, {
            "as_of_ms": now_ms, "budget_hours": budget_hours, "deployment_id":
                self.deployment_id,
            "series": {f"{s} {tf}": age / 3_600_000 for (s, tf), age in sorted(ages_ms.items())}},
            now_ms, "engine")

    def snapshot(self, now_ms: int, equity: float, cash: float, open_positions: int,
                 events: int, errors: int) -> None:
        """An ``equity_history`` row of this deployment (its heartbeat; buffered)."""
        self._buffer(EquityHistoryRow, {
            "deployment_id": self.deployment_id or 0, "timestamp": ts(now_ms), "equity": equity,
            "cash": cash, "open_positions": open_positions, "events": events,
            "errors": errors})
