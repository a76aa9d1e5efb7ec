"""What ``tradeloop parity`` reads of a deployment (its predictions, orders, mode changes
and retrains, in order) and the parity reports it writes (the one module writing
``parity_reports``)."""

from __future__ import annotations

from sqlalchemy import Engine, insert, select

from tradeloop.adapters.store.schema import (
    LearningStateRow,
    OrderRow,
    ParityReportRow,
    PredictionRow,
    RetrainingHistoryRow,
)
from tradeloop.domain.parity import (
    ParitySummary,
    RecordedOrder,
    RecordedPrediction,
    RecordedRetrain,
    RecordedTransition,
)
from tradeloop.domain.timestamps import ms_of, ts
from tradeloop.domain.trading import MAIN_INSTANCE


class ParityRecords:
    """Reads of a deployment's trading records and writes of parity reports."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def predictions(self, deployment_id: int) -> list[RecordedPrediction]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(PredictionRow.timestamp, PredictionRow.symbol, PredictionRow.timeframe,
                       PredictionRow.candle_time, PredictionRow.direction, PredictionRow.p_down,
                       PredictionRow.p_flat, PredictionRow.p_up, PredictionRow.model_version)
                .where(PredictionRow.deployment_id == deployment_id)
                .order_by(PredictionRow.id)).all()
        return [RecordedPrediction(ms_of(t), s, tf, int(c), d, (float(a), float(b), float(u)),
                                   v or "") for t, s, tf, c, d, a, b, u, v in rows]

    def orders(self, deployment_id: int) -> list[RecordedOrder]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(OrderRow.created_at, OrderRow.symbol, OrderRow.side, OrderRow.status,
                       OrderRow.quantity, OrderRow.reason)
                .where(OrderRow.deployment_id == deployment_id,
                       OrderRow.instance == MAIN_INSTANCE)
                .order_by(OrderRow.id)).all()
        return [RecordedOrder(ms_of(t), s, side, "refused" if st == "refused" else "placed",
                              float(q), r or "") for t, s, side, st, q, r in rows]

    def transitions(self, deployment_id: int) -> list[RecordedTransition]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(LearningStateRow.timestamp, LearningStateRow.symbol,
                       LearningStateRow.mode, LearningStateRow.reason)
                .where(LearningStateRow.deployment_id == deployment_id)
                .order_by(LearningStateRow.id)).all()
        return [RecordedTransition(ms_of(t), s, m, r) for t, s, m, r in rows]

    def retrains(self, deployment_id: int) -> list[RecordedRetrain]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(RetrainingHistoryRow.symbol, RetrainingHistoryRow.timeframe,
                       RetrainingHistoryRow.trigger_reason, RetrainingHistoryRow.triggered_at,
                       RetrainingHistoryRow.finished_at)
                .where(RetrainingHistoryRow.deployment_id == deployment_id)
                .order_by(RetrainingHistoryRow.id)).all()
        return [RecordedRetrain(s, tf, why, ms_of(t), ms_of(f) if f is not None else ms_of(t))
                for s, tf, why, t, f in rows]

    def save(self, summary: ParitySummary, now_ms: int, report_path: str) -> int:
        with self.engine.begin() as conn:
            pk = conn.execute(insert(ParityReportRow).values(
                deployment_id=summary.deployment_id, created_at=ts(now_ms),
                predictions=summary.predictions, predictions_matched=summary.predictions_matched,
                orders=summary.orders, orders_matched=summary.orders_matched,
                identical=summary.identical, first_divergence=summary.first_divergence,
                report_path=report_path)).inserted_primary_key
        assert pk is not None
        return int(pk[0])
